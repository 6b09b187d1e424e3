"""How reported numbers compare: how each metric reads (``higher_is_better``, its scale and unit), a run's or a
sweep row's values by seed, and ``verdict``, the sentence every generated comparison uses (``compare`` over seeds)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..evaluation.metrics import METRICS, OOD_METRICS
from ..evaluation.verdict import Comparison, compare

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


def run_metric(metrics: dict, key: str, criterion: str = "msp") -> float | None:
    """One run's ``key`` from its ``metrics`` record (OOD numbers by ``criterion``; ``mi_auroc`` by mutual
    information), or None when the run did not measure it."""
    if key in METRICS:
        return metrics.get(key)
    criterion, key = _OOD_ALIASES.get(key, (criterion, key))
    return metrics.get("ood", {}).get(criterion, {}).get(key)


def by_seed(runs: list[dict], stat: dict, key: str, criterion: str = "msp") -> dict:
    """``{seed: value}`` of ``key`` over ``runs`` when every seed the summary ``stat`` counts has its run there;
    otherwise the summary ``stat`` itself (``{"mean", "std", "n"}``: only a Welch test can use it)."""
    values = {r["seed"]: v for r in runs if (v := run_metric(r["metrics"], key, criterion)) is not None}
    return values if len(values) == stat["n"] else stat


def compare_by_seed(first: dict, second: dict) -> Comparison:
    """``first - second`` through ``compare``. Each side is ``{seed: value}`` or a ``{"mean", "std", "n"}``
    summary. Paired when both sides hold the same seeds (the same seed gives both runs their data order, and a
    DE's member 0 is that seed's Single); Welch otherwise."""
    summary = {"mean", "std", "n"}
    if not summary <= set(first) and not summary <= set(second) and set(first) == set(second):
        seeds = sorted(first)
        return compare([first[s] for s in seeds], [second[s] for s in seeds], paired=True)
    return compare(*(side if summary <= set(side) else list(side.values()) for side in (first, second)))


def verdict(first: dict, second: dict, first_label: str, second_label: str, key: str = "accuracy") -> str:
    """The sentence every generated comparison uses, e.g. ``"PE(2,4,1) is worse than Single, -6.0 points (95 % CI
    -8.1 to -3.9, paired t, 3 seeds)"``: ``compare``'s words ("better"/"worse" only when the 95 % interval
    excludes zero, else "not distinguishable with n seeds"), the difference ``first - second`` in the metric's
    units, its interval, the test and the seeds. ``first``/``second``: ``{seed: value}`` (paired when the seeds
    match) or ``{"mean", "std", "n"}`` summaries (Welch)."""
    return comparison_words(compare_by_seed(first, second), first_label, second_label, key)


def comparison_words(comparison: Comparison, first_label: str, second_label: str, key: str) -> str:
    higher, scale, digits, unit = METRIC_READING[key]
    return (f"{comparison.words(first_label, second_label, higher)}, "
            f"{comparison.interval(scale, digits, unit)}")


def row_by_seed(row: dict, key: str) -> dict:
    """A sweep row's ``key`` by seed, read from its runs (``{seed: value}``), or its summary without them."""
    return by_seed(row.get("runs", []), row["summary"][key], key)


def row_gap(first: dict, second: dict, key: str) -> Comparison:
    """``first - second`` on ``key`` between two sweep rows, through ``compare`` (paired when they share seeds)."""
    return compare_by_seed(row_by_seed(first, key), row_by_seed(second, key))
