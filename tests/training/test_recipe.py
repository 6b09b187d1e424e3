"""The Recipe: checked when made, frozen, one identity with the model spec and the data fingerprint; a checkpoint
resumes only under its own identity, and a different or missing one is refused by name."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pe_lab.config import atomic_save
from pe_lab.data.images import synthetic_dataset
from pe_lab.methods import build
from pe_lab.training.checkpoint import RunMismatch, load_checkpoint, run_identity
from pe_lab.training.loop import fit
from pe_lab.training.recipe import Recipe, RecipeError, check_recipe


@pytest.mark.parametrize("fields,rule", [
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"epochs": 2.5}, "epochs must be an integer"),
    ({"epochs": 1, "lr": 0}, "lr"),
    ({"epochs": 1, "lr": float("nan")}, "lr"),
    ({"epochs": 1, "momentum": 1.0}, "momentum"),
    ({"epochs": 1, "weight_decay": -1e-4}, "weight_decay"),
    ({"epochs": 1, "label_smoothing": 1.0}, r"label_smoothing must be in \[0, 1\)"),
    ({"epochs": 1, "schedule": "step"}, "schedule"),
    ({"epochs": 1, "member_reduction": "max"}, "member_reduction"),
    ({"epochs": 1, "augment": "yes"}, "augment must be True or False"),
    ({"epochs": 1, "batch_size": True}, "batch_size"),
])
def test_a_recipe_refuses_each_bad_field_by_its_rule(fields, rule):
    with pytest.raises((ValueError, TypeError), match=rule):
        Recipe(**fields)


def test_a_recipe_is_frozen_and_replace_checks_again():
    recipe = Recipe(epochs=2, lr=0.05)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.lr = 1.0
    assert recipe.replace(lr=0.01).lr == 0.01 and recipe.lr == 0.05
    with pytest.raises(ValueError, match="lr"):
        recipe.replace(lr=-1)
    # Nesterov without momentum is plain SGD: the same run, so the same identity
    assert Recipe(epochs=1, momentum=0.0).to_dict() == Recipe(epochs=1, momentum=0.0, nesterov=False).to_dict()
    assert Recipe(epochs=1).to_dict() != Recipe(epochs=1, nesterov=False).to_dict()


def test_keywords_and_a_recipe_are_the_same_run():
    train = synthetic_dataset(2, 10)
    assert check_recipe(None, {"epochs": 1, "batch_size": 4}, train) == Recipe(epochs=1, batch_size=4)
    assert check_recipe(Recipe(epochs=3, batch_size=4), {"lr": 0.2}, train) == Recipe(epochs=3, batch_size=4, lr=0.2)
    with pytest.raises(TypeError, match="must be a pe_lab Recipe"):
        check_recipe({"epochs": 1}, {}, train)
    with pytest.raises(RecipeError, match="fewer than batch_size=128"):
        check_recipe(Recipe(epochs=1), {}, train)
    torch.manual_seed(0)
    a, b = build("lenet", "packed"), build("lenet", "packed")
    b.load_state_dict(a.state_dict())
    fit(a, train, recipe=Recipe(epochs=1, batch_size=4, schedule="cosine"), progress=False)
    fit(b, train, epochs=1, batch_size=4, schedule="cosine", progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_checkpoint_resumes_only_under_its_own_identity(tmp_path):
    train = synthetic_dataset(2, 10)
    recipe = Recipe(epochs=2, batch_size=4, schedule="cosine")
    path = tmp_path / "run.pt"
    fit(build("lenet", "packed"), train, recipe=recipe, progress=False, checkpoint=path)
    state = load_checkpoint(path)
    history = fit(build("lenet", "packed"), train, recipe=recipe, progress=False, checkpoint=path, resume=True)
    assert len(history.train_loss) == 2  # resumed at epoch 2 of 2: nothing retrained, the history kept
    identity = state["identity"]
    state["identity"] = {**identity, "recipe": {**identity["recipe"], "lr": 0.5}}
    atomic_save(state, path)
    with pytest.raises(RunMismatch, match="recipe.lr: 0.5 -> 0.1"):
        fit(build("lenet", "packed"), train, recipe=recipe, progress=False, checkpoint=path, resume=True)
    state["identity"] = None
    atomic_save(state, path)
    with pytest.raises(RunMismatch, match="records no run identity"):
        fit(build("lenet", "packed"), train, recipe=recipe, progress=False, checkpoint=path, resume=True)


def test_the_identity_changes_with_each_of_its_parts():
    train, test = synthetic_dataset(2, 10), synthetic_dataset(1, 10, split="test")
    model = build("lenet", "packed")
    base = run_identity(model, train, test, Recipe(epochs=1), amp=False)
    assert base != run_identity(model, train, test, Recipe(epochs=1, seed=1), amp=False)
    assert base != run_identity(build("lenet", "packed", alpha=4), train, test, Recipe(epochs=1), amp=False)
    assert base != run_identity(model, synthetic_dataset(3, 10), test, Recipe(epochs=1), amp=False)
    assert base != run_identity(model, train, test, Recipe(epochs=1), amp=True)
    assert base == run_identity(model, train, test, Recipe(epochs=1), amp=False)
