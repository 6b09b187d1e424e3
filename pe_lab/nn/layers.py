"""Packed layers: one grouped layer that holds the layers of ``num_estimators`` networks.

Notation (paper, Laurent et al. 2023, and the notebooks): base layer ``j`` maps ``C_{j-1} -> C_j`` channels, and
those *base* widths are the arguments: ``PackedConv2d(C_{j-1}, C_j, ...)``. Its packed version widens both sides
by ``alpha`` and splits them into ``G = num_estimators * gamma`` groups, so

* a hidden layer maps ``alpha*C_{j-1} -> alpha*C_j`` channels in ``G`` groups;
* a ``first`` layer reads the raw ``C_{j-1}`` input densely (``groups=1``: every member sees the same image)
  and emits ``alpha*C_j`` channels;
* a ``last`` layer maps ``alpha*C_{j-1} -> num_estimators*C_j`` in ``num_estimators`` groups (one head each).

Both layers name their sizes alike. The torch attributes ``.in_channels`` / ``.out_channels`` (``.in_features`` /
``.out_features``) are the *widened* sizes above, since they describe the grouped layer torch runs
(``.extended_in_channels`` ... ``.extended_out_features`` say the same in the paper's words); the base sizes the
layer was built from are ``.base_in_channels`` / ``.base_out_channels`` (``.base_in_features`` /
``.base_out_features``).

Channel layout, the one contract every packed layer keeps: channels are member-major. Member ``m`` owns the
contiguous block ``[m*E/M, (m+1)*E/M)`` of an extended size ``E`` (``M = num_estimators``), and inside it
its ``gamma`` groups, so group ``g`` belongs to member ``g // gamma``.

Argument names follow torch-uncertainty (the paper's reference library). Unlike some of its versions,
nothing here is padded or reduced silently: a size that does not divide raises ``ValueError``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..validate import check_int, check_number

__all__ = [
    "PackedConv2d",
    "PackedLinear",
    "check_pe_hyperparameters",
    "extended_size",
    "logits_by_member",
    "members_to_packed",
    "packed_to_members",
]


def extended_size(size: int, alpha: float, name: str) -> int:
    """``alpha * size`` as an int, or ``ValueError`` if it is not a whole number.

    >>> extended_size(6, 2, "in_channels")
    12
    >>> extended_size(6, 1.5, "in_channels")
    9
    """
    value = alpha * size
    rounded = round(value)
    if rounded < 1 or not math.isclose(value, rounded, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"alpha*{name}={alpha}*{size}={value:g} is not a positive integer")
    return int(rounded)


def check_pe_hyperparameters(alpha: float, num_estimators: int, gamma: int) -> tuple[float, int, int]:
    """The three hyperparameters as Python numbers (NumPy ints accepted), or a named error."""
    return (check_number("alpha", alpha, positive=True), check_int("num_estimators", num_estimators, minimum=1),
            check_int("gamma", gamma, minimum=1))


def _check_kernel(kernel_size, stride, dilation) -> None:
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
        for v in (value if isinstance(value, tuple | list) else (value,)):
            check_int(name, v, minimum=1)


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no argument there
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


def check_input_dtype(module: nn.Module, x: torch.Tensor) -> None:
    """``TypeError`` naming both dtypes when ``x`` does not match ``module``'s weights (outside autocast,
    where torch would cast for us); without it a float64 input fails deep inside torch's conv."""
    weight = next(module.parameters(), None)
    if weight is not None and not x.is_floating_point():
        raise TypeError(f"{type(module).__name__} got {x.dtype} images; a network reads normalised floats: "
                        "scale and normalise them first (pe_lab.data.normalize, or x.float() / 255 and the data "
                        f"set's mean and std), never model.to({x.dtype})")
    if weight is not None and x.dtype != weight.dtype and not _autocast_on(x.device.type):
        raise TypeError(f"{type(module).__name__} has {weight.dtype} weights but got a {x.dtype} input; "
                        f"convert one of them (x.to({weight.dtype}) or model.to({x.dtype}))")


def _check_divisible(size: int, what: str, divisor: int, divisor_name: str) -> None:
    if size % divisor:
        raise ValueError(f"{what}={size} is not divisible by {divisor_name}={divisor}")


