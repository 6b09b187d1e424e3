"""``pack`` of members in different modes: refused, naming each member's mode (a member in train mode would
answer with batch statistics where the others use their running ones)."""

import pytest
import torch

from pe_lab.methods.packed import pack
from pe_lab.methods.registry import build


def _members(n=2):
    torch.manual_seed(0)
    return [build("resnet20", "single", num_classes=10) for _ in range(n)]


@pytest.mark.parametrize("modes", [("eval", "train"), ("train", "eval", "eval")])
def test_members_in_train_and_eval_mode_are_refused_naming_them(modes):
    members = _members(len(modes))
    for member, mode in zip(members, modes, strict=True):
        member.train(mode == "train")
    listed = ", ".join(f"member {i}: {mode}" for i, mode in enumerate(modes))
    with pytest.raises(ValueError, match=f"all in train mode or all in eval mode, got {listed}"):
        pack(members)


def test_a_member_with_one_layer_in_another_mode_is_refused():
    members = [m.eval() for m in _members()]
    next(m for m in members[1].modules() if isinstance(m, torch.nn.BatchNorm2d)).train()
    with pytest.raises(ValueError, match="member 0: eval, member 1: mixed"):
        pack(members)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_members_in_one_mode_pack_into_that_mode(mode):
    members = [m.train(mode == "train") for m in _members()]
    assert pack(members).training == (mode == "train")
