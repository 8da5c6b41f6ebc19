"""Run state of one pytest session: loaded suites, their evaluations, and gate results gathered
from this process or from xdist workers."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.__about__ import __version__
from evalharness.errors import Problem, SuiteError
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise
from evalharness.runner import SuiteRun
from evalharness.suite.loader import LoadedSuite, expand_suite_paths, load_suites


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class EvalSession:
    """Suites of this session, their (lazily started) runs, and the gate results reported so far."""

    suites: dict[Path, LoadedSuite]
    runs: dict[Path, SuiteRun]
    report_dir: Path
    started_at: str = field(default_factory=_now)
    started: float = field(default_factory=time.perf_counter)
    suite_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate_records: dict[str, list[GateRecord]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        paths: list[str],
        report_dir: Path,
        gate_on: str | None = None,
        cache_dir: Path | None = None,
        resume: bool = False,
        unset_env: list[Problem] | None = None,
        on_inconclusive: str | None = None,
        baseline_run: Path | None = None,
    ) -> EvalSession:
        """Load and validate every suite and its dataset; raise :class:`SuiteError` with all problems.

        An ``${env:NAME}`` the target reads from an unset variable is one of them, and so is a
        ``server:`` program that is not installed, so a run stops before its first request; given a
        list as ``unset_env``, those are put there instead (the warnings of ``evalharness
        validate``, which lint jobs run without the secrets or the servers).
        """
        from evalharness.suite.dataset import load_dataset
        from evalharness.targets.secrets import install_log_redaction
        from evalharness.untrusted import install_log_escaping
        from evalharness.validation import missing_server, suite_problems, unset_environment

        install_log_redaction()
        install_log_escaping()
        suites = load_suites(expand_suite_paths(paths))
        stored = None
        if baseline_run is not None:
            from evalharness.compare.stored import StoredRun

            stored = StoredRun.read(baseline_run)
        runs: dict[Path, SuiteRun] = {}
        problems: list[Problem] = []
        for suite in suites:
            machine = [*unset_environment(suite), *missing_server(suite)]  # what this machine lacks
            (problems if unset_env is None else unset_env).extend(machine)
            _check_dependencies(suite)
            try:
                runs[suite.path] = SuiteRun(
                    suite, load_dataset(suite), gate_on, cache_dir, resume, on_inconclusive, stored
                )
            except SuiteError as error:
                problems.extend(error.problems)
                continue
            problems.extend(suite_problems(runs[suite.path]))
        if problems:
            for run in runs.values():
                run.close()
            raise SuiteError(problems)
        return cls({s.path: s for s in suites}, runs, report_dir)

    def close(self) -> None:
        """Release every suite's target."""
        for run in self.runs.values():
            run.close()

    def run_for(self, path: Path) -> SuiteRun:
        """The evaluation of the suite at ``path`` (shared by all its gates in this process)."""
        return self.runs[path.resolve()]

    def add_result(self, payload: dict[str, Any]) -> None:
        """Keep one gate's result, as sent in its pytest report (from here or a worker)."""
        suite = payload["suite"]
        self.suite_records[suite["path"]] = suite
        self.gate_records.setdefault(suite["path"], []).append(GateRecord.model_validate(payload["gate"]))

    def ordered_gates(self, display_path: str) -> list[GateRecord]:
        """The gates reported for a suite, in the order the suite declares its metrics."""
        suite = next((s for s in self.suites.values() if s.display_name == display_path), None)
        order = [] if suite is None else list(suite.metric_order)
        if suite is not None and suite.spec.load is not None:
            order += [f"load::{name}" for name in suite.spec.load.gates.declared()]
        rank = {name: index for index, name in enumerate(order)}
        return sorted(self.gate_records.get(display_path, []), key=lambda g: (rank.get(g.name, len(rank)), g.nodeid))

    def record(self, environment: dict[str, Any]) -> RunRecord:
        """The RunRecord of everything reported so far (partial runs included)."""
        suites = []
        for path, suite in self.suite_records.items():
            gates = spread_load_time(self.ordered_gates(path))
            suites.append(SuiteRecord.model_validate({**suite, "gates": gates}))
        summary, status = summarise(suites)
        environment = {**environment, "inputs": [_input_manifest(suite) for suite in suites]}
        return RunRecord(
            evalharness_version=__version__,
            status=status,
            started_at=self.started_at,
            finished_at=_now(),
            duration_s=round(time.perf_counter() - self.started, 3),
            environment=environment,
            summary=summary,
            suites=suites,
        )


def spread_load_time(gates: list[GateRecord]) -> list[GateRecord]:
    """The suite's load run, timed on whichever load gate ran it first, shared evenly by its load gates
    (JUnit shows each gate's time; one gate with all of it and the rest at 0 misleads a trend)."""
    load = [gate for gate in gates if gate.name.startswith("load::")]
    if len(load) < 2:
        return gates
    share = sum(gate.duration_s for gate in load) / len(load)
    return [gate.model_copy(update={"duration_s": share}) if gate.name.startswith("load::") else gate for gate in gates]


def _input_manifest(suite: SuiteRecord) -> dict[str, Any]:
    """What a rerun needs to match: the seed and the sha256 of the suite, dataset and model."""
    return {
        "suite": suite.path,
        "seed": suite.seed,
        "suite_sha256": suite.sha256,
        "dataset_sha256": suite.dataset.get("sha256"),
        "model_sha256": suite.target.get("sha256"),
    }


def _check_dependencies(suite: LoadedSuite) -> None:
    """Fail before anything runs when the target's or baseline's kind, or a metric, needs an uninstalled extra."""
    from evalharness._optional import is_installed
    from evalharness.errors import MissingDependencyError
    from evalharness.metrics.registry import get_metric
    from evalharness.targets.base import TARGET_EXTRAS

    sides = [("target", suite.spec.target), ("baseline", suite.spec.baseline)]
    needs = [(TARGET_EXTRAS[spec.kind], f"{side} kind '{spec.kind}'")
             for side, spec in sides if spec is not None and spec.kind in TARGET_EXTRAS]  # fmt: skip
    for name in suite.metric_order:
        needs += [(need, f"metric '{name}'") for need in getattr(get_metric(name), "requires", ())]
    for (module, extra), what in needs:
        if not is_installed(module):
            raise MissingDependencyError(module, extra, f"{suite.display_name}: {what}")
