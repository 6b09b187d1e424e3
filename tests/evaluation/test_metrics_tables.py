"""The metric and OOD-criterion tables: every entry says truly which way is better, and every reader follows them."""

from __future__ import annotations

import pytest
import torch

from pe_lab.evaluation.metrics import (
    METRICS,
    OOD_CRITERIA,
    OOD_METRICS,
    criteria_for,
    evaluate_predictions,
    metric,
    ood_metrics,
    ood_score,
)
from pe_lab.results.comparisons import METRIC_READING, higher_is_better

LABELS = torch.arange(4) % 3


def _member_probs(confident: bool, members: int = 1) -> torch.Tensor:
    """``(4, members, 3)``: every member sure of the label, or every member uniform."""
    probs = torch.nn.functional.one_hot(LABELS, 3).double() * 0.97 + 0.01 if confident else torch.full((4, 3), 1 / 3)
    return probs[:, None].expand(-1, members, -1).contiguous()


@pytest.mark.parametrize("key", list(METRICS))
def test_each_metric_scores_a_sure_right_prediction_better_than_a_uniform_one_in_its_stated_direction(key):
    entry = METRICS[key]
    sure, uniform = (entry.function(_member_probs(c)[:, 0], LABELS, 10) for c in (True, False))
    assert (sure > uniform) == entry.higher_is_better and higher_is_better(key) == entry.higher_is_better


@pytest.mark.parametrize("key", list(OOD_METRICS))
def test_each_ood_metric_scores_a_perfect_separation_better_than_a_reversed_one_in_its_stated_direction(key):
    low, high = torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.7, 0.8, 0.9])
    entry = OOD_METRICS[key]
    assert (entry.function(low, high) > entry.function(high, low)) == entry.higher_is_better
    assert METRIC_READING[key] == (entry.higher_is_better, entry.scale, entry.digits, " points")


def test_evaluate_predictions_and_ood_metrics_report_exactly_the_table_entries():
    probs = _member_probs(True, members=2)
    probs[0, 1] = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)  # members disagree on one image
    report = evaluate_predictions(probs, LABELS, _member_probs(False, members=2), num_bins=5)
    assert set(report) == {*METRICS, "num_bins", "num_test", "ood", "num_ood"}
    assert set(report["ood"]) <= set(OOD_CRITERIA)
    assert all(set(scores) == set(OOD_METRICS) for scores in report["ood"].values())
    assert set(ood_metrics(torch.tensor([0.0, 0.1]), torch.tensor([0.9]))) == set(OOD_METRICS)
    with pytest.raises(ValueError, match="unknown metric 'top5'; valid choices: accuracy, nll"):
        metric("top5")


def test_member_criteria_are_left_out_for_one_member_and_score_zero_there():
    single = torch.softmax(torch.randn(6, 1, 3, generator=torch.Generator().manual_seed(0)), -1)
    member_criteria = [name for name, c in OOD_CRITERIA.items() if c.needs_members]
    assert member_criteria and not set(member_criteria) & set(criteria_for(1))
    assert set(criteria_for(2)) == set(OOD_CRITERIA)
    for name in member_criteria:
        assert torch.equal(ood_score(single, name), torch.zeros(6))
