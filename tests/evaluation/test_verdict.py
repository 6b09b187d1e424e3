"""The lab's one verdict: pairs that must separate and pairs that must not, the intervals against scipy's t-tests,
no verdict from one seed, and bad input refused before any arithmetic."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from pe_lab import compare
from pe_lab.config import assets_dir
from pe_lab.evaluation.verdict import Comparison


def _seed_metric(runs, method, read):
    return [read(r["metrics"]) for r in sorted(runs, key=lambda r: r["seed"]) if r["method"] == method]


# --- pairs that must separate ------------------------------------------------------------------------------------

@pytest.mark.parametrize("paired", [False, True])
def test_a_clear_gap_over_three_seeds_separates_and_is_called_better(paired):
    c = compare([0.80, 0.81, 0.82], [0.70, 0.715, 0.72], paired=paired)
    assert c.separated and c.low > 0 and c.p_value < 0.01
    assert c.words("DE", "PE") == "DE is better than PE"
    assert c.words("PE", "DE") == "PE is better than DE"  # the words follow the sign of first - second
    assert compare([0.70, 0.715, 0.72], [0.80, 0.81, 0.82], paired=paired).words("PE", "DE") == "PE is worse than DE"


def test_pairing_by_seed_separates_a_steady_gap_that_the_seeds_spread_hides():
    """The same seed moves both runs together: the paired test sees a steady +1 point; Welch sees only the
    10-point spread between seeds."""
    single = [0.60, 0.70, 0.80]
    ensemble = [0.611, 0.709, 0.812]
    assert compare(ensemble, single, paired=True).separated
    assert not compare(ensemble, single).separated


def test_lower_is_better_turns_the_words_for_nll_and_ece():
    nll_de, nll_single = [0.60, 0.61, 0.59], [0.70, 0.72, 0.71]
    c = compare(nll_de, nll_single, paired=True)
    assert c.difference < 0 and c.separated
    assert c.words("DE", "the Single", higher_is_better=False) == "DE is better than the Single"
    assert c.words("DE", "the Single", higher_is_better=True) == "DE is worse than the Single"
    ece = compare({"mean": 0.09, "std": 0.003, "n": 3}, {"mean": 0.015, "std": 0.003, "n": 3})
    assert ece.words("PE", "Single", higher_is_better=False) == "PE is worse than Single"


# --- pairs that must not separate ---------------------------------------------------------------------------------

def test_notebook_04s_ood_gap_is_not_distinguishable():
    """Notebook 04's 'PE scores best on OOD by MSP': AUROC 77.4 +- 1.5 vs 75.3 +- 1.6 over 3 seeds (p about 0.16)."""
    c = compare({"mean": 0.774, "std": 0.015, "n": 3}, {"mean": 0.753, "std": 0.016, "n": 3})
    assert not c.separated and c.low < 0 < c.high and 0.1 < c.p_value < 0.25
    assert c.words("PE(2,4,1)", "Single") == "PE(2,4,1) and Single are not distinguishable with 3 seeds"
    report = json.loads((assets_dir() / "results" / "cifar10_resnet20.json").read_text())
    auroc = lambda m: m["ood"]["msp"]["auroc"]  # noqa: E731
    pe, single = _seed_metric(report["runs"], "packed", auroc), _seed_metric(report["runs"], "single", auroc)
    for paired in (False, True):
        measured = compare(pe, single, paired=paired)
        assert measured.difference > 0 and not measured.separated, measured
    assert compare(pe, single).p_value == pytest.approx(0.16, abs=0.01)