def _packed_sizes(
    in_size: int, out_size: int, alpha: float, num_estimators: int, gamma: int, first: bool, last: bool,
    in_name: str, out_name: str,
) -> tuple[int, int, int]:
    """Return ``(extended_in, extended_out, groups)`` after checking every divisibility rule."""
    alpha, num_estimators, gamma = check_pe_hyperparameters(alpha, num_estimators, gamma)
    in_size, out_size = check_int(in_name, in_size, minimum=1), check_int(out_name, out_size, minimum=1)
    if first and last:
        raise ValueError("a layer cannot be both first=True and last=True")
    ext_in = in_size if first else extended_size(in_size, alpha, in_name)
    ext_out = num_estimators * out_size if last else extended_size(out_size, alpha, out_name)
    if first:
        groups = 1
        # Members own equal slices of the output even though the weight is dense over the input.
        _check_divisible(ext_out, f"alpha*{out_name}", num_estimators, "num_estimators")
    elif last:
        groups = num_estimators
        _check_divisible(ext_in, f"alpha*{in_name}", num_estimators, "num_estimators")
    else:
        groups = num_estimators * gamma
        _check_divisible(ext_in, f"alpha*{in_name}", groups, "num_estimators*gamma")
        _check_divisible(ext_out, f"alpha*{out_name}", groups, "num_estimators*gamma")
    return ext_in, ext_out, groups


class PackedConv2d(nn.Conv2d):
    """A 2-D convolution that packs ``num_estimators`` member convolutions into one grouped conv.

    It *is* an ``nn.Conv2d`` (``groups`` = ``num_estimators*gamma``, or 1 / ``num_estimators`` for
    ``first`` / ``last``), so everything torch does with convs works on it.

    Shapes: input ``(B, extended_in_channels, H, W)``, output ``(B, extended_out_channels, H', W')``,
    member ``m`` owning output channels ``[m*extended_out_channels/M, (m+1)*extended_out_channels/M)``.

    >>> layer = PackedConv2d(16, 32, 3, alpha=2, num_estimators=4, gamma=1, padding=1)
    >>> (layer.in_channels, layer.out_channels, layer.groups), (layer.base_in_channels, layer.base_out_channels)
    ((32, 64, 4), (16, 32))
    >>> layer(torch.zeros(5, 32, 8, 8)).shape
    torch.Size([5, 64, 8, 8])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], *,
        alpha: float, num_estimators: int, gamma: int = 1, first: bool = False, last: bool = False,
        stride: int = 1, padding: int | str = 0, dilation: int = 1, bias: bool = True,
    ) -> None:
        ext_in, ext_out, groups = _packed_sizes(
            in_channels, out_channels, alpha, num_estimators, gamma, first, last, "in_channels", "out_channels"
        )
        _check_kernel(kernel_size, stride, dilation)
        alpha, num_estimators, gamma = check_pe_hyperparameters(alpha, num_estimators, gamma)
        super().__init__(ext_in, ext_out, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.base_in_channels, self.base_out_channels = in_channels, out_channels
        self.alpha, self.num_estimators, self.gamma = alpha, num_estimators, gamma
        self.first, self.last = first, last

    @property
    def extended_in_channels(self) -> int:
        """The widened input size, ``in_channels`` (the paper's word for it)."""
        return self.in_channels

    @property
    def extended_out_channels(self) -> int:
        """The widened output size, ``out_channels`` (the paper's word for it)."""
        return self.out_channels

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects input (B, {self.in_channels}, H, W) "
                f"(alpha*in_channels{'' if not self.first else ', raw because first=True'}), "
                f"got {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        check_input_dtype(self, x)
        return super().forward(x)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", alpha={self.alpha}, num_estimators={self.num_estimators}, "
                f"gamma={self.gamma}, first={self.first}, last={self.last}")


