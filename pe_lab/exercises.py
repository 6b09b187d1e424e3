"""Checkers for the notebooks' exercises: each says "right", or shows the first wrong entry and why.

A checker returns a ``Check`` (truthy when right) whose text is meant to be read by a student.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .ensemble import predict_proba
from .layers import PackedConv2d
from .masks import layer_mask
from .metrics import ece

__all__ = ["Check", "check_ece", "check_ensemble_average", "check_grouped_index", "check_mask", "check_pe_params"]


@dataclass
class Check:
    """The verdict of a checker; ``bool(check)`` is whether the answer is right."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("Right! " if self.ok else "Not yet. ") + self.message

    def _repr_pretty_(self, printer, cycle) -> None:  # how IPython shows it at the end of a cell
        printer.text(repr(self))


def check_mask(your_mask, *, in_channels: int, out_channels: int, num_estimators: int, gamma: int = 1,
               alpha: float = 1) -> Check:
    """Check a hand-written ``mask^j`` ``(alpha*out_channels, alpha*in_channels)`` of a hidden layer.

    >>> check_mask(torch.eye(2), in_channels=2, out_channels=2, num_estimators=2)
    Right! mask^j for C_in=2, C_out=2, M=2, gamma=1, alpha=1: 2 groups of 1x1.
    """
    layer = PackedConv2d(in_channels, out_channels, 1, alpha=alpha, num_estimators=num_estimators, gamma=gamma)
    expected = layer_mask(layer)[..., 0, 0]
    mask = torch.as_tensor(your_mask).float()
    if mask.shape != expected.shape:
        return Check(False, f"your mask has shape {tuple(mask.shape)}; mask^j has one row per output channel "
                            f"and one column per input channel: {tuple(expected.shape)} "
                            f"(alpha*C_out, alpha*C_in).")
    groups = layer.groups
    rows_per, cols_per = expected.shape[0] // groups, expected.shape[1] // groups
    wrong = (mask != expected).nonzero()
    if len(wrong):
        k, col = (int(v) for v in wrong[0])
        return Check(False, f"entry (k={k}, l={col}) is {mask[k, col]:g}, expected {expected[k, col]:g}: output "
                            f"channel k={k} is in group floor(k/{rows_per})={k // rows_per} and input channel "
                            f"l={col} in group floor(l/{cols_per})={col // cols_per}; the entry is 1 iff the "
                            f"groups are equal. ({len(wrong)} wrong entries in all.)")
    return Check(True, f"mask^j for C_in={in_channels}, C_out={out_channels}, M={num_estimators}, gamma={gamma}, "
                       f"alpha={alpha:g}: {groups} groups of {rows_per}x{cols_per}.")


def check_grouped_index(your_index: Callable[[int, int, int, int, int], int]) -> Check:
    """Check ``your_index(c, k, c_in, c_out, groups)``: the input channel that output channel ``c`` reads as
    its ``k``-th input in a grouped convolution (``k`` in ``[0, c_in/groups)``)."""
    for groups in (1, 2, 3, 4):
        for c_in, c_out in ((groups * 2, groups * 3), (groups * 3, groups)):
            for c in range(c_out):
                for k in range(c_in // groups):
                    expected = k + (c // (c_out // groups)) * (c_in // groups)
                    got = your_index(c, k, c_in, c_out, groups)
                    if got != expected:
                        return Check(False, f"for c={c}, k={k}, C_in={c_in}, C_out={c_out}, groups={groups} you "
                                            f"return {got}, expected {expected}: output channel c is in group "
                                            f"floor(c/(C_out/groups))={c // (c_out // groups)}, whose inputs start "
                                            f"at {(c // (c_out // groups)) * (c_in // groups)}.")
    return Check(True, "your index matches k + floor(c/(C_out/groups)) * C_in/groups on every case tried.")


def check_pe_params(your_count: int, *, in_channels: int, out_channels: int, kernel_size: int, alpha: float,
                    num_estimators: int, gamma: int = 1) -> Check:
    """Check the number of weights (no bias) of a hidden packed conv layer."""
    layer = PackedConv2d(in_channels, out_channels, kernel_size, alpha=alpha, num_estimators=num_estimators,
                         gamma=gamma, bias=False)
    expected = layer.weight.numel()
    if your_count == expected:
        return Check(True, f"{expected} = (alpha*C_in)*(alpha*C_out)*k^2/(M*gamma).")
    dense = in_channels * out_channels * kernel_size ** 2
    return Check(False, f"you say {your_count}, it has {expected}. The dense layer has C_in*C_out*k^2={dense}; "
                        f"widening by alpha multiplies by alpha^2={alpha ** 2:g}; splitting into M*gamma="
                        f"{num_estimators * gamma} groups divides by that.")


def check_ensemble_average(your_predict_proba: Callable[[torch.Tensor], torch.Tensor]) -> Check:
    """Check a function mapping logits ``(B, M, K)`` to the ensemble's probabilities ``(B, K)``."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, 4, generator=generator) * 3
    expected = predict_proba(lambda x: x, logits)
    got = your_predict_proba(logits.clone())
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return Check(False, f"expected a tensor of shape {tuple(expected.shape)}, got "
                            f"{getattr(got, 'shape', type(got).__name__)}")
    if torch.allclose(got, logits.mean(1).softmax(-1), atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
        return Check(False, "you took the softmax of the mean logits; the ensemble averages the members' "
                            "probabilities: mean over m of softmax(logits[:, m]).")
    if not torch.allclose(got, expected, atol=1e-5):
        b, k = divmod(int((got - expected).abs().argmax()), expected.shape[1])
        return Check(False, f"entry ({b}, {k}) is {got[b, k]:.4f}, expected {expected[b, k]:.4f}.")
    return Check(True, "the mean over members of softmax(logits).")


def check_ece(your_ece: Callable[[torch.Tensor, torch.Tensor, int], float]) -> Check:
    """Check ``your_ece(probs (N, K), labels (N,), num_bins)`` against torchmetrics on random predictions."""
    generator = torch.Generator().manual_seed(0)
    for num_bins in (5, 10, 15):
        probs = (torch.randn(400, 10, generator=generator) * 2.5).softmax(-1)
        labels = torch.randint(0, 10, (400,), generator=generator)
        expected = ece(probs, labels, num_bins)
        got = float(your_ece(probs, labels, num_bins))
        if abs(got - expected) > 1e-4:
            return Check(False, f"with {num_bins} bins you get {got:.5f}, torchmetrics gets {expected:.5f}. "
                                "Bins are equal-width on [0, 1] by confidence (max probability), a sample with "
                                "confidence c goes to the bin with lower < c <= upper, and each bin's "
                                "|accuracy - mean confidence| is weighted by its share of the samples.")
    return Check(True, "your ECE agrees with torchmetrics' MulticlassCalibrationError (L1) for 5, 10, 15 bins.")
