"""A 2-D toy world where a student can train Single, DE and PE in seconds and *see* them differ.

Two moons, spirals or blobs (noise and sample count are knobs), a far-away out-of-distribution ring, and three
MLPs built as the image models are, from the same layer factories and ensemble container (``pe_lab.nn.models``):
a Single (``PlainFactory``, one member), a Deep Ensemble (``DeepEnsemble`` of M Singles, each with its own
initialisation) and a PE(alpha, M, gamma) (``PackedFactory``: ``PackedLinear`` layers) of the same hidden width.
Full-batch Adam, the members' losses summed, a fixed seed: the same knobs give the same numbers, so a test can pin
a result.

Shapes: points ``(N, 2)``, labels ``(N,)``, every model's logits ``(N, M, K)`` (the package's one contract).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..evaluation.metrics import mutual_information
from ..evaluation.prediction import prediction_scores
from ..nn.layers import logits_by_member
from ..nn.models import DeepEnsemble, LayerFactory, PackedFactory, PlainFactory
from ..validate import check_choice, check_int, check_number

__all__ = ["DATASETS", "ToyResult", "make_toy", "ood_ring", "toy_grid", "toy_mlp", "train_toy", "toy_compare"]

DATASETS = ("moons", "spirals", "blobs")


def make_toy(kind: str = "moons", num_points: int = 400, *, noise: float = 0.15,
             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_points`` points ``(N, 2)`` and labels ``(N,)``: two moons (K=2), two spirals (K=2) or three
    Gaussian blobs (K=3), with Gaussian ``noise``; the points lie roughly in [-1.5, 2.5] x [-1.5, 1.5]."""
    check_choice("toy data set", kind, DATASETS)
    num_points = check_int("num_points", num_points, minimum=6)
    noise = check_number("noise", noise, minimum=0)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_points) % (3 if kind == "blobs" else 2)
    if kind == "moons":
        t = torch.rand(num_points, generator=g) * math.pi
        upper = torch.stack([t.cos(), t.sin()], 1)
        lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
        points = torch.where(labels[:, None] == 0, upper, lower)
    elif kind == "spirals":
        t = torch.rand(num_points, generator=g).sqrt() * 3 * math.pi
        sign = 1 - 2 * labels.float()
        points = sign[:, None] * torch.stack([t * t.cos(), t * t.sin()], 1) / (3 * math.pi) * 1.5
    else:
        centres = torch.tensor([[-0.8, -0.6], [0.8, -0.6], [0.0, 0.8]])
        points = centres[labels] + 0.25 * torch.randn(num_points, 2, generator=g)
    points = points + noise * torch.randn(num_points, 2, generator=g)
    return points.float(), labels


def ood_ring(num_points: int = 200, *, radius: float = 3.5, centre: tuple[float, float] = (0.5, 0.0),
             seed: int = 1) -> torch.Tensor:
    """Points ``(N, 2)`` on a ring of ``radius`` around ``centre`` (the data's middle): far from every
    training point, in every direction."""
    g = torch.Generator().manual_seed(seed)
    angle = torch.rand(num_points, generator=g) * 2 * math.pi
    r = radius + 0.15 * torch.randn(num_points, generator=g)
    return torch.stack([centre[0] + r * angle.cos(), centre[1] + r * angle.sin()], 1)


