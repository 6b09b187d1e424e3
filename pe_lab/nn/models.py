"""Model builders: one definition per architecture serves Single, Deep Ensemble and Packed-Ensemble.

Each architecture is written once against a *layer factory* (``conv``, ``linear``, ``norm``). The plain
factory makes ordinary layers (a Single network, or one member of an ensemble); the packed factory makes
packed layers. So the three kinds cannot drift apart.

The shape contract: every model maps images ``(B, 3, H, W)`` to logits ``(B, M, K)`` (a Single has
``M = 1``), so training, metrics and plots have one code path for all kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal, Protocol, get_args

import torch
from torch import nn

from ..validate import check_choice, check_number
from .layers import PackedConv2d, PackedLinear, check_input_dtype, extended_size, logits_by_member

__all__ = ["ARCHITECTURES", "DeepEnsemble", "LayerFactory", "ModelSpec", "PackedFactory", "PlainFactory", "STEMS",
           "WidenedFactory", "make_architecture", "plain_network", "widened_size"]


@dataclass(frozen=True)
class ModelSpec:
    """What a model is: enough to rebuild it. ``width`` is the base-width multiplier: every hidden layer has
    ``width`` times the architecture's channels before a method widens it (a PE has ``alpha * width`` times). A
    network built alone (``plain_network``) records its own width there and its hidden layers' ``groups``."""

    name: str
    kind: str
    num_classes: int
    num_estimators: int = 1
    alpha: float = 1.0
    gamma: int = 1
    width: float = 1.0
    groups: int = 1
    options: tuple[tuple[str, float], ...] = ()  # a method's own hyperparameters, e.g. (("rho", 0.6),)

    def to_dict(self) -> dict:
        """A plain dict (JSON-ready), ``options`` as a dict."""
        return {**asdict(self), "options": dict(self.options)}


class LayerFactory(Protocol):
    """What an architecture asks for its layers. Any object with these members works (an open protocol):
    ``PlainFactory`` and ``PackedFactory`` here, and whatever factory a new method brings.

    Optional members: ``input_channels(in_channels)`` (the channel counts the network accepts, default
    ``(in_channels,)``), ``expand(x)`` (what the network does to its input first, e.g. repeat it for every
    member) and ``collect(out)`` (the head's output to logits ``(B, M, K)``, default ``logits_by_member``).
    """

    num_estimators: int

    def size(self, base: int, name: str = "channels") -> int: ...

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0, first: bool = False,
             last: bool = False, bias: bool = True) -> nn.Module: ...

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False,
               bias: bool = True) -> nn.Module: ...

    def norm(self, channels: int) -> nn.Module: ...


def widened_size(base: int, width: float, name: str = "channels") -> int:
    """``width * base`` as an int, or ``ValueError`` naming the layer's size when it is not a whole number.

    >>> widened_size(6, 1.5, "out_channels")
    9
    """
    value = width * base
    if value < 1 or abs(value - round(value)) > 1e-9:
        raise ValueError(f"width*{name}={width:g}*{base}={value:g} is not a positive integer; choose a base width "
                         "that makes every layer's channel count whole")
    return int(round(value))


