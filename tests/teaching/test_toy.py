"""The 2-D toy world: data, the three MLPs built from PackedLinear, training, and the comparison's numbers."""

import pytest
import torch
from torch import nn

from pe_lab.evaluation.prediction import predict_proba
from pe_lab.nn.layers import PackedLinear
from pe_lab.nn.models import DeepEnsemble
from pe_lab.teaching.toy import make_toy, ood_ring, toy_compare, toy_mlp, train_toy


@pytest.mark.parametrize("kind,classes", [("moons", 2), ("spirals", 2), ("blobs", 3)])
def test_toy_data_is_seeded_balanced_and_labelled(kind, classes):
    points, labels = make_toy(kind, 300, seed=3)
    again, _ = make_toy(kind, 300, seed=3)
    assert points.shape == (300, 2) and torch.equal(points, again)
    assert torch.bincount(labels).tolist() == [300 // classes] * classes
    assert not torch.equal(points, make_toy(kind, 300, seed=4)[0])


def test_the_ood_ring_is_far_from_the_data():
    points, _ = make_toy("moons", 500, noise=0.2)
    ring = ood_ring(200)
    assert torch.cdist(ring, points).min() > 0.5


@pytest.mark.parametrize("method,members", [("single", 1), ("deep", 4), ("packed", 4)])
def test_toy_mlps_return_logits_batch_members_classes(method, members):
    model = toy_mlp(method, 16, 3, num_estimators=4, alpha=2)
    assert model(torch.zeros(5, 2)).shape == (5, members, 3)


def test_the_toy_models_are_built_from_the_image_models_factories_and_container():
    """One DE container and one set of layer factories serve the toy and the image models."""
    deep, packed = toy_mlp("deep", 16, 2, num_estimators=3), toy_mlp("packed", 16, 2, num_estimators=4, alpha=2)
    assert isinstance(deep, DeepEnsemble) and len(deep.members) == 3
    assert all(type(layer) is nn.Linear for layer in deep.members[0].layers if hasattr(layer, "weight"))
    assert [layer.out_features for layer in packed.layers if isinstance(layer, PackedLinear)] == [32, 32, 8]


def test_a_toy_pe_is_m_independent_mlps():
    """The gradient of member 0's logits reaches no other member's weights."""
    torch.manual_seed(0)
    model = toy_mlp("packed", 16, 2, num_estimators=4, alpha=2)
    model(torch.randn(7, 2))[:, 0].sum().backward()
    for layer in (m for m in model.layers if hasattr(m, "weight")):
        grad = layer.weight.grad
        rows = grad.shape[0] // 4
        assert grad[rows:].abs().sum() == 0 and grad[:rows].abs().sum() > 0


def test_training_fits_the_moons():
    torch.manual_seed(0)
    points, labels = make_toy("moons", 300, noise=0.1)
    model = train_toy(toy_mlp("single", 16), points, labels, epochs=300)
    assert (predict_proba(model, points).argmax(1) == labels).float().mean() > 0.95


def test_comparison_is_seeded_and_shows_pe_break_with_narrow_members():
    wide = toy_compare("spirals", hidden=32, alpha=2, epochs=400, grid_steps=10)
    again = toy_compare("spirals", hidden=32, alpha=2, epochs=400, grid_steps=10)
    assert wide["results"]["PE(2,4,1)"].metrics == again["results"]["PE(2,4,1)"].metrics
    narrow = toy_compare("spirals", hidden=8, alpha=1, epochs=400, grid_steps=10)
    n, w = narrow["results"], wide["results"]
    # wide members: PE within a few points of DE; members of 2 hidden units: far below it
    assert abs(w["PE(2,4,1)"].metrics["accuracy"] - w["DE(4)"].metrics["accuracy"]) < 0.05
    assert n["PE(1,4,1)"].metrics["accuracy"] < n["DE(4)"].metrics["accuracy"] - 0.1
    assert n["Single"].metrics["mi_ood"] == 0 and w["DE(4)"].metrics["mi_ood"] > 0
    assert n["PE(1,4,1)"].grid_probs.shape == (100, 4, 2)


def test_bad_toy_input_names_the_rule():
    with pytest.raises(ValueError, match="toy data set"):
        make_toy("circles")
    with pytest.raises(ValueError, match="not divisible by num_estimators"):
        toy_mlp("packed", 6, alpha=1, num_estimators=4)


def test_toy_explorer_trains_on_update_and_names_a_broken_rule():
    import matplotlib

    matplotlib.use("Agg")
    from pe_lab.teaching.explorers import toy_explorer

    widget, update = toy_explorer(num_points=100, epochs=100, grid_steps=12)
    shown = update(alpha=1.0, hidden=8, seed=1)
    assert set(shown["numbers"]) == {"Single", "DE(4)", "PE(1,4,1)"}
    assert len(shown["figure"].axes) == 12  # 3 models x (regions, confidence, entropy, MI)
    assert "mean MI, OOD ring" in [c for c in widget.children if "pe-toy-numbers" in c._dom_classes][0].value
    again = update(alpha=1.0, hidden=8, seed=1)
    assert again["numbers"] == shown["numbers"]  # seeded: the same knobs give the same numbers
    broken = update(alpha=1.5, hidden=4)
    assert broken["figure"] is None and "not divisible by num_estimators" in broken["error"]
    import numpy as np

    assert update(num_estimators=np.int64(2), alpha=2.0, hidden=8)["numbers"]["DE(2)"]["params"] > 0
