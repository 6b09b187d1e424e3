"""Synthetic image sets a network can learn (a colour pattern per class plus noise), for tests and offline quick
mode; their ``source`` says ``synthetic``."""

from __future__ import annotations

from dataclasses import replace

import torch

from .imageset import ImageSet

__all__ = ["synthetic_dataset", "synthetic_splits"]


def synthetic_dataset(num_per_class: int = 50, num_classes: int = 10, *, split: str = "train", size: int = 32,
                      seed: int = 0, noise: float = 60.0) -> ImageSet:
    """A small labelled set that a network can learn: each class is a fixed random colour pattern plus
    noise. ``seed`` fixes the class patterns; ``split`` ("train"/"test") draws different noise on them.
    For tests and offline quick mode only; ``source`` says ``synthetic``.

    >>> data = synthetic_dataset(4, 3)
    >>> data.images.shape, data.labels.tolist()[:5], data.source
    (torch.Size([12, 3, 32, 32]), [0, 0, 0, 0, 1], 'synthetic')
    """
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(num_classes, 3, 4, 4, generator=generator) * 255
    prototypes = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.arange(num_classes).repeat_interleave(num_per_class)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    generator.manual_seed(seed * 2 + (split == "test") + 1)
    images = prototypes[labels] + noise * torch.randn(len(labels), 3, size, size, generator=generator)
    classes = tuple(f"class_{c}" for c in range(num_classes))
    return ImageSet(images.clamp(0, 255).to(torch.uint8), labels, classes, "synthetic")


def synthetic_splits(train_per_class: int, test_per_class: int) -> tuple[ImageSet, ImageSet, ImageSet]:
    """Synthetic train and test sets on the same class patterns, and an "OOD" set drawn on other patterns."""
    ood = synthetic_dataset(test_per_class, seed=99, split="test")
    return (synthetic_dataset(train_per_class, split="train"), synthetic_dataset(test_per_class, split="test"),
            replace(ood, source="synthetic (other class patterns, as OOD)"))
