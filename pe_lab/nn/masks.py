"""The paper's mask formulation, executable: a packed layer is a dense layer times a block mask.

For a layer with ``G`` groups (``G = num_estimators*gamma`` for a hidden layer), the dense weight entry
``(c, l)`` (output channel ``c``, input channel ``l``) is used iff

    floor(l / (alpha*C_{j-1} / G)) == floor(c / (alpha*C_j / G))

``mask^j`` is that 0/1 pattern and ``mask_m^j`` keeps only the rows of member ``m``, which owns groups
``m*gamma ... m*gamma + gamma - 1``; so ``mask^j = sum_m mask_m^j``. Names as in the notebooks and
``pe_lab.nn.layers``: ``C_{j-1}`` / ``C_j`` are the *base* widths you pass (``PackedConv2d(C_{j-1}, C_j, ...)``);
the layer's torch attributes ``.in_channels`` / ``.out_channels`` and every mask here are in the *widened*
sizes ``alpha*C_{j-1}`` / ``alpha*C_j`` (for a first layer the input stays ``C_0``; for a last layer the
output is ``M*K``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..validate import check_int
from .layers import PackedConv2d, PackedLinear

__all__ = ["block_mask", "from_dense", "layer_mask", "member_mask", "to_dense"]

PackedLayer = PackedConv2d | PackedLinear


def _sizes(layer: PackedLayer) -> tuple[int, int, int, tuple[int, ...]]:
    """``(out_channels, in_channels, groups, kernel_size)`` of the equivalent dense layer (widened sizes)."""
    if isinstance(layer, PackedConv2d):
        return layer.out_channels, layer.in_channels, layer.groups, tuple(layer.kernel_size)
    if isinstance(layer, PackedLinear):
        return layer.out_features, layer.in_features, layer.groups, ()
    raise TypeError(f"expected a PackedConv2d or PackedLinear, got {type(layer).__name__}")


def block_mask(out_size: int, in_size: int, groups: int) -> torch.Tensor:
    """0/1 matrix ``(out_size, in_size)``: entry (c, l) is 1 iff l and c fall in the same group.

    >>> block_mask(4, 4, 2)
    tensor([[1., 1., 0., 0.],
            [1., 1., 0., 0.],
            [0., 0., 1., 1.],
            [0., 0., 1., 1.]])
    """
    groups = check_int("groups", groups, minimum=1)
    for name, size in (("out_size", out_size), ("in_size", in_size)):
        if size % groups:
            raise ValueError(f"{name}={size} is not divisible by groups={groups}")
    out_group = torch.arange(out_size) // (out_size // groups)
    in_group = torch.arange(in_size) // (in_size // groups)
    return (out_group[:, None] == in_group[None, :]).float()


def layer_mask(layer: PackedLayer) -> torch.Tensor:
    """``mask^j``: 0/1 tensor shaped like the dense weight, ``(alpha*C_j, alpha*C_{j-1}, kh, kw)`` (conv) or
    ``(alpha*C_j, alpha*C_{j-1})`` (linear): the layer's ``(out_channels, in_channels)``.

    >>> layer = PackedConv2d(2, 2, 3, alpha=2, num_estimators=2)
    >>> layer_mask(layer).shape, int(layer_mask(layer).sum()) == layer.weight.numel()
    (torch.Size([4, 4, 3, 3]), True)
    """
    out_size, in_size, groups, kernel = _sizes(layer)
    mask = block_mask(out_size, in_size, groups)
    return mask.reshape(out_size, in_size, *([1] * len(kernel))).expand(out_size, in_size, *kernel).clone()


def member_mask(layer: PackedLayer, member: int) -> torch.Tensor:
    """``mask_m^j``: the part of ``layer_mask`` that belongs to member ``member`` (its output rows).

    >>> layer = PackedLinear(4, 4, alpha=1, num_estimators=2, gamma=2)
    >>> member_mask(layer, 1)
    tensor([[0., 0., 0., 0.],
            [0., 0., 0., 0.],
            [0., 0., 1., 0.],
            [0., 0., 0., 1.]])
    """
    if not 0 <= member < layer.num_estimators:
        raise ValueError(f"member must be in [0, num_estimators={layer.num_estimators}), got {member}")
    mask = layer_mask(layer)
    rows = mask.shape[0] // layer.num_estimators
    owned = torch.zeros(mask.shape[0], dtype=torch.bool)
    owned[member * rows:(member + 1) * rows] = True
    return mask * owned.reshape(-1, *([1] * (mask.dim() - 1)))


def _scatter_index(layer: PackedLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """For each packed weight entry (row k, column i within its group): its dense column."""
    out_size, in_size, groups, _ = _sizes(layer)
    rows = torch.arange(out_size)
    group = rows // (out_size // groups)
    cols = group[:, None] * (in_size // groups) + torch.arange(in_size // groups)[None, :]
    return rows, cols


def to_dense(layer: PackedLayer) -> nn.Conv2d | nn.Linear:
    """An ordinary ``nn.Conv2d`` / ``nn.Linear`` (``groups=1``) whose weight is the packed weight
    scattered into the block mask (zeros elsewhere). Same input and output as ``layer``.

    >>> layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, padding=1)
    >>> x = torch.randn(1, 4, 5, 5)
    >>> torch.allclose(to_dense(layer)(x), layer(x), atol=1e-6)
    True
    """
    out_size, in_size, _, _ = _sizes(layer)
    has_bias = layer.bias is not None
    if isinstance(layer, PackedConv2d):
        dense = nn.Conv2d(in_size, out_size, layer.kernel_size, stride=layer.stride, padding=layer.padding,
                          dilation=layer.dilation, bias=has_bias, padding_mode=layer.padding_mode)
    else:
        dense = nn.Linear(in_size, out_size, bias=has_bias)
    dense = dense.to(device=layer.weight.device, dtype=layer.weight.dtype)
    rows, cols = _scatter_index(layer)
    with torch.no_grad():
        dense.weight.zero_()
        dense.weight[rows[:, None], cols] = layer.weight
        if has_bias:
            dense.bias.copy_(layer.bias)
    return dense


def from_dense(dense: nn.Conv2d | nn.Linear, like: PackedLayer) -> PackedLayer:
    """The packed layer (configured like ``like``) holding ``dense``'s weights; inverse of ``to_dense``.

    Raises ``ValueError`` if ``dense`` has non-zero weights outside the block mask: a packed layer
    cannot represent a connection between two groups.

    >>> layer = PackedLinear(4, 6, alpha=1, num_estimators=2)
    >>> torch.equal(from_dense(to_dense(layer), like=layer).weight, layer.weight)
    True
    """
    out_size, in_size, _, _ = _sizes(like)
    expected = (out_size, in_size, *_sizes(like)[3])
    wanted = nn.Conv2d if isinstance(like, PackedConv2d) else nn.Linear
    if not isinstance(dense, wanted):
        raise TypeError(f"like is a {type(like).__name__}, so dense must be an nn.{wanted.__name__}, "
                        f"got {type(dense).__name__}")
    if tuple(dense.weight.shape) != expected:
        raise ValueError(f"dense weight has shape {tuple(dense.weight.shape)}, expected {expected}")
    if isinstance(like, PackedConv2d):
        # Same weights under another stride or padding would compute a different function (other sizes).
        for attr in ("stride", "padding", "dilation", "padding_mode"):
            if getattr(dense, attr) != getattr(like, attr):
                raise ValueError(f"dense has {attr}={getattr(dense, attr)} but like has {attr}={getattr(like, attr)}; "
                                 "the packed layer would not compute the same function")
        if dense.groups != 1:
            raise ValueError(f"dense must be an ordinary conv (groups=1), got groups={dense.groups}")
    if (dense.bias is None) != (like.bias is None):
        raise ValueError(f"dense has {'no ' if dense.bias is None else 'a '}bias but like has "
                         f"{'none' if like.bias is None else 'one'}")
    for what, tensor in (("weight", dense.weight), ("bias", dense.bias)):
        if tensor is not None and not torch.isfinite(tensor).all():
            raise ValueError(f"dense {what} has {int((~torch.isfinite(tensor)).sum())} non-finite entries (NaN or inf)")
    outside = (dense.weight.detach() != 0) & ~layer_mask(like).to(dense.weight.device).bool()
    if outside.any():
        raise ValueError(f"dense weight has {int(outside.sum())} non-zero entries outside the block mask; "
                         "a packed layer cannot connect different groups")
    packed = _clone_config(like)
    rows, cols = _scatter_index(like)
    with torch.no_grad():
        packed.weight.copy_(dense.weight[rows[:, None], cols])
        if packed.bias is not None:
            packed.bias.copy_(dense.bias)
    return packed.to(device=dense.weight.device, dtype=dense.weight.dtype)


def _clone_config(layer: PackedLayer) -> PackedLayer:
    common = dict(alpha=layer.alpha, num_estimators=layer.num_estimators, gamma=layer.gamma,
                  first=layer.first, last=layer.last, bias=layer.bias is not None)
    if isinstance(layer, PackedConv2d):
        return PackedConv2d(layer.base_in_channels, layer.base_out_channels, layer.kernel_size,
                            stride=layer.stride, padding=layer.padding, dilation=layer.dilation, **common)
    return PackedLinear(layer.base_in_features, layer.base_out_features, **common)
