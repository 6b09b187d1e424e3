"""The training recipe's names and checks: schedules, member losses, and ``check_recipe``, which both engines
run before training."""

from __future__ import annotations

from ..validate import check_choice, check_int, check_number

__all__ = ["RecipeError", "check_recipe"]


SCHEDULES = ("onecycle", "cosine", "constant")


MEMBER_LOSSES = ("sum", "mean")


class RecipeError(ValueError):
    """A recipe that does not fit the data it is given (a batch larger than the training set, too few steps for
    the one-cycle schedule): only known once the data is loaded, so the CLI reports it without a traceback."""


def check_recipe(train, *, epochs, batch_size, lr, momentum, weight_decay, label_smoothing, schedule,
                 member_reduction, seed) -> tuple:
    """The training recipe's checks (both engines run them before training): ``(epochs, batch_size, lr, momentum,
    weight_decay, label_smoothing, seed)`` validated, or a ``ValueError``/``TypeError`` naming the rule."""
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_number("lr", lr, positive=True)
    momentum = check_number("momentum", momentum, minimum=0, maximum=0.999)
    weight_decay = check_number("weight_decay", weight_decay, minimum=0)
    label_smoothing = check_number("label_smoothing", label_smoothing, minimum=0)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("member_reduction", member_reduction, MEMBER_LOSSES)
    seed = check_int("seed", seed)
    if not label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if len(train) < batch_size:
        raise RecipeError(f"the training set has {len(train)} images, fewer than batch_size={batch_size}")
    return epochs, batch_size, lr, momentum, weight_decay, label_smoothing, seed
