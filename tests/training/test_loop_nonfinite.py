"""A non-finite update whose loss stayed finite: the parameters are checked before any checkpoint is written and
before ``fit`` returns, and a checkpoint is called good only if its weights are finite."""

import pytest
import torch

from pe_lab.data.images import synthetic_dataset
from pe_lab.methods.registry import build
from pe_lab.training.checkpoint import load_checkpoint
from pe_lab.training.loop import fit
from pe_lab.training.step import TrainingDiverged


def _poisoned(kind="single", at_backward=2, value=float("nan")):
    """A model whose first parameter's gradient turns ``value`` at its ``at_backward``-th backward pass (the last
    step of epoch 1 with 16 images in batches of 8), while every loss stays finite."""
    model = build("lenet", kind, num_classes=2, **({"num_estimators": 2} if kind != "single" else {}))
    calls = {"n": 0}

    def poison(grad):
        calls["n"] += 1
        return grad * value if calls["n"] == at_backward else grad

    next(model.parameters()).register_hook(poison)
    return model


def _finite(state) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_update_at_an_epochs_last_step_writes_no_checkpoint(tmp_path, value):
    train = synthetic_dataset(8, 2)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match=r"weights became non-finite \(NaN or inf\) in epoch 1 .*no checkpoint was written"):
        fit(_poisoned(value=value), train, epochs=2, batch_size=8, schedule="cosine", progress=False,
            checkpoint=path)
    assert not path.exists()


def test_a_checkpoint_named_good_holds_finite_weights(tmp_path):
    """Epoch 1 fine, the update at epoch 2's last step non-finite: the epoch-1 checkpoint stays and is finite."""
    train = synthetic_dataset(8, 2)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match=r"epoch 2.*the last good checkpoint is .*run.pt \(epoch 1\)"):
        fit(_poisoned(at_backward=4), train, epochs=3, batch_size=8, schedule="cosine", progress=False,
            checkpoint=path)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and _finite(state["model"])


def test_fit_never_returns_a_model_with_non_finite_weights(tmp_path):
    train = synthetic_dataset(8, 2)
    with pytest.raises(TrainingDiverged, match="non-finite"):
        fit(_poisoned(), train, epochs=1, batch_size=8, schedule="cosine", progress=False)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match="no checkpoint was written"):
        fit(_poisoned(), train, epochs=1, batch_size=8, schedule="cosine", progress=False, checkpoint=path)
    assert not path.exists()


def test_a_de_member_with_non_finite_weights_is_named(tmp_path):
    """Member 1's update turns NaN at its last step of epoch 1: the message names member 1."""
    train = synthetic_dataset(8, 2)
    model = build("lenet", "deep", num_classes=2, num_estimators=2)
    calls = {"n": 0}

    def poison(grad):
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == 2 else grad

    next(model.members[1].parameters()).register_hook(poison)
    with pytest.raises(TrainingDiverged, match="member 1"):
        fit(model, train, epochs=1, batch_size=8, schedule="cosine", progress=False)


def test_a_stale_checkpoint_from_an_earlier_run_is_not_called_good(tmp_path):
    """``restart=True`` over an older checkpoint, diverging in epoch 1: no checkpoint of *this* run is good."""
    train = synthetic_dataset(8, 2)
    path = tmp_path / "run.pt"
    fit(build("lenet", "single", num_classes=2), train, epochs=2, batch_size=8, schedule="cosine", progress=False,
        checkpoint=path)
    with pytest.raises(TrainingDiverged, match="no checkpoint was written"):
        fit(_poisoned(), train, epochs=2, batch_size=8, schedule="cosine", progress=False, checkpoint=path,
            restart=True)


def test_the_lightning_engine_writes_no_checkpoint_of_non_finite_weights(tmp_path):
    pytest.importorskip("lightning", reason="the Lightning engine is the optional 'lightning' extra")
    from pe_lab.training.lightning import fit_lightning

    train = synthetic_dataset(8, 2)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match=r"weights became non-finite .* in epoch 1 "):
        fit_lightning(_poisoned(), train, epochs=2, batch_size=8, schedule="cosine", progress=False,
                      checkpoint=path, device="cpu")
    assert not path.exists()
