"""Targets: the model under test, one adapter per kind, imported only when a suite names it."""

from evalharness.targets.base import Target, TargetContext, TargetOutput, create_target

__all__ = ["Target", "TargetContext", "TargetOutput", "create_target"]
