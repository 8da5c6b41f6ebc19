"""The ``evalharness`` command: run, validate, schema, report, github, compare, serve, load-worker."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from evalharness.__about__ import __version__
from evalharness.exitcodes import GATES_FAILED as EXIT_FAILED
from evalharness.exitcodes import OK as EXIT_OK
from evalharness.exitcodes import USAGE_ERROR as EXIT_USAGE
from evalharness.exitcodes import gates_exit_code, parse_fail_on

_DEFAULT_SERVED = ("suites/finance.yaml", "suites/customer_service.yaml")


def _cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    import pytest

    options = [f"--evalharness={path}" for path in args.suites]
    flags = {"report_dir": "report-dir", "baseline": "baseline", "fail_on": "fail-on",
             "inconclusive": "inconclusive", "gate_on": "gate-on", "pushgateway": "pushgateway"}  # fmt: skip
    options += [f"--evalharness-{flag}={getattr(args, name)}" for name, flag in flags.items() if getattr(args, name)]
    # evalharness is imported already (this command), so pytest cannot rewrite the plugin's asserts: it has none.
    # The filter goes last: pytest applies -W in order, so a user's "-- -W error" does not turn it into a crash.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return int(pytest.main([*options, "-p", "no:cacheprovider", *extra, *quiet]))


def _cmd_validate(args: argparse.Namespace, extra: list[str]) -> int:
    from evalharness.errors import EvalHarnessError, Problem
    from evalharness.session import EvalSession
    from evalharness.untrusted import MAX_MESSAGE_CHARS, untrusted

    # Lint jobs often run without the secrets: an unset ${env:NAME} is a warning here, an error in a run.
    unset: list[Problem] = []
    try:
        state = EvalSession.load(list(args.suites), Path("reports"), unset_env=unset)
    except EvalHarnessError as error:
        _warn(unset)
        print(error, file=sys.stderr)
        return EXIT_USAGE
    _warn(unset)
    for suite in state.suites.values():
        run = state.runs[suite.path]
        line = f"ok: {suite.display_name}: {suite.spec.name}, {gate_summary(run)}, {len(run.frame())} rows"
        print(untrusted(line, MAX_MESSAGE_CHARS))
    state.close()
    return EXIT_OK


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def gate_summary(run: Any) -> str:
    """What a run will gate, counted as pytest collects it: "7 gates (4 metrics, 3 load)", "1 gate"."""
    metrics = len(run.suite.metric_order)
    load = len(run.spec.load.gates.declared()) if run.spec.load is not None else 0
    cases = len(run.cases())
    total = metrics + load + cases
    if total == metrics:
        return _plural(metrics, "gate")
    parts = [_plural(metrics, "metric"), *([f"{load} load"] if load else [])]
    parts += [_plural(cases, "case")] if cases else []
    return f"{_plural(total, 'gate')} ({', '.join(parts)})"


def _warn(problems: Sequence[object]) -> None:
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


def _cmd_schema(args: argparse.Namespace, extra: list[str]) -> int:
    from evalharness.suite.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _cmd_report(args: argparse.Namespace, extra: list[str]) -> int:
    from jinja2 import TemplateError

    from evalharness.record_check import RecordError, read_record
    from evalharness.report import write_reports

    try:
        record = read_record(args.record)
    except RecordError as error:
        print(f"evalharness report: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        written = write_reports(record, args.out or args.record.parent)
    except OSError as error:
        print(f"evalharness report: cannot write the reports: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, TemplateError) as error:
        # The free-form sections (dataset, target, load, details) are not typed by the record schema.
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        print(
            f"evalharness report: {args.record}: a section is not shaped as evalharness writes it "
            f"({reason}); if evalharness wrote this record unchanged, please report a bug",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print("wrote " + ", ".join(str(path) for path in written.values()))
    return gates_exit_code(record.summary.failed, record.summary.errors)


def _cmd_compare(args: argparse.Namespace, extra: list[str]) -> int:
    from evalharness.compare.command import run_compare

    return run_compare(args.base, args.candidate, args.out, args.inconclusive, args.gates, args.fail_on)


def _cmd_github(args: argparse.Namespace, extra: list[str]) -> int:
    from evalharness.github import publish

    return publish(args.report_dir, args.exit_code, args.fail_on, args.log)


def _add_github(commands: Any) -> None:
    github = commands.add_parser(
        "github", help="after evalharness run in GitHub Actions: step summary, annotations, outputs, fail-on",
        description="Append the Markdown summary to $GITHUB_STEP_SUMMARY, print ::error annotations on the suite "
        "lines of failed gates, write status, counts and report paths to $GITHUB_OUTPUT, and exit as the fail-on "
        "policy says. ci/action.yml runs it; it works the same in any job.",
    )  # fmt: skip
    github.add_argument("report_dir", nargs="?", type=Path, default=Path("reports"), help="the run's report folder")
    github.add_argument("--exit-code", type=int, help="evalharness run's exit code (2-5: the run checked nothing)")
    _add_fail_on(github, "failed")
    github.add_argument("--log", type=Path, help="the run's output; an invalid suite's problems become annotations")
    github.set_defaults(handler=_cmd_github)


def _cmd_load_worker(args: argparse.Namespace, extra: list[str]) -> int:
    """Become a Locust worker of a suite's master (``launch: master_worker``, ``remote_workers``)."""
    import os

    from evalharness._optional import is_installed
    from evalharness.load.cluster import worker_command

    host, _, port = args.master.rpartition(":")
    if not host or not port.isdigit():
        print(f"evalharness load-worker: give the master as HOST:PORT, e.g. 10.0.0.5:5557 (got {args.master!r})",
              file=sys.stderr)  # fmt: skip
        return 2
    if not is_installed("locust"):
        print("evalharness load-worker needs locust: pip install 'evalharness[load]'", file=sys.stderr)
        return 2
    command = worker_command(int(port), host)
    os.execv(command[0], command)  # this process becomes the worker (its pid is the worker's)
    return 0  # not reached


