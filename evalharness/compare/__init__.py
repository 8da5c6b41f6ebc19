"""Candidate against baseline: paired statistics and delta gates.

A suite may name a ``baseline:`` target (production, the teacher) beside its ``target:`` (the
candidate: a distilled student, an INT8 copy, a new prompt). Both answer the same rows; each gate
then also reports the baseline's value and the paired difference with its interval, and gates it
with ``max_drop``, ``min_gain``, ``min_retention`` or ``max_ratio``. When the interval straddles
the margin the verdict is *inconclusive*, with an estimate of the rows that would decide it.
"""
