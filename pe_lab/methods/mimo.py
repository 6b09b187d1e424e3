"""MIMO (Havasi et al., ICLR 2021): M subnetworks inside one ordinary network, fed M images at once.

The first layer reads ``M`` images stacked on the channels (``3M`` input channels), the last layer has ``M``
heads (``M·K`` outputs); everything in between is one ordinary network, shared. In training, slot ``m`` gets its
own independently drawn images, so each head learns to read its own slot; at test time every slot gets the
same image and the heads' predictions are averaged like an ensemble's.

Two knobs from the paper shape the training batches (``mimo_batch``):

* **input repetition** ``rho``: the probability that a row feeds the *same* image to every slot (it lets the
  subnetworks share features; ``rho = 0`` makes them fully independent draws);
* **batch repetition** ``R``: each batch is repeated ``R`` times with different slot assignments, so every
  image is seen by several heads per step.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn.models import ModelSpec, PlainFactory
from ..validate import check_int, check_number
from .registry import Contender, Method, Option, Sharing, register

__all__ = ["MimoFactory", "mimo_batch"]


class MimoFactory(PlainFactory):
    """Plain layers at the base width; the first layer reads ``3M`` channels, the last writes ``M·K``."""

    def __init__(self, num_estimators: int, in_channels: int = 3) -> None:
        super().__init__(1.0, 1)
        self.num_estimators = check_int("num_estimators", num_estimators, minimum=1)
        self.image_channels = in_channels

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0, first: bool = False,
             last: bool = False, bias: bool = True) -> nn.Conv2d:
        c_in = in_c * self.num_estimators if first else in_c
        c_out = out_c * self.num_estimators if last else out_c
        return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=bias)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False, bias: bool = True) -> nn.Linear:
        f_in = in_f * self.num_estimators if first else in_f
        f_out = out_f * self.num_estimators if last else out_f
        return nn.Linear(f_in, f_out, bias=bias)

    def input_channels(self, in_channels: int) -> tuple[int, ...]:
        return (in_channels, in_channels * self.num_estimators)

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        # One image per row (test time): the same image in every slot. M stacked images (training): as given.
        return x.repeat(1, self.num_estimators, 1, 1) if x.shape[1] == self.image_channels else x


def mimo_batch(images: torch.Tensor, labels: torch.Tensor, *, num_estimators: int, rho: float,
               batch_repetition: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """MIMO training inputs from one batch: ``images`` ``(B, C, H, W)``, ``labels`` ``(B,)`` ->
    inputs ``(R·B, M·C, H, W)`` and per-slot labels ``(R·B, M)``.

    Each slot draws its own permutation of the ``R`` times repeated batch; then, with probability ``rho``, a
    row copies slot 0's image into every slot (input repetition).
    """
    num_estimators = check_int("num_estimators", num_estimators, minimum=1)
    rho = check_number("rho", rho, minimum=0, maximum=1)
    batch_repetition = check_int("batch_repetition", batch_repetition, minimum=1)
    batch = images.shape[0]
    rows = batch * batch_repetition
    base = torch.arange(batch).repeat(batch_repetition)
    index = torch.stack([base[torch.randperm(rows, generator=generator)] for _ in range(num_estimators)], 1)
    repeated = torch.rand(rows, generator=generator) < rho
    index[repeated] = index[repeated, :1]
    index = index.to(images.device)
    stacked = images[index]                                   # (R*B, M, C, H, W)
    return stacked.flatten(1, 2).contiguous(memory_format=_memory_format(images)), labels[index]


def _memory_format(images: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if images.is_contiguous(memory_format=torch.channels_last) and \
        not images.is_contiguous() else torch.contiguous_format


def make_mimo(architecture: str, num_classes: int, *, num_estimators: int, rho: float, batch_repetition: int,
              width: float = 1.0, **_) -> nn.Module:
    from ..nn.models import make_architecture

    model = make_architecture(architecture, MimoFactory(num_estimators), num_classes, width)
    model.spec = ModelSpec(architecture, "mimo", num_classes, num_estimators=num_estimators, width=width,
                           options=(("rho", rho), ("batch_repetition", batch_repetition)))
    return model


def train_batch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    options = dict(model.spec.options)
    return mimo_batch(images, labels, num_estimators=model.num_estimators, rho=options["rho"],
                      batch_repetition=options["batch_repetition"], generator=generator)


def _sharing(channels: int, *, num_estimators: int, **_) -> Sharing:
    return Sharing(f"MIMO: hidden layers shared by all {num_estimators}\n(own input slot and head)",
                   torch.full((channels, channels), -2.0), num_estimators)


register(Method(
    "mimo", "MIMO", "M inputs and M heads on one shared network (Havasi et al., 2021)", make_mimo,
    hyperparameters=("num_estimators", "rho", "batch_repetition"), train_batch=train_batch, colour="#66CCEE",
    order=50, sharing=_sharing,
    options=(Option("rho", float, 0.6, "MIMO: input repetition probability", minimum=0, maximum=1),
             Option("batch_repetition", int, 2, "MIMO: batch repetitions per step", minimum=1, maximum=64)),
    contenders=(Contender("mimo", "MIMO"),)))