def _cmd_serve(args: argparse.Namespace, extra: list[str]) -> int:
    import asyncio
    from functools import partial

    from evalharness._optional import require
    from evalharness.errors import EvalHarnessError
    from evalharness.suite.loader import load_suite

    try:
        require("aiohttp", extra="http", needed_for="evalharness serve")
        from evalharness.serve.app import serve
        from evalharness.serve.models import load_served_model, parse_model_argument
        from evalharness.serve.state import ServerState, ServeSettings

        wanted = [parse_model_argument(argument) for argument in args.models or _DEFAULT_SERVED]
        for _, path in wanted:
            load_suite(path)  # a wrong suite stops here, located, before the port opens
    except EvalHarnessError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    loaders = [partial(load_served_model, path, name) for name, path in wanted]
    settings = ServeSettings(
        token_delay_s=args.token_delay_ms / 1000, load_delay_s=args.load_delay_s,
        service_time_s=args.service_time_ms / 1000, stall_every_s=args.stall_every_s, stall_s=args.stall_ms / 1000,
    )  # fmt: skip
    try:
        return asyncio.run(serve(ServerState(loaders, settings), args.host, args.port))
    except OSError as error:
        print(f"evalharness serve: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_FAILED


class _Parser(argparse.ArgumentParser):
    """argparse with usage mistakes exiting 4, as an invalid suite does (argparse's own is 2, which
    pytest uses for an interrupted run)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_fail_on(parser: argparse.ArgumentParser, default: str | None) -> None:
    """``--fail-on``, the same on run, compare and github (see :mod:`evalharness.exitcodes`)."""
    parser.add_argument(
        "--fail-on", type=parse_fail_on, default=default, metavar="{failed,error,never}",
        help="which gate outcomes exit non-zero: failed (default: any gate that did not pass), error (only a gate "
        "that could not be evaluated) or never; an invalid suite always exits 4",
    )  # fmt: skip


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="evaluate suites (pytest --evalharness ...); pytest's own options go after --",
        description="Evaluate suites and gate on them. Exit codes: 0 passed, 1 a gate failed, 4 invalid suite or "
        "flag, 5 no gates, 6 no gate failed but one could not be evaluated. pytest's own options go after --, "
        "e.g. evalharness run suites/ -- -n 2",
    )  # fmt: skip
    run.add_argument("suites", nargs="+", help="suite files or folders")
    run.add_argument("--report-dir", help="where reports are written (default: reports)")
    run.add_argument("--baseline", metavar="RUN_JSON", help="compare with a stored run (e.g. main's last run.json)")
    _add_fail_on(run, None)  # unset: the pytest option's own default
    run.add_argument("--inconclusive", choices=("fail", "pass"), help="what an inconclusive delta gate does")
    run.add_argument("--gate-on", choices=("estimate", "bound"), help="gate every metric on its estimate or bound")
    run.add_argument("--pushgateway", metavar="URL", help="push the run's metrics to this Prometheus Pushgateway")
    run.set_defaults(handler=_cmd_run)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evalharness", description="Gate model builds on quality and speed.")
    parser.add_argument("--version", action="version", version=f"evalharness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run(commands)
    validate = commands.add_parser("validate", help="check suites and their datasets without running the model")
    validate.add_argument("suites", nargs="+", help="suite files or folders")
    validate.set_defaults(handler=_cmd_validate)
    schema = commands.add_parser("schema", help="print the suite JSON Schema (for editors)")
    schema.set_defaults(handler=_cmd_schema)
    report = commands.add_parser("report", help="re-render junit.xml, report.html and summary.md from a run.json")
    report.add_argument("record", type=Path, help="a run.json written by a run")
    report.add_argument("--out", type=Path, help="output folder (default: the run.json's folder)")
    report.set_defaults(handler=_cmd_report)
    _add_github(commands)
    compare = commands.add_parser(
        "compare", help="compare a candidate run with a baseline run (two run.json): deltas, intervals, delta gates"
    )
    compare.add_argument("base", type=Path, help="the baseline run's run.json (rows.jsonl beside it pairs the rows)")
    compare.add_argument("candidate", type=Path, help="the candidate run's run.json; its delta gates judge")
    compare.add_argument("--out", type=Path, help="where the reports go (default: compare/ beside the candidate)")
    compare.add_argument(
        "--inconclusive", choices=("fail", "pass"), help="what an inconclusive delta gate does (default: fail)"
    )
    compare.add_argument("--gates", type=Path, metavar="SUITE", help="judge with the delta gates this suite declares")
    _add_fail_on(compare, "failed")
    compare.set_defaults(handler=_cmd_compare)
    serve = commands.add_parser("serve", help="serve suites' local models over JSON, OpenAI and KServe v2 routes")
    serve.add_argument(
        "models",
        nargs="*",
        metavar="[NAME=]SUITE",
        help=f"suites whose onnx/torch model to serve (default: {' '.join(_DEFAULT_SERVED)})",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    serve.add_argument("--token-delay-ms", type=float, default=0.0, help="gap between streamed tokens")
    serve.add_argument("--load-delay-s", type=float, default=0.0, help="extra model loading time (cold starts)")
    serve.add_argument("--service-time-ms", type=float, default=0.0, help="added to every inference request")
    serve.add_argument("--stall-every-s", type=float, default=2.0, help="with --stall-ms: how often to freeze")
    serve.add_argument("--stall-ms", type=float, default=0.0, help="freeze the whole server this long (0: never)")
    serve.set_defaults(handler=_cmd_serve)
    worker = commands.add_parser(
        "load-worker", help="join a suite's load run as a Locust worker (launch: master_worker)"
    )
    worker.add_argument("master", metavar="HOST:PORT", help="the master's address (load.master_host, load.master_port)")
    worker.set_defaults(handler=_cmd_load_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evalharness`` console script; returns the exit code (see evalharness.exitcodes)."""
    words = list(sys.argv[1:] if argv is None else argv)
    own, passthrough = (words[: words.index("--")], words[words.index("--") + 1 :]) if "--" in words else (words, [])
    parser = _parser()
    args, unknown = parser.parse_known_args(own)
    if unknown:
        hint = "; pytest's own options go after --, e.g. evalharness run SUITE -- -x" if args.command == "run" else ""
        parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    if passthrough and args.command != "run":
        parser.error(f"evalharness {args.command} takes nothing after --; only evalharness run passes it to pytest")
    return int(args.handler(args, passthrough))


if __name__ == "__main__":
    sys.exit(main())
