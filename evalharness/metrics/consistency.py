"""``consistency``: the share of applicable (row, rule) pairs for which a named CEL rule holds.

A rule may say ``when`` it applies (``amount >= 500.0 && is_new_device == 1``) and what must then
hold (``predicted == 1``); without ``when`` it applies to every row. Per-rule rates over the rows
a rule applies to, and the violating rows, go into the record. The interval is a row bootstrap:
rows are the unit resampled, since the rules of one row are not independent of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.checks import AFTER_VARIABLES, Case, Check, case_problems, check_names, transformed_inputs
from evalharness.metrics.reanswer import Variant, answer_variants
from evalharness.metrics.rules import (
    OUTPUT_VARIABLES,
    RuleOutcome,
    RuleVariables,
    compile_rule,
    evaluate_rule,
    rule_variables,
    unknown_names,
)
from evalharness.metrics.stats import bootstrap_counts, percentile_interval, ratio_parts
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, ClosedModel, GateOptions, repeated_names

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


class ConsistencyOptions(ComparableOptions):
    """Options of ``consistency``: CEL rules, INV/DIR checks, MFT cases, and the usual thresholds."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    rules: list[Rule] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list, description="INV and DIR checks (answered again)")
    cases: list[Case] = Field(default_factory=list, description="MFT cases: one pytest item each")

    @field_validator("rules", "checks", "cases")
    @classmethod
    def _unique_names(cls, items: list[Any]) -> list[Any]:
        repeated = repeated_names([item.name for item in items])
        if repeated:
            raise ValueError(f"names must be unique; repeated: {', '.join(repeated)}")
        return items

    @model_validator(mode="after")
    def _something_to_check(self) -> ConsistencyOptions:
        if not (self.rules or self.checks or self.cases):
            raise ValueError("give at least one of rules, checks or cases")
        if not (self.rules or self.checks) and self.is_gate:
            raise ValueError("min and max apply to rules and checks; cases pass or fail one by one as their own items")
        return self


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


def _check(when: str | None, rule: str, table: RuleVariables, rows: int) -> _Checked:
    condition: RuleOutcome | None = evaluate_rule(_program(when), table, rows) if when else None
    outcome = evaluate_rule(_program(rule), table, rows)
    applies = np.ones(rows, dtype=bool) if condition is None else condition.satisfied | condition.errored
    errors = outcome.errored | (condition.errored if condition is not None else False)
    first_error = (condition.first_error if condition is not None else None) or outcome.first_error
    return _Checked(applies, applies & outcome.satisfied & ~errors, applies & errors, first_error)


def _rule_details(rule: Rule | Check, checked: _Checked, ids: np.ndarray) -> dict[str, Any]:
    violated = checked.applies & ~checked.held
    applicable = int(checked.applies.sum())
    if isinstance(rule, Check):
        kind: str = rule.type
        text, transform = rule.expectation, _transform_text(rule)
    else:
        kind, text, transform = "rule", rule.rule, None
    return {
        "name": rule.name,
        "type": kind,
        "rule": text,
        "when": rule.when,
        "transform": transform,
        "description": rule.description,
        "applicable": applicable,
        "rate": float(checked.held.sum() / applicable) if applicable else None,
        "violations": int(violated.sum()),
        "errors": int(checked.errors.sum()),
        "first_error": checked.first_error,
        "violating_ids": [v.item() if hasattr(v, "item") else v for v in ids[violated][:VIOLATING_IDS_KEPT]],
    }


def _transform_text(check: Check) -> str:
    if check.perturb is not None:
        return check.perturb.label
    return ", ".join(f"{column} = {expression}" for column, expression in (check.set or {}).items())


def _run_checks(checks: list[Check], predictions: Predictions, table: Any, settings: MetricSettings) -> list[_Checked]:
    """Transform the inputs for every check, have the live target answer the rows each changed (in
    one call: :mod:`evalharness.metrics.reanswer`), and test each expectation."""
    if not checks:
        return []
    if settings.predict is None:
        raise ValueError(f"check '{checks[0].name}' needs a target that can answer new inputs, not stored answers")
    variants = (Variant(transformed_inputs(check, predictions.inputs, table, settings.seed, index), _columns(check))
                for index, check in enumerate(checks))  # fmt: skip
    results = []
    for check, again in zip(checks, answer_variants(predictions, variants, settings.predict)):
        after = Predictions(predictions.ids, predictions.expected, again.label, again.score, predictions.inputs)
        extended = table.with_columns(after_predicted=after.predicted, after_score=again.score)
        results.append(_check(check.when, check.expectation, extended, len(predictions)))
    return results


def _columns(check: Check) -> list[str]:
    """The input columns a check's transform may change."""
    return list(check.perturb.columns) if check.perturb is not None else list(check.set or {})


@dataclass(frozen=True)
class Consistency:
    """Logical consistency: rules a compliance officer would write, checked on every prediction."""

    name: str = "consistency"
    options: type[GateOptions] = ConsistencyOptions
    description: str = "share of (row, rule) pairs where the CEL rule holds"

    def check_suite(
        self, options: ConsistencyOptions, available: list[str], base_dir: Path
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Unknown names and non-CEL functions in rules and checks, columns checks or cases lack."""
        outputs = ", ".join(OUTPUT_VARIABLES)
        problems: list[tuple[tuple[Any, ...], str]] = [
            (("rules", index, key), problem.replace("or an output", f"or an output ({outputs})"))
            for index, rule in enumerate(options.rules)
            for key in ("when", "rule")
            if getattr(rule, key) is not None
            for problem in unknown_names(_program(getattr(rule, key)), [*available, *OUTPUT_VARIABLES],
                                         getattr(rule, key))  # fmt: skip
        ]
        readable = [*available, *OUTPUT_VARIABLES, *AFTER_VARIABLES]
        for index, check in enumerate(options.checks):
            texts = {
                "when": check.when,
                "expect": check.expect,
                **{f"set.{c}": e for c, e in (check.set or {}).items()},
            }
            for key, text in texts.items():
                for problem in unknown_names(_program(text), readable, text) if text else []:
                    problems.append((("checks", index, *key.split(".")), problem))
        return problems + check_names(options.checks, available) + case_problems(options.cases, available)

    def compute(self, predictions: Predictions, options: ConsistencyOptions, settings: MetricSettings) -> MetricValue:
        """Every rule and check over every row; value, row-bootstrap interval, per-rule details."""
        table = rule_variables(predictions)
        rows = len(predictions)
        checks = [_check(rule.when, rule.rule, table, rows) for rule in options.rules]
        checks += _run_checks(options.checks, predictions, table, settings)
        if not checks:  # only MFT cases: they are items of their own
            return MetricValue(float("nan"), 0, None, "cases only", None, {"rules": []})
        applicable = np.sum([c.applies for c in checks], axis=0)
        held = np.sum([c.held for c in checks], axis=0)
        pairs = int(applicable.sum())
        named: list[Rule | Check] = [*options.rules, *options.checks]
        details = {"rules": [_rule_details(r, c, predictions.ids) for r, c in zip(named, checks)]}
        return MetricValue(
            value=float(held.sum() / pairs) if pairs else float("nan"),
            n=pairs,
            interval=_row_bootstrap(applicable, held, len(checks), settings, self.name),
            method="bootstrap (rows)",
            row_loss=np.divide(applicable - held, applicable, out=np.zeros(rows), where=applicable > 0),
            details=details,
            undefined=None if pairs else "no rule or check applied to any row (n = 0)",
            **ratio_parts(held, applicable),
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