def test_notebook_08s_equal_parameter_gap_is_not_distinguishable():
    """Notebook 08's 'an ensemble wins at 3.9 M parameters': 79.9 +- 0.15 (3 seeds) vs 79.4 +- 0.43 (2 seeds)."""
    c = compare({"mean": 0.799, "std": 0.0015, "n": 3}, {"mean": 0.794, "std": 0.0043, "n": 2})
    assert not c.separated and c.test == "Welch t" and c.seeds == "3 and 2 seeds" and 0.2 < c.p_value < 0.45
    assert c.words("DE(4) x4", "Single x8") == "DE(4) x4 and Single x8 are not distinguishable with 3 and 2 seeds"
    sweep = json.loads((assets_dir() / "results" / "sweep_width_lenet.json").read_text())
    rows = {r["label"]: [run["metrics"]["accuracy"] for run in r["runs"]] for r in sweep["rows"]}
    measured = compare(rows["DE(4) x4"], rows["Single x8"])
    assert not measured.separated and measured.p_value == pytest.approx(0.31, abs=0.01)
    with pytest.raises(ValueError, match="as many values"):
        compare(rows["DE(4) x4"], rows["Single x8"], paired=True)  # seed 2 of Single x8 was never run


def test_two_seeds_rarely_separate_a_small_gap():
    c = compare([0.80, 0.90], [0.85, 0.80])
    assert not c.separated and c.words("PE", "DE") == "PE and DE are not distinguishable with 2 seeds"


def test_identical_runs_are_not_separated():
    """Two names for one network trained with the same seeds give the same numbers: a difference of exactly 0."""
    same = [0.763, 0.761, 0.765]
    for paired in (False, True):
        c = compare(same, list(same), paired=paired)
        assert c.difference == 0 and not c.separated and c.p_value == 1.0


# --- the interval is scipy's --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_paired_and_welch_intervals_are_scipys(seed):
    rng = np.random.default_rng(seed)
    n1 = int(rng.integers(2, 8))
    first = rng.normal(0.75, 0.02, n1)
    second = first - rng.normal(0.01, 0.015, n1)
    paired = compare(first.tolist(), second.tolist(), paired=True)
    reference = stats.ttest_rel(first, second)
    low, high = reference.confidence_interval(0.95)
    assert paired.test == "paired t" and paired.seeds == f"{n1} seeds"
    assert (paired.low, paired.high, paired.p_value) == pytest.approx((low, high, reference.pvalue), rel=1e-9)

    n2 = int(rng.integers(2, 8))
    other = rng.normal(0.74, 0.04, n2)
    welch = compare(first.tolist(), other.tolist())
    reference = stats.ttest_ind(first, other, equal_var=False)
    low, high = reference.confidence_interval(0.95)
    assert welch.test == "Welch t"
    assert (welch.low, welch.high, welch.p_value) == pytest.approx((low, high, reference.pvalue), rel=1e-9)
    assert welch.difference == pytest.approx(first.mean() - other.mean())
    # a summary of the same values gives the same Welch interval
    summary = compare({"mean": first.mean(), "std": first.std(ddof=1), "n": n1}, other)
    assert (summary.low, summary.high) == pytest.approx((welch.low, welch.high), rel=1e-9)


def test_a_wider_confidence_gives_a_wider_interval_from_scipy():
    first, second = [0.80, 0.83, 0.81, 0.79], [0.78, 0.80, 0.80, 0.77]
    c = compare(first, second, paired=True, confidence=0.99)
    low, high = stats.ttest_rel(first, second).confidence_interval(0.99)
    assert (c.low, c.high) == pytest.approx((low, high)) and "99 % CI" in c.interval()


def test_values_may_be_arrays_tuples_or_a_values_record():
    a, b = np.array([0.80, 0.81, 0.82]), (0.70, 0.71, 0.72)
    expected = compare([0.80, 0.81, 0.82], [0.70, 0.71, 0.72], paired=True)
    assert compare(a, b, paired=True) == expected
    assert compare({"values": a.tolist(), "mean": 0.0}, b, paired=True) == expected  # per-seed values win


# --- one seed: no interval, never "better" ------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, paired", [
    ([0.90], [0.10], False), ([0.90], [0.10], True), ([0.90], [0.10, 0.12, 0.11], False),
    ({"mean": 0.9, "std": 0.0, "n": 1}, {"mean": 0.1, "std": 0.01, "n": 3}, False)])
