"""Plumbing shared by the bad-input tests (``from helpers import ...``; ``tests/`` is on the path through its
conftest): a tiny image folder, a tiny real experiment command line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pe_lab.cli.experiment import main
from pe_lab.data.images import CIFAR10_CLASSES


def image_folder(root, classes=CIFAR10_CLASSES, per_class=2, size=32):
    """``root/<class>/<i>.png``: ``per_class`` random images of ``size`` x ``size`` per class."""
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / c / f"{i:04d}.png")
    return root


def cli_argv(tmp_path, *extra, out="r.json", epochs="1"):
    """A tiny real experiment: LeNet on synthetic data, about a second per run."""
    return ["--synthetic", "--train-per-class", "16", "--epochs", epochs, "--seeds", "0", "--batch-size", "16",
            "--model", "lenet", "--alpha", "2", "--num-estimators", "2", "--methods", "packed", "--no-ood",
            "--out", str(tmp_path / out), "--runs-dir", str(tmp_path / "runs"), "--no-progress", *extra]


def cli_error(capsys, argv, code=2) -> str:
    """The experiment CLI's error output for ``argv``, which must exit with ``code``."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == code
    return capsys.readouterr().err


def random_probs(n=40, k=10, seed=0):
    """``(n, k)`` probabilities, seeded."""
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed)).softmax(-1)
