"""The tutorial's network: pe-lab's equivalent equals torch-uncertainty's own layers, weight for weight."""

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from pe_lab.nn.tutorial import TORCH_UNCERTAINTY_VERSIONS, head_size, tutorial_network


def _copy_into_torch_uncertainty(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """pe-lab's PackedLinear weight (out, in / groups) -> torch-uncertainty's (groups, out / groups, in / groups)."""
    with torch.no_grad():
        for mine, theirs in zip(source.parameters(), target.parameters(), strict=True):
            theirs.copy_(mine.reshape(theirs.shape))


def test_the_seed_head_gives_each_member_ten_logits_per_member():
    model = tutorial_network("packed", head="seed")
    assert model(torch.zeros(3, 3, 32, 32)).shape == (3, 4, 40)
    # The 40-logit head costs 30 * 4 * (42 + 1) parameters more than one logit per class.
    extra = sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in tutorial_network("packed", head="classes").parameters())
    assert extra == 30 * 4 * (42 + 1)
    assert head_size(10, 4, "seed") == 40 and head_size(10, 4, "classes") == 10


def test_the_single_and_the_deep_ensemble_are_the_tutorials_net():
    assert tutorial_network("single")(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 10)
    assert tutorial_network("deep", num_estimators=3)(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 10)
    net = tutorial_network("single")
    assert sum(p.numel() for p in net.parameters()) == 62006  # the tutorial's Net, as PyTorch's blitz counts it


@pytest.mark.parametrize("bad", [dict(kind="wide"), dict(head="forty"), dict(layers="keras"),
                                 dict(kind="single", layers="torch-uncertainty")])
def test_bad_choices_are_refused_naming_the_rule(bad):
    with pytest.raises(ValueError, match="must|use layers"):
        tutorial_network(**bad)


@pytest.mark.parametrize("head", ["seed", "classes"])
@pytest.mark.parametrize("num_estimators,alpha,gamma", [(4, 2, 1), (2, 3, 1), (2, 4, 1)])
def test_pe_lab_equals_torch_uncertainty_weight_for_weight(head, num_estimators, alpha, gamma):
    pytest.importorskip("torch_uncertainty", reason="torch-uncertainty is the optional 'reference' extra: "
                                                    "pip install 'pe-lab[reference]'")
    torch.manual_seed(0)
    ours = tutorial_network("packed", head=head, num_estimators=num_estimators, alpha=alpha, gamma=gamma).double()
    theirs = tutorial_network("packed", head=head, layers="torch-uncertainty", num_estimators=num_estimators,
                              alpha=alpha, gamma=gamma).double()
    _copy_into_torch_uncertainty(ours, theirs)
    x = torch.randn(5, 3, 32, 32, dtype=torch.float64)
    expected = ours(x)
    assert expected.shape == (5, num_estimators, head_size(10, num_estimators, head))
    torch.testing.assert_close(theirs(x), expected, rtol=1e-12, atol=1e-12)
    # The same loss and the same gradients: the tutorial's CrossEntropyLoss on ((m b), K) with labels.repeat(M).
    labels = torch.randint(0, 10, (5,))
    for model in (ours, theirs):
        model.zero_grad()
        F.cross_entropy(rearrange(model(x), "b m k -> (m b) k"), labels.repeat(num_estimators)).backward()
    for mine, other in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(other.grad, mine.grad.reshape(other.grad.shape), rtol=1e-10, atol=1e-12)


def test_an_unchecked_torch_uncertainty_version_is_refused_with_its_version(monkeypatch):
    torch_uncertainty = pytest.importorskip("torch_uncertainty", reason="the optional 'reference' extra")
    monkeypatch.setattr(torch_uncertainty, "__version__", "0.1.6", raising=False)
    with pytest.raises(RuntimeError, match=r"torch-uncertainty 0\.1\.6 is installed.*" +
                       TORCH_UNCERTAINTY_VERSIONS[0].replace(".", r"\.")):
        tutorial_network("packed", layers="torch-uncertainty")


def test_torch_uncertainty_lowers_gamma_below_64_channels_per_group_where_pe_lab_does_not():
    """A difference to know before comparing gamma > 1: torch-uncertainty 0.13.0's PackedConv2d lowers gamma
    until each group has ``minimum_channels_per_group`` (default 64) input channels; pe-lab keeps the gamma asked
    for. The tutorial uses gamma = 1, where the two agree."""
    pytest.importorskip("torch_uncertainty", reason="the optional 'reference' extra")
    theirs = tutorial_network("packed", layers="torch-uncertainty", num_estimators=2, alpha=2, gamma=2)
    ours = tutorial_network("packed", num_estimators=2, alpha=2, gamma=2)
    assert theirs.features[3].conv.groups == 2  # M * gamma = 4 asked; 12 channels / 4 < 64, so gamma became 1
    assert ours.features[3].groups == 4
