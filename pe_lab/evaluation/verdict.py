"""The one way pe-lab compares two methods over seeds: a difference with a 95 % confidence interval.

Every comparison the lab states (reports, sweeps, notebooks, README) goes through :func:`compare`. A t-test over
seeds decides it: *paired* when the same seed gives both numbers (a DE's member 0 and the Single, two runs of one
sweep that share seeds and data order), *Welch* otherwise. The words "better"/"worse" appear only when the interval
excludes zero; otherwise the verdict is "not distinguishable with n seeds", which is not the same as "equal".

With two seeds the t quantile is 12.7 (one degree of freedom), so the interval is wide on purpose: two seeds
rarely separate anything, and the sentence says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Comparison", "compare", "seed_values"]


@dataclass(frozen=True)
class Comparison:
    """``first - second`` for one metric, with its confidence interval and the test that made it.

    ``low``/``high`` are NaN when the test cannot be made (fewer than two seeds on a side); ``separated`` is
    then False. With no spread at all (every seed gives the same difference) the interval is that one point."""

    difference: float
    low: float
    high: float
    n_first: int
    n_second: int
    test: str  # "paired t", "Welch t", or why no test was possible
    confidence: float = 0.95
    p_value: float = math.nan

    @property
    def separated(self) -> bool:
        """Whether the interval excludes zero: the only case in which one side may be called better."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)

    @property
    def seeds(self) -> str:
        """``"3 seeds"`` (paired, or the same count on both sides) or ``"3 and 2 seeds"``."""
        if self.n_first == self.n_second:
            return f"{self.n_first} seed{'s' if self.n_first != 1 else ''}"
        return f"{self.n_first} and {self.n_second} seeds"

    def interval(self, scale: float = 1.0, digits: int = 3, unit: str = "") -> str:
        """``"+1.2 points (95 % CI +0.3 to +2.1, paired t, 3 seeds)"``, the difference in the metric's units."""
        diff = f"{self.difference * scale:+.{digits}f}{unit}"
        if math.isnan(self.low):
            return f"{diff} ({self.test}, {self.seeds})"
        pct = f"{self.confidence * 100:g} %"
        return (f"{diff} ({pct} CI {self.low * scale:+.{digits}f} to {self.high * scale:+.{digits}f}, "
                f"{self.test}, {self.seeds})")

    def words(self, first: str, second: str, higher_is_better: bool = True) -> str:
        """The verdict in words: ``"A is better than B"`` only when the interval excludes zero."""
        if not self.separated:
            return f"{first} and {second} are not distinguishable with {self.seeds}"
        better = (self.difference > 0) == higher_is_better
        return f"{first} is {'better' if better else 'worse'} than {second}"

    def sentence(self, first: str, second: str, *, higher_is_better: bool = True, scale: float = 1.0,
                 digits: int = 3, unit: str = "") -> str:
        """The words and the numbers they rest on, e.g. ``"PE is worse than DE: -4.1 points (95 % CI ...)"``."""
        return f"{self.words(first, second, higher_is_better)}: {self.interval(scale, digits, unit)}"


def seed_values(summary_or_values) -> list[float] | Mapping:
    """Per-seed values as a list of floats (any sequence or array; a ``{"values": [...]}`` record is opened), or
    the ``{"mean", "std", "n"}`` summary as given."""
    if isinstance(summary_or_values, Mapping):
        if "values" in summary_or_values:
            return [float(v) for v in summary_or_values["values"]]
        return summary_or_values
    if isinstance(summary_or_values, (str, bytes)) or not hasattr(summary_or_values, "__iter__"):
        raise TypeError("compare: a side must be per-seed values (a list) or a {'mean', 'std', 'n'} summary, got "
                        f"{type(summary_or_values).__name__}")
    return [float(v) for v in summary_or_values]


