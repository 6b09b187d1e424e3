"""Bad inputs to the metrics: NaN, logits passed as probabilities, wrong labels, impossible rates."""

from __future__ import annotations

import pytest
import torch
from helpers import random_probs

from pe_lab.evaluation.metrics import (
    accuracy,
    ece,
    ece_by_hand,
    evaluate_predictions,
    fpr_at_tpr,
    nll,
    ood_metrics,
    ood_score,
)

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_a_nan_probability_is_refused_by_every_metric():
    probs, labels = random_probs(), torch.arange(40) % 10
    probs[3, 2] = float("nan")
    for metric in (accuracy, nll, ece, ece_by_hand):
        with pytest.raises(ValueError, match=r"probs has non-finite values \(NaN or inf\) in 1 of 40 samples"):
            metric(probs, labels)


def test_logits_passed_as_probabilities_are_refused():
    logits, labels = torch.randn(40, 10), torch.arange(40) % 10
    for metric in (ece, ece_by_hand, nll, accuracy):
        with pytest.raises(ValueError, match=r"logits passed instead of softmax outputs\?"):
            metric(logits, labels)
    positive = logits.exp()  # in range only when tiny, but never summing to 1
    with pytest.raises(ValueError, match="must sum to 1 over the K classes"):
        ece(positive / positive.sum() * 3, labels)


def test_a_nan_ood_score_is_refused():
    with pytest.raises(ValueError, match=r"out_scores has 1 non-finite scores"):
        ood_metrics(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.9, float("nan")]))


def test_ood_probabilities_with_other_classes_are_refused():
    member = random_probs(30, 10).reshape(10, 3, 10)
    ood = random_probs(20, 5).reshape(10, 2, 5)
    with pytest.raises(ValueError, match=r"same members and classes"):
        evaluate_predictions(member, torch.arange(10) % 10, ood)


def test_fpr_at_an_impossible_tpr_is_refused():
    with pytest.raises(ValueError, match="tpr must be <= 1, got tpr=1.5"):
        fpr_at_tpr(torch.tensor([0.1, 0.2]), torch.tensor([0.8]), tpr=1.5)


def test_ood_score_checks_criterion_and_probabilities():
    with pytest.raises(ValueError, match="unknown OOD criterion 'energy'"):
        ood_score(random_probs(6, 10).reshape(3, 2, 10), "energy")
    with pytest.raises(ValueError, match=r"member_probs must be \(N, M, K\)"):
        ood_score(random_probs(6, 10))


def test_float16_stored_predictions_still_pass():
    probs = random_probs(500, 10).half().float()
    assert 0 <= ece(probs, torch.arange(500) % 10) <= 1


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_integer_labels_of_any_width_are_accepted_by_nll_and_brier(dtype):
    from pe_lab.evaluation.metrics import brier_score

    probs, labels = torch.tensor([[0.25, 0.75], [0.9, 0.1]]), torch.tensor([1, 0])
    assert nll(probs, labels.to(dtype)) == pytest.approx(nll(probs, labels))
    assert brier_score(probs, labels.to(dtype)) == pytest.approx(brier_score(probs, labels))


@pytest.mark.parametrize("labels,message", [(torch.tensor([1.0, 0.0]), "integer class indices"),
                                            (torch.tensor([True, False]), "integer class indices"),
                                            ([1, 0], "must be a torch.Tensor")])
def test_float_bool_or_list_labels_name_the_rule(labels, message):
    with pytest.raises(TypeError, match=message):
        nll(torch.tensor([[0.25, 0.75], [0.9, 0.1]]), labels)
