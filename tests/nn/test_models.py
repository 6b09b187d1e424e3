"""Builders keep the (B, M, K) contract; a PE is numerically its M members (pack/unpack)."""

import pytest
import torch
from torch import nn

from pe_lab.evaluation.prediction import predict_proba
from pe_lab.methods.packed import pack, unpack
from pe_lab.methods.registry import build, build_member
from pe_lab.nn.layers import PackedConv2d, PackedLinear
from pe_lab.nn.models import ARCHITECTURES, BottleneckResNet, PlainFactory, plain_network


def _images(batch=4):
    return torch.randn(batch, 3, 32, 32)


def _randomise_batchnorm(model):
    """Non-trivial running statistics, so carrying them over is actually tested."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
    return model


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("kind,expected_members", [("single", 1), ("deep", 3), ("packed", 3)])
def test_every_model_returns_batch_members_classes(name, kind, expected_members):
    if name == "resnet18" and kind == "deep":
        pytest.skip("three full ResNet-18s only repeat what resnet20 shows")
    model = build(name, kind, num_estimators=3, alpha=3, num_classes=7).eval()
    with torch.no_grad():
        assert model(_images(2)).shape == (2, expected_members, 7)


CASES = [("lenet", 2, 4, 1), ("lenet", 2, 2, 2), ("resnet20", 2, 4, 1), ("resnet20", 2, 2, 2),
         ("resnet20", 4, 4, 2)]


@pytest.mark.parametrize("name,alpha,num_estimators,gamma", CASES)
def test_unpack_gives_members_that_reproduce_the_pe(name, alpha, num_estimators, gamma):
    torch.manual_seed(0)
    pe = _randomise_batchnorm(build(name, "packed", alpha=alpha, num_estimators=num_estimators, gamma=gamma)).eval()
    members = unpack(pe)
    assert len(members) == num_estimators
    for member in members:  # standalone, ordinary layers only
        assert not any(isinstance(m, (PackedConv2d,)) for m in member.modules())
        assert not member.training
    x = _images()
    with torch.no_grad():
        pe_logits = pe(x)
        for m, member in enumerate(members):
            torch.testing.assert_close(member(x)[:, 0], pe_logits[:, m], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,alpha,num_estimators,gamma", CASES)
def test_pack_of_independent_members_reproduces_each_member(name, alpha, num_estimators, gamma):
    torch.manual_seed(1)
    members = [_randomise_batchnorm(build_member(name, alpha=alpha, num_estimators=num_estimators,
                                                 gamma=gamma)).eval() for _ in range(num_estimators)]
    pe = pack(members).eval()
    assert (pe.spec.alpha, pe.spec.num_estimators, pe.spec.gamma) == (alpha, num_estimators, gamma)
    x = _images()
    with torch.no_grad():
        expected = torch.cat([member(x) for member in members], dim=1)
        torch.testing.assert_close(pe(x), expected, rtol=1e-5, atol=1e-5)
    # ... and the round trip restores the very same tensors.
    for original, back in zip(members, unpack(pe), strict=True):
        for (name_a, a), (name_b, b) in zip(original.state_dict().items(), back.state_dict().items(), strict=True):
            assert name_a == name_b and torch.equal(a, b)


def test_deep_ensemble_packs_into_pe_with_alpha_equal_m():
    deep = _randomise_batchnorm(build("resnet20", "deep", num_estimators=3)).eval()
    pe = pack(deep).eval()
    assert (pe.spec.alpha, pe.spec.num_estimators) == (3, 3)
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(pe(x), deep(x), rtol=1e-5, atol=1e-5)


def test_pe_member_loss_only_reaches_that_members_weights():
    """Backprop of member 0's loss through a whole PE: every other member's weights get exactly zero."""
    pe = build("resnet20", "packed", alpha=2, num_estimators=4).train()
    pe(_images(8))[:, 0].logsumexp(-1).mean().backward()
    checked = 0
    for layer in pe.modules():
        if isinstance(layer, (PackedConv2d, PackedLinear, nn.BatchNorm2d)):
            rows = layer.weight.shape[0] // 4
            assert torch.count_nonzero(layer.weight.grad[:rows]) > 0
            assert torch.count_nonzero(layer.weight.grad[rows:]) == 0
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_with_gamma_groups_in_every_hidden_layer_a_member_is_gamma_towers_joined_by_its_head(name):
    """pe-lab applies gamma to every hidden layer (as torch-uncertainty's LeNet and WRN do; its ResNets skip gamma in
    each block's first conv). Nothing then mixes a member's subgroups before the head: changing the stem's
    channels of (member 0, subgroup 1) changes exactly those head inputs, no others."""
    alpha, num_estimators, gamma = 2, 2, 2
    torch.manual_seed(0)
    pe = _randomise_batchnorm(build(name, "packed", alpha=alpha, num_estimators=num_estimators, gamma=gamma)).eval()
    stem = next(m for m in pe.modules() if isinstance(m, PackedConv2d) and m.first)
    head = next(m for m in pe.modules() if isinstance(m, PackedLinear) and m.last)
    seen = []
    head.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach().clone()))
    x = _images(2)
    groups = num_estimators * gamma
    with torch.no_grad():
        pe(x)
        rows = stem.out_channels // groups
        stem.weight[rows:2 * rows] += 1.0  # group 1 = member 0, subgroup 1
        pe(x)
    before, after = (features.reshape(len(x), groups, -1) for features in seen)
    changed = [not torch.equal(before[:, g], after[:, g]) for g in range(groups)]
    assert changed == [False, True, False, False]


def test_predict_proba_is_mean_of_member_softmax():
    pe = build("lenet", "packed").eval()
    x = _images(3)
    with torch.no_grad():
        probs = predict_proba(pe, x)
        logits = pe(x)
    # an independent oracle: each unpacked member's own softmax, averaged (not the function's own formula)
    members = [m.eval() for m in unpack(pe)]
    with torch.no_grad():
        oracle = sum(torch.nn.functional.softmax(m(x)[:, 0], dim=-1) for m in members) / len(members)
    torch.testing.assert_close(probs, oracle, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(probs, logits.mean(1).softmax(-1), atol=1e-4)  # not the softmax of mean logits


def test_parameter_count_of_pe_2_4_1_matches_single():
    for name in ("resnet20", "resnet18"):
        with torch.device("meta"):
            single = sum(p.numel() for p in build(name, "single").parameters())
            packed = sum(p.numel() for p in build(name, "packed", alpha=2, num_estimators=4).parameters())
        assert abs(packed / single - 1) < 0.02, (name, packed / single)


def test_resnet_allows_gamma_where_widths_divide_and_names_the_rule_otherwise():
    assert build("resnet20", "packed", alpha=2, num_estimators=4, gamma=2)(_images(1)).shape == (1, 4, 10)
    with pytest.raises(ValueError, match="is not divisible by num_estimators\\*gamma=12"):
        build("resnet20", "packed", alpha=2, num_estimators=4, gamma=3)


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="vgg", kind="packed"), "unknown model name 'vgg'; valid choices: lenet, resnet20, resnet18"),
    (dict(name="lenet", kind="bagging"), "unknown method 'bagging'; valid choices: single, deep, packed"),
    (dict(name="lenet", kind="packed", alpha=0), "alpha must be > 0"),
    (dict(name="lenet", kind="packed", alpha=-2), "alpha must be > 0"),
    (dict(name="lenet", kind="packed", num_estimators=0), "num_estimators must be an integer >= 1"),
    (dict(name="lenet", kind="packed", gamma=0), "gamma must be an integer >= 1"),
    (dict(name="lenet", kind="packed", num_classes=1), "num_classes must be an integer >= 2"),
])
def test_build_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError) as info:
        build(kwargs.pop("name"), kwargs.pop("kind"), **kwargs)
    assert message in str(info.value)


def test_models_reject_wrong_images():
    with pytest.raises(ValueError, match=r"expected images \(B, 3, H, W\)"):
        build("resnet20", "packed")(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="LeNet expects 32x32 images"):
        build("lenet", "single")(torch.randn(2, 3, 28, 28))


def test_a_resnet50_stem_is_one_of_two_and_any_other_is_named():
    with torch.device("meta"):
        assert isinstance(BottleneckResNet(PlainFactory(), stem="imagenet").stem[3], nn.MaxPool2d)
        with pytest.raises(ValueError, match="unknown stem 'imagnet'; valid choices: cifar, imagenet"):
            BottleneckResNet(PlainFactory(), stem="imagnet")


def test_a_plain_network_is_built_at_the_member_width_it_is_given():
    member = plain_network("lenet", 10, member_width=2, groups=2, kind="member")
    assert member.features[0].out_channels == 12 and member.features[3].groups == 2
    assert (member.spec.width, member.spec.groups, member.spec.kind) == (2, 2, "member")
    assert build_member("lenet", alpha=4, num_estimators=2, gamma=2).spec == member.spec


def test_pack_rejects_mixed_members():
    with pytest.raises(ValueError, match="one and the same spec"):
        pack([build("lenet", "single"), build_member("lenet", alpha=2, num_estimators=2)])
    with pytest.raises(ValueError, match="built by pe_lab.nn.models"):
        pack([nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="unpack takes a packed model"):
        unpack(build("lenet", "single"))
