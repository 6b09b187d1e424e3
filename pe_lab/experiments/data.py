"""The images an experiment trains and tests on, read as its ``DataSpec`` says, and checked against each other."""

from __future__ import annotations

import warnings

import torch

from ..data.images import DataError, ImageSet, load_cifar10, load_image_folder, load_svhn, subset, synthetic_splits
from .spec import DataSpec

__all__ = ["check_splits", "load_data"]


def load_data(data: DataSpec, engine: str = "pe-lab") -> tuple[ImageSet, ImageSet, ImageSet | None]:
    """``(train, test, ood)`` for ``data`` (``ood`` is None without OOD data), checked by ``check_splits``.
    Streamed folders are read by the Lightning engine only."""
    if data.train_folder:
        train, test, ood = _load_folders(data, engine)
    elif data.synthetic:
        per_class = data.train_per_class or 100
        train, test, ood = synthetic_splits(per_class, max(10, per_class // 5))
        ood = ood if data.ood else None
    else:
        train, test, ood = _load_cifar10(data)
    check_splits(train, test, ood)
    return train, test, ood


def _load_cifar10(data: DataSpec) -> tuple[ImageSet, ImageSet, ImageSet | None]:
    train = load_cifar10("train", data.root, download=not data.offline)
    test = load_cifar10("test", data.root, download=not data.offline)
    if data.train_per_class:
        train = subset(train, data.train_per_class)
    if data.test_per_class:
        test = subset(test, data.test_per_class)
    ood = load_svhn(data.root, download=not data.offline) if data.ood else None
    if ood is not None and data.test_per_class:
        ood = subset(ood, data.test_per_class)
    return train, test, ood


def _load_folders(data: DataSpec, engine: str) -> tuple:
    """Image folders, decoded into memory or streamed (``mode``; ``auto`` streams above
    ``$PE_LAB_MEMORY_LIMIT_GB`` decoded, or when image sizes differ)."""
    from ..data.streaming import FolderSet, choose_mode

    # Listing a large folder takes a while: list it once, for the choice and for streaming.
    listed = None if data.mode == "memory" else FolderSet(data.train_folder, image_size=data.image_size,
                                                          num_workers=data.num_workers)
    mode = choose_mode(listed, data.mode) if listed is not None else "memory"
    if mode == "stream" and engine != "lightning":
        raise DataError(f"{data.train_folder} is streamed from disk (data mode {data.mode}: too large for memory, "
                        "or images of several sizes), which only the Lightning engine reads: use engine 'lightning' "
                        "(--engine lightning), or data mode 'memory' (--data-mode memory)")

    def load(folder, classes=None):
        if folder is None:
            return None
        if mode == "stream":
            return FolderSet(folder, image_size=data.image_size, classes=classes, num_workers=data.num_workers)
        return load_image_folder(folder, classes)

    train = listed if mode == "stream" else load(data.train_folder)
    test = load(data.test_folder, train.classes)
    ood = load(data.ood_folder) if data.ood else None
    if mode == "memory" and data.train_per_class:
        train = subset(train, data.train_per_class)
    if mode == "memory" and data.test_per_class:
        test = subset(test, data.test_per_class)
    return train, test, ood


def check_splits(train, test, ood=None) -> None:
    """Refuse test or OOD images of another size than the training images (the network would fail on them after
    the training), and an OOD set equal to the test set; warn when the test set *is* the training set (equal pixels
    and labels: every test number would measure memorisation)."""
    if not (isinstance(train, ImageSet) and isinstance(test, ImageSet)):
        return  # streamed folders: their sizes are checked as they are read
    for name, data in (("test", test), ("OOD", ood)):
        if isinstance(data, ImageSet) and train.images.shape[1:] != data.images.shape[1:]:
            raise DataError(f"{name} images are {tuple(data.images.shape[1:])} but training images "
                            f"{tuple(train.images.shape[1:])} ({data.source} vs {train.source}): use one image size")
    if isinstance(ood, ImageSet) and len(ood) == len(test) and torch.equal(ood.images, test.images):
        raise DataError(f"the OOD set ({ood.source}) holds the test images ({test.source}): out-of-distribution "
                        "images must come from another data set")
    if len(train) == len(test) and torch.equal(train.labels, test.labels) and torch.equal(train.images, test.images):
        warnings.warn(f"the test set is identical to the training set ({test.source}): test numbers will measure "
                      "memorisation, not generalisation", stacklevel=2)
