"""Named experiments: each preset is the settings that differ from an ``Experiment``'s defaults, by the name of the
field that holds them (``epochs`` is the recipe's, ``alpha`` the models'). ``preset(name, **changes)`` builds the
``Experiment``; the command line's ``--preset NAME`` fills its defaults from the same record (explicit flags win).

>>> preset("lenet", epochs=3).recipe.epochs
3
>>> preset("tutorial").recipe.member_reduction
'mean'
"""

from __future__ import annotations

from ..training.recipe import Recipe
from .spec import Experiment

__all__ = ["PRESETS", "base_experiment", "preset"]

PRESETS = {
    # Sized for about 3 minutes of PE training on 2 CPU cores.
    "quick": dict(methods=("single", "packed"), model="resnet20", alpha=2, num_estimators=4, gamma=1, epochs=2,
                  seeds=(0,), batch_size=128, lr=0.1),
    # The recipe of torch-uncertainty's tutorial "From a Standard Classifier to a Packed-Ensemble" (Feb 2024): its
    # LeNet, PE(2,4,1), batch 4, SGD lr 0.001 with plain momentum 0.9, no weight decay, constant lr, no augmentation,
    # 2 epochs, cross-entropy averaged over the M*B outputs; but pe-lab's head (one logit per class, where the
    # tutorial's gives each member 10 * M) and normalisation. The tutorial exactly: pe_lab.results.tutorial.
    "tutorial": dict(methods=("single", "packed", "deep"), model="lenet", alpha=2, num_estimators=4, gamma=1,
                     epochs=2, seeds=(0, 1, 2), batch_size=4, lr=0.001, momentum=0.9, nesterov=False,
                     weight_decay=0.0, schedule="constant", augment=False, member_reduction="mean"),
    # The same network trained longer on a CPU: batch 128, Nesterov, cosine, crop + flip, weight decay.
    "lenet": dict(methods=("single", "packed", "deep"), model="lenet", alpha=2, num_estimators=4, gamma=1,
                  epochs=20, seeds=(0, 1, 2), batch_size=128, lr=0.05, weight_decay=5e-4, schedule="cosine"),
    # An H100-class card: the batch-512 recipe measured at commit bb9e316 (Single 27 s, PE 38 s of training for
    # 15 epochs on one H100; the DE was not finished there). The ETA line prints the estimate before it starts.
    "h100": dict(methods=("single", "packed", "deep"), model="resnet18", alpha=2, num_estimators=4, gamma=1,
                 epochs=15, seeds=(0,), batch_size=512, lr=0.2, label_smoothing=0.1, device="cuda"),
    # A T4-class card (Colab): ResNet-20, the three methods. Not yet timed on a T4: the ETA line measures it on
    # the card at hand before training starts, and a disconnect resumes from the last epoch's checkpoint.
    "t4": dict(methods=("single", "packed", "deep"), model="resnet20", alpha=2, num_estimators=4, gamma=1,
               epochs=20, seeds=(0,), batch_size=256, lr=0.1, label_smoothing=0.1, device="cuda"),
}


def base_experiment() -> Experiment:
    """The experiment every preset and the command line start from: ResNet-20, Single / DE(4) / PE(2,4,1),
    4 epochs of the default ``Recipe``, seeds 0-2."""
    return Experiment(recipe=Recipe(epochs=4))


def preset(name: str, **changes) -> Experiment:
    """The preset ``name`` as an ``Experiment``, with ``changes`` (any field of any part, by its name) applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid choices: {', '.join(PRESETS)}")
    return base_experiment().replace(**{**PRESETS[name], **changes})
