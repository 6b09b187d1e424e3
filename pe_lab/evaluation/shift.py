"""Robustness under shift: the metrics of a model on every corruption and severity (in the style of
CIFAR-10-C, ``pe_lab.data.corruptions``) or on the official CIFAR-10-C files (``pe_lab.data.benchmarks``),
and far-OOD detection on textures."""

from __future__ import annotations

import os

import torch

from ..data.benchmarks import cifar10c_corruptions, load_cifar10c
from ..data.corruptions import CORRUPTIONS, SEVERITIES, shifted
from ..data.images import ImageSet, subset
from ..validate import check_choice

__all__ = ["official_shift_metrics", "shift_metrics"]


def shift_metrics(model: torch.nn.Module, test: ImageSet, *, corruptions=tuple(CORRUPTIONS),
                  severities=SEVERITIES, device: str | torch.device = "cpu", seed: int = 0) -> dict:
    """Accuracy, NLL and ECE of ``model``'s ensemble prediction on ``test`` under every corruption and severity,
    ``{name: {severity: {...}}}``, with severity ``0`` the clean test set."""
    from .prediction import evaluate

    for name in corruptions:
        check_choice("corruption", name, CORRUPTIONS)
    for severity in severities:
        check_choice("severity", severity, SEVERITIES)

    clean = evaluate(model, test, device=device)
    return {name: {0: clean, **{s: evaluate(model, shifted(test, name, s, seed=seed), device=device)
                                for s in severities}}
            for name in corruptions}


def official_shift_metrics(model: torch.nn.Module, root: str | os.PathLike, *, corruptions=None,
                           severities=(1, 2, 3, 4, 5), per_class: int | None = None, device="cpu") -> dict:
    """Accuracy, NLL and ECE of ``model`` on the official CIFAR-10-C: ``{corruption: {severity: metrics}}``,
    on a balanced subset of ``per_class`` images per class if given (the same images for every severity)."""
    from .prediction import evaluate

    names = corruptions or cifar10c_corruptions(root)
    results: dict = {}
    for name in names:
        results[name] = {}
        for severity in severities:
            data = load_cifar10c(root, name, severity)
            if per_class is not None:
                data = subset(data, per_class)
            results[name][severity] = evaluate(model, data, device=device)
    return results
