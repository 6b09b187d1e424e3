"""Metrics on the probabilities pe-lab stores (float16) or a model emits under autocast (bfloat16), on one-class
"probabilities", on inf, and temperature scaling at extreme temperatures: the right number or a refusal in
pe-lab's words, never a sum that stopped growing in half precision.
"""

from __future__ import annotations

import pytest
import torch
from helpers import random_probs

from pe_lab.evaluation import metrics as m

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA

HALF_DTYPES = [torch.float16, torch.bfloat16]


def _confident_but_wrong_tenth(n=50_000):
    """``n`` images, each predicted class 0 with confidence 0.9, all labelled 0: ECE = 0.1 exactly."""
    return torch.tensor([[0.9, 0.1]]).repeat(n, 1), torch.zeros(n, dtype=torch.long)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_the_ece_of_50000_half_precision_rows_is_not_lost_in_the_sums(dtype):
    probs, labels = _confident_but_wrong_tenth()
    stored = probs.to(dtype)
    exact = 1 - stored[0, 0].double().item()  # every image right at the stored confidence: |1 - 0.9| as stored
    assert m.ece_by_hand(stored, labels) == pytest.approx(exact, rel=1e-12)
    assert m.ece_by_hand(probs, labels) == pytest.approx(1 - probs[0, 0].double().item(), rel=1e-12)
    assert m.ece(stored, labels) == m.ece(stored.float(), labels)  # torchmetrics sees the float32 it would see
    assert m.ece(stored, labels) == pytest.approx(exact, abs=5e-4)  # its own bin sums are float32
    data = m.reliability_data(probs.to(dtype), labels)
    assert int(data["count"].sum()) == 50_000
    direction = m.calibration_direction(probs.to(dtype), labels)
    assert direction["share_under"] == 1.0 and direction["filled_bins"] == 1


def _every_metric(member_probs, labels, ood_member_probs):
    """Every metric entry of ``pe_lab.evaluation.metrics`` on one input, as plain numbers."""
    probs = member_probs[:, 0]  # a mean taken here would round in half precision before any metric sees it
    in_scores, out_scores = m.ood_score(member_probs, "entropy"), m.ood_score(ood_member_probs, "entropy")
    report = m.evaluate_predictions(member_probs, labels, ood_member_probs)
    values = {
        "accuracy": m.accuracy(probs, labels), "nll": m.nll(probs, labels), "brier": m.brier_score(probs, labels),
        "ece": m.ece(probs, labels), "ece_by_hand": m.ece_by_hand(probs, labels),
        "reliability_count": m.reliability_data(probs, labels)["count"].tolist(),
        "reliability_confidence": m.reliability_data(probs, labels)["confidence"].nan_to_num(-1).tolist(),
        "direction": list(m.calibration_direction(probs, labels).values()),
        "entropy": m.entropy(probs).tolist(), "mutual_information": m.mutual_information(member_probs).tolist(),
        "variation_ratio": m.variation_ratio(member_probs).tolist(),
        "first_members": list(m.first_members(member_probs, labels, 2).values()),
        "diversity": [v for v in m.diversity(member_probs, labels).values() if not isinstance(v, list)],
        "temperature": m.with_temperature(member_probs, 1.5).double().flatten()[:50].tolist(),
        "ood": list(m.ood_metrics(in_scores, out_scores).values()),
        "report": [report[k] for k in ("accuracy", "nll", "ece", "brier")]
        + [v for scores in report["ood"].values() for v in scores.values()],
    }
    for criterion in m.OOD_CRITERIA:
        values[f"score_{criterion}"] = m.ood_score(member_probs, criterion).tolist()
    return values


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_every_metric_gives_on_half_precision_what_it_gives_on_the_same_values_in_float64(dtype):
    """A stored float16 probability is exactly representable in float64: every metric must give the number it
    gives on those same values held in float64 (no rounding inside the computation)."""
    generator = torch.Generator().manual_seed(0)
    member = (torch.randn(3000, 3, 10, generator=generator) * 3).softmax(-1).to(dtype)
    member = member / member.double().sum(-1, keepdim=True).to(dtype)  # rows sum to 1 within half precision
    ood = torch.randn(1000, 3, 10, generator=generator).softmax(-1).to(dtype)
    labels = torch.arange(3000) % 10
    low, high = _every_metric(member, labels, ood), _every_metric(member.double(), labels, ood.double())
    for name in high:
        assert low[name] == pytest.approx(high[name], rel=1e-5, abs=1e-6), name