class PackedLinear(nn.Module):
    """A fully connected layer that packs ``num_estimators`` member layers (a grouped linear map).

    Its sizes are named as ``PackedConv2d``'s: ``in_features`` / ``out_features`` are the widened sizes (what
    ``nn.Linear``'s attributes of the grouped map would be), ``base_in_features`` / ``base_out_features`` the
    arguments it was built from. ``weight`` has shape ``(out_features, in_features // groups)``, the same
    convention as a grouped conv's weight, so masks and dense conversion treat conv and linear alike.

    Shapes: input ``(B, in_features)`` (or ``(..., in_features)``), output ``(..., out_features)`` with member
    ``m`` owning the block ``[m*out_features/M, (m+1)*out_features/M)``.

    >>> layer = PackedLinear(400, 10, alpha=2, num_estimators=4, last=True)
    >>> (layer.in_features, layer.out_features, layer.groups, tuple(layer.weight.shape))
    (800, 40, 4, (40, 200))
    >>> (layer.base_in_features, layer.base_out_features)
    (400, 10)
    >>> layer(torch.zeros(3, 800)).shape
    torch.Size([3, 40])
    """

    def __init__(
        self, in_features: int, out_features: int, *, alpha: float, num_estimators: int, gamma: int = 1,
        first: bool = False, last: bool = False, bias: bool = True,
    ) -> None:
        super().__init__()
        ext_in, ext_out, groups = _packed_sizes(
            in_features, out_features, alpha, num_estimators, gamma, first, last, "in_features", "out_features"
        )
        alpha, num_estimators, gamma = check_pe_hyperparameters(alpha, num_estimators, gamma)
        self.base_in_features, self.base_out_features = in_features, out_features
        self.in_features, self.out_features, self.groups = ext_in, ext_out, groups
        self.alpha, self.num_estimators, self.gamma = alpha, num_estimators, gamma
        self.first, self.last = first, last
        self.weight = nn.Parameter(torch.empty(ext_out, ext_in // groups))
        self.bias = nn.Parameter(torch.empty(ext_out)) if bias else None
        self.reset_parameters()

    @property
    def extended_in_features(self) -> int:
        """The widened input size, ``in_features`` (the paper's word for it)."""
        return self.in_features

    @property
    def extended_out_features(self) -> int:
        """The widened output size, ``out_features`` (the paper's word for it)."""
        return self.out_features

    def reset_parameters(self) -> None:
        # Same initialisation as nn.Linear on each member's block (fan_in = ext_in // groups).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1])
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"PackedLinear expects input (..., {self.in_features}) "
                f"(alpha*in_features{'' if not self.first else ', raw because first=True'}), got {tuple(x.shape)}"
            )
        check_input_dtype(self, x)
        if self.groups == 1:
            return F.linear(x, self.weight, self.bias)
        x = rearrange(x, "... (g i) -> ... g i", g=self.groups)
        weight = rearrange(self.weight, "(g o) i -> g o i", g=self.groups)
        out = rearrange(torch.einsum("...gi,goi->...go", x, weight), "... g o -> ... (g o)")
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"base=({self.base_in_features}->{self.base_out_features}), groups={self.groups}, "
                f"alpha={self.alpha}, num_estimators={self.num_estimators}, gamma={self.gamma}, "
                f"first={self.first}, last={self.last}, bias={self.bias is not None}")


def packed_to_members(x: torch.Tensor, num_estimators: int) -> torch.Tensor:
    """Packed layout ``(B, M*C, ...)`` -> member-major batch ``(M*B, C, ...)``.

    >>> x = torch.arange(8.).reshape(1, 8)          # one sample, M=2 members of 4 channels
    >>> packed_to_members(x, 2)
    tensor([[0., 1., 2., 3.],
            [4., 5., 6., 7.]])
    """
    num_estimators = check_int("num_estimators", num_estimators, minimum=1)
    if x.dim() < 2 or x.shape[1] % num_estimators:
        raise ValueError(f"channels (dim 1) of shape {tuple(x.shape)} is not divisible by "
                         f"num_estimators={num_estimators}")
    return rearrange(x, "b (m c) ... -> (m b) c ...", m=num_estimators)


def members_to_packed(x: torch.Tensor, num_estimators: int) -> torch.Tensor:
    """Member-major batch ``(M*B, C, ...)`` -> packed layout ``(B, M*C, ...)`` (inverse of the above).

    >>> x = torch.randn(3, 8, 2, 2)
    >>> torch.equal(members_to_packed(packed_to_members(x, 4), 4), x)
    True
    """
    num_estimators = check_int("num_estimators", num_estimators, minimum=1)
    if x.dim() < 2 or x.shape[0] % num_estimators:
        raise ValueError(f"batch={x.shape[0]} is not divisible by num_estimators={num_estimators}")
    return rearrange(x, "(m b) c ... -> b (m c) ...", m=num_estimators)


def logits_by_member(x: torch.Tensor, num_estimators: int) -> torch.Tensor:
    """The output of a ``last`` layer ``(B, M*K)`` -> per-member logits ``(B, M, K)``.

    This is the one way to get member logits out of a packed model; every model in pe_lab ends with it.

    >>> logits_by_member(torch.zeros(5, 40), 4).shape
    torch.Size([5, 4, 10])
    """
    num_estimators = check_int("num_estimators", num_estimators, minimum=1)
    if x.dim() != 2 or x.shape[1] % num_estimators:
        raise ValueError(f"expected (B, M*K) with M={num_estimators}, got {tuple(x.shape)}")
    return rearrange(x, "b (m k) -> b m k", m=num_estimators)
