"""The method registry: one record per method, and everything else asks it (issue 10, part 1)."""

from __future__ import annotations

import pytest
import torch

from pe_lab.cli.experiment import parse_methods
from pe_lab.data.images import synthetic_dataset
from pe_lab.evaluation.prediction import predict_member_probs
from pe_lab.methods.registry import METHODS, Contender, Method, build, get_method, register, training_units
from pe_lab.nn.models import DeepEnsemble, ModelSpec, plain_network
from pe_lab.results import cost
from pe_lab.results.report import format_table
from pe_lab.training.loop import fit


def test_the_six_methods_and_their_labels():
    assert list(METHODS) == ["single", "deep", "packed", "batch", "mimo", "masksembles"]
    assert get_method("packed").label({"alpha": 2, "num_estimators": 4, "gamma": 1}) == "PE(2,4,1)"
    assert get_method("deep").label({"num_estimators": 4}) == "DE(4)"
    assert get_method("single").label({}) == "Single"
    with pytest.raises(ValueError, match="unknown method 'bagging'; valid choices: single, deep, packed, batch, mimo"):
        get_method("bagging")


def test_training_units_come_from_the_method():
    deep = build("lenet", "deep", num_estimators=3)
    assert training_units(deep) == list(deep.members)
    packed = build("lenet", "packed")
    assert training_units(packed) == [packed]
    assert training_units(torch.nn.Linear(2, 2))[0].__class__ is torch.nn.Linear  # not built by pe-lab: itself


@pytest.fixture
def wide_single():
    """A new method, added in one place: a Single at twice the width, timed as one contender."""
    def make(architecture, num_classes, *, alpha, **_):
        return plain_network(architecture, num_classes, alpha, 1, "wide", alpha=alpha)

    method = register(Method("wide", "Wide", "one network, alpha times wider", make, hyperparameters=("alpha",),
                             contenders=(Contender("wide", "Wide"),)))
    yield method
    del METHODS["wide"]


def test_a_new_method_works_everywhere_without_touching_other_modules(wide_single):
    model = build("lenet", "wide", alpha=2)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 10)
    assert parse_methods("single,wide") == ["single", "wide"]
    train = synthetic_dataset(8, 10)
    history = fit(model, train, epochs=1, batch_size=16, schedule="cosine", progress=False)
    assert len(history.train_loss) == 1
    assert predict_member_probs(model, train).shape == (80, 1, 10)
    (measured,) = cost.measure("lenet", alpha=2, contenders=("wide",), batch_size=4, repeats=1, warmup=0)
    assert measured.error is None and measured.params == sum(p.numel() for p in model.parameters())
    run = {"method": "wide", "seed": 0, "spec": model.spec.to_dict(), "params": 1, "train_seconds": 1.0,
           "test_images_per_second": 1.0, "metrics": {"accuracy": 0.5, "nll": 1.0, "ece": 0.1, "brier": 0.5}}
    from pe_lab.results.report import summarise

    report = {"runs": [run], "summary": summarise([run]), "provenance": {
        "data": {"num_train": 1, "num_test": 1, "test": "t", "ood": None, "num_ood": 0, "synthetic": True},
        "hardware": "h", "torch": "t", "git_commit": "c", "date": "d"}}
    assert "| Wide(2) |" in format_table(report)


def test_a_method_cannot_be_registered_twice_or_with_unknown_knobs():
    with pytest.raises(ValueError, match="already registered"):
        register(METHODS["packed"])
    with pytest.raises(ValueError, match="unknown hyperparameter 'rank'"):
        register(Method("x", "X", "", lambda *a, **k: None, hyperparameters=("rank",)))
    assert "x" not in METHODS


def test_deep_ensemble_spec_and_shape_contract():
    deep = build("lenet", "deep", num_estimators=2)
    assert isinstance(deep, DeepEnsemble) and deep.spec == ModelSpec("lenet", "deep", 10, num_estimators=2)
    for name in METHODS:
        assert build("lenet", name, alpha=2, num_estimators=2)(torch.zeros(3, 3, 32, 32)).shape[::2] == (3, 10)
