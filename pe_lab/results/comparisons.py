"""How reported numbers compare: how each metric reads (``higher_is_better``, its scale and unit), a run's or a
sweep row's values by seed, and ``verdict``, the sentence every generated comparison uses (``compare`` over seeds)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ..evaluation.metrics import METRICS, OOD_METRICS
from ..evaluation.verdict import Comparison, compare
from .records import Run, Statistics, SweepRow

__all__ = [
    "METRIC_READING", "by_seed", "compare_by_seed", "comparison_words", "higher_is_better", "row_by_seed", "row_gap",
    "run_metric", "verdict"]


# Numbers a sweep row reports under their own key: ``mi_auroc`` is the AUROC by mutual information.
_OOD_ALIASES = {"mi_auroc": ("mutual_information", "auroc")}


class _Readings(Mapping):
    """How each reported number reads, from the metric tables (``METRICS``, ``OOD_METRICS``) each time it is asked:
    key -> (higher is better, the scale it is shown at, its digits, its unit in prose)."""

    def _all(self) -> dict[str, tuple[bool, float, int, str]]:
        entries = {**METRICS, **OOD_METRICS}
        entries.update({alias: OOD_METRICS[key] for alias, (_, key) in _OOD_ALIASES.items()})
        return {key: (m.higher_is_better, m.scale, m.digits, " points" if m.scale == 100 else "")
                for key, m in entries.items()}

    def __getitem__(self, key: str) -> tuple[bool, float, int, str]:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


METRIC_READING: Mapping[str, tuple[bool, float, int, str]] = _Readings()


def higher_is_better(key: str) -> bool:
    """Whether a larger ``key`` is the better result: accuracy, AUROC, AUPR yes; NLL, ECE, Brier, FPR95 no."""
    if key not in METRIC_READING:
        raise ValueError(f"no reading for metric {key!r}; known: {', '.join(METRIC_READING)}")
    return METRIC_READING[key][0]


def run_metric(metrics: Mapping, key: str, criterion: str = "msp") -> float | None:
    """One run's ``key`` from its ``metrics`` record (OOD numbers by ``criterion``; ``mi_auroc`` by mutual
    information), or None when the run did not measure it."""
    if key in METRICS:
        return metrics.get(key)
    criterion, key = _OOD_ALIASES.get(key, (criterion, key))
    return (metrics.get("ood") or {}).get(criterion, {}).get(key)


Side = Mapping[int, float] | Statistics


def by_seed(runs: Sequence[Run], stat: Statistics, key: str, criterion: str = "msp") -> Side:
    """``{seed: value}`` of ``key`` over ``runs`` when every seed the summary ``stat`` counts has its run there;
    otherwise ``stat`` itself (only a Welch test can use it)."""
    values = {r.seed: v for r in runs if (v := run_metric(r.metrics, key, criterion)) is not None}
    return values if len(values) == stat.n else stat


def _side(side: Side, name: str) -> Side:
    """``side`` as given when it is ``Statistics`` or ``{seed: value}``; a ``TypeError`` naming it otherwise."""
    if isinstance(side, Statistics):
        return side
    if isinstance(side, Mapping) and all(isinstance(k, int) and not isinstance(k, bool) for k in side):
        return side
    raise TypeError(f"{name} must be {{seed: value}} or a Statistics(mean, std, n), got {type(side).__name__} "
                    f"{side!r:.60}")


def compare_by_seed(first: Side, second: Side) -> Comparison:
    """``first - second`` through ``compare``. Each side is ``{seed: value}`` or a ``Statistics`` summary.
    Paired when both sides hold the same seeds (the same seed gives both runs their data order, and a DE's
    member 0 is that seed's Single); Welch otherwise."""
    first, second = _side(first, "the first side"), _side(second, "the second side")
    if not isinstance(first, Statistics) and not isinstance(second, Statistics) and set(first) == set(second):
        seeds = sorted(first)
        return compare([first[s] for s in seeds], [second[s] for s in seeds], paired=True)
    return compare(*(side.to_json() if isinstance(side, Statistics) else list(side.values())
                     for side in (first, second)))


def verdict(first: Side, second: Side, first_label: str, second_label: str, key: str = "accuracy") -> str:
    """The sentence every generated comparison uses, e.g. ``"PE(2,4,1) is worse than Single, -6.0 points (95 % CI
    -8.1 to -3.9, paired t, 3 seeds)"``: ``compare``'s words ("better"/"worse" only when the 95 % interval
    excludes zero, else "not distinguishable with n seeds"), the difference ``first - second`` in the metric's
    units, its interval, the test and the seeds. ``first``/``second``: ``{seed: value}`` (paired when the seeds
    match) or ``Statistics`` summaries (Welch)."""
    return comparison_words(compare_by_seed(first, second), first_label, second_label, key)


def comparison_words(comparison: Comparison, first_label: str, second_label: str, key: str) -> str:
    higher, scale, digits, unit = METRIC_READING[key]
    return (f"{comparison.words(first_label, second_label, higher)}, "
            f"{comparison.interval(scale, digits, unit)}")


def row_by_seed(row: SweepRow, key: str) -> Side:
    """A sweep row's ``key`` by seed, read from its runs (``{seed: value}``), or its summary where they lack it."""
    return by_seed(row.runs, row.summary[key], key)


def row_gap(first: SweepRow, second: SweepRow, key: str) -> Comparison:
    """``first - second`` on ``key`` between two sweep rows, through ``compare`` (paired when they share seeds)."""
    return compare_by_seed(row_by_seed(first, key), row_by_seed(second, key))
