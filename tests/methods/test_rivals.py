"""The rivals: BatchEnsemble, MIMO and Masksembles, proved like PE and DE are.

* BatchEnsemble: fast weights of 1 give the shared network; member m is the plain network with weights
  W ∘ (s_m r_mᵀ); the shared weight receives every member's gradient (unlike a PE's members).
* Masksembles: member m is the network with its mask applied as a fixed dense mask; masks have the requested
  overlap; members with disjoint masks have independent gradients.
* MIMO: logits (B, M, K); at test time all slots see the same image; the training sampler's statistics; the
  members share everything but the first layer's input slots and the heads.
* Parameter counts and FLOPs of every method, for every architecture, against formulas written here.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pe_lab.methods.batchensemble import BatchEnsembleConv2d, BatchEnsembleLinear, member_weight
from pe_lab.methods.masksembles import ChannelMasks, generate_masks
from pe_lab.methods.mimo import mimo_batch
from pe_lab.methods.registry import build
from pe_lab.nn.models import ARCHITECTURES, plain_network
from pe_lab.results.cost import count_flops

M = 4


def _layers(model: nn.Module, kinds) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kinds)]


def _be_and_plain(seed=0):
    torch.manual_seed(seed)
    be = build("lenet", "batch", num_estimators=M).double().eval()
    plain = plain_network("lenet", 10).double().eval()
    return be, plain


def _load_member(be: nn.Module, plain: nn.Module, member: int) -> None:
    be_layers = _layers(be, (BatchEnsembleConv2d, BatchEnsembleLinear))
    plain_layers = _layers(plain, (nn.Conv2d, nn.Linear))
    assert len(be_layers) == len(plain_layers)
    with torch.no_grad():
        for fast, ordinary in zip(be_layers, plain_layers, strict=True):
            ordinary.weight.copy_(member_weight(fast, member))
            ordinary.bias.copy_(fast.member_bias[member])


# ------------------------------------------------------------------------------------------- BatchEnsemble

def test_batch_ensemble_with_unit_fast_weights_is_the_shared_network():
    be, plain = _be_and_plain()
    with torch.no_grad():
        for layer in _layers(be, (BatchEnsembleConv2d, BatchEnsembleLinear)):
            layer.r.fill_(1)
            layer.s.fill_(1)
            layer.member_bias.copy_(torch.randn(layer.member_bias.shape[1]).expand_as(layer.member_bias))
    _load_member(be, plain, 0)
    x = torch.randn(5, 3, 32, 32, dtype=torch.float64)
    logits = be(x)
    for member in range(M):
        assert torch.allclose(logits[:, member], plain(x)[:, 0], atol=1e-12)


@pytest.mark.parametrize("member", range(M))
def test_batch_ensemble_member_is_the_plain_network_with_rank_one_weights(member):
    be, plain = _be_and_plain(seed=member)
    _load_member(be, plain, member)
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    assert torch.allclose(be(x)[:, member], plain(x)[:, 0], atol=1e-10)


def test_batch_ensemble_shares_its_weight_gradient_but_not_its_fast_weights():
    be, _ = _be_and_plain()
    be.train()
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    be(x)[:, 1].sum().backward()  # member 1 only
    first = _layers(be, (BatchEnsembleConv2d,))[0]
    assert first.weight.grad.abs().sum() > 0                     # the shared weight learns from member 1 ...
    assert first.r.grad[1].abs().sum() > 0
    others = [m for m in range(M) if m != 1]
    assert torch.all(first.r.grad[others] == 0) and torch.all(first.s.grad[others] == 0)  # ... fast weights do not
    pe = build("lenet", "packed", alpha=2, num_estimators=M).double()
    pe(x)[:, 1].sum().backward()
    conv = pe.features[0]
    rows = conv.weight.shape[0] // M
    untouched = torch.cat([conv.weight.grad[:rows], conv.weight.grad[2 * rows:]])
    assert torch.all(untouched == 0)                             # a PE member never touches another's weights


def test_batch_ensemble_rejects_a_batch_that_is_not_member_major():
    layer = BatchEnsembleLinear(4, 3, num_estimators=3)
    with pytest.raises(ValueError, match="member-major batch of M\\*B rows"):
        layer(torch.zeros(4, 4))


# -------------------------------------------------------------------------------------------- Masksembles

@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0, 3.0])
def test_masks_cover_every_channel_with_the_requested_overlap(scale):
    overlaps = []
    for channels in (64, 96, 128):
        masks = generate_masks(channels, M, scale)
        ones = masks.sum(1)
        assert masks.shape == (M, channels) and bool(masks.any(0).all())
        assert torch.all(ones == ones[0])                            # every member keeps as many channels
        for a, b in itertools.combinations(range(M), 2):
            overlaps.append(((masks[a] * masks[b]).sum() / ones[0]).item())
    mean_overlap = sum(overlaps) / len(overlaps)
    assert mean_overlap == pytest.approx(1 / scale, abs=0.12), (scale, mean_overlap)


def test_masks_are_deterministic_and_named_errors():
    assert torch.equal(generate_masks(32, 4, 2.0), generate_masks(32, 4, 2.0))
    with pytest.raises(ValueError, match="scale must be >= 1"):
        generate_masks(32, 4, 0.5)
    with pytest.raises(ValueError, match="scale must be >= 1"):
        build("lenet", "masksembles", scale=0.5)


def test_masksembles_member_is_the_network_with_a_fixed_dense_mask():
    torch.manual_seed(0)
    model = build("resnet20", "masksembles", num_estimators=M, scale=2.0).double().eval()
    for module in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(M, 3, 32, 32, dtype=torch.float64)  # M rows, so the mask layers accept a single pass too
    logits = model(x)
    for member in range(M):
        hooks = []
        for masks in _layers(model, (ChannelMasks,)):
            def apply_member_mask(module, inputs, output, m=member):   # one image batch, one member's dense mask
                return inputs[0] * module.masks[m].view(1, -1, *([1] * (inputs[0].dim() - 2))).to(inputs[0])
            hooks.append(masks.register_forward_hook(apply_member_mask))
        single_pass = model.forward_head(x)  # no repetition: every ChannelMasks now uses member m's mask
        for hook in hooks:
            hook.remove()
        assert torch.allclose(single_pass, logits[:, member], atol=1e-10)


def test_masksembles_members_with_disjoint_masks_have_independent_gradients():
    torch.manual_seed(0)
    model = build("lenet", "masksembles", num_estimators=2, scale=2.0).double().eval()
    for masks in _layers(model, (ChannelMasks,)):
        channels = masks.masks.shape[1]
        disjoint = torch.zeros_like(masks.masks)
        disjoint[0, : channels // 2] = 1
        disjoint[1, channels // 2:] = 1
        masks.masks.copy_(disjoint)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    model(x)[:, 0].sum().backward()  # member 0 only
    conv1, conv2 = _layers(model, (nn.Conv2d,))[:2]
    assert conv1.weight.grad[:3].abs().sum() > 0 and torch.all(conv1.weight.grad[3:] == 0)
    assert torch.all(conv2.weight.grad[8:] == 0) and torch.all(conv2.weight.grad[:, 3:] == 0)


# --------------------------------------------------------------------------------------------------- MIMO

def test_mimo_test_time_feeds_the_same_image_to_every_slot():
    torch.manual_seed(0)
    model = build("resnet20", "mimo", num_estimators=M).eval()
    x = torch.randn(3, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (3, M, 10)
    assert torch.allclose(logits, model(x.repeat(1, M, 1, 1)), atol=1e-6)


def test_mimo_sampler_statistics():
    batch, repetition, rho = 64, 3, 0.6
    images = torch.arange(batch, dtype=torch.float32).view(batch, 1, 1, 1).expand(batch, 3, 2, 2).contiguous()
    labels = torch.arange(batch)
    generator = torch.Generator().manual_seed(0)
    rows, all_same = 0, 0
    for _ in range(50):
        inputs, targets = mimo_batch(images, labels, num_estimators=M, rho=rho, batch_repetition=repetition,
                                     generator=generator)
        assert inputs.shape == (batch * repetition, 3 * M, 2, 2) and targets.shape == (batch * repetition, M)
        slot_images = inputs[:, ::3, 0, 0].long()                     # the image index in each slot's channels
        assert torch.equal(slot_images, targets)                        # labels follow their images
        rows += len(targets)
        all_same += (targets == targets[:, :1]).all(1).sum().item()
        # Without input repetition every slot would see each image exactly R times; repetition copies slot 0.
        assert torch.all(torch.bincount(targets[:, 0], minlength=batch) == repetition)
    chance = (1 - rho) * (1 / batch) ** (M - 1)
    assert all_same / rows == pytest.approx(rho + chance, abs=0.03)
    no_repeat = mimo_batch(images, labels, num_estimators=M, rho=0.0, batch_repetition=1, generator=generator)[1]
    for slot in range(M):
        assert torch.equal(no_repeat[:, slot].sort().values, labels)  # each slot: a permutation of the batch


def test_mimo_members_share_all_but_input_slots_and_heads():
    single = build("resnet20", "single")
    mimo = build("resnet20", "mimo", num_estimators=M)
    single_shapes = [p.shape for p in single.parameters()]
    mimo_shapes = [p.shape for p in mimo.parameters()]
    differ = [i for i, (a, b) in enumerate(zip(single_shapes, mimo_shapes, strict=True)) if a != b]
    assert differ == [0, len(single_shapes) - 2, len(single_shapes) - 1]   # stem conv, head weight, head bias
    assert mimo_shapes[0][1] == 3 * M and mimo_shapes[-1][0] == 10 * M


def test_mimo_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="rho must be <= 1"):
        build("lenet", "mimo", rho=1.5)
    with pytest.raises(ValueError, match="batch_repetition must be an integer >= 1"):
        build("lenet", "mimo", batch_repetition=0)
    with pytest.raises(ValueError, match="unknown hyperparameter 'rank'"):
        build("lenet", "mimo", rank=2)


# ------------------------------------------------------------------------------ parameters and FLOPs, formulas

def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _expected_params(method: str, architecture: str) -> int:
    with torch.device("meta"):
        single = plain_network(architecture, 10)
    layers = _layers(single, (nn.Conv2d, nn.Linear))
    base = _count(single)
    if method == "deep":
        return M * base
    if method == "masksembles":                      # masks are buffers: the Single's parameters exactly
        return base
    if method == "batch":                            # shared weights, BN; per member r (C_in), s (C_out), bias
        norms = base - sum(_count(layer) for layer in layers)
        fast = sum(M * (layer.weight.shape[1] + layer.weight.shape[0] * (2 if layer.bias is not None else 1))
                   for layer in layers)
        return sum(layer.weight.numel() for layer in layers) + norms + fast
    if method == "mimo":                             # stem reads 3M channels, head writes M*K
        stem, head = layers[0], layers[-1]
        return base + (M - 1) * stem.weight.numel() + (M - 1) * _count(head)
    raise AssertionError(method)


@pytest.mark.parametrize("architecture,method", list(itertools.product(ARCHITECTURES, ["deep", "batch", "mimo",
                                                                                       "masksembles"])))
def test_parameter_counts_match_their_formula(architecture, method):
    with torch.device("meta"):
        model = build(architecture, method, num_estimators=M)
    assert _count(model) == _expected_params(method, architecture)


def test_imagenet_resnet50_is_torchvisions_resnet50_layer_for_layer():
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):
        reference = torchvision.models.resnet50(weights=None)
        ours = build("resnet50_imagenet", "single", num_classes=1000)
        assert _count(reference) == _count(ours) == 25_557_032  # torchvision's published num_params
        assert sorted(tuple(p.shape) for p in reference.parameters()) == sorted(tuple(p.shape) for p in ours.parameters())
        assert _count(build("resnet50_imagenet", "deep", num_estimators=4, num_classes=1000)) == 4 * 25_557_032
        # PE of it as torch-uncertainty 0.13 counts it: packed_resnet(arch=50, style="imagenet", num_classes=1000)
        # gave 59,087,968 for PE(3,4,1) (the paper's ImageNet setting) and 27,670,560 for PE(2,4,1) (run here once)
        assert _count(build("resnet50_imagenet", "packed", alpha=3, num_estimators=4, num_classes=1000)) == 59_087_968
        assert _count(build("resnet50_imagenet", "packed", alpha=2, num_estimators=4, num_classes=1000)) == 27_670_560
        # the CIFAR stem differs: 3x3 conv, no max-pool (the classic mix-up gives the wrong stem for 224x224)
        assert _count(build("resnet50", "single", num_classes=1000)) != 25_557_032
    ours = build("resnet50_imagenet", "single", num_classes=5).eval()
    features = ours.stem(torch.zeros(1, 3, 224, 224))
    assert features.shape == (1, 64, 56, 56)  # 7x7 stride 2, then 3x3 max-pool stride 2, as in the paper's ImageNet nets


def test_published_sizes_of_the_new_architectures():
    with torch.device("meta"):
        assert _count(build("resnet50", "single")) == pytest.approx(23.5e6, rel=0.01)
        assert _count(build("wrn28_10", "single")) == pytest.approx(36.5e6, rel=0.01)
        assert _count(build("resnet50", "packed", alpha=2, num_estimators=4)) == pytest.approx(23.5e6, rel=0.01)


@pytest.mark.parametrize("architecture", ["lenet", "resnet20"])
def test_flops_match_their_formula(architecture):
    single = build(architecture, "single")
    flops = {method: count_flops(build(architecture, method, num_estimators=M)) for method in
             ("single", "deep", "batch", "mimo", "masksembles")}
    assert flops["deep"] == flops["batch"] == flops["masksembles"] == M * flops["single"]
    layers = _layers(single, (nn.Conv2d, nn.Linear))
    stem_flops = count_flops(nn.Sequential(layers[0]), (1, 3, 32, 32))
    head_flops = 2 * layers[-1].weight.numel()
    assert flops["mimo"] == flops["single"] + (M - 1) * (stem_flops + head_flops)


@pytest.mark.parametrize("method", ["batch", "mimo", "masksembles"])
def test_every_rival_trains_and_evaluates_through_the_one_code_path(method, tmp_path):
    from pe_lab.data.images import synthetic_dataset
    from pe_lab.evaluation.prediction import predict_member_probs
    from pe_lab.training.loop import fit

    train = synthetic_dataset(16, 10)
    model = build("lenet", method, num_estimators=M)
    history = fit(model, train, train, epochs=2, batch_size=32, schedule="cosine", progress=False,
                  checkpoint=tmp_path / "c.pt")
    assert len(history.test_accuracy) == 2
    probs = predict_member_probs(model, train)
    assert probs.shape == (160, M, 10) and torch.allclose(probs.sum(-1), torch.ones(160, M), atol=1e-5)
