"""Notebook 05's checker: the expected calibration error (ECE), against torchmetrics, with the classic mistakes."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ...evaluation.metrics import ece
from .checking import Check, as_number, raised, refuse_library, with_answer

__all__ = ["ECE_SETTINGS", "calibration_test_set", "check_ece", "ece_with_true_class_confidence"]


def calibration_test_set(num_bins: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions whose bins are over-confident at high confidence and under-confident at low confidence,
    so that the binned ECE differs from the unbinned |mean accuracy - mean confidence| (where the gaps of
    opposite sign cancel) and from every other classic shortcut. No confidence lies within 1e-6 of a bin edge
    (for any number of bins up to 30), so every convention for a sample on an edge gives the same bins."""
    generator = torch.Generator().manual_seed(seed)
    n, k = 600, 10
    probs = (torch.randn(n, k, generator=generator) * torch.linspace(0.3, 4.0, n)[:, None]).softmax(-1)
    confidence, predicted = probs.max(1)
    # P(correct | c): above c for c < 0.5 (under-confident), below it above (over-confident).
    p_correct = (confidence + 0.25 * torch.sin(2 * torch.pi * confidence)).clamp(0, 1)
    correct = torch.rand(n, generator=generator) < p_correct
    other = (predicted + torch.randint(1, k, (n,), generator=generator)) % k
    return probs, torch.where(correct, predicted, other)


