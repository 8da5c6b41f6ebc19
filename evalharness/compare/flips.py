"""Flips: rows one side gets right and the other wrong, and rows where the two answers differ."""

from __future__ import annotations

from typing import Any

import numpy as np

from evalharness.labels import comparable
from evalharness.predictions import Predictions, _plain
from evalharness.untrusted import bounded_value


def same_answer(candidate: Predictions, baseline: Predictions) -> np.ndarray:
    """Per row, whether both sides answered the same (compared by value, as labels are)."""
    mine, theirs = comparable(np.asarray(candidate.predicted), np.asarray(baseline.predicted))
    return np.asarray(mine == theirs, dtype=bool)


def flips(candidate: Predictions, baseline: Predictions, count: int, limit: int | None = None) -> dict[str, Any]:
    """Counts of right-to-wrong and wrong-to-right rows, and the ``count`` most telling of them:
    right-to-wrong first (the regressions), each group worst first by the candidate's loss."""
    now, before = candidate.correct, baseline.correct
    regressed, fixed = np.flatnonzero(before & ~now), np.flatnonzero(~before & now)
    loss = candidate.row_loss
    ordered = [*regressed[np.argsort(-loss[regressed], kind="stable")], *fixed[np.argsort(loss[fixed], kind="stable")]]
    shown = np.asarray(ordered[:count], dtype=int)
    rows = candidate.rows(shown, loss) if shown.size else []
    for row, position in zip(rows, shown):
        row["flip"] = "right_to_wrong" if before[position] else "wrong_to_right"
        row["baseline_predicted"] = _plain(baseline.predicted[position])
        if baseline.score is not None:
            row["baseline_score"] = _plain(float(baseline.score[position]))
    shown_rows = rows if limit is None else [bounded_value(row, limit) for row in rows]
    return {"right_to_wrong": int(regressed.size), "wrong_to_right": int(fixed.size), "rows": shown_rows}
