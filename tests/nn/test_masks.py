"""``from_dense``: a dense layer is only turned into a packed one when it really is one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pe_lab.nn.layers import PackedConv2d, PackedLinear
from pe_lab.nn.masks import from_dense, to_dense

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_from_dense_refuses_nan_outside_the_mask():
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, padding=1)
    dense = to_dense(layer)
    with torch.no_grad():
        dense.weight[0, -1, 0, 0] = float("nan")  # member 0's output, member 1's input: outside the mask
    with pytest.raises(ValueError, match=r"dense weight has 1 non-finite entries"):
        from_dense(dense, like=layer)


@pytest.mark.parametrize("attr,value", [("stride", (2, 2)), ("padding", (0, 0)), ("dilation", (2, 2))])
def test_from_dense_refuses_another_geometry(attr, value):
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, padding=1)
    dense = to_dense(layer)
    setattr(dense, attr, value)
    with pytest.raises(ValueError, match=rf"dense has {attr}=.* but like has {attr}="):
        from_dense(dense, like=layer)


def test_from_dense_refuses_another_kind_of_layer_or_bias():
    linear = PackedLinear(4, 4, alpha=1, num_estimators=2)
    with pytest.raises(TypeError, match="dense must be an nn.Linear"):
        from_dense(nn.Conv2d(4, 4, 1), like=linear)
    with pytest.raises(ValueError, match="dense has no bias but like has one"):
        from_dense(nn.Linear(4, 4, bias=False), like=linear)
