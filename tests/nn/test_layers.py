"""Packed layers: grouped == masked dense, member independence, parameter counts, every error path."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pe_lab.nn.layers import (
    PackedConv2d,
    PackedLinear,
    extended_size,
    logits_by_member,
    members_to_packed,
    packed_to_members,
)
from pe_lab.nn.masks import from_dense, layer_mask, member_mask, to_dense


@pytest.fixture(autouse=True)
def _float64():
    """Equivalence checks at float64 leave no room for luck."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _input(layer, batch=3, size=9):
    if isinstance(layer, PackedConv2d):
        return torch.randn(batch, layer.in_channels, size, size)
    return torch.randn(batch, layer.in_features)


CONV_GRID = list(itertools.product(
    [1, 2, 4],          # num_estimators
    [1, 2, 3],          # alpha
    [1, 2],             # gamma
    [1, 3],             # kernel
    [1, 2],             # stride
    [0, 1],             # padding
    [(4, 8), (8, 4)],   # base (in, out) channels
))


@pytest.mark.parametrize("num_estimators,alpha,gamma,kernel,stride,padding,channels", CONV_GRID)
def test_grouped_conv_equals_masked_dense_conv(num_estimators, alpha, gamma, kernel, stride, padding, channels):
    c_in, c_out = channels
    groups = num_estimators * gamma
    if (alpha * c_in) % groups or (alpha * c_out) % groups:
        pytest.skip("does not divide; covered by the error tests")
    layer = PackedConv2d(c_in, c_out, kernel, alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                         stride=stride, padding=padding)
    x = _input(layer)
    dense = to_dense(layer)
    assert dense.groups == 1
    torch.testing.assert_close(dense(x), layer(x), rtol=0, atol=1e-12)
    # The dense weight is zero exactly where the mask is zero.
    assert torch.equal(dense.weight != 0, (layer_mask(layer) != 0) & (dense.weight != 0))
    assert int(layer_mask(layer).sum()) == layer.weight.numel()


