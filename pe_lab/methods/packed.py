"""Deep Ensemble <-> Packed-Ensemble conversion, and the ensemble's predictive distribution.

``pack`` stacks the weights of M standalone networks into one packed network; ``unpack`` slices them
back out. Because every packed layer keeps member ``m``'s channels in block ``m`` (see ``layers``), both
are plain concatenation / chunking along the output dimension of each layer, BatchNorm statistics
included. That the outputs agree is the numerical proof that a PE *is* an ensemble.

A Deep Ensemble of M full networks packs into PE(alpha=M, M, gamma=1): same weights, same outputs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn.models import (
    DeepEnsemble,
    ModelSpec,
    PackedFactory,
    make_architecture,
)
from .registry import Contender, Method, Sharing, build, build_member, register

__all__ = ["pack", "unpack"]


_STATE_TENSORS = ("weight", "bias", "running_mean", "running_var")


def _leaf_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Modules that own tensors to move: convs, linears and norms, by their path."""
    return {path: module for path, module in model.named_modules()
            if any(getattr(module, name, None) is not None for name in _STATE_TENSORS)
            and isinstance(getattr(module, "weight", None), torch.Tensor)}


def _members_of(members) -> list[nn.Module]:
    members = list(members.members) if isinstance(members, DeepEnsemble) else list(members)
    if not members:
        raise ValueError("pack needs at least one member")
    return members


def _mode(model: nn.Module) -> str:
    """``"train"``, ``"eval"``, or ``"mixed"`` when some of its layers are in each mode."""
    modes = {module.training for module in model.modules()}
    return "mixed" if len(modes) > 1 else "train" if modes.pop() else "eval"


@torch.no_grad()
def pack(members) -> nn.Module:
    """M networks of one architecture (``build(..., "single")`` or ``build_member``) -> one PE.

    Member ``i`` of the result computes exactly what ``members[i]`` computes (same weights, same
    BatchNorm statistics). Members of width ``w`` with ``groups`` give PE(alpha=w*M, M, gamma=groups).
    A ``DeepEnsemble`` may be passed directly.

    >>> from pe_lab.methods import build
    >>> deep = build("lenet", "deep", num_estimators=2).eval()
    >>> x = torch.randn(3, 3, 32, 32)
    >>> torch.allclose(pack(deep)(x), deep(x), atol=1e-5)
    True
    """
    members = _members_of(members)
    if not all(hasattr(m, "spec") for m in members):
        raise ValueError("pack takes networks built by pe_lab.nn.models (build or build_member)")
    specs = {m.spec for m in members}
    if len(specs) != 1:
        raise ValueError(f"pack needs members of one and the same spec, got {len(specs)}: {sorted(map(str, specs))}")
    spec = specs.pop()
    if spec.kind not in ("single", "member"):
        raise ValueError(f"pack takes plain networks (kind 'single' or 'member'), got kind {spec.kind!r}")
    modes = [_mode(m) for m in members]
    if len(set(modes)) > 1 or "mixed" in modes:
        listed = ", ".join(f"member {i}: {mode}" for i, mode in enumerate(modes))
        raise ValueError(f"pack needs members all in train mode or all in eval mode, got {listed} (a member in train "
                         "mode answers with batch statistics where the others use their running ones): call .eval() "
                         "(or .train()) on every member first")
    num_estimators = len(members)
    packed = build(spec.name, "packed", num_classes=spec.num_classes, alpha=spec.width * num_estimators,
                   num_estimators=num_estimators, gamma=spec.groups)
    dtype = next(members[0].parameters()).dtype
    if any(p.dtype != dtype for m in members for p in m.parameters()):
        raise TypeError("pack needs members of one dtype; convert them first (e.g. member.double())")
    packed = packed.to(dtype)  # a float64 DE packs into a float64 PE, not a silently rounded float32 one
    member_layers = [_leaf_layers(m) for m in members]
    for path, layer in _leaf_layers(packed).items():
        for name in _STATE_TENSORS:
            target = getattr(layer, name, None)
            if target is None:
                continue
            target.copy_(torch.cat([getattr(layers[path], name) for layers in member_layers], dim=0))
        if isinstance(layer, nn.BatchNorm2d):
            layer.num_batches_tracked.copy_(member_layers[0][path].num_batches_tracked)
    return packed.to(next(members[0].parameters()).device).train(members[0].training)


@torch.no_grad()
def unpack(packed: nn.Module) -> list[nn.Module]:
    """A PE -> its ``num_estimators`` members as standalone networks (Conv2d/Linear/BatchNorm2d).

    >>> from pe_lab.methods import build
    >>> pe = build("resnet20", "packed", alpha=2, num_estimators=4).eval()
    >>> members = [m.eval() for m in unpack(pe)]
    >>> x = torch.randn(2, 3, 32, 32)
    >>> torch.allclose(torch.cat([m(x) for m in members], dim=1), pe(x), atol=1e-5)
    True
    """
    spec = getattr(packed, "spec", None)
    if spec is None or spec.kind != "packed":
        raise ValueError("unpack takes a packed model built by pe_lab.methods.build(..., 'packed')")
    num_estimators = spec.num_estimators
    members = [build_member(spec.name, num_classes=spec.num_classes, alpha=spec.alpha,
                            num_estimators=num_estimators, gamma=spec.gamma, width=spec.width)
               for _ in range(num_estimators)]
    member_layers = [_leaf_layers(m) for m in members]
    for path, layer in _leaf_layers(packed).items():
        for name in _STATE_TENSORS:
            source = getattr(layer, name, None)
            if source is None:
                continue
            for layers, chunk in zip(member_layers, source.chunk(num_estimators, dim=0), strict=True):
                getattr(layers[path], name).copy_(chunk)
        if isinstance(layer, nn.BatchNorm2d):
            for layers in member_layers:
                layers[path].num_batches_tracked.copy_(layer.num_batches_tracked)
    device = next(packed.parameters()).device
    return [m.to(device).train(packed.training) for m in members]


def _make_packed(architecture: str, num_classes: int, *, alpha: float, num_estimators: int, gamma: int,
                 width: float = 1.0) -> nn.Module:
    model = make_architecture(architecture, PackedFactory(alpha, num_estimators, gamma), num_classes, width)
    model.spec = ModelSpec(architecture, "packed", num_classes, num_estimators, alpha, gamma, width=width)
    return model


def _sharing(channels: int, *, alpha: float, num_estimators: int, gamma: int) -> Sharing:
    width = int(round(alpha * channels))
    groups = num_estimators * gamma
    owner = torch.full((width, width), -1.0)
    step = width // groups
    for group in range(groups):
        owner[group * step:(group + 1) * step, group * step:(group + 1) * step] = group // gamma
    return Sharing(f"PE({alpha:g},{num_estimators},{gamma}): one layer, one block per member", owner)


register(Method(
    "packed", "PE", "M networks packed into grouped layers (Laurent et al., 2023)", _make_packed,
    hyperparameters=("alpha", "num_estimators", "gamma"), colour="#228833", order=30, sharing=_sharing,
    contenders=(Contender("packed", "PE"),)))
