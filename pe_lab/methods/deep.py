"""The Deep Ensemble (Lakshminarayanan et al., 2017): M independently trained copies of the base network, each
its own training unit (own optimiser, schedule, shuffle and augmentation)."""

from __future__ import annotations

import torch
from torch import nn

from ..nn.models import (
    DeepEnsemble,
    ModelSpec,
    plain_network,
)
from .registry import Contender, Method, Sharing, register


def _make_deep(architecture: str, num_classes: int, *, num_estimators: int, width: float = 1.0, **_) -> nn.Module:
    ensemble = DeepEnsemble([plain_network(architecture, num_classes, member_width=width)  # members at base width
                             for _ in range(num_estimators)])
    ensemble.spec = ModelSpec(architecture, "deep", num_classes, num_estimators=num_estimators, width=width)
    return ensemble


def _sharing(channels: int, *, num_estimators: int) -> Sharing:
    owner = torch.full((num_estimators * channels,) * 2, -1.0)
    for member in range(num_estimators):
        block = slice(member * channels, (member + 1) * channels)
        owner[block, block] = member
    return Sharing(f"Deep Ensemble: {num_estimators} separate layers", owner)


register(Method(
    "deep", "DE", "M independently trained networks (Lakshminarayanan et al., 2017)", _make_deep,
    hyperparameters=("num_estimators",), colour="#EE6677", order=20, sharing=_sharing,
    # Each member has its own optimiser, schedule, shuffle and augmentation: independent training.
    units=lambda model: list(model.members),
    contenders=(Contender("deep_loop", "DE (loop)", "units"), Contender("deep_vmap", "DE (vmap)", "vmap"))))
