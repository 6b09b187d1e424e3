"""The training recipe: a frozen ``Recipe`` (how a model is trained, everything but the model and the data),
checked once when it is made. Both engines take one; with the model's spec and the data's fingerprint it is a
run's identity (``pe_lab.training.checkpoint.run_identity``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..validate import check_choice, check_int, check_number

__all__ = ["MEMBER_LOSSES", "Recipe", "RecipeError", "SCHEDULES", "check_recipe"]

SCHEDULES = ("onecycle", "cosine", "constant")
MEMBER_LOSSES = ("sum", "mean")


class RecipeError(ValueError):
    """A recipe that does not fit the data it is given (a batch larger than the training set, too few steps for
    the one-cycle schedule): only known once the data is loaded, so the CLI reports it without a traceback."""


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: SGD (with Nesterov momentum unless ``nesterov=False``; no weight decay on norms and
    biases), the learning-rate ``schedule`` stepped every step, the members' cross-entropies summed
    (``member_reduction="sum"``, pe-lab's default) or averaged (torch-uncertainty's), label smoothing, crop-and-flip
    augmentation, and the ``seed`` of every shuffle and crop. ``batch_size`` is the *global* batch.

    Every field is checked when the recipe is made, with a message naming the rule:

    >>> Recipe(epochs=3, lr=0.05).lr
    0.05
    >>> Recipe(epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an integer >= 1, got epochs=0
    """

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    label_smoothing: float = 0.0
    augment: bool = True
    member_reduction: str = "sum"
    seed: int = 0

    def __post_init__(self) -> None:
        checked = {"epochs": check_int("epochs", self.epochs, minimum=1),
                   "batch_size": check_int("batch_size", self.batch_size, minimum=1),
                   "lr": check_number("lr", self.lr, positive=True),
                   "momentum": check_number("momentum", self.momentum, minimum=0, maximum=0.999),
                   "weight_decay": check_number("weight_decay", self.weight_decay, minimum=0),
                   "label_smoothing": check_number("label_smoothing", self.label_smoothing, minimum=0),
                   "seed": check_int("seed", self.seed)}
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("member_reduction", self.member_reduction, MEMBER_LOSSES)
        for name in ("nesterov", "augment"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not checked["label_smoothing"] < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for name, value in checked.items():  # as plain int / float, so identities compare equal
            object.__setattr__(self, name, value)

    def replace(self, **changes) -> Recipe:
        """This recipe with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The recipe as JSON-ready data; Nesterov only counts where there is momentum (SGD ignores it without)."""
        values = dataclasses.asdict(self)
        values["nesterov"] = bool(self.nesterov and self.momentum > 0)
        return values

    def check_fits(self, train) -> None:
        """The rule only the data can tell: a training set of at least one batch (else ``RecipeError``)."""
        if len(train) < self.batch_size:
            raise RecipeError(f"the training set has {len(train)} images, fewer than batch_size={self.batch_size}")


def check_recipe(recipe: Recipe | None, fields: dict, train) -> Recipe:
    """The recipe an engine trains with: ``recipe``, with any keyword ``fields`` applied (``fit(model, train,
    epochs=3)`` is ``fit(model, train, Recipe(epochs=3))``), checked against ``train``."""
    if recipe is None:
        recipe = Recipe(**fields)
    elif not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a pe_lab Recipe, got {type(recipe).__name__}")
    elif fields:
        recipe = recipe.replace(**fields)
    recipe.check_fits(train)
    return recipe
