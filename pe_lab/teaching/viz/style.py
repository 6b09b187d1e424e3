"""The figures' shared style: member and method colours, the synthetic-data note, metric titles from the metric
tables."""

from __future__ import annotations

from ...evaluation.metrics import METRICS, OOD_METRICS
from ...methods.registry import METHODS

__all__ = ["MEMBER_COLOURS", "SYNTHETIC_NOTE", "member_colour", "method_colour", "metric_title"]

MEMBER_COLOURS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
SYNTHETIC_NOTE = "  [SYNTHETIC DATA]"


def member_colour(m: int) -> str:
    return MEMBER_COLOURS[m % len(MEMBER_COLOURS)]


def method_colour(method: str, index: int = 0) -> str:
    """The colour of ``method``'s record, or the palette's ``index``-th for a method without one."""
    record = METHODS.get(method)
    return record.colour if record is not None and record.colour else member_colour(index)


def metric_title(key: str, criterion: str) -> str:
    """A panel title from the metric tables: ``"accuracy (%) ↑"``, ``"NLL ↓"``, ``"AUROC (msp, %) ↑"``."""
    entry = METRICS.get(key) or OOD_METRICS.get(key)
    if entry is None:
        return key
    within = ", ".join([criterion] * (key in OOD_METRICS) + ["%"] * (entry.scale == 100))
    return f"{entry.name}{f' ({within})' if within else ''} {'↑' if entry.higher_is_better else '↓'}"

