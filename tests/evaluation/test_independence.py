"""The member-independence audit: it passes what is M networks (pe-lab's PE and DE, torch-uncertainty's packed conv,
linear and attention), says what the rivals share by design, and catches what only looks like M networks: a
normalisation over all members (torch-uncertainty 0.13.0's non-first PackedLayerNorm, a plain LayerNorm), batch
statistics pooled over members in train mode, mixing code between layers, one weight applied to every member."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from torch import nn

from pe_lab.evaluation.independence import LAYOUTS, Layout, audit_members, check_torch_uncertainty_version
from pe_lab.methods.registry import build
from pe_lab.nn.layers import PackedConv2d, PackedLinear, logits_by_member

IMAGES = (2, 3, 32, 32)      # LeNet reads 32x32 images
SMALL_IMAGES = (2, 3, 8, 8)  # a ResNet pools whatever is left: 8x8 keeps the audit to seconds


def _tiny(architecture: str, method: str, num_estimators: int = 2, **options) -> nn.Module:
    torch.manual_seed(0)
    width = {"width": 0.25} if architecture == "resnet20" else {}
    return build(architecture, method, num_estimators=num_estimators, alpha=2, **width, **options)


def _shape(architecture: str) -> tuple[int, ...]:
    return IMAGES if architecture == "lenet" else SMALL_IMAGES


# ------------------------------------------------------------------------------------------- what passes


@pytest.mark.parametrize("architecture,num_estimators", [("lenet", 2), ("lenet", 4), ("resnet20", 2)])
def test_pe_lab_packed_ensembles_are_independent_in_both_modes(architecture, num_estimators):
    report = audit_members(_tiny(architecture, "packed", num_estimators), num_estimators=num_estimators,
                           input_shape=_shape(architecture))
    assert report.independent, report.table()
    assert report.modes == ("eval", "train") and report.dtype == torch.float64
    probed = [f for f in report.layers if f.kind == "PackedConv2d" and f.split == "channels"]
    # the hidden packed convolutions were perturbed member by member, and each reaches every member's output
    assert probed and all(f.members == tuple(range(num_estimators)) for f in probed)
    assert "INDEPENDENT" in str(report) and "PackedConv2d" in str(report)


@pytest.mark.parametrize("architecture", ["lenet", "resnet20"])
def test_deep_ensembles_are_independent_and_each_layer_belongs_to_one_member(architecture):
    report = audit_members(_tiny(architecture, "deep"), num_estimators=2, input_shape=_shape(architecture))
    assert report.independent, report.table()
    inner = [f for f in report.layers if f.split != "shared input"]
    assert inner and all(len(f.members) == 1 for f in inner)
    assert {f.members for f in inner} == {(0,), (1,)}


def test_the_audit_leaves_the_model_and_torch_as_they_were():
    model = _tiny("resnet20", "packed").train()
    before, threads = {k: v.clone() for k, v in model.state_dict().items()}, torch.get_num_threads()
    audit_members(model, num_estimators=2, input_shape=SMALL_IMAGES, modes=("train",), threads=1)
    assert torch.get_num_threads() == threads
    assert model.training and all(p.dtype == torch.float32 and p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ------------------------------------------------------------------------------ the rivals share by design


def test_batch_ensemble_shares_its_slow_weights_not_its_fast_weights():
    report = audit_members(_tiny("lenet", "batch"), num_estimators=2, input_shape=IMAGES)
    assert not report.independent and not report.mixing  # no input of one member reaches another's output
    assert set(report.shared_names()) == {"features.0.conv.weight", "features.3.conv.weight",
                                          "classifier.1.linear.weight", "classifier.3.linear.weight",
                                          "classifier.5.linear.weight"}
    assert {p.kind for p in report.shared_parameters} == {"Conv2d", "Linear"}


def test_mimo_shares_every_hidden_layer_and_mixes_its_input_slots_but_not_its_heads():
    model = _tiny("lenet", "mimo")
    report = audit_members(model, num_estimators=2, input_shape=IMAGES, modes=("eval",))
    hidden = {n for n, _ in model.named_parameters() if not n.startswith("classifier.5.")}
    assert set(report.shared_names()) == hidden
    mixing = {f.name for f in report.mixing}
    assert "features.0" in mixing  # the first convolution reads every member's slot


def test_masksembles_shares_the_weights_where_masks_overlap():
    report = audit_members(_tiny("lenet", "masksembles"), num_estimators=2, input_shape=IMAGES, modes=("eval",))
    assert not report.mixing and report.shared_parameters
    assert all(0 < p.shared < p.numel for p in report.shared_parameters if p.name.endswith("weight"))
    assert not [f for f in report.layers if f.kind == "ChannelMasks" and f.mixes]


def test_batch_norm_over_a_member_major_batch_mixes_members_in_train_mode_only():
    """BatchEnsemble's BatchNorm2d sees all members' rows: the running statistics of eval mode keep the members
    apart, the batch statistics of train mode do not."""
    model = _tiny("resnet20", "batch")
    report = audit_members(model, num_estimators=2, input_shape=(2, 3, 4, 4))
    assert {(f.kind, f.mode) for f in report.mixing} == {("BatchNorm2d", "train")}
    assert all(f.split == "rows" for f in report.mixing)


# ------------------------------------------------------------------------------ what only looks packed


class _PackedNet(nn.Module):
    """A small packed CNN in pe-lab's layout with ``norm`` after its hidden convolution and ``between`` (a function)
    applied in the forward code; ``nn.Identity()`` and ``None`` give a genuine PE."""

    def __init__(self, num_estimators: int = 2, norm: nn.Module | None = None, between=None) -> None:
        super().__init__()
        self.num_estimators = num_estimators
        self.stem = PackedConv2d(3, 4, 3, alpha=2, num_estimators=num_estimators, first=True, padding=1)
        self.hidden = PackedConv2d(4, 4, 3, alpha=2, num_estimators=num_estimators, padding=1)
        self.norm = norm if norm is not None else nn.Identity()
        self.head = PackedLinear(4, 3, alpha=2, num_estimators=num_estimators, last=True)
        self.between = between

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        if self.between is not None:
            x = self.between(x)
        x = torch.relu(self.norm(self.hidden(x)))
        return logits_by_member(self.head(x.mean((2, 3))), self.num_estimators)


class _MemberBatchNorm(nn.Module):
    """A BatchNorm2d of ``C`` channels shared by the members: their channel blocks become rows of one batch."""

    def __init__(self, channels: int, num_estimators: int) -> None:
        super().__init__()
        self.num_estimators = num_estimators
        self.norm = nn.BatchNorm2d(channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = rearrange(x, "b (m c) h w -> (m b) c h w", m=self.num_estimators)
        return rearrange(self.norm(rows), "(m b) c h w -> b (m c) h w", m=self.num_estimators)


def test_the_hand_made_packed_net_itself_is_independent():
    torch.manual_seed(0)
    assert audit_members(_PackedNet(), num_estimators=2, input_shape=(2, 3, 6, 6)).independent


def test_a_layer_norm_over_all_members_is_flagged_in_both_modes():
    torch.manual_seed(0)
    model = _PackedNet(norm=nn.GroupNorm(1, 8))  # one group over all 8 channels: a LayerNorm over the members
    report = audit_members(model, num_estimators=2, input_shape=(2, 3, 6, 6))
    assert not report.independent
    assert {(f.name, f.mode) for f in report.mixing} == {("norm", "eval"), ("norm", "train")}
    assert all(f.layer_leak > 1e-3 and f.worst in ((0, 1), (1, 0)) for f in report.mixing)
    assert "GroupNorm" in report.table() and "NOT INDEPENDENT" in report.table()


def test_batch_statistics_pooled_over_members_pass_in_eval_and_are_caught_in_train():
    torch.manual_seed(0)
    model = _PackedNet(norm=_MemberBatchNorm(4, 2))
    assert audit_members(model, num_estimators=2, input_shape=(2, 3, 6, 6), modes=("eval",)).independent
    report = audit_members(model, num_estimators=2, input_shape=(2, 3, 6, 6))
    # the BatchNorm2d inside, which sees the members as rows of one batch, is the layer that mixes them
    assert [(f.name, f.kind, f.mode, f.split) for f in report.mixing] == [("norm.norm", "BatchNorm2d", "train",
                                                                           "rows")]


def test_mixing_code_between_layers_is_caught_though_no_layer_mixes():
    torch.manual_seed(0)
    model = _PackedNet(between=lambda x: x + x.mean(1, keepdim=True))  # a mean over every member's channels
    report = audit_members(model, num_estimators=2, input_shape=(2, 3, 6, 6), modes=("eval",))
    assert [f.kind for f in report.mixing] == ["(forward code)"]


def test_one_weight_applied_to_every_member_is_a_shared_parameter():
    class SharedConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.conv(chunk) for chunk in x.chunk(2, dim=1)], dim=1)

    torch.manual_seed(0)
    report = audit_members(SharedConv(), num_estimators=2, input_shape=(2, 8, 5, 5), layout="packed-layer")
    assert not report.mixing  # no member's input reaches another member...
    assert [(p.name, p.shared, p.numel, p.members) for p in report.shared_parameters] == [
        ("conv.weight", 144, 144, (0, 1)), ("conv.bias", 4, 4, (0, 1))] * 2  # ...but both train one weight


# ------------------------------------------------------------------------------------------------ bad input


def test_an_output_that_does_not_match_the_layout_is_refused_naming_both_shapes():
    model = nn.Sequential(PackedConv2d(3, 4, 3, alpha=2, num_estimators=2, first=True), nn.Flatten(1))
    with pytest.raises(ValueError, match=r"\(B, M, \.\.\.\) = \(2, 2, \.\.\.\).*returned \(2, 288\)"):
        audit_members(model, num_estimators=2, input_shape=(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(M\*B, \.\.\.\) = \(4, \.\.\.\).*returned \(2, 288\)"):
        audit_members(model, num_estimators=2, input_shape=(2, 3, 8, 8), layout=Layout("mine", "shared", "(m b) ..."))


@pytest.mark.parametrize("bad,error,match", [
    (dict(num_estimators=1), ValueError, "num_estimators must be >= 2"),
    (dict(num_estimators=True), TypeError, "num_estimators must be an integer"),
    (dict(num_estimators=3), ValueError, "the model says num_estimators=2"),
    (dict(layout="keras"), ValueError, "unknown layout 'keras'"),
    (dict(modes=("test",)), ValueError, "unknown mode 'test'"),
    (dict(input_shape=None), ValueError, "exactly one of example_input"),
    (dict(example_input=torch.zeros(2, 3, 32, 32)), ValueError, "exactly one of example_input"),
])
def test_bad_arguments_are_refused_naming_the_rule(bad, error, match):
    arguments = {"num_estimators": 2, "input_shape": IMAGES, **bad}
    with pytest.raises(error, match=match):
        audit_members(_tiny("lenet", "packed"), **arguments)


def test_channels_that_the_members_cannot_share_are_refused():
    with pytest.raises(ValueError, match="6 channels .* not divisible by num_estimators=4"):
        audit_members(nn.Conv2d(6, 4, 1), num_estimators=4, input_shape=(2, 6, 3, 3), layout="packed-layer")


def test_the_layouts_are_named_and_a_layout_checks_its_words():
    assert set(LAYOUTS) == {"pe-lab", "torch-uncertainty", "packed-layer"}
    with pytest.raises(ValueError, match="unknown layout outputs"):
        Layout("mine", "shared", "b k m")


# ------------------------------------------------------------------------------------------ torch-uncertainty


@pytest.fixture
def tu_layers():
    return pytest.importorskip("torch_uncertainty.layers", reason="torch-uncertainty is the optional 'reference' "
                                                                  "extra: pip install 'pe-lab[reference]'")


def test_torch_uncertainty_packed_conv_and_linear_are_independent(tu_layers):
    torch.manual_seed(0)
    conv = tu_layers.PackedConv2d(4, 6, 3, alpha=2, num_estimators=2, padding=1)
    assert audit_members(conv, num_estimators=2, input_shape=(2, 8, 5, 5), layout="packed-layer").independent
    for implementation in ("einsum", "conv1d", "full"):
        linear = tu_layers.PackedLinear(4, 6, alpha=2, num_estimators=2, implementation=implementation)
        report = audit_members(linear, num_estimators=2, input_shape=(3, 8), layout="packed-layer")
        assert report.independent, (implementation, report.table())


@pytest.mark.parametrize("num_estimators", [2, 4])
def test_torch_uncertainty_non_first_packed_layer_norm_is_flagged(tu_layers, num_estimators):
    """torch-uncertainty 0.13.0's PackedLayerNorm is a GroupNorm with ``num_groups = num_estimators if first
    else 1``: a non-first one normalises over every member at once. The audit must keep catching it."""
    torch.manual_seed(0)
    norm = tu_layers.PackedLayerNorm(4, num_estimators=num_estimators, alpha=2)
    report = audit_members(norm, num_estimators=num_estimators, input_shape=(3, 8), layout="packed-layer")
    assert not report.independent and not report.shared_parameters  # the statistics mix, not the weights
    assert {(f.kind, f.mode) for f in report.mixing} == {("PackedLayerNorm", "eval"), ("PackedLayerNorm", "train")}
    assert min(f.output_leak for f in report.mixing) > 1e-2
    first = tu_layers.PackedLayerNorm(4, num_estimators=num_estimators, alpha=2, first=True)
    assert audit_members(first, num_estimators=num_estimators, input_shape=(3, 8), layout="packed-layer").independent


def test_torch_uncertainty_packed_attention_is_independent(tu_layers):
    """Audited: its heads and its grouped projections stay within a member (query = key = value, batch first)."""
    torch.manual_seed(0)
    attention = tu_layers.PackedMultiheadAttention(8, 2, alpha=2, num_estimators=2, batch_first=True)
    x = torch.randn(2, 5, 16)
    report = audit_members(attention, num_estimators=2, example_input=(x, x, x), layout="packed-layer",
                           channel_dim=-1)
    assert report.independent, report.table()
    assert [f.split for f in report.layers] == ["channels", "channels"]


def _tu_lenet(tu_layers, norm: bool = False) -> nn.Module:
    """torch-uncertainty's tutorial LeNet as its layers build it: outputs ((m b), K); ``norm`` adds a non-first
    PackedLayerNorm after the first hidden linear layer."""
    packed = dict(alpha=2, num_estimators=2)
    extra = [tu_layers.PackedLayerNorm(120, **packed)] if norm else []
    return nn.Sequential(
        tu_layers.PackedConv2d(3, 6, 5, first=True, **packed), nn.ReLU(), nn.MaxPool2d(2),
        tu_layers.PackedConv2d(6, 16, 5, **packed), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(1),
        tu_layers.PackedLinear(400, 120, **packed), *extra, nn.ReLU(),
        tu_layers.PackedLinear(120, 84, **packed), nn.ReLU(), tu_layers.PackedLinear(84, 10, last=True, **packed))


def test_a_torch_uncertainty_model_in_its_own_layout(tu_layers):
    torch.manual_seed(0)
    report = audit_members(_tu_lenet(tu_layers), num_estimators=2, input_shape=IMAGES, layout="torch-uncertainty")
    assert report.independent, report.table()
    flagged = audit_members(_tu_lenet(tu_layers, norm=True), num_estimators=2, input_shape=IMAGES,
                            layout="torch-uncertainty", modes=("eval",))
    assert [f.kind for f in flagged.mixing] == ["PackedLayerNorm"]
    with pytest.raises(ValueError, match=r"\(B, M, \.\.\.\) = \(2, 2, \.\.\.\).*returned \(4, 10\)"):
        audit_members(_tu_lenet(tu_layers), num_estimators=2, input_shape=IMAGES)  # told pe-lab's layout


def test_an_unchecked_torch_uncertainty_version_is_refused_by_name(tu_layers, monkeypatch):
    import torch_uncertainty

    assert check_torch_uncertainty_version() == torch_uncertainty.__version__
    monkeypatch.setattr(torch_uncertainty, "__version__", "0.4.0")
    with pytest.raises(RuntimeError, match=r"torch-uncertainty 0\.4\.0 is installed.*checked against .*0\.13\.0"):
        audit_members(_tu_lenet(tu_layers), num_estimators=2, input_shape=IMAGES, layout="torch-uncertainty")
    with pytest.raises(RuntimeError, match=r"0\.4\.0"):  # a torch-uncertainty layer in any layout
        audit_members(tu_layers.PackedLinear(4, 6, alpha=2, num_estimators=2), num_estimators=2,
                      input_shape=(3, 8), layout="packed-layer")
