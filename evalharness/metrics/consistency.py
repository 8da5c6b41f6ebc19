"""``consistency``: the share of applicable (row, rule) pairs for which a named CEL rule holds.

A rule may say ``when`` it applies (``amount >= 500.0 && is_new_device == 1``) and what must then
hold (``predicted == 1``); without ``when`` it applies to every row. Per-rule rates over the rows
a rule applies to, and the violating rows, go into the record. The interval is a row bootstrap:
rows are the unit resampled, since the rules of one row are not independent of each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.rules import (
    OUTPUT_VARIABLES,
    RuleOutcome,
    compile_rule,
    evaluate_rule,
    rule_variables,
    unknown_names,
)
from evalharness.metrics.stats import bootstrap_counts, percentile_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import ClosedModel, GateOptions

VIOLATING_IDS_KEPT = 20


class Rule(ClosedModel):
    """A named CEL rule, e.g. ``when: amount >= 500.0 && is_new_device == 1`` with ``rule: predicted == 1``."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", description="short name shown in reports")
    rule: str = Field(min_length=1, description="CEL expression over dataset columns, predicted, score and expected")
    when: str | None = Field(None, description="CEL condition selecting the rows the rule applies to (default: all)")
    description: str = ""

    @field_validator("rule", "when")
    @classmethod
    def _compiles(cls, text: str | None) -> str | None:
        if text is not None:
            compile_rule(text)
        return text


class ConsistencyOptions(GateOptions):
    """Options of ``consistency``: the rules (at least one) and the usual thresholds."""

    rules: list[Rule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        names = [rule.name for rule in rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(repeated)}")
        return rules


@cache
def _program(text: str) -> Any:
    return compile_rule(text)


@dataclass(frozen=True)
class _Checked:
    """One rule over every row: where it applies and where it held."""

    applies: np.ndarray
    held: np.ndarray
    errors: np.ndarray
    first_error: str | None


def _check(rule: Rule, table: Mapping[str, pd.Series], rows: int) -> _Checked:
    condition: RuleOutcome | None = evaluate_rule(_program(rule.when), table, rows) if rule.when else None
    outcome = evaluate_rule(_program(rule.rule), table, rows)
    applies = np.ones(rows, dtype=bool) if condition is None else condition.satisfied | condition.errored
    errors = outcome.errored | (condition.errored if condition is not None else False)
    first_error = (condition.first_error if condition is not None else None) or outcome.first_error
    return _Checked(applies, applies & outcome.satisfied & ~errors, applies & errors, first_error)


def _rule_details(rule: Rule, checked: _Checked, ids: np.ndarray) -> dict[str, Any]:
    violated = checked.applies & ~checked.held
    applicable = int(checked.applies.sum())
    return {
        "name": rule.name,
        "rule": rule.rule,
        "when": rule.when,
        "description": rule.description,
        "applicable": applicable,
        "rate": float(checked.held.sum() / applicable) if applicable else None,
        "violations": int(violated.sum()),
        "errors": int(checked.errors.sum()),
        "first_error": checked.first_error,
        "violating_ids": [v.item() if hasattr(v, "item") else v for v in ids[violated][:VIOLATING_IDS_KEPT]],
    }


@dataclass(frozen=True)
class Consistency:
    """Logical consistency: rules a compliance officer would write, checked on every prediction."""

    name: str = "consistency"
    options: type[GateOptions] = ConsistencyOptions
    description: str = "share of (row, rule) pairs where the CEL rule holds"

    def check_suite(
        self, options: ConsistencyOptions, available: list[str], base_dir: Path
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Rules that read an unknown name or call a non-CEL function, located by rule."""
        names = [*available, *OUTPUT_VARIABLES]
        outputs = ", ".join(OUTPUT_VARIABLES)
        return [
            (("rules", index, key), problem.replace("or an output", f"or an output ({outputs})"))
            for index, rule in enumerate(options.rules)
            for key in ("when", "rule")
            if getattr(rule, key) is not None
            for problem in unknown_names(_program(getattr(rule, key)), names)
        ]

    def compute(self, predictions: Predictions, options: ConsistencyOptions, settings: MetricSettings) -> MetricValue:
        """Every rule over every row; value, row-bootstrap interval, per-rule details."""
        table = rule_variables(predictions)
        rows = len(predictions)
        checks = [_check(rule, table, rows) for rule in options.rules]
        applicable = np.sum([c.applies for c in checks], axis=0)
        held = np.sum([c.held for c in checks], axis=0)
        pairs = int(applicable.sum())
        details = {"rules": [_rule_details(r, c, predictions.ids) for r, c in zip(options.rules, checks)]}
        return MetricValue(
            value=float(held.sum() / pairs) if pairs else float("nan"),
            n=pairs,
            interval=_row_bootstrap(applicable, held, len(checks), settings, self.name),
            method="bootstrap (rows)",
            row_loss=np.divide(applicable - held, applicable, out=np.zeros(rows), where=applicable > 0),
            details=details,
        )


def _row_bootstrap(
    applicable: np.ndarray, held: np.ndarray, rule_count: int, settings: MetricSettings, name: str
) -> tuple[float, float] | None:
    """Interval of (held pairs / applicable pairs) under row resampling.

    A row is summarised by (rules applicable, rules held), at most (R + 1)^2 kinds of row, so
    resampling rows is a multinomial over those kinds: exact, and independent of the row count.
    """
    side = rule_count + 1
    histogram = np.bincount(applicable * side + held, minlength=side * side)
    resampled = bootstrap_counts(histogram, settings, name)
    kinds = np.arange(side * side)
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = (resampled @ (kinds % side)) / (resampled @ (kinds // side))
    return percentile_interval(samples, settings.confidence)


CONSISTENCY = Consistency()