def ece_with_true_class_confidence(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> float:
    """A classic wrong ECE: binned by the probability of the *true* class instead of the confidence."""
    confidence = probs.gather(1, labels[:, None])[:, 0]
    accuracy = (probs.argmax(1) == labels).float()
    return _binned_gaps(confidence, accuracy, num_bins)[0]


def _bin_index(confidence: torch.Tensor, num_bins: int) -> torch.Tensor:
    edges = torch.linspace(0, 1, num_bins + 1, dtype=confidence.dtype)
    return (torch.bucketize(confidence, edges) - 1).clamp(0, num_bins - 1)


def _binned_gaps(confidence: torch.Tensor, accuracy: torch.Tensor, num_bins: int) -> tuple[float, list, list]:
    """``(ECE, per-bin shares, per-bin signed gaps acc - conf)`` over the non-empty equal-width bins."""
    index = _bin_index(confidence, num_bins)
    shares, gaps = [], []
    for b in range(num_bins):
        chosen = index == b
        if chosen.any():
            shares.append(chosen.double().mean().item())
            gaps.append((accuracy[chosen].double().mean() - confidence[chosen].double().mean()).item())
    return sum(w * abs(g) for w, g in zip(shares, gaps, strict=True)), shares, gaps


def _ece_mistakes(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> list[tuple[float, str]]:
    confidence, predicted = probs.max(1)
    accuracy = (predicted == labels).double()
    right, shares, gaps = _binned_gaps(confidence, accuracy, num_bins)
    order = confidence.argsort()
    equal_mass = sum(len(chunk) / len(order) * abs(accuracy[chunk].mean() - confidence[chunk].double().mean()).item()
                     for chunk in order.tensor_split(num_bins) if len(chunk))
    top = _bin_index(confidence, num_bins) == num_bins - 1
    return [
        (abs(accuracy.mean() - confidence.double().mean()).item(),
         "you compared the mean accuracy with the mean confidence over all samples (summing the bins' signed gaps "
         "before |.| gives the same); ECE takes |acc - conf| in each confidence bin, so over- and under-confident "
         "bins cannot cancel"),
        (sum(abs(g) for g in gaps) / len(gaps), "each bin's gap must be weighted by its share of the samples "
                                                "|S_b|/N, not averaged over bins"),
        (sum(abs(g) for g in gaps) / num_bins, "each bin's gap must be weighted by its share of the samples |S_b|/N, "
                                               "not averaged over the bins"),
        (sum(w * len(confidence) * abs(g) for w, g in zip(shares, gaps, strict=True)),
         "weight each bin by its share of the samples |S_b|/N, not by its count |S_b|"),
        (ece_with_true_class_confidence(probs, labels, num_bins), "the confidence is the maximum probability (of the "
                                                                  "predicted class), not the probability of the "
                                                                  "true class"),
        (equal_mass, "the bins are equal-*width* intervals of [0, 1], not equal-mass bins (quantiles) with the same "
                     "number of samples each"),
        ((accuracy - confidence.double()).abs().mean().item(), "take |accuracy - confidence| of each bin's averages, "
                                                               "not each sample's |correct - confidence|"),
        (math.sqrt(sum(w * g * g for w, g in zip(shares, gaps, strict=True))), "that is the L2 (root mean square) "
                                                                               "calibration error; ECE is L1: "
                                                                               "|acc - conf|, not its square"),
        (max(abs(g) for g in gaps), "that is the maximum calibration error (the worst bin); ECE weights every bin "
                                    "by its share of the samples and adds them up"),
        (100 * right, "ECE is a fraction in [0, 1], not a percentage"),
        (right - (top.double().mean() * (accuracy[top].mean() - confidence[top].double().mean()).abs()).item()
         if top.any() else math.nan,
         "your loop leaves out the top bin (c close to 1): num_bins bins are numbered 0 ... num_bins-1"),
    ] + [(_binned_gaps(confidence, accuracy, count)[0], "those are not num_bins bins (one too many or too few, or a "
                                                        "fixed number): num_bins equal-width bins have num_bins + 1 "
                                                        "edges") for count in (num_bins - 1, num_bins + 1, 10, 15, 20)
         if count != num_bins]


ECE_SETTINGS = ((5, 0), (10, 1), (15, 2))  # (num_bins, seed of calibration_test_set)
_ECE_HELPERS = frozenset({"ece", "ece_by_hand", "reliability_data", "calibration_direction", "calibration_error",
                          "multiclass_calibration_error", "binary_calibration_error", "MulticlassCalibrationError",
                          "BinaryCalibrationError", "CalibrationError"})


def check_ece(your_ece: Callable[[torch.Tensor, torch.Tensor, int], float], *, reveal: bool | None = None) -> Check:
    """Check ``your_ece(probs (N, K), labels (N,), num_bins)`` against torchmetrics for 5, 10 and 15 bins, on
    predictions that are over-confident in some bins and under-confident in others; names the classic mistakes.
    A function that is, or calls, the library's ECE (``ece``, ``ece_by_hand``, ``reliability_data``,
    torchmetrics' calibration error) is refused."""
    refused = refuse_library(your_ece, "the ECE", _ECE_HELPERS)
    if refused is not None:
        return refused
    for num_bins, seed in ECE_SETTINGS:
        probs, labels = calibration_test_set(num_bins, seed)
        expected = ece(probs, labels, num_bins)
        try:
            got = as_number(your_ece(probs.clone(), labels.clone(), num_bins))
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return raised(f"{num_bins} bins", error)
        if got is None:
            return Check(False, f"with {num_bins} bins: return the ECE as one number")
        if abs(got - expected) <= 1e-4:
            continue
        for value, reason in _ece_mistakes(probs, labels, num_bins):
            if abs(got - value) <= 1e-4:
                return with_answer(Check(False, f"with {num_bins} bins: {reason}."), f"{expected:.5f}", reveal)
        check = Check(False, f"with {num_bins} bins your ECE disagrees with torchmetrics'. Bins are num_bins "
                             "equal-width intervals of [0, 1] by confidence (max probability), and each bin's "
                             "|accuracy - mean confidence| is weighted by its share of the samples.")
        return with_answer(check, f"{expected:.5f}", reveal)
    return Check(True, "your ECE agrees with torchmetrics' MulticlassCalibrationError (L1) for 5, 10, 15 bins, "
                       "on predictions that are over-confident in some bins and under-confident in others.")
