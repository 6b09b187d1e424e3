"""The network of torch-uncertainty's tutorial "From a Standard Classifier to a Packed-Ensemble" (CIFAR-10).

The tutorial (``auto_tutorials_source/tutorial_pe_cifar10.py`` at torch-uncertainty commit a8c71d87, 2024-02-19;
``auto_tutorial_source/Classification/tutorial_pe_cifar10.py`` since) packs the classic LeNet (conv 6, conv 16,
fc 120, 84) into PE(alpha=2, M=4, gamma=1) and ends with

    self.fc3 = PackedLinear(84, 10 * M, alpha=alpha, num_estimators=M, gamma=gamma, last=True)

A ``last`` PackedLinear gives each member ``out_features`` outputs (``out_features * num_estimators`` in all), so
each of the M members has **10 * M = 40 logits**: 10 for the CIFAR-10 classes and 30 for classes that never occur.
``head="seed"`` builds that head; ``head="classes"`` the head with one logit per class (10 per member).

``layers="pe-lab"`` builds it from pe-lab's packed layers; ``layers="torch-uncertainty"`` from torch-uncertainty's
own ``PackedConv2d``/``PackedLinear`` (an optional install: ``pip install 'pe-lab[reference]'``). Both return
logits ``(B, M, K_head)`` like every pe-lab model, so the two can be compared weight for weight.
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange
from torch import nn

from .models import DeepEnsemble, EnsembleNet, PackedFactory, PlainFactory, make_architecture

__all__ = ["TORCH_UNCERTAINTY_VERSIONS", "TorchUncertaintyFactory", "head_size", "tutorial_network"]

# torch-uncertainty releases whose PackedConv2d / PackedLinear semantics this module was checked against: a
# ``(B, (m c))`` channel layout inside the network, a ``last`` layer that returns ``((m b), c)``, PackedLinear
# weights shaped ``(groups, out / groups, in / groups)`` (tests/nn/test_tutorial.py proves the logits equal).
# Older releases (e.g. the 0.1.x the tutorial first ran on) expect ``((m b), c)`` inputs to a PackedLinear.
TORCH_UNCERTAINTY_VERSIONS = ("0.13.0",)


def head_size(num_classes: int, num_estimators: int, head: Literal["seed", "classes"]) -> int:
    """Outputs of each member's head: ``num_classes * num_estimators`` for the tutorial's head, else
    ``num_classes``."""
    if head not in ("seed", "classes"):
        raise ValueError(f"head must be 'seed' (the tutorial's 10 * M logits per member) or 'classes', got {head!r}")
    return num_classes * num_estimators if head == "seed" else num_classes


def _torch_uncertainty_layers():
    """torch-uncertainty's packed layers, after checking that its version is one whose semantics were verified."""
    try:
        import torch_uncertainty
        from torch_uncertainty.layers import PackedConv2d, PackedLinear
    except ImportError as error:
        raise ImportError("layers='torch-uncertainty' needs torch-uncertainty: pip install 'pe-lab[reference]' "
                          f"(it installs torch-uncertainty=={TORCH_UNCERTAINTY_VERSIONS[-1]})") from error
    version = getattr(torch_uncertainty, "__version__", None)
    if version is None:
        from importlib.metadata import version as installed_version

        version = installed_version("torch-uncertainty")
    if version not in TORCH_UNCERTAINTY_VERSIONS:
        raise RuntimeError(f"torch-uncertainty {version} is installed; pe-lab's reproduction was checked against "
                           f"{', '.join(TORCH_UNCERTAINTY_VERSIONS)} only (its packed layers' input and output "
                           "layouts changed between releases): install one of those, or use layers='pe-lab'")
    return PackedConv2d, PackedLinear


class _MembersLast(nn.Module):
    """torch-uncertainty's ``last`` layer returns ``((m b), k)``; pe-lab's models return ``(B, M*K)``."""

    def __init__(self, layer: nn.Module, num_estimators: int) -> None:
        super().__init__()
        self.layer, self.num_estimators = layer, num_estimators

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.layer(x), "(m b) k -> b (m k)", m=self.num_estimators)