def test_a_cifar10_sized_float16_set_gives_the_float32_ece():
    probs = (torch.randn(10_000, 10, generator=torch.Generator().manual_seed(1)) * 4).softmax(-1)
    labels = torch.randint(0, 10, (10_000,), generator=torch.Generator().manual_seed(2))
    assert m.ece_by_hand(probs.half(), labels) == pytest.approx(m.ece_by_hand(probs.half().float(), labels), abs=1e-6)


def test_returned_scores_keep_at_least_float32():
    member = random_probs(20, 10).reshape(10, 2, 10).half()
    for scores in (m.entropy(member.mean(1)), m.mutual_information(member), m.variation_ratio(member),
                   m.ood_score(member, "msp")):
        assert scores.dtype == torch.float32
    assert m.entropy(random_probs(5, 10).double()).dtype == torch.float64


ONE_CLASS_CALLS = {
    "accuracy": lambda p, mp, y: m.accuracy(p, y),
    "nll": lambda p, mp, y: m.nll(p, y),
    "brier_score": lambda p, mp, y: m.brier_score(p, y),
    "ece": lambda p, mp, y: m.ece(p, y),
    "ece_by_hand": lambda p, mp, y: m.ece_by_hand(p, y),
    "reliability_data": lambda p, mp, y: m.reliability_data(p, y),
    "calibration_direction": lambda p, mp, y: m.calibration_direction(p, y),
    "entropy": lambda p, mp, y: m.entropy(p),
    "mutual_information": lambda p, mp, y: m.mutual_information(mp),
    "variation_ratio": lambda p, mp, y: m.variation_ratio(mp),
    "ood_score": lambda p, mp, y: m.ood_score(mp),
    "with_temperature": lambda p, mp, y: m.with_temperature(mp, 2.0),
    "diversity": lambda p, mp, y: m.diversity(mp, y),
    "first_members": lambda p, mp, y: m.first_members(mp, y, 1),
    "evaluate_predictions": lambda p, mp, y: m.evaluate_predictions(mp, y),
}


@pytest.mark.parametrize("name", list(ONE_CLASS_CALLS))
def test_one_class_probabilities_are_refused_by_every_metric_in_pe_labs_words(name):
    probs, member, labels = torch.ones(4, 1), torch.ones(4, 2, 1), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"has K=1 class; .* need at least 2 classes"):
        ONE_CLASS_CALLS[name](probs, member, labels)


@pytest.mark.parametrize("name", list(ONE_CLASS_CALLS))
@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_inf_and_nan_probabilities_are_refused_by_every_metric(name, bad):
    probs, member, labels = random_probs(6, 3), random_probs(12, 3).reshape(6, 2, 3), torch.arange(6) % 3
    probs[1, 2], member[1, 0, 2] = bad, bad
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or inf\) in 1 of 6 samples"):
        ONE_CLASS_CALLS[name](probs, member, labels)


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e-8, 1e-3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_a_tiny_positive_temperature_gives_the_one_hot_limit_not_nan(temperature, dtype):
    member = torch.tensor([[[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]], [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]]).to(dtype)
    scaled = m.with_temperature(member, temperature)
    assert torch.isfinite(scaled).all()
    expected = torch.tensor([[[1.0, 0, 0], [0, 0, 1]], [[1, 0, 0], [0.5, 0.5, 0]]])  # ties share the mass
    assert torch.allclose(scaled.double(), expected.double(), atol=1e-3)


@pytest.mark.parametrize("temperature", [1e300, 1e30])
def test_a_huge_temperature_gives_the_uniform_limit(temperature):
    scaled = m.with_temperature(torch.tensor([[[0.7, 0.2, 0.1]]]), temperature)
    assert torch.allclose(scaled, torch.full((1, 1, 3), 1 / 3))


def test_temperature_scaling_still_matches_logits():
    logits = torch.randn(50, 3, 10, generator=torch.Generator().manual_seed(0)) * 2
    assert torch.allclose(m.with_temperature(logits.softmax(-1), 0.7), (logits / 0.7).softmax(-1), atol=1e-5)
