"""pytest plugin: options, collection of suite files as gate items, reports at session end.

Only the standard library and pytest are imported here; everything else loads inside the hook
that needs it, so installing evalharness costs other pytest runs nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evalharness.stash import STATE_KEY

DEFAULT_REPORT_DIR = "reports"
DEFAULT_CACHE_DIR = ".evalharness-cache"


def _leave_modules_unrewritten(pluginmanager: pytest.PytestPluginManager) -> None:
    """Keep pytest from rewriting the asserts of evalharness's own modules as they import.

    pytest rewrites every module of a plugin's distribution, as if each were a test: it parses and
    compiles all of them again, and where bytecode is not written (``PYTHONDONTWRITEBYTECODE``, a
    read-only install) it does so on every run, about a second for this package on a 2-core
    machine. They hold no test asserts. pytest has no public switch for this, so the package is
    taken off its assertion hook's list where the hook has one, and nothing happens otherwise.
    """
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked, cache = getattr(hook, "_must_rewrite", None), getattr(hook, "_marked_for_rewrite_cache", None)
    if isinstance(marked, set) and isinstance(cache, dict):
        marked.discard("evalharness")
        cache.clear()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Every option in one group, all prefixed ``--evalharness``."""
    _leave_modules_unrewritten(pluginmanager)
    group = parser.getgroup("evalharness", "evalharness: gate a model on quality and speed")
    group.addoption(
        "--evalharness", action="append", default=[], metavar="PATH", dest="evalharness_paths",
        help="suite file or folder of suites to evaluate (repeatable)",
    )  # fmt: skip
    group.addoption(
        "--evalharness-report-dir", metavar="DIR", default=None, dest="evalharness_report_dir",
        help=f"where run.json, junit.xml and report.html are written (default: {DEFAULT_REPORT_DIR})",
    )  # fmt: skip
    group.addoption(
        "--evalharness-gate-on", type=parse_gate_on, default=None, metavar="WHAT", dest="evalharness_gate_on",
        help="estimate or bound: compare every gate's point estimate or its confidence bound (overrides suites)",
    )  # fmt: skip
    group.addoption(
        "--evalharness-baseline", type=Path, default=None, metavar="RUN_JSON", dest="evalharness_baseline",
        help="compare every suite's target with the answers of a stored run (its run.json, with rows.jsonl beside "
        "it), e.g. the last run on the main branch; the suites' delta gates judge the difference",
    )  # fmt: skip
    group.addoption(
        "--evalharness-inconclusive", type=parse_inconclusive, default=None, metavar="WHAT",
        dest="evalharness_inconclusive",
        help="fail or pass: what a delta gate against the baseline does when its interval straddles the margin "
        "(overrides the suites' statistics.on_inconclusive; default there: fail)",
    )  # fmt: skip
    group.addoption(
        "--evalharness-fail-on", type=parse_fail_on, default=None, metavar="WHAT", dest="evalharness_fail_on",
        help="failed (default), error or never: which gate outcomes give a non-zero exit. failed: any gate that "
        "did not pass (1 failed, 6 could not be evaluated); error: only 6; never: 0 whatever the gates say "
        "(an invalid suite still exits 4)",
    )  # fmt: skip
    group.addoption(
        "--evalharness-pushgateway", metavar="URL", default=None, dest="evalharness_pushgateway",
        help="push every gate's value, bounds and verdict, the load summary and the drift per column to this "
        "Prometheus Pushgateway at the end of the run (grouped by suite, model sha256 and git commit); an "
        "unreachable one is a warning, never a lost run",
    )  # fmt: skip
    group.addoption(
        "--evalharness-cache", metavar="DIR", default=None, dest="evalharness_cache",
        help="keep every endpoint answer in this folder (content-addressed JSON) so a run can resume",
    )  # fmt: skip
    group.addoption(
        "--evalharness-resume", action="store_true", default=False, dest="evalharness_resume",
        help=f"answer from the cache where it can and ask the endpoint only for missing or failed rows "
        f"(cache folder default: {DEFAULT_CACHE_DIR})",
    )  # fmt: skip
    group.addoption(
        "--evalharness-no-reports", action="store_true", default=False, dest="evalharness_no_reports",
        help="evaluate and gate, but write no report files",
    )  # fmt: skip
    group.addoption(
        "--evalharness-no-progress", action="store_true", default=False, dest="evalharness_no_progress",
        help="show no progress of endpoint runs (a bar, once a run takes over 2 s) or load runs (their phase)",
    )  # fmt: skip
    parser.addini(
        "evalharness_suites", type="args", default=[], help="suites evaluated when --evalharness is not given"
    )
    parser.addini("evalharness_report_dir", default=DEFAULT_REPORT_DIR, help="default for --evalharness-report-dir")


def parse_gate_on(value: str) -> str:
    """``--evalharness-gate-on`` converter: ``estimate`` or ``bound``."""
    choice = value.strip().lower()
    if choice not in ("estimate", "bound"):
        raise argparse.ArgumentTypeError(f"{value!r} is not estimate or bound")
    return choice


def parse_inconclusive(value: str) -> str:
    """``--evalharness-inconclusive`` converter: ``fail`` or ``pass``."""
    choice = value.strip().lower()
    if choice not in ("fail", "pass"):
        raise argparse.ArgumentTypeError(f"{value!r} is not fail or pass")
    return choice


def parse_fail_on(value: str) -> str:
    """``--evalharness-fail-on`` converter: ``failed``, ``error`` or ``never``."""
    from evalharness.exitcodes import parse_fail_on as parse

    return parse(value)