class PlainFactory:
    """Ordinary layers at ``width`` times the base channels, hidden layers split into ``groups``."""

    num_estimators = 1

    def __init__(self, width: float = 1.0, groups: int = 1) -> None:
        self.width, self.groups = width, groups

    def size(self, base: int, name: str = "channels") -> int:
        return widened_size(base, self.width, name)

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0,
             first: bool = False, last: bool = False, bias: bool = True) -> nn.Conv2d:
        c_in = in_c if first else self.size(in_c, "in_channels")
        c_out = out_c if last else self.size(out_c, "out_channels")
        groups = 1 if (first or last) else self.groups
        for what, size in (("in_channels", c_in), ("out_channels", c_out)):
            if size % groups:
                raise ValueError(f"width*{what}={size} is not divisible by gamma={groups}")
        return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups, bias=bias)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False,
               bias: bool = True) -> nn.Module:
        f_in = in_f if first else self.size(in_f, "in_features")
        f_out = out_f if last else self.size(out_f, "out_features")
        if first or last or self.groups == 1:
            return nn.Linear(f_in, f_out, bias=bias)
        # A grouped linear map is a packed linear with one estimator and `groups` groups.
        return PackedLinear(f_in, f_out, alpha=1, num_estimators=1, gamma=self.groups, bias=bias)

    def norm(self, channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(self.size(channels))


class PackedFactory:
    """Packed layers: widened by ``alpha``, ``num_estimators * gamma`` groups in hidden layers."""

    def __init__(self, alpha: float, num_estimators: int, gamma: int = 1) -> None:
        self.alpha, self.num_estimators, self.gamma = alpha, num_estimators, gamma

    def size(self, base: int, name: str = "channels") -> int:
        return extended_size(base, self.alpha, name)

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0,
             first: bool = False, last: bool = False, bias: bool = True) -> PackedConv2d:
        return PackedConv2d(in_c, out_c, kernel, alpha=self.alpha, num_estimators=self.num_estimators,
                            gamma=self.gamma, first=first, last=last, stride=stride, padding=padding, bias=bias)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False,
               bias: bool = True) -> PackedLinear:
        return PackedLinear(in_f, out_f, alpha=self.alpha, num_estimators=self.num_estimators,
                            gamma=self.gamma, first=first, last=last, bias=bias)

    def norm(self, channels: int) -> nn.BatchNorm2d:
        # BatchNorm is per channel, and each channel belongs to one member: members stay independent.
        return nn.BatchNorm2d(self.size(channels))


Factory = LayerFactory


class WidenedFactory:
    """Any factory with every hidden layer's base size multiplied by ``width`` (the image channels and the
    number of classes stay as they are). Wraps any method's factory, so every architecture x method has a
    base-width knob; the method then widens or splits those channels as it always does."""

    def __init__(self, inner: LayerFactory, width: float) -> None:
        self.inner, self.width = inner, width

    def __getattr__(self, name: str):  # num_estimators, input_channels, expand, collect: the inner factory's
        return getattr(self.inner, name)

    def _scale(self, base: int, name: str) -> int:
        return widened_size(base, self.width, name)

    def size(self, base: int, name: str = "channels") -> int:
        return self.inner.size(self._scale(base, name), name)

    def conv(self, in_c: int, out_c: int, kernel: int, *, first: bool = False, last: bool = False, **kwargs):
        return self.inner.conv(in_c if first else self._scale(in_c, "in_channels"),
                               out_c if last else self._scale(out_c, "out_channels"), kernel,
                               first=first, last=last, **kwargs)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False, **kwargs):
        return self.inner.linear(in_f if first else self._scale(in_f, "in_features"),
                                 out_f if last else self._scale(out_f, "out_features"),
                                 first=first, last=last, **kwargs)

    def norm(self, channels: int) -> nn.Module:
        return self.inner.norm(self._scale(channels, "channels"))


def make_architecture(name: str, factory: LayerFactory, num_classes: int, width: float = 1.0) -> EnsembleNet:
    """Architecture ``name`` built from ``factory``'s layers at base width ``width`` (1: the published one)."""
    check_number("width", width, positive=True)
    return ARCHITECTURES[name](factory if width == 1 else WidenedFactory(factory, width), num_classes)