@pytest.mark.parametrize("first,last", [(True, False), (False, True), (False, False)])
@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_first_and_last_layers_equal_masked_dense(first, last, kind):
    if kind == "conv":
        layer = PackedConv2d(3 if first else 8, 8, 3, alpha=2, num_estimators=4, gamma=1, first=first,
                             last=last, padding=1)
    else:
        layer = PackedLinear(3 if first else 8, 8, alpha=2, num_estimators=4, first=first, last=last)
    x = _input(layer)
    torch.testing.assert_close(to_dense(layer)(x), layer(x), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(num_estimators=st.integers(1, 4), gamma=st.integers(1, 3), alpha=st.integers(1, 3),
       per_group_in=st.integers(1, 3), per_group_out=st.integers(1, 3), kernel=st.sampled_from([1, 2, 3]),
       stride=st.integers(1, 2), padding=st.integers(0, 2), dilation=st.integers(1, 2), bias=st.booleans())
def test_grouped_conv_equals_masked_dense_hypothesis(num_estimators, gamma, alpha, per_group_in, per_group_out,
                                                     kernel, stride, padding, dilation, bias):
    groups = num_estimators * gamma
    # Base sizes chosen so that alpha*C is a multiple of the group count.
    c_in, c_out = groups * per_group_in, groups * per_group_out
    layer = PackedConv2d(c_in, c_out, kernel, alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                         stride=stride, padding=padding, dilation=dilation, bias=bias)
    x = _input(layer, size=7)
    torch.testing.assert_close(to_dense(layer)(x), layer(x), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(num_estimators=st.integers(1, 4), gamma=st.integers(1, 3), alpha=st.integers(1, 3),
       per_group_in=st.integers(1, 4), per_group_out=st.integers(1, 4), bias=st.booleans())
def test_grouped_linear_equals_masked_dense_hypothesis(num_estimators, gamma, alpha, per_group_in,
                                                       per_group_out, bias):
    groups = num_estimators * gamma
    layer = PackedLinear(groups * per_group_in, groups * per_group_out, alpha=alpha,
                         num_estimators=num_estimators, gamma=gamma, bias=bias)
    x = _input(layer)
    dense = to_dense(layer)
    assert isinstance(dense, nn.Linear)
    torch.testing.assert_close(dense(x), layer(x), rtol=0, atol=1e-12)


def test_packed_linear_equals_grouped_conv1d():
    """An independent reference: torch's own grouped Conv1d with kernel 1 is a grouped linear map."""
    layer = PackedLinear(8, 12, alpha=2, num_estimators=2, gamma=2)
    x = _input(layer)
    reference = torch.nn.functional.conv1d(x[..., None], layer.weight[..., None], layer.bias,
                                           groups=layer.groups)[..., 0]
    torch.testing.assert_close(layer(x), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("first,last", [(True, False), (False, False), (False, True)])
@pytest.mark.parametrize("gamma", [1, 2])
def test_member_independence_gradients(kind, first, last, gamma):
    num_estimators = 2
    if kind == "conv":
        layer = PackedConv2d(3 if first else 4, 4, 3, alpha=2, num_estimators=num_estimators, gamma=gamma,
                             first=first, last=last, padding=1)
    else:
        layer = PackedLinear(3 if first else 4, 4, alpha=2, num_estimators=num_estimators, gamma=gamma,
                             first=first, last=last)
    x = _input(layer).requires_grad_(True)
    out = layer(x)
    out_per = out.shape[1] // num_estimators
    in_per = x.shape[1] // num_estimators
    for member in range(num_estimators):
        layer.zero_grad()
        x.grad = None
        out[:, member * out_per:(member + 1) * out_per].sum().backward(retain_graph=True)
        own_rows = slice(member * out_per, (member + 1) * out_per)
        weight_grad = layer.weight.grad.clone()
        weight_grad[own_rows] = 0
        assert torch.count_nonzero(weight_grad) == 0, "gradient leaked into another member's weights"
        bias_grad = layer.bias.grad.clone()
        bias_grad[own_rows] = 0
        assert torch.count_nonzero(bias_grad) == 0
        if not first:  # a first layer reads the shared raw input by design
            input_grad = x.grad.clone()
            input_grad[:, member * in_per:(member + 1) * in_per] = 0
            assert torch.count_nonzero(input_grad) == 0, "gradient leaked into another member's inputs"
        # ... and the member's own rows do get a gradient, so the test can fail.
        assert torch.count_nonzero(layer.weight.grad[own_rows]) > 0


@pytest.mark.parametrize("alpha,num_estimators,gamma", [(2, 4, 1), (2, 2, 2), (4, 4, 1), (3, 3, 1), (1, 2, 2)])
def test_parameter_counts_closed_forms(alpha, num_estimators, gamma):
    c_in, c_out, k = 24, 48, 3
    groups = num_estimators * gamma
    dense_weights = c_in * c_out * k * k
    hidden = PackedConv2d(c_in, c_out, k, alpha=alpha, num_estimators=num_estimators, gamma=gamma)
    assert hidden.weight.numel() * groups == alpha ** 2 * dense_weights  # alpha^2/(M*gamma) x dense
    assert sum(p.numel() for p in hidden.parameters()) == alpha ** 2 * dense_weights // groups + alpha * c_out
    first = PackedConv2d(3, c_out, k, alpha=alpha, num_estimators=num_estimators, gamma=gamma, first=True)
    assert first.weight.numel() == alpha * 3 * c_out * k * k       # alpha x dense: dense over the raw input
    last = PackedLinear(c_in, 10, alpha=alpha, num_estimators=num_estimators, gamma=gamma, last=True)
    assert last.weight.numel() == alpha * c_in * 10               # M heads of alpha*C_in/M inputs each
    assert last.bias.numel() == num_estimators * 10


@pytest.mark.parametrize("make,message", [
    (lambda: PackedConv2d(10, 8, 3, alpha=1, num_estimators=4), "alpha*in_channels=10 is not divisible by num_estimators*gamma=4"),
    (lambda: PackedConv2d(10, 16, 3, alpha=2, num_estimators=4, gamma=2), "alpha*in_channels=20 is not divisible by num_estimators*gamma=8"),
    (lambda: PackedConv2d(8, 6, 3, alpha=1, num_estimators=4), "alpha*out_channels=6 is not divisible by num_estimators*gamma=4"),
    (lambda: PackedConv2d(3, 6, 3, alpha=1, num_estimators=4, first=True), "alpha*out_channels=6 is not divisible by num_estimators=4"),
    (lambda: PackedLinear(6, 10, alpha=1, num_estimators=4, last=True), "alpha*in_features=6 is not divisible by num_estimators=4"),
    (lambda: PackedLinear(6, 8, alpha=1.5, num_estimators=2), "alpha*in_features=9 is not divisible by num_estimators*gamma=2"),
    (lambda: PackedLinear(5, 8, alpha=1.5, num_estimators=1), "alpha*in_features=1.5*5=7.5 is not a positive integer"),
    (lambda: PackedConv2d(4, 4, 3, alpha=0, num_estimators=2), "alpha must be > 0, got alpha=0"),
    (lambda: PackedConv2d(4, 4, 3, alpha=-1, num_estimators=2), "alpha must be > 0"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=0), "num_estimators must be an integer >= 1"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=2.0), "num_estimators must be an integer, got 2.0"),
    (lambda: PackedLinear(4, 4, alpha=1, num_estimators=2, gamma=0), "gamma must be an integer >= 1, got gamma=0"),
    (lambda: PackedLinear(4, 4, alpha=1, num_estimators=2, first=True, last=True), "cannot be both first=True and last=True"),
])
def test_errors_name_the_rule(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert message in str(info.value)


def test_non_integer_alpha_allowed_where_sizes_are_integers():
    layer = PackedConv2d(8, 8, 3, alpha=1.5, num_estimators=2, gamma=2)
    assert (layer.in_channels, layer.out_channels, layer.groups) == (12, 12, 4)
    assert extended_size(4, 0.5, "x") == 2


@pytest.mark.parametrize("first,last,widened", [(False, False, (12, 24)), (True, False, (6, 24)),
                                                (False, True, (12, 48))])
def test_conv_and_linear_name_widened_and_base_sizes_alike(first, last, widened):
    """Torch's attributes are the widened sizes of the layer torch runs; ``base_*`` the sizes it was built from."""
    conv = PackedConv2d(6, 12, 1, alpha=2, num_estimators=4, first=first, last=last)
    linear = PackedLinear(6, 12, alpha=2, num_estimators=4, first=first, last=last)
    assert (conv.in_channels, conv.out_channels) == (linear.in_features, linear.out_features) == widened
    assert (conv.base_in_channels, conv.base_out_channels) == (linear.base_in_features, linear.base_out_features)
    assert (linear.base_in_features, linear.base_out_features) == (6, 12)
    assert (linear.extended_in_features, linear.extended_out_features) == widened
    assert tuple(linear.weight.shape) == (linear.out_features, linear.in_features // linear.groups)


def test_wrong_input_shape_is_a_clear_error():
    conv = PackedConv2d(4, 4, 3, alpha=2, num_estimators=2)
    with pytest.raises(ValueError, match=r"expects input \(B, 8, H, W\).*got \(1, 4, 5, 5\)"):
        conv(torch.randn(1, 4, 5, 5))
    linear = PackedLinear(4, 4, alpha=2, num_estimators=2)
    with pytest.raises(ValueError, match=r"expects input \(\.\.\., 8\)"):
        linear(torch.randn(1, 4))


@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("first,last", [(True, False), (False, False), (False, True)])
def test_round_trip_packed_dense_packed_is_exact(kind, first, last):
    if kind == "conv":
        layer = PackedConv2d(3 if first else 8, 8, 3, alpha=2, num_estimators=2, gamma=2, first=first, last=last)
    else:
        layer = PackedLinear(3 if first else 8, 8, alpha=2, num_estimators=2, gamma=2, first=first, last=last)
    back = from_dense(to_dense(layer), like=layer)
    assert type(back) is type(layer)
    assert torch.equal(back.weight, layer.weight) and torch.equal(back.bias, layer.bias)


def test_from_dense_refuses_weights_outside_the_mask():
    layer = PackedLinear(4, 4, alpha=1, num_estimators=2)
    dense = to_dense(layer)
    with torch.no_grad():
        dense.weight[0, -1] = 1.0  # connects member 0's output to member 1's input
    with pytest.raises(ValueError, match="outside the block mask"):
        from_dense(dense, like=layer)


def test_masks_follow_the_seed_rule_and_sum_over_members():
    layer = PackedConv2d(6, 6, 1, alpha=2, num_estimators=3, gamma=2)   # 12 -> 12 channels, G = 6
    mask = layer_mask(layer)[..., 0, 0]
    c_in = c_out = 12
    groups = 6
    expected = torch.tensor([[float(col // (c_in // groups) == row // (c_out // groups)) for col in range(c_in)]
                             for row in range(c_out)])
    assert torch.equal(mask, expected)
    total = sum(member_mask(layer, m) for m in range(3))
    assert torch.equal(total, layer_mask(layer))
    # member m owns groups m*gamma .. m*gamma+gamma-1: rows 4m .. 4m+3
    assert torch.equal(member_mask(layer, 1)[..., 0, 0].nonzero()[:, 0].unique(), torch.arange(4, 8))
    with pytest.raises(ValueError, match=r"member must be in \[0, num_estimators=3\)"):
        member_mask(layer, 3)


def test_rearranges_match_member_blocks():
    num_estimators, channels = 3, 2
    x = torch.randn(5, num_estimators * channels, 4, 4)
    members = packed_to_members(x, num_estimators)
    assert members.shape == (num_estimators * 5, channels, 4, 4)
    for m in range(num_estimators):
        assert torch.equal(members[m * 5:(m + 1) * 5], x[:, m * channels:(m + 1) * channels])
    assert torch.equal(members_to_packed(members, num_estimators), x)
    logits = torch.randn(5, num_estimators * 10)
    assert torch.equal(logits_by_member(logits, num_estimators)[:, 2], logits[:, 20:30])
    with pytest.raises(ValueError, match="not divisible by num_estimators=4"):
        packed_to_members(x, 4)