class ToyMLP(nn.Module):
    """An MLP 2 -> hidden -> hidden -> K per member from ``factory``'s linear layers (the layer-factory protocol
    every architecture is written against); logits ``(N, M, K)``."""

    def __init__(self, factory: LayerFactory, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.num_estimators = factory.num_estimators
        self.layers = nn.Sequential(factory.linear(2, hidden, first=True), nn.ReLU(),
                                    factory.linear(hidden, hidden), nn.ReLU(),
                                    factory.linear(hidden, num_classes, last=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logits_by_member(self.layers(x), self.num_estimators)


def toy_mlp(method: str, hidden: int = 16, num_classes: int = 2, *, num_estimators: int = 4, alpha: float = 2,
            gamma: int = 1) -> nn.Module:
    """``single``, ``deep`` (M Singles) or ``packed`` (PE(alpha, M, gamma)) MLP of base hidden width ``hidden``.
    A PE member has ``alpha * hidden / M`` hidden units; a DE member ``hidden``."""
    check_choice("toy method", method, ("single", "deep", "packed"))
    if method == "single":
        return ToyMLP(PlainFactory(), hidden, num_classes)
    if method == "deep":
        return DeepEnsemble([ToyMLP(PlainFactory(), hidden, num_classes) for _ in range(num_estimators)])
    return ToyMLP(PackedFactory(alpha, num_estimators, gamma), hidden, num_classes)


def train_toy(model: nn.Module, points: torch.Tensor, labels: torch.Tensor, *, epochs: int = 300,
              lr: float = 0.01) -> nn.Module:
    """Full-batch Adam for ``epochs`` steps; each member's cross-entropy is summed (so a member's step does not
    shrink with M); weight decay 1e-4. Returns ``model`` in eval mode."""
    epochs = check_int("epochs", epochs, minimum=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    model.train()
    for _ in range(epochs):
        logits = model(points)                                   # (N, M, K)
        members = logits.shape[1]
        loss = F.cross_entropy(logits.flatten(0, 1), labels.repeat_interleave(members)) * members
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def toy_grid(points: torch.Tensor, steps: int = 80, margin: float = 1.0) -> tuple[torch.Tensor, tuple]:
    """A ``steps x steps`` grid around ``points``: the grid points ``(steps*steps, 2)`` and the extent
    ``(x_min, x_max, y_min, y_max)`` for ``imshow``."""
    low, high = points.min(0).values - margin, points.max(0).values + margin
    xs, ys = torch.linspace(low[0], high[0], steps), torch.linspace(low[1], high[1], steps)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], 1), (low[0].item(), high[0].item(), low[1].item(), high[1].item())


@dataclass
class ToyResult:
    """One trained model of the toy comparison: its member probabilities on the grid ``(G, M, K)`` and its
    held-out numbers (accuracy, NLL, ECE, mean MI on test and on the OOD ring, parameters)."""

    label: str
    grid_probs: torch.Tensor
    metrics: dict


@torch.no_grad()
def _member_probs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).softmax(-1)


def toy_compare(kind: str = "moons", *, num_points: int = 400, noise: float = 0.15, hidden: int = 16,
                num_estimators: int = 4, alpha: float = 2, gamma: int = 1, epochs: int = 300, seed: int = 0,
                grid_steps: int = 80) -> dict:
    """Train a Single, DE(M) and PE(alpha, M, gamma) on the same toy data and measure them on held-out points
    of the same distribution and on the OOD ring. Returns ``{"results": {label: ToyResult}, "grid": (G, 2),
    "extent": ..., "train": (points, labels), "ood": (N', 2), "num_classes": K}``."""
    points, labels = make_toy(kind, num_points, noise=noise, seed=seed)
    test_points, test_labels = make_toy(kind, 1000, noise=noise, seed=seed + 1000)
    ood = ood_ring(300, seed=seed + 2000)
    grid, extent = toy_grid(torch.cat([points, ood]), grid_steps, margin=0.3)  # the maps show the OOD ring too
    num_classes = int(labels.max()) + 1
    results = {}
    for method in ("single", "deep", "packed"):
        torch.manual_seed(seed)  # every method starts from the same random state
        model = toy_mlp(method, hidden, num_classes, num_estimators=num_estimators, alpha=alpha, gamma=gamma)
        train_toy(model, points, labels, epochs=epochs)
        label = {"single": "Single", "deep": f"DE({num_estimators})",
                 "packed": f"PE({alpha:g},{num_estimators},{gamma})"}[method]
        test_members, ood_members = _member_probs(model, test_points), _member_probs(model, ood)
        test_probs = test_members.mean(1)
        results[label] = ToyResult(label, _member_probs(model, grid), {
            **prediction_scores(test_probs, test_labels, num_bins=10),
            "mi_test": mutual_information(test_members).mean().item(),
            "mi_ood": mutual_information(ood_members).mean().item(),
            "params": sum(p.numel() for p in model.parameters())})
    return {"results": results, "grid": grid, "extent": extent, "train": (points, labels), "ood": ood,
            "num_classes": num_classes}
