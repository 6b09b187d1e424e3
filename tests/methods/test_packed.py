"""``pack`` / ``unpack`` keep what their members are."""

from __future__ import annotations

import pytest
import torch

from pe_lab.methods.registry import build

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_pack_keeps_its_members_dtype():
    from pe_lab.methods.packed import pack

    members = [build("lenet", "single").double().eval() for _ in range(2)]
    packed = pack(members).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    assert next(packed.parameters()).dtype == torch.float64
    assert torch.allclose(packed(x), torch.cat([m(x) for m in members], 1), atol=1e-12)
    with pytest.raises(TypeError, match="members of one dtype"):
        pack([build("lenet", "single"), build("lenet", "single").double()])