def _stats(side, name: str) -> tuple[float, float, int]:
    """(mean, sample std, n) of a side: a sequence of per-seed values or a ``{"mean", "std", "n"}`` summary."""
    side = seed_values(side)
    if isinstance(side, Mapping):
        missing = {"mean", "std", "n"} - set(side)
        if missing:
            raise ValueError(f"compare: {name} is a summary without {sorted(missing)}; give per-seed values or "
                             "{'mean', 'std', 'n'}")
        mean, std, n = float(side["mean"]), float(side["std"]), side["n"]
    else:
        values = side
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"compare: {name} holds a non-finite value ({values}); every seed needs a number")
        n = len(values)
        mean = statistics.fmean(values) if n else math.nan
        std = statistics.stdev(values) if n > 1 else 0.0
    if isinstance(n, bool) or not isinstance(n, (int, float)) or int(n) != n or n < 1:
        raise ValueError(f"compare: {name} needs at least one seed, got n = {n!r}")
    if not (math.isfinite(mean) and math.isfinite(std)) or std < 0:
        raise ValueError(f"compare: {name} has a non-finite mean or a negative/non-finite std ({mean}, {std})")
    return mean, std, int(n)


def _t_quantile(confidence: float, dof: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, dof))


def _p_value(t_stat: float, dof: float) -> float:
    from scipy.stats import t

    return float(2 * t.sf(abs(t_stat), dof))


def compare(first, second, *, paired: bool = False, confidence: float = 0.95) -> Comparison:
    """``first - second`` with a ``confidence`` interval from a t-test over seeds.

    ``first``/``second``: per-seed values (lists; required when ``paired``, in the same seed order) or
    ``{"mean", "std", "n"}`` summaries (Welch's test). ``paired=True`` tests the per-seed differences (the same
    seed on both sides). Fewer than two seeds on a side gives no interval and never a "better".

    >>> c = compare([0.80, 0.81, 0.82], [0.70, 0.71, 0.72])
    >>> c.separated, round(c.difference, 3), c.test
    (True, 0.1, 'Welch t')
    >>> compare([0.80, 0.90], [0.85, 0.80]).words("PE", "DE")
    'PE and DE are not distinguishable with 2 seeds'
    """
    if not 0 < confidence < 1:
        raise ValueError(f"compare: confidence must lie strictly between 0 and 1, got {confidence}")
    if paired:
        first, second = seed_values(first), seed_values(second)
        if isinstance(first, Mapping) or isinstance(second, Mapping):
            raise ValueError("compare: a paired test needs per-seed values on both sides, not summaries")
        if len(first) != len(second):
            raise ValueError(f"compare: a paired test needs as many values on each side ({len(first)} vs "
                             f"{len(second)}); pair by seed")
        _stats(first, "first")  # each side's own faults are named before its differences are taken
        _stats(second, "second")
        mean, std, n = _stats([a - b for a, b in zip(first, second, strict=True)], "the paired differences")
        if n < 2:
            return Comparison(mean, math.nan, math.nan, n, n, "one seed: no test")
        half = _t_quantile(confidence, n - 1) * std / math.sqrt(n)
        p = _p_value(mean / (std / math.sqrt(n)), n - 1) if std > 0 else (0.0 if mean else 1.0)
        return Comparison(mean, mean - half, mean + half, n, n, "paired t", confidence, p)
    (m1, s1, n1), (m2, s2, n2) = _stats(first, "first"), _stats(second, "second")
    diff = m1 - m2
    if min(n1, n2) < 2:
        return Comparison(diff, math.nan, math.nan, n1, n2, "one seed: no test")
    v1, v2 = s1 ** 2 / n1, s2 ** 2 / n2
    se = math.sqrt(v1 + v2)
    if se == 0:  # no spread on either side: an interval of one point
        return Comparison(diff, diff, diff, n1, n2, "Welch t", confidence, 0.0 if diff else 1.0)
    dof = (v1 + v2) ** 2 / ((v1 ** 2 / (n1 - 1) if v1 else 0.0) + (v2 ** 2 / (n2 - 1) if v2 else 0.0))
    half = _t_quantile(confidence, dof) * se
    return Comparison(diff, diff - half, diff + half, n1, n2, "Welch t", confidence, _p_value(diff / se, dof))
