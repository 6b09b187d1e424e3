"""The official shift and far-OOD benchmarks, for users who have them (they are not downloadable here).

* **CIFAR-10-C** (Hendrycks & Dietterich, 2019), in its published layout: a folder of ``<corruption>.npy``
  files, each ``(50000, 32, 32, 3)`` uint8 = 5 severities x the 10,000 test images in order, and one
  ``labels.npy`` of 50,000 labels.
* **A texture folder** such as DTD (``images/<class>/*.jpg``, any sizes): far-OOD images, centre-cropped and
  resized to the training size.

Both are read with ``numpy.load(allow_pickle=False)`` / Pillow only, so a downloaded file cannot run code. The
generated sets of ``pe_lab.shift`` ("in the style of") stay the offline default; every result says which it used.
Shapes: images ``(N, 3, 32, 32)`` uint8, labels ``(N,)`` int64, as in ``pe_lab.data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..validate import check_choice, check_int
from .images import DataError, ImageSet, image_files, list_files, reading, regular_file

__all__ = ["CIFAR10C_PER_SEVERITY", "cifar10c_corruptions", "load_cifar10c", "load_texture_folder"]


CIFAR10C_PER_SEVERITY = 10_000


_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _npy(path: Path) -> np.ndarray:
    regular_file(path, "CIFAR-10-C file")  # a named pipe would block np.load forever
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:  # truncated, not an .npy, or an object array (pickle): refused
        raise DataError(f"cannot read {path} as a plain .npy array ({error})") from error


def cifar10c_corruptions(root: str | os.PathLike) -> list[str]:
    """The corruption names in a CIFAR-10-C folder (every ``*.npy`` but ``labels.npy``), sorted."""
    root = Path(root)
    with reading("read the CIFAR-10-C folder", root):
        has_labels = (root / "labels.npy").exists()
    if not has_labels:
        raise DataError(f"{root} is not a CIFAR-10-C folder: it has no labels.npy (the layout is "
                        "<corruption>.npy files of 50,000 images and one labels.npy)")
    if not root.is_dir():
        raise DataError(f"CIFAR-10-C folder {root} is not a folder")
    files, _ = list_files(root, recursive=False)
    names = sorted(p.stem for p in files if p.suffix == ".npy" and p.stem != "labels")
    if not names:
        raise DataError(f"{root} has labels.npy but no <corruption>.npy file")
    return names


def load_cifar10c(root: str | os.PathLike, corruption: str, severity: int) -> ImageSet:
    """One corruption at one severity (1-5) of the official CIFAR-10-C: 10,000 images ``(N, 3, 32, 32)`` uint8
    and their labels, checked against the published layout (each file 5 x 10,000 images of 32x32x3)."""
    root = Path(root)
    check_choice("CIFAR-10-C corruption", corruption, cifar10c_corruptions(root))
    severity = check_int("severity", severity, minimum=1)
    if severity > 5:
        raise ValueError(f"severity must be 1 to 5 (CIFAR-10-C has five), got {severity}")
    images, labels = _npy(root / f"{corruption}.npy"), _npy(root / "labels.npy")
    expected = (5 * CIFAR10C_PER_SEVERITY, 32, 32, 3)
    if images.shape != expected or images.dtype != np.uint8:
        raise DataError(f"{root / (corruption + '.npy')} is {images.dtype} {images.shape}, not the published "
                        f"uint8 {expected} (5 severities x 10,000 test images)")
    if labels.shape != (5 * CIFAR10C_PER_SEVERITY,):
        raise DataError(f"{root / 'labels.npy'} has shape {labels.shape}, not ({5 * CIFAR10C_PER_SEVERITY},)")
    if not np.issubdtype(labels.dtype, np.integer):  # a float 1.5 would be cast to class 1 without a word
        raise DataError(f"{root / 'labels.npy'} holds {labels.dtype} values; CIFAR-10-C labels are integer classes "
                        f"0-{len(_CLASSES) - 1}")
    rows = slice((severity - 1) * CIFAR10C_PER_SEVERITY, severity * CIFAR10C_PER_SEVERITY)
    chosen_labels = np.array(labels[rows], dtype=np.int64)
    bad = np.flatnonzero((chosen_labels < 0) | (chosen_labels >= len(_CLASSES)))
    if bad.size:
        row = rows.start + int(bad[0])
        raise DataError(f"{root / 'labels.npy'}: {bad.size} label(s) of severity {severity} lie outside the "
                        f"{len(_CLASSES)} CIFAR-10 classes 0-{len(_CLASSES) - 1}, first at row {row}: "
                        f"{int(labels[row])}")
    chosen = torch.from_numpy(np.array(images[rows])).permute(0, 3, 1, 2).contiguous()  # a copy: mmap is read-only
    return ImageSet(chosen, torch.from_numpy(chosen_labels), _CLASSES,
                    f"CIFAR-10-C (official files) {corruption}, severity {severity}, {root}")


def load_texture_folder(root: str | os.PathLike, *, size: int = 32, limit: int | None = None) -> ImageSet:
    """Every image under ``root`` (e.g. DTD's ``images/<class>/*.jpg``), centre-cropped to a square and resized to
    ``size`` (Pillow, bilinear), as far-OOD images ``(N, 3, size, size)`` uint8; the first ``limit`` in path order."""
    from PIL import Image

    from .images import decode_image

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"texture folder {root} does not exist or is not a folder")
    files = image_files(root)  # regular files only, in ImageFolder's order; a named pipe is never opened
    if limit is not None:
        files = files[:check_int("limit", limit, minimum=1)]
    if not files:
        raise DataError(f"texture folder {root} holds no images")
    images = []
    for path in files:
        rgb = decode_image(path)                                            # (3, H, W), every Pillow mode handled
        side = min(rgb.shape[1:])
        top, left = (rgb.shape[1] - side) // 2, (rgb.shape[2] - side) // 2
        square = Image.fromarray(rgb[:, top:top + side, left:left + side].permute(1, 2, 0).numpy())
        images.append(torch.from_numpy(np.array(square.resize((size, size), Image.BILINEAR))).permute(2, 0, 1))
    return ImageSet(torch.stack(images), torch.zeros(len(images), dtype=torch.long), ("texture",),
                    f"texture folder {root} ({len(images)} images, centre-cropped to {size}x{size})")
