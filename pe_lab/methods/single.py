"""The Single network: the base architecture, one member; logits ``(B, 1, K)``."""

from __future__ import annotations

from torch import nn

from ..nn.models import (
    plain_network,
)
from .registry import Contender, Method, register


def _make_single(architecture: str, num_classes: int, *, width: float = 1.0, **_) -> nn.Module:
    return plain_network(architecture, num_classes, member_width=width)  # a Single is its own one member


register(Method(
    "single", "Single", "one network", _make_single, ensemble=False, colour="#4477AA", order=10,
    contenders=(Contender("single", "Single"),)))
