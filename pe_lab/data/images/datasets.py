"""The lab's data sets: CIFAR-10 (train/test) and SVHN test (out-of-distribution), found under ``root`` or
``$PE_LAB_DATA`` or downloaded by torchvision, and ``lab_data``, the three sets as the notebooks use them."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch

from ...config import cache_dir, data_root, env_flag
from .folders import DataError, class_folders, load_image_folder, regular_file
from .imageset import ImageSet, subset
from .synthetic import synthetic_splits

__all__ = ["CIFAR10_CLASSES", "lab_data", "load_cifar10", "load_svhn"]


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _cifar_batches_set(folder: Path, train: bool) -> ImageSet:
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    images, labels = [], []
    for name in names:
        path = regular_file(folder / name, "CIFAR-10 batch file")
        try:
            with open(path, "rb") as handle:
                batch = pickle.load(handle, encoding="latin1")  # noqa: S301 - torchvision's own CIFAR format
            images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels += list(batch["labels"])
        except Exception as error:  # truncated, damaged, another format: name the file
            raise DataError(f"cannot read the CIFAR-10 batch file {path} ({type(error).__name__}: {error}); "
                            "delete the folder and let torchvision download it again") from error
    return ImageSet(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.int64),
                    CIFAR10_CLASSES, f"torchvision files {folder}")


def _no_source_error(what: str, tried: list[str], download_error: Exception | None) -> FileNotFoundError:
    lines = [f"no {what} data found. Tried: " + ("; ".join(tried) if tried else "nothing (no root given)")]
    if download_error is not None:
        lines.append(f"torchvision download failed: {download_error}")
    lines += [
        "Ways to get data:",
        "  * be online: pe_lab downloads it with torchvision (download=True);",
        "  * point root= or $PE_LAB_DATA at torchvision's files (cifar-10-batches-py/, test_32x32.mat)",
        "    or at an ImageFolder tree: cifar10-jpeg/{train,test}/<class>/*.jpg, svhn-test/<digit>/*.png;",
        "  * for a quick offline demo, ask for synthetic data explicitly: pe_lab.data.synthetic_dataset().",
    ]
    return FileNotFoundError("\n".join(lines))


def load_cifar10(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = True) -> ImageSet:
    """CIFAR-10 ``split`` (``"train"`` 50k or ``"test"`` 10k) as an ``ImageSet``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    base = data_root(root)
    tried: list[str] = []
    if base is not None:
        if not base.exists():
            raise FileNotFoundError(f"data root {base} does not exist")
        for folder in (base / "cifar-10-batches-py", base / "cifar10" / "cifar-10-batches-py"):
            tried.append(str(folder))
            if (folder / "test_batch").exists():  # a non-file there is named by regular_file
                return _cifar_batches_set(folder, split == "train")
        for folder in (base / "cifar10-jpeg" / split, base / "cifar10" / split, base / split):
            tried.append(str(folder))
            if folder.is_dir():
                return load_image_folder(folder, CIFAR10_CLASSES)
    download_error = None
    if download:
        target = base or cache_dir() / "torchvision"
        try:
            from torchvision.datasets import CIFAR10

            CIFAR10(str(target), train=split == "train", download=True)
            return _cifar_batches_set(Path(target) / "cifar-10-batches-py", split == "train")
        except Exception as error:  # offline, blocked, disk full: say so below
            download_error = error
    raise _no_source_error("CIFAR-10", tried, download_error)


def _svhn_torchvision(folder: Path, download: bool) -> ImageSet:
    from torchvision.datasets import SVHN

    if not download:
        regular_file(folder / "test_32x32.mat", "SVHN file")
    try:
        svhn = SVHN(str(folder), split="test", download=download)
    except Exception as error:
        if download:
            raise  # the caller reports a failed download with the ways to get the data
        raise DataError(f"cannot read the SVHN file {folder / 'test_32x32.mat'} ({type(error).__name__}: {error}); "
                        "delete it and let torchvision download it again") from error
    # torchvision stores digit 0 as label 10 in some versions of the .mat files; % 10 maps it back.
    return ImageSet(torch.from_numpy(svhn.data), torch.from_numpy(np.asarray(svhn.labels)).long() % 10,
                    tuple(str(d) for d in range(10)), f"torchvision SVHN {folder}")


def load_svhn(root: str | os.PathLike | None = None, *, download: bool = True) -> ImageSet:
    """SVHN test split (the usual OOD set for CIFAR-10) as an ``ImageSet`` (digit labels 0-9)."""
    base = data_root(root)
    tried: list[str] = []
    digits = tuple(str(d) for d in range(10))
    if base is not None:
        if not base.exists():
            raise FileNotFoundError(f"data root {base} does not exist")
        for folder in (base / "svhn-test", base / "svhn" / "test", base / "svhn"):
            tried.append(str(folder))
            if folder.is_dir() and class_folders(folder):
                return load_image_folder(folder, digits)
        for folder in (base, base / "svhn"):
            tried.append(str(folder / "test_32x32.mat"))
            if (folder / "test_32x32.mat").exists():
                return _svhn_torchvision(folder, download=False)
    download_error = None
    if download:
        try:
            return _svhn_torchvision(base or cache_dir() / "torchvision", download=True)
        except Exception as error:  # offline, blocked, disk full: say so below
            download_error = error
    raise _no_source_error("SVHN", tried, download_error)


def lab_data(quick: bool, root: str | os.PathLike | None = None, *, train_per_class: int = 200,
             test_per_class: int = 100) -> tuple[ImageSet, ImageSet, ImageSet]:
    """CIFAR-10 train and test and SVHN test, as the notebooks use them.

    Real data when it can be found (``root``, ``$PE_LAB_DATA``) or downloaded (unless
    ``$PE_LAB_OFFLINE=1``). In quick mode the sets are cut to balanced subsets (``*_per_class``) and, if no
    real data can be had, synthetic data is used instead: its ``source`` and every plot say so.
    Outside quick mode, missing data is an error that lists the ways to get it.
    """
    download = not env_flag("PE_LAB_OFFLINE")
    try:
        train = load_cifar10("train", root, download=download)
        test = load_cifar10("test", root, download=download)
    except (FileNotFoundError, ValueError) as error:
        if not quick:
            raise
        warnings.warn(f"quick mode: no real data ({str(error).splitlines()[0]}); using SYNTHETIC data",
                      stacklevel=2)
        return synthetic_splits(train_per_class, test_per_class)
    try:
        ood = load_svhn(root, download=download)
    except (FileNotFoundError, ValueError) as error:
        if not quick:
            raise
        # Keep the real CIFAR-10 that was found; only the OOD set becomes synthetic, and says so.
        warnings.warn(f"quick mode: CIFAR-10 found but no SVHN ({str(error).splitlines()[0]}); the OOD set is "
                      "SYNTHETIC", stacklevel=2)
        ood = synthetic_splits(1, test_per_class)[2]
    if quick:
        train, test, ood = subset(train, train_per_class), subset(test, test_per_class), subset(ood, test_per_class)
    return train, test, ood
