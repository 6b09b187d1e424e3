"""BatchEnsemble (Wen et al., ICLR 2020): one shared weight per layer plus rank-1 *fast weights* per member.

Member ``m`` of a layer with shared weight ``W`` (``(C_out, C_in, k, k)`` or ``(C_out, C_in)``) uses

    W_m = W ∘ (s_m r_mᵀ),    i.e.   y = s_m ⊙ (W (r_m ⊙ x)) + b_m,

with ``r_m`` ``(C_in,)``, ``s_m`` ``(C_out,)`` and a bias ``b_m`` per member. The second form is what runs: the
members' inputs travel in one batch, member-major (``(M·B, C, ...)``, member ``m`` owning rows ``[mB, (m+1)B)``),
so one convolution with the shared weight serves all of them.

Training and test both **repeat** the batch ``M`` times (the model does it as its first step): every member sees
every image, as a Deep Ensemble member or a PE member does, so the methods differ only in what they share. It
costs ``M`` times a single network's compute, which the cost benchmark shows; the paper's alternative of
splitting the batch among members keeps one network's compute but gives each member ``1/M`` of the examples.
Unlike a PE, the shared weight receives every member's gradient: the members are not independent.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ..nn.models import ModelSpec
from ..validate import check_int
from .registry import Contender, Method, Sharing, register

__all__ = ["BatchEnsembleConv2d", "BatchEnsembleFactory", "BatchEnsembleLinear", "member_weight"]


def _random_signs(shape: tuple[int, ...]) -> torch.Tensor:
    # The paper initialises fast weights with random signs: members start as different networks.
    return torch.randint(0, 2, shape).float() * 2 - 1


class _FastWeights(nn.Module):
    """The per-member factors of one layer: ``r`` ``(M, C_in)``, ``s`` ``(M, C_out)``, ``bias`` ``(M, C_out)``."""

    def _init_fast(self, num_estimators: int, in_size: int, out_size: int, bias: bool) -> None:
        self.num_estimators = check_int("num_estimators", num_estimators, minimum=1)
        self.r = nn.Parameter(_random_signs((num_estimators, in_size)))
        self.s = nn.Parameter(_random_signs((num_estimators, out_size)))
        self.member_bias = nn.Parameter(torch.zeros(num_estimators, out_size)) if bias else None

    def _fast_forward(self, x: torch.Tensor, shared: nn.Module) -> torch.Tensor:
        """``s_m ⊙ shared(r_m ⊙ x) + b_m`` for every member-major row block of ``x``."""
        rows, trailing = x.shape[0], x.dim() - 2
        out = shared(x * self._per_row(self.r, rows, trailing)) * self._per_row(self.s, rows, trailing)
        return out if self.member_bias is None else out + self._per_row(self.member_bias, rows, trailing)

    def _per_row(self, factors: torch.Tensor, rows: int, trailing: int) -> torch.Tensor:
        if rows % self.num_estimators:
            raise ValueError(f"{type(self).__name__} expects a member-major batch of M*B rows "
                             f"(M={self.num_estimators}), got {rows} rows")
        return factors.repeat_interleave(rows // self.num_estimators, dim=0).view(rows, -1, *([1] * trailing))


class BatchEnsembleConv2d(_FastWeights):
    """A BatchEnsemble convolution: input ``(M·B, C_in, H, W)`` member-major, output ``(M·B, C_out, H', W')``.

    >>> layer = BatchEnsembleConv2d(3, 8, 3, num_estimators=4, padding=1)
    >>> layer(torch.zeros(4 * 2, 3, 5, 5)).shape
    torch.Size([8, 8, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, num_estimators: int,
                 stride: int = 1, padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(check_int("in_channels", in_channels, minimum=1),
                              check_int("out_channels", out_channels, minimum=1),
                              check_int("kernel_size", kernel_size, minimum=1),
                              stride=check_int("stride", stride, minimum=1), padding=padding, bias=False)
        self._init_fast(num_estimators, in_channels, out_channels, bias)

    @property
    def weight(self) -> torch.Tensor:  # the shared weight, for dtype checks and cost counting
        return self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.conv.in_channels:
            raise ValueError(f"BatchEnsembleConv2d expects (M*B, {self.conv.in_channels}, H, W), got {tuple(x.shape)}")
        return self._fast_forward(x, self.conv)


class BatchEnsembleLinear(_FastWeights):
    """A BatchEnsemble linear layer: input ``(M·B, C_in)`` member-major, output ``(M·B, C_out)``.

    >>> BatchEnsembleLinear(6, 4, num_estimators=2)(torch.zeros(2 * 3, 6)).shape
    torch.Size([6, 4])
    """

    def __init__(self, in_features: int, out_features: int, *, num_estimators: int, bias: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(check_int("in_features", in_features, minimum=1),
                                check_int("out_features", out_features, minimum=1), bias=False)
        self._init_fast(num_estimators, in_features, out_features, bias)

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.linear.in_features:
            raise ValueError(f"BatchEnsembleLinear expects (M*B, {self.linear.in_features}), got {tuple(x.shape)}")
        return self._fast_forward(x, self.linear)


def member_weight(layer: BatchEnsembleConv2d | BatchEnsembleLinear, member: int) -> torch.Tensor:
    """Member ``member``'s effective weight ``W ∘ (s_m r_mᵀ)``, shaped like the shared weight."""
    check_int("member", member, minimum=0)
    if member >= layer.num_estimators:
        raise ValueError(f"member must be in [0, num_estimators={layer.num_estimators}), got {member}")
    scale = layer.s[member][:, None] * layer.r[member][None, :]
    return layer.weight * scale.view(*scale.shape, *([1] * (layer.weight.dim() - 2)))


class BatchEnsembleFactory:
    """Layers of a BatchEnsemble at the base width; the network repeats its input once per member and
    returns ``(B, M, K)``."""

    def __init__(self, num_estimators: int) -> None:
        self.num_estimators = check_int("num_estimators", num_estimators, minimum=1)

    def size(self, base: int, name: str = "channels") -> int:
        return base

    def conv(self, in_c: int, out_c: int, kernel: int, *, stride: int = 1, padding: int = 0, first: bool = False,
             last: bool = False, bias: bool = True) -> BatchEnsembleConv2d:
        return BatchEnsembleConv2d(in_c, out_c, kernel, num_estimators=self.num_estimators, stride=stride,
                                   padding=padding, bias=bias)

    def linear(self, in_f: int, out_f: int, *, first: bool = False, last: bool = False,
               bias: bool = True) -> BatchEnsembleLinear:
        return BatchEnsembleLinear(in_f, out_f, num_estimators=self.num_estimators, bias=bias)

    def norm(self, channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels)

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(self.num_estimators, 1, 1, 1)        # (B, C, H, W) -> (M*B, C, H, W), member-major

    def collect(self, out: torch.Tensor) -> torch.Tensor:
        return rearrange(out, "(m b) k -> b m k", m=self.num_estimators)


def make_batch_ensemble(architecture: str, num_classes: int, *, num_estimators: int, width: float = 1.0,
                        **_) -> nn.Module:
    from ..nn.models import make_architecture

    model = make_architecture(architecture, BatchEnsembleFactory(num_estimators), num_classes, width)
    model.spec = ModelSpec(architecture, "batch", num_classes, num_estimators=num_estimators, width=width)
    return model


def _sharing(channels: int, *, num_estimators: int) -> Sharing:
    return Sharing(f"BatchEnsemble: W shared by all {num_estimators},\nplus r_m, s_m per member",
                   torch.full((channels, channels), -2.0), num_estimators)


register(Method(
    "batch", "BatchEnsemble", "a shared weight per layer with rank-1 fast weights per member (Wen et al., 2020)",
    make_batch_ensemble, hyperparameters=("num_estimators",), colour="#CCBB44", order=40, sharing=_sharing,
    contenders=(Contender("batch", "BatchEnsemble"),)))