def test_one_seed_gives_no_interval_and_never_better(first, second, paired):
    c = compare(first, second, paired=paired)
    assert c.difference == pytest.approx(0.8, abs=0.02)
    assert math.isnan(c.low) and math.isnan(c.high) and math.isnan(c.p_value) and not c.separated
    assert "better" not in c.words("A", "B") and "worse" not in c.words("A", "B", higher_is_better=False)
    assert "not distinguishable with 1" in c.words("A", "B")
    assert "CI" not in c.interval() and "no test" in c.interval()


# --- the sentence says the numbers and the n ----------------------------------------------------------------------

def test_the_sentence_says_the_difference_its_interval_the_test_and_the_seeds():
    c = Comparison(0.0412, 0.021, 0.0614, 3, 3, "paired t", 0.95, 0.01)
    assert c.interval(100, 1, " points") == "+4.1 points (95 % CI +2.1 to +6.1, paired t, 3 seeds)"
    assert c.sentence("DE", "PE", scale=100, digits=1, unit=" points") == (
        "DE is better than PE: +4.1 points (95 % CI +2.1 to +6.1, paired t, 3 seeds)")
    assert Comparison(0.1, math.nan, math.nan, 1, 1, "one seed: no test").seeds == "1 seed"
    assert Comparison(0.1, 0.0, 0.2, 3, 2, "Welch t").seeds == "3 and 2 seeds"


# --- bad input is refused, naming the rule ------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, kwargs, error, match", [
    ([0.8, 0.81, 0.82], [0.7, 0.71], {"paired": True}, ValueError, "as many values on each side"),
    ({"mean": 0.8, "std": 0.01, "n": 3}, [0.7, 0.71, 0.72], {"paired": True}, ValueError, "per-seed values on both"),
    ([0.8, 0.81, 0.82], {"mean": 0.7, "std": 0.01, "n": 3}, {"paired": True}, ValueError, "per-seed values on both"),
    ({"mean": 0.8, "std": -0.01, "n": 3}, [0.7, 0.71], {}, ValueError, "first has .*negative"),
    ([0.7, 0.71], {"mean": 0.8, "std": math.nan, "n": 3}, {}, ValueError, "second has .*non-finite"),
    ({"mean": math.nan, "std": 0.01, "n": 3}, [0.7, 0.71], {}, ValueError, "first has a non-finite mean"),
    ([0.8, math.nan, 0.82], [0.7, 0.71, 0.72], {}, ValueError, "first holds a non-finite value"),
    ([0.8, 0.81, 0.82], [0.7, math.nan, 0.72], {"paired": True}, ValueError, "second holds a non-finite value"),
    ([0.8, math.inf], [0.7, 0.71], {}, ValueError, "non-finite"),
    ([], [0.7, 0.71], {}, ValueError, "first needs at least one seed"),
    ({"mean": 0.8, "std": 0.01, "n": 0}, [0.7, 0.71], {}, ValueError, "at least one seed"),
    ({"mean": 0.8, "std": 0.01, "n": 2.5}, [0.7, 0.71], {}, ValueError, "at least one seed"),
    ({"mean": 0.8, "std": 0.01, "n": True}, [0.7, 0.71], {}, ValueError, "at least one seed"),
    ({"mean": 0.8, "n": 3}, [0.7, 0.71], {}, ValueError, r"summary without \['std'\]"),
    ("0.8, 0.9", [0.7, 0.71], {}, TypeError, "per-seed values"),
    (0.8, [0.7, 0.71], {}, TypeError, "per-seed values"),
    ([0.8, 0.81], [0.7, 0.71], {"confidence": 95}, ValueError, "confidence must lie strictly between 0 and 1"),
])
def test_bad_input_is_refused_with_the_rule_it_broke(first, second, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare(first, second, **kwargs)
