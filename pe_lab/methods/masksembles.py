"""Masksembles (Durasov et al., CVPR 2021): one network, M fixed binary channel masks, one per member.

After every hidden layer, member ``m``'s feature maps are multiplied by its mask: a fixed 0/1 vector over
the channels, drawn once before training. The masks' **overlap** is set by ``scale`` (``s >= 1``): each mask keeps
``k`` channels drawn from ``k·s`` candidate positions, and the positions that no mask drew are dropped, so that
the masks cover exactly the layer's ``C`` channels. Two masks then share about ``k/s`` channels: ``s = 1`` gives
identical masks (one network, MC-dropout-like), large ``s`` nearly disjoint ones (a Deep Ensemble of thin
networks). Masks depend only on ``(C, M, s)``, so a residual connection adds maps masked alike.

Like BatchEnsemble here, the batch is repeated once per member in training and at test time (member-major
``(M·B, ...)``): every member sees every image; the cost benchmark shows the ``M``-fold compute.
"""

from __future__ import annotations

import functools

import torch
from einops import rearrange
from torch import nn

from ..nn.models import ModelSpec, PlainFactory
from ..validate import check_int, check_number
from .registry import Contender, Method, Option, Sharing, register

__all__ = ["ChannelMasks", "MasksemblesFactory", "generate_masks"]


def _draw(ones: int, num_masks: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    positions = max(ones, int(round(ones * scale)))
    # On the CPU explicitly: a model may be built under torch.device("meta"), where this data-dependent
    # selection cannot run.
    masks = torch.zeros(num_masks, positions, device="cpu")
    for mask in masks:
        mask[torch.randperm(positions, generator=generator, device="cpu")[:ones]] = 1
    return masks[:, masks.any(0)]  # positions no mask drew carry nothing: drop them


def generate_masks(channels: int, num_masks: int, scale: float, seed: int = 0) -> torch.Tensor:
    """``num_masks`` binary masks ``(num_masks, channels)`` that together cover every channel, each keeping the
    same number of channels, with pairwise overlap set by ``scale``. Deterministic in its arguments.

    >>> masks = generate_masks(16, 4, 2.0)
    >>> masks.shape, bool(masks.any(0).all()), len(set(masks.sum(1).tolist()))
    (torch.Size([4, 16]), True, 1)
    """
    channels = check_int("channels", channels, minimum=1)
    num_masks = check_int("num_masks", num_masks, minimum=1)
    scale = check_number("scale", scale, minimum=1)
    return _generate(channels, num_masks, scale, seed).clone()


@functools.lru_cache(maxsize=256)
def _generate(channels: int, num_masks: int, scale: float, seed: int) -> torch.Tensor:
    # Cached: a ResNet asks for the same (channels, M, scale) masks in every block.
    generator = torch.Generator().manual_seed(seed * 1_000_003 + channels * 101 + num_masks)
    # Each position is drawn by some mask with probability 1 - (1 - 1/s)^M, so about k*s*(1 - (1 - 1/s)^M)
    # positions survive for k ones per mask. Start from the k that expectation gives, then try its neighbours
    # (the draw is random) until one covers exactly `channels`.
    covered = scale * (1 - (1 - 1 / scale) ** num_masks) if scale > 1 else 1.0
    guess = max(1, min(channels, round(channels / covered)))
    for ones in sorted(range(max(1, guess - 3), min(channels, guess + 3) + 1), key=lambda k: abs(k - guess)):
        for _ in range(100):
            masks = _draw(ones, num_masks, scale, generator)
            if masks.shape[1] == channels:
                return masks
    raise ValueError(f"no masks cover exactly channels={channels} with num_masks={num_masks} and scale={scale:g}; "
                     "try another scale")


class ChannelMasks(nn.Module):
    """Multiplies member ``m``'s rows of a member-major batch ``(M·B, C, ...)`` by its fixed mask ``(C,)``."""

    def __init__(self, channels: int, num_estimators: int, scale: float) -> None:
        super().__init__()
        self.num_estimators = num_estimators
        self.register_buffer("masks", generate_masks(channels, num_estimators, scale))  # saved, never trained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[0]
        if rows % self.num_estimators:
            raise ValueError(f"ChannelMasks expects a member-major batch of M*B rows (M={self.num_estimators}), "
                             f"got {rows} rows")
        per_row = self.masks.repeat_interleave(rows // self.num_estimators, 0).to(x.dtype)
        return x * per_row.view(rows, -1, *([1] * (x.dim() - 2)))


class MasksemblesFactory(PlainFactory):
    """Plain layers at the base width; the members' channel masks follow every hidden conv and linear layer and
    every normalisation layer (masking twice is masking once: a BatchNorm's shift would otherwise revive
    masked channels, and LeNet has no normalisation at all)."""

    def __init__(self, num_estimators: int, scale: float) -> None:
        super().__init__(1.0, 1)
        self.num_estimators = check_int("num_estimators", num_estimators, minimum=1)
        self.scale = check_number("scale", scale, minimum=1)

    def _masks(self, channels: int) -> ChannelMasks:
        return ChannelMasks(channels, self.num_estimators, self.scale)

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0, first: bool = False,
             last: bool = False, bias: bool = True) -> nn.Module:
        conv = nn.Conv2d(in_c, out_c, kernel, stride=stride, padding=padding, bias=bias)
        return conv if last else nn.Sequential(conv, self._masks(out_c))

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False, bias: bool = True) -> nn.Module:
        linear = nn.Linear(in_f, out_f, bias=bias)
        return linear if last else nn.Sequential(linear, self._masks(out_f))

    def norm(self, channels: int) -> nn.Module:
        return nn.Sequential(nn.BatchNorm2d(channels), self._masks(channels))

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(self.num_estimators, 1, 1, 1)

    def collect(self, out: torch.Tensor) -> torch.Tensor:
        return rearrange(out, "(m b) k -> b m k", m=self.num_estimators)


def make_masksembles(architecture: str, num_classes: int, *, num_estimators: int, scale: float, width: float = 1.0,
                     **_) -> nn.Module:
    from ..nn.models import make_architecture

    model = make_architecture(architecture, MasksemblesFactory(num_estimators, scale), num_classes, width)
    model.spec = ModelSpec(architecture, "masksembles", num_classes, num_estimators=num_estimators, width=width,
                           options=(("scale", scale),))
    return model


def _sharing(channels: int, *, num_estimators: int, scale: float) -> Sharing:
    masks = generate_masks(channels, num_estimators, scale).double()
    pairs = masks[:, :, None] * masks[:, None, :]                     # (M, out, in): member m uses weight (k, l)
    users = pairs.sum(0)
    owner = torch.where(users == 1, pairs.argmax(0).double(), torch.tensor(-2.0, dtype=torch.float64))
    owner = torch.where(users == 0, torch.tensor(-1.0, dtype=torch.float64), owner)
    return Sharing(f"Masksembles (scale {scale:g}): masks overlap;\nnumbers: members sharing a weight", owner,
                   users.long())


register(Method(
    "masksembles", "Masksembles", "one network with a fixed channel mask per member (Durasov et al., 2021)",
    make_masksembles, hyperparameters=("num_estimators", "scale"), colour="#AA3377", order=60, sharing=_sharing,
    options=(Option("scale", float, 2.0, "Masksembles: mask overlap control (>= 1)", minimum=1, maximum=64),),
    contenders=(Contender("masksembles", "Masksembles"),)))