class EnsembleNet(nn.Module):
    """Base of every architecture: checks the input and turns the head's ``(B, M*K)`` into ``(B, M, K)``."""

    spec: ModelSpec

    def __init__(self, factory: Factory, in_channels: int = 3) -> None:
        super().__init__()
        self.num_estimators = factory.num_estimators
        self.in_channels = in_channels
        accepted = getattr(factory, "input_channels", None)
        self.accepted_channels = tuple(accepted(in_channels)) if accepted else (in_channels,)
        self._expand = getattr(factory, "expand", None)
        self._collect = getattr(factory, "collect", None)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] not in self.accepted_channels:
            wanted = " or ".join(str(c) for c in self.accepted_channels)
            raise ValueError(f"expected images (B, {wanted}, H, W), got {tuple(x.shape)}")
        check_input_dtype(self, x)
        if self._expand is not None:
            x = self._expand(x)
        out = self.forward_head(x)
        return self._collect(out) if self._collect is not None else logits_by_member(out, self.num_estimators)


class LeNet(EnsembleNet):
    """The tutorial's LeNet: conv 3->6 k5, pool, conv 6->16 k5, pool, fc 400->120->84->K (32x32 input)."""

    def __init__(self, f: Factory, num_classes: int = 10) -> None:
        super().__init__(f)
        self.features = nn.Sequential(
            f.conv(3, 6, 5, first=True), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            f.conv(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        # Flatten keeps member blocks contiguous: channels are member-major and H*W is innermost.
        self.classifier = nn.Sequential(
            nn.Flatten(), f.linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
            f.linear(120, 84), nn.ReLU(inplace=True), f.linear(84, num_classes, last=True),
        )

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (32, 32):
            raise ValueError(f"LeNet expects 32x32 images, got {tuple(x.shape[-2:])}")
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block; the shortcut is a 1x1 conv + BN when the shape changes."""

    def __init__(self, f: Factory, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = f.conv(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = f.norm(planes)
        self.conv2 = f.conv(planes, planes, 3, padding=1, bias=False)
        self.bn2 = f.norm(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(f.conv(in_planes, planes, 1, stride=stride, bias=False), f.norm(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1 reduce, 3x3, 1x1 expand (x4); the shortcut is a 1x1 conv + BN when needed."""

    expansion = 4

    def __init__(self, f: Factory, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = f.conv(in_planes, planes, 1, bias=False)
        self.bn1 = f.norm(planes)
        self.conv2 = f.conv(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = f.norm(planes)
        self.conv3 = f.conv(planes, out_planes, 1, bias=False)
        self.bn3 = f.norm(out_planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Sequential(f.conv(in_planes, out_planes, 1, stride=stride, bias=False),
                                          f.norm(out_planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


Stem = Literal["cifar", "imagenet"]
STEMS: tuple[str, ...] = get_args(Stem)


class BottleneckResNet(EnsembleNet):
    """ResNet-50: bottleneck stages (3, 4, 6, 3), average pool, linear. ``stem="cifar"``: a 3x3 conv and no
    max-pool (32x32 images); ``stem="imagenet"``: the original 7x7 stride-2 conv and 3x3 stride-2 max-pool
    (224x224 images), torchvision's ``resnet50`` layer for layer (25,557,032 parameters for 1000 classes).
    Any other ``stem`` is a ``ValueError`` naming the two."""

    def __init__(self, f: Factory, blocks: tuple[int, ...] = (3, 4, 6, 3), num_classes: int = 10,
                 stem: Stem = "cifar") -> None:
        check_choice("stem", stem, STEMS)
        super().__init__(f)
        if stem == "imagenet":
            self.stem = nn.Sequential(f.conv(3, 64, 7, stride=2, padding=3, first=True, bias=False), f.norm(64),
                                      nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        else:
            self.stem = nn.Sequential(f.conv(3, 64, 3, padding=1, first=True, bias=False), f.norm(64),
                                      nn.ReLU(inplace=True))
        stages, in_planes = [], 64
        for i, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
            for j in range(count):
                stages.append(Bottleneck(f, in_planes, planes, stride=2 if (i > 0 and j == 0) else 1))
                in_planes = planes * Bottleneck.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = f.linear(in_planes, num_classes, last=True)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stages(self.stem(x))))


class WideBlock(nn.Module):
    """Pre-activation wide-ResNet block: BN-ReLU-conv3x3, BN-ReLU-conv3x3, 1x1 shortcut when the shape changes."""

    def __init__(self, f: Factory, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = f.norm(in_planes)
        self.conv1 = f.conv(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = f.norm(planes)
        self.conv2 = f.conv(planes, planes, 3, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = f.conv(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class WideResNet(EnsembleNet):
    """WRN-depth-k (Zagoruyko & Komodakis, 2016) for CIFAR: 3x3 stem of 16, three groups of (depth-4)/6 blocks
    of widths 16k, 32k, 64k, a final BN-ReLU, average pool, linear. WRN-28-10 has about 36.5 M parameters."""

    def __init__(self, f: Factory, depth: int = 28, widen: int = 10, num_classes: int = 10) -> None:
        super().__init__(f)
        if (depth - 4) % 6:
            raise ValueError(f"a wide ResNet needs depth = 6n + 4, got depth={depth}")
        per_group = (depth - 4) // 6
        self.stem = f.conv(3, 16, 3, padding=1, first=True, bias=False)
        stages, in_planes = [], 16
        for i, planes in enumerate((16 * widen, 32 * widen, 64 * widen)):
            for j in range(per_group):
                stages.append(WideBlock(f, in_planes, planes, stride=2 if (i > 0 and j == 0) else 1))
                in_planes = planes
        self.stages = nn.Sequential(*stages)
        self.final = nn.Sequential(f.norm(in_planes), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = f.linear(in_planes, num_classes, last=True)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.final(self.stages(self.stem(x))))


class ResNet(EnsembleNet):
    """CIFAR ResNet: 3x3 stem, no max-pool, stages of basic blocks, global average pool, linear head."""

    def __init__(self, f: Factory, widths: tuple[int, ...], blocks: tuple[int, ...], num_classes: int = 10) -> None:
        super().__init__(f)
        self.stem = nn.Sequential(f.conv(3, widths[0], 3, padding=1, first=True, bias=False),
                                  f.norm(widths[0]), nn.ReLU(inplace=True))
        stages, in_planes = [], widths[0]
        for i, (planes, count) in enumerate(zip(widths, blocks, strict=True)):
            for j in range(count):
                stages.append(BasicBlock(f, in_planes, planes, stride=2 if (i > 0 and j == 0) else 1))
                in_planes = planes
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = f.linear(widths[-1], num_classes, last=True)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stages(self.stem(x))))


ARCHITECTURES: dict[str, Callable[[Factory, int], EnsembleNet]] = {
    "lenet": lambda f, k: LeNet(f, k),
    "resnet20": lambda f, k: ResNet(f, (16, 32, 64), (3, 3, 3), k),
    "resnet18": lambda f, k: ResNet(f, (64, 128, 256, 512), (2, 2, 2, 2), k),
    "resnet50": lambda f, k: BottleneckResNet(f, (3, 4, 6, 3), k),
    "resnet50_imagenet": lambda f, k: BottleneckResNet(f, (3, 4, 6, 3), k, stem="imagenet"),
    "wrn28_10": lambda f, k: WideResNet(f, 28, 10, k),
}


class DeepEnsemble(nn.Module):
    """``M`` independent networks side by side; logits ``(B, M, K)`` like every other model."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("a DeepEnsemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.num_estimators = len(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([member(x) for member in self.members], dim=1)


def plain_network(name: str, num_classes: int, member_width: float = 1.0, groups: int = 1, kind: str = "single",
                  **spec) -> EnsembleNet:
    """Architecture ``name`` with ordinary layers at ``member_width`` times the architecture's channels, hidden
    layers in ``groups`` groups: a Single or DE member at base width ``w`` (``member_width=w``, groups 1), or a
    member of PE(alpha, M, gamma) at base width ``w`` (``member_width=w * alpha / M``, groups gamma)."""
    model = ARCHITECTURES[name](PlainFactory(member_width, groups), num_classes)
    model.spec = ModelSpec(name, kind, num_classes, width=member_width, groups=groups, **spec)
    return model
