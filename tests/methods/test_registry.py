"""The method registry: one record per method, and everything else asks it."""

from __future__ import annotations

import inspect
import re

import pytest
import torch

from pe_lab.data.images import synthetic_dataset
from pe_lab.evaluation.prediction import predict_member_probs
from pe_lab.methods.registry import (
    ENSEMBLE_OPTIONS,
    HYPERPARAMETERS,
    METHODS,
    Contender,
    Method,
    Option,
    build,
    get_method,
    method_options,
    options_of,
    register,
    training_units,
    unregister,
)
from pe_lab.nn.models import DeepEnsemble, ModelSpec, plain_network
from pe_lab.training.loop import fit


def test_every_record_is_complete_and_the_labels_read_as_in_the_papers():
    assert {"single", "deep", "packed"} <= set(METHODS) and list(METHODS)[0] == "single"
    assert [m.order for m in METHODS.values()] == sorted(m.order for m in METHODS.values())
    colours = [m.colour for m in METHODS.values()]
    assert all(re.fullmatch("#[0-9A-F]{6}", c) for c in colours) and len(set(colours)) == len(colours)
    for name, method in METHODS.items():
        assert method.name == name and method.contenders and method.ensemble == (name != "single")
        assert set(method.hyperparameters) <= {o.name for o in options_of(method)}
        assert method.label().startswith(method.title)
    assert get_method("packed").label({"alpha": 2, "num_estimators": 4, "gamma": 1}) == "PE(2,4,1)"
    assert get_method("deep").label({"num_estimators": 4}) == "DE(4)"
    assert get_method("single").label({}) == "Single"
    with pytest.raises(ValueError, match="unknown method 'bagging'; valid choices: " + ", ".join(METHODS) + "$"):
        get_method("bagging")


def test_options_are_typed_records_and_build_takes_their_defaults():
    assert [o.flag for o in method_options()] == ["--rho", "--batch-repetition", "--scale"]
    assert dict(HYPERPARAMETERS) == {o.name: o.default for o in (*ENSEMBLE_OPTIONS, *method_options())}
    defaults = inspect.signature(build).parameters
    assert all(defaults[o.name].default == o.default for o in ENSEMBLE_OPTIONS)  # one default, in the record
    assert dict(build("lenet", "mimo").spec.options) == {"rho": 0.6, "batch_repetition": 2}
    rho = next(o for o in method_options() if o.name == "rho")
    assert rho.type is float and rho.check(1) == 1.0
    with pytest.raises(ValueError, match="rho must be <= 1"):
        build("lenet", "mimo", rho=1.5)
    with pytest.raises(ValueError, match="batch_repetition must be an integer <= 64"):
        build("lenet", "mimo", batch_repetition=65)
    with pytest.raises(TypeError, match="batch_repetition must be an integer"):
        build("lenet", "mimo", batch_repetition=2.5)


def test_training_units_come_from_the_method():
    deep = build("lenet", "deep", num_estimators=3)
    assert training_units(deep) == list(deep.members)
    packed = build("lenet", "packed")
    assert training_units(packed) == [packed]
    assert training_units(torch.nn.Linear(2, 2))[0].__class__ is torch.nn.Linear  # not built by pe-lab: itself


@pytest.fixture
def wide_single():
    """A new method registered through the registry's API (no module): a Single alpha times wider."""
    def make(architecture, num_classes, *, alpha, width=1.0, **_):
        return plain_network(architecture, num_classes, member_width=alpha * width, kind="wide", alpha=alpha)

    method = register(Method("wide", "Wide", "one network, alpha times wider", make, hyperparameters=("alpha",),
                             ensemble=False, contenders=(Contender("wide", "Wide"),)))
    yield method
    unregister("wide")


def test_a_method_registered_through_the_api_builds_and_trains(wide_single):
    model = build("lenet", "wide", alpha=2)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 10) and list(METHODS)[-1] == "wide"
    train = synthetic_dataset(8, 10)
    history = fit(model, train, epochs=1, batch_size=16, schedule="cosine", progress=False)
    assert len(history.train_loss) == 1
    assert predict_member_probs(model, train).shape == (80, 1, 10)


def test_a_method_cannot_be_registered_twice_or_with_unknown_knobs():
    with pytest.raises(ValueError, match="already registered"):
        register(METHODS["packed"])
    with pytest.raises(ValueError, match="unknown hyperparameter 'rank'"):
        register(Method("x", "X", "", lambda *a, **k: None, hyperparameters=("rank",)))
    with pytest.raises(ValueError, match="option 'rho' differs from the registered"):
        register(Method("x", "X", "", lambda *a, **k: None, options=(Option("rho", float, 0.5, "another rho"),)))
    with pytest.raises(ValueError, match="option 'alpha' is one of build's own keywords"):
        register(Method("x", "X", "", lambda *a, **k: None, options=(Option("alpha", float, 1.0, ""),)))
    assert "x" not in METHODS


def test_deep_ensemble_spec_and_shape_contract():
    deep = build("lenet", "deep", num_estimators=2)
    assert isinstance(deep, DeepEnsemble) and deep.spec == ModelSpec("lenet", "deep", 10, num_estimators=2)
    for name in METHODS:
        assert build("lenet", name, alpha=2, num_estimators=2)(torch.zeros(3, 3, 32, 32)).shape[::2] == (3, 10)
