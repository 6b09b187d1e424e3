"""Where the members are in a model's input and output (``Layout``, ``LAYOUTS``), and how a tensor is cut into
member slices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...nn.tutorial import TORCH_UNCERTAINTY_VERSIONS
from ...validate import check_choice

__all__ = ["LAYOUTS", "Layout", "check_torch_uncertainty_version", "member_index", "member_outputs", "resolve_layout",
           "split_of"]


@dataclass(frozen=True)
class Layout:
    """Where the members are. ``inputs``: ``"shared"`` (every member reads the whole input) or ``"channels"``
    (member ``m`` owns channel block ``m`` of dimension ``channel_dim``). ``outputs``: ``"b m ..."``,
    ``"(m b) ..."`` or ``"b (m c) ..."``."""

    name: str
    inputs: str
    outputs: str

    def __post_init__(self) -> None:
        check_choice("layout inputs", self.inputs, ("shared", "channels"))
        check_choice("layout outputs", self.outputs, ("b m ...", "(m b) ...", "b (m c) ..."))


LAYOUTS = {
    "pe-lab": Layout("pe-lab", "shared", "b m ..."),
    "torch-uncertainty": Layout("torch-uncertainty", "shared", "(m b) ..."),
    "packed-layer": Layout("packed-layer", "channels", "b (m c) ..."),
}


def check_torch_uncertainty_version(version: str | None = None) -> str:
    """The installed torch-uncertainty version (or ``version``), or ``RuntimeError`` naming it unless its packed
    layers were checked against the ``"torch-uncertainty"`` layout (``TORCH_UNCERTAINTY_VERSIONS``, the list
    pe-lab's reproduction of the tutorial checks too). Before 0.5.0 a last packed layer emitted ``b (m c)``
    (torch_uncertainty/layers/packed.py at tag v0.4.0), not ``(m b) c``; unread releases are refused, not
    audited under a guessed layout."""
    if version is None:
        import torch_uncertainty

        version = getattr(torch_uncertainty, "__version__", None)
        if version is None:
            from importlib.metadata import version as installed_version

            version = installed_version("torch-uncertainty")
    if version not in TORCH_UNCERTAINTY_VERSIONS:
        raise RuntimeError(
            f"torch-uncertainty {version} is installed, but the audit's torch-uncertainty layout (channels '(m c)' "
            f"inside, a last layer's outputs '(m b) ...') was checked against torch-uncertainty "
            f"{', '.join(TORCH_UNCERTAINTY_VERSIONS)} only; releases before 0.5.0 emit a last layer's outputs as "
            f"'b (m c)'. Install torch-uncertainty=={TORCH_UNCERTAINTY_VERSIONS[-1]} to audit this model")
    return version


def resolve_layout(layout: str | Layout) -> Layout:
    """``layout`` itself, or the one of ``LAYOUTS`` it names."""
    if isinstance(layout, Layout):
        return layout
    check_choice("layout", layout, LAYOUTS)
    return LAYOUTS[layout]


def member_outputs(out: torch.Tensor, layout: Layout, num_estimators: int, batch: int,
                   channel_dim: int) -> list[torch.Tensor]:
    """Member ``i``'s part of the model's output, or ``ValueError`` naming the layout's shape and the output's."""
    shape, m = tuple(out.shape), num_estimators
    if layout.outputs == "b m ...":
        if out.dim() >= 2 and shape[0] == batch and shape[1] == m:
            return [out[:, i] for i in range(m)]
        wanted = f"(B, M, ...) = ({batch}, {m}, ...)"
    elif layout.outputs == "(m b) ...":
        if out.dim() >= 1 and shape[0] == m * batch:
            return list(out.reshape(m, batch, *shape[1:]).unbind(0))
        wanted = f"(M*B, ...) = ({m * batch}, ...)"
    else:
        if out.dim() >= 2 and shape[0] == batch and shape[channel_dim] % m == 0:
            return list(out.chunk(m, dim=channel_dim))
        wanted = f"(B, M*C, ...) = ({batch}, a multiple of {m} on dim {channel_dim}, ...)"
    raise ValueError(f"layout {layout.name!r} expects the model's output to be {wanted} for batch B={batch} and "
                     f"M={m} members, but the model returned {shape}; give the layout the model uses, or the right "
                     "num_estimators")


def split_of(shape: Sequence[int], batch: int, num_estimators: int, channel_dim: int) -> str:
    """How a tensor of ``shape`` is cut into members: ``"rows"`` (member-major batch), ``"channels"`` or
    ``"unsplit"``."""
    if len(shape) >= 1 and shape[0] == num_estimators * batch:
        return "rows"
    if len(shape) >= 2 and -len(shape) <= channel_dim < len(shape) and shape[channel_dim] % num_estimators == 0:
        return "channels"
    return "unsplit"


def member_index(shape: Sequence[int], split: str, member: int, num_estimators: int, channel_dim: int) -> tuple:
    """The index of member ``member``'s slice of a tensor of ``shape`` cut by ``split``."""
    dim = 0 if split == "rows" else channel_dim % len(shape)
    size = shape[dim] // num_estimators
    index = [slice(None)] * len(shape)
    index[dim] = slice(member * size, (member + 1) * size)
    return tuple(index)