class TorchUncertaintyFactory:
    """torch-uncertainty's packed layers behind pe-lab's layer-factory protocol (``pe_lab.nn.models``), so any
    pe-lab architecture can be built from them. ``linear_implementation="conv1d"`` is the 1x1 convolution the
    tutorial's PackedLinear used in 2024."""

    def __init__(self, alpha: float, num_estimators: int, gamma: int = 1,
                 linear_implementation: str = "conv1d") -> None:
        self._conv, self._linear = _torch_uncertainty_layers()
        self.alpha, self.num_estimators, self.gamma = alpha, num_estimators, gamma
        self.linear_implementation = linear_implementation
        self._packed = PackedFactory(alpha, num_estimators, gamma)  # sizes: the same widening rule

    def size(self, base: int, name: str = "channels") -> int:
        return self._packed.size(base, name)

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0,
             first: bool = False, last: bool = False, bias: bool = True) -> nn.Module:
        if last:
            raise ValueError("a last convolution is not used by pe-lab's architectures")
        return self._conv(in_c, out_c, kernel, alpha=self.alpha, num_estimators=self.num_estimators,
                          gamma=self.gamma, stride=stride, padding=padding, bias=bias, first=first)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False,
               bias: bool = True) -> nn.Module:
        layer = self._linear(in_f, out_f, alpha=self.alpha, num_estimators=self.num_estimators, gamma=self.gamma,
                             bias=bias, first=first, last=last, implementation=self.linear_implementation)
        return _MembersLast(layer, self.num_estimators) if last else layer

    def norm(self, channels: int) -> nn.Module:
        return nn.BatchNorm2d(self.size(channels))


def tutorial_network(kind: Literal["packed", "single", "deep"] = "packed", *,
                     head: Literal["seed", "classes"] = "seed",
                     layers: Literal["pe-lab", "torch-uncertainty"] = "pe-lab", num_classes: int = 10,
                     num_estimators: int = 4, alpha: float = 2, gamma: int = 1) -> nn.Module:
    """The tutorial's LeNet as ``kind``: its PE(alpha, M, gamma) (``head`` picks the 10 * M-logit head of the
    tutorial or one logit per class), its Single ("Net", 10 logits), or a DE of M such Nets (``head`` does not
    apply: the Net has one logit per class). Logits ``(B, M, K)``.

    >>> tutorial_network("packed")(torch.zeros(2, 3, 32, 32)).shape   # 4 members, 40 logits each
    torch.Size([2, 4, 40])
    >>> tutorial_network("packed", head="classes")(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4, 10])
    """
    if kind not in ("packed", "single", "deep"):
        raise ValueError(f"kind must be 'packed', 'single' or 'deep', got {kind!r}")
    if layers not in ("pe-lab", "torch-uncertainty"):
        raise ValueError(f"layers must be 'pe-lab' or 'torch-uncertainty', got {layers!r}")
    head_size(num_classes, num_estimators, head)  # refuses an unknown head before anything is built
    if kind != "packed":  # the tutorial's Net: nn.Conv2d / nn.Linear, one logit per class whatever ``head`` says
        if layers != "pe-lab":
            raise ValueError(f"the tutorial's {kind} network is built from plain layers: use layers='pe-lab'")
        if kind == "single":
            return make_architecture("lenet", PlainFactory(), num_classes)
        return DeepEnsemble([make_architecture("lenet", PlainFactory(), num_classes) for _ in range(num_estimators)])
    outputs = head_size(num_classes, num_estimators, head)
    factory = (PackedFactory(alpha, num_estimators, gamma) if layers == "pe-lab"
               else TorchUncertaintyFactory(alpha, num_estimators, gamma))
    model: EnsembleNet = make_architecture("lenet", factory, outputs)
    return model