def _check_combinations(config: pytest.Config) -> None:
    if config.getoption("evalharness_no_reports") and config.getoption("evalharness_report_dir"):
        raise pytest.UsageError("--evalharness-no-reports and --evalharness-report-dir contradict each other; keep one")


def _suite_paths(config: pytest.Config) -> list[str]:
    paths = config.getoption("evalharness_paths") or []
    if paths:
        return list(paths)
    root = config.rootpath
    return [str(root / path) for path in config.getini("evalharness_suites")]


def _cache_settings(config: pytest.Config) -> tuple[Path | None, bool]:
    """The answer cache folder (given, or the default when resuming) and whether to resume."""
    resume = bool(config.getoption("evalharness_resume"))
    chosen = config.getoption("evalharness_cache") or (DEFAULT_CACHE_DIR if resume else None)
    return (Path(chosen) if chosen else None), resume


def _report_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("evalharness_report_dir") or config.getini("evalharness_report_dir")
    return Path(chosen or DEFAULT_REPORT_DIR)


def _collect_suites_only(config: pytest.Config, state: Any) -> None:
    """Collect the suites: instead of the default test paths, or beside explicit test paths."""
    suite_files = [str(path) for path in state.suites]
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = suite_files
        return
    given = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    config.args = [*config.args, *(path for path in suite_files if Path(path) not in given)]


def _group_suites_under_xdist(config: pytest.Config) -> None:
    """With plain ``-n``, keep each suite's gates on one worker so predictions run once."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load and validate every suite now, so a broken suite is a usage error (exit code 4)."""
    _check_combinations(config)
    paths = _suite_paths(config)
    if not paths:
        return
    from evalharness.errors import EvalHarnessError
    from evalharness.session import EvalSession
    from evalharness.untrusted import install_log_escaping, untrusted_lines

    install_log_escaping()
    try:
        state = EvalSession.load(
            paths, _report_dir(config), config.getoption("evalharness_gate_on"), *_cache_settings(config),
            on_inconclusive=config.getoption("evalharness_inconclusive"),
            baseline_run=config.getoption("evalharness_baseline"),
        )  # fmt: skip
    except EvalHarnessError as error:  # problems may quote dataset cells: made safe, never cut
        raise pytest.UsageError(f"evalharness: invalid suite\n{untrusted_lines(error, None)}") from None
    config.stash[STATE_KEY] = state
    _collect_suites_only(config, state)
    _group_suites_under_xdist(config)
    if _is_controller(config):
        state.close()  # validation loaded the models; under xdist only the workers run them
    if not _is_worker(config):
        _draw_progress(config, state)
        from evalharness.results import ResultCollector

        config.pluginmanager.register(ResultCollector(config, state), ResultCollector.NAME)


def _draw_progress(config: pytest.Config, state: Any) -> None:
    """Give every suite a terminal sink for the progress of endpoint and load runs (not under xdist workers)."""
    capture_manager = config.pluginmanager.getplugin("capturemanager")
    if config.getoption("evalharness_no_progress") or capture_manager is None:
        return
    from evalharness.progress import TerminalStream

    reporter = config.pluginmanager.getplugin("terminalreporter")
    writer = config.get_terminal_writer() if reporter is not None else None
    for run in state.runs.values():
        run.progress = TerminalStream(capture_manager, writer)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the session state (and with it any loaded data)."""
    collector = config.pluginmanager.get_plugin("evalharness-results")
    if collector is not None:
        config.pluginmanager.unregister(collector)
    if STATE_KEY in config.stash:
        config.stash[STATE_KEY].close()
        del config.stash[STATE_KEY]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A file named by ``--evalharness`` becomes a :class:`~evalharness.collect.SuiteFile`."""
    state = parent.config.stash.get(STATE_KEY, None)
    if state is None or file_path.resolve() not in state.suites:
        return None
    from evalharness.collect import SuiteFile

    return SuiteFile.from_parent(parent, path=file_path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the gate's plain-data result to its report (xdist serialises it to the controller).

    Whatever the failure text and captured output, no secret reaches the terminal or JUnit, and no
    line of it reads as a GitHub workflow command or carries a raw control character.
    """
    report = yield
    payload = getattr(item, "result_payload", None)
    if payload is None:
        return report
    from evalharness.targets.secrets import redact
    from evalharness.untrusted import guard_output

    colour = item.config.get_terminal_writer().hasmarkup
    if report.failed and report.longrepr is not None:
        report.longrepr = guard_output(redact(str(report.longrepr)), colour)
    report.sections = [(title, guard_output(redact(content), colour)) for title, content in report.sections]
    if call.when == "call":
        result = payload()
        if result is not None:
            report.evalharness = result
    return report


@pytest.fixture
def evalharness_engine() -> Iterator[Callable[[str], tuple[Any, Any]]]:
    """A loader for in-process micro-benchmarks (pytest-benchmark): ``target, frame = load("suite.yaml")``
    gives the suite's live target (ONNX Runtime, torch, ...) and its dataset; targets close at teardown."""
    from evalharness.session import EvalSession
    from evalharness.untrusted import install_log_escaping

    install_log_escaping()
    sessions: list[Any] = []

    def load(path: str) -> tuple[Any, Any]:
        state = EvalSession.load([path], Path("reports"))
        sessions.append(state)
        run = state.run_for(Path(path))
        return run.target(), run.frame()

    yield load
    for state in sessions:
        state.close()


def _is_controller(config: pytest.Config) -> bool:
    """Whether this process hands the items to xdist workers and runs none itself."""
    return not _is_worker(config) and getattr(config.option, "dist", "no") != "no"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
