"""Named recipes for ``python -m pe_lab.experiment --preset NAME``: each fills the command line's defaults
(explicit flags still win). Plain data, so that notebooks can show a preset without importing a command line."""

from __future__ import annotations

__all__ = ["PRESETS", "experiment_argv"]

PRESETS = {
    # Sized for about 3 minutes of PE training on 2 CPU cores (see README for the measured result).
    "quick": dict(methods="single,packed", model="resnet20", alpha=2, num_estimators=4, gamma=1, epochs=2,
                  seeds="0", batch_size=128, lr=0.1),
    # The recipe of torch-uncertainty's tutorial "From a Standard Classifier to a Packed-Ensemble" (Feb 2024): its
    # LeNet, PE(2,4,1), batch 4, SGD lr 0.001 with plain momentum 0.9, no weight decay, constant lr, no augmentation,
    # 2 epochs, cross-entropy averaged over the M*B outputs; but pe-lab's head (one logit per class, where the
    # tutorial's gives each member 10 * M) and normalisation. The tutorial exactly: python -m pe_lab.cli.tutorial.
    "tutorial": dict(methods="single,packed,deep", model="lenet", alpha=2, num_estimators=4, gamma=1, epochs=2,
                     seeds="0,1,2", batch_size=4, lr=0.001, momentum=0.9, no_nesterov=True, weight_decay=0.0,
                     schedule="constant", no_augment=True, member_loss="mean"),
    # The same network trained to convergence on a CPU: batch 128, Nesterov, cosine, crop + flip, weight decay.
    "lenet": dict(methods="single,packed,deep", model="lenet", alpha=2, num_estimators=4, gamma=1, epochs=20,
                  seeds="0,1,2", batch_size=128, lr=0.05, weight_decay=5e-4, schedule="cosine"),
    # An H100-class card: the batch-512 recipe measured at commit bb9e316 (Single 27 s, PE 38 s of training for
    # 15 epochs on one H100; the DE was not finished there). The ETA line prints the estimate before it starts.
    "h100": dict(methods="single,packed,deep", model="resnet18", alpha=2, num_estimators=4, gamma=1, epochs=15,
                 seeds="0", batch_size=512, lr=0.2, label_smoothing=0.1, device="cuda"),
    # A T4-class card (Colab): ResNet-20, the three methods. Not yet timed on a T4: the ETA line measures it on
    # the card at hand before training starts, and a disconnect resumes from the last epoch's checkpoint.
    "t4": dict(methods="single,packed,deep", model="resnet20", alpha=2, num_estimators=4, gamma=1, epochs=20,
               seeds="0", batch_size=256, lr=0.1, label_smoothing=0.1, device="cuda"),
}


def experiment_argv(preset: str, **settings) -> list[str]:
    """``python -m pe_lab.experiment`` arguments for ``preset`` with every given setting spelled out as its flag
    (``alpha=4`` -> ``--alpha 4``; ``True`` -> the bare flag): what a notebook shows is what trains, whatever the
    preset's own defaults are. ``None`` values are left to the preset.

    >>> experiment_argv("t4", alpha=4, epochs=3, label_smoothing=0.0)
    ['--preset', 't4', '--alpha', '4', '--epochs', '3', '--label-smoothing', '0.0']
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid choices: {', '.join(PRESETS)}")
    argv = ["--preset", preset]
    for name, value in settings.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv
