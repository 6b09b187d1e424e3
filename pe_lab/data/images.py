"""Data: CIFAR-10 (train/test) and SVHN test (out-of-distribution), as uint8 tensors held in memory.

Where the images come from, in order:

1. ``root`` (argument) or ``$PE_LAB_DATA``: torchvision's own files (``cifar-10-batches-py/``,
   ``test_32x32.mat``) or an ImageFolder tree of class folders (``cifar10-jpeg/{train,test}/<class>/``,
   ``svhn-test/<digit>/``); the root may also be the tree itself.
2. torchvision's download (``download=True``, the default): the usual case on Colab, Binder or a laptop.
3. Otherwise an error that lists these ways. Synthetic data is only made when asked for
   (``synthetic_dataset``), and it says so in ``ImageSet.source``.

Images are decoded once into a ``(N, 3, 32, 32)`` uint8 tensor and cached on disk. ``Batches`` then
serves normalised, augmented float batches with tensor ops only (no per-image Python), on whatever
device the tensor lives on: on CUDA the whole set sits on the GPU.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
import unicodedata
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..config import WriteError, atomic_save, cache_dir, data_root, env_flag
from ..validate import check_int

__all__ = [
    "Batches", "CIFAR10_CLASSES", "DataError", "ImageSet", "class_folders", "decode_image", "image_files",
    "lab_data", "list_files", "load_cifar10", "load_image_folder", "load_svhn", "match_classes", "normalize",
    "reading", "regular_file", "subset", "synthetic_dataset", "synthetic_splits"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}  # what Pillow decodes


@dataclass
class ImageSet:
    """Images ``(N, 3, H, W)`` uint8 and labels ``(N,)`` int64, with where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        # Every message names the source: the file or folder the bad images or labels came from.
        if self.images.dim() != 4 or self.images.shape[1] != 3 or self.images.dtype != torch.uint8:
            raise ValueError(f"{self.source}: images must be uint8 (N, 3, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.source}: labels must be ({self.images.shape[0]},), got {tuple(self.labels.shape)}")
        if self.images.shape[0] == 0:
            raise ValueError(f"the data set from {self.source} is empty")
        if self.labels.is_floating_point() or self.labels.dtype == torch.bool:
            raise ValueError(f"{self.source}: labels must be integer class indices, got {self.labels.dtype}")
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise ValueError(f"{self.source}: labels must lie in [0, {len(self.classes)}) for classes {self.classes}, "
                             f"got range [{int(self.labels.min())}, {int(self.labels.max())}]")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def synthetic(self) -> bool:
        return self.source.startswith("synthetic")

    def to(self, device: torch.device | str) -> ImageSet:
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))


def subset(data: ImageSet, per_class: int, seed: int = 0) -> ImageSet:
    """The first ``per_class`` images of each class after a seeded shuffle (balanced quick runs)."""
    per_class = check_int("per_class", per_class, minimum=1)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    labels = data.labels[order.to(data.labels.device)].cpu()
    keep = torch.cat([order[labels == c][:per_class] for c in range(len(data.classes))]).sort().values
    keep = keep.to(data.images.device)
    return replace(data, images=data.images[keep], labels=data.labels[keep],
                   source=f"{data.source} (subset: {per_class} per class)")


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


# --------------------------------------------------------------------------------------------- loading

class DataError(ValueError):
    """A data file or folder that cannot be used as it is; the message names it and says what to do."""


@contextlib.contextmanager
def reading(what: str, path: os.PathLike | str):
    """The data layer's one boundary for operating-system errors: an ``OSError`` while ``what`` (``"list the class
    folder"``, ``"read"``) is done to ``path`` becomes a one-line ``DataError`` naming the path (the one the
    system names, if deeper) and the reason, instead of a traceback from inside a loader."""
    try:
        yield
    except OSError as error:
        where = error.filename if error.filename is not None else path
        raise DataError(f"cannot {what} {os.fsdecode(where)}: {error.strerror or error}") from error


def regular_file(path: Path, what: str = "file") -> Path:
    """``path`` if it is a regular file (or a link to one); else a ``DataError`` naming it. A named pipe, socket or
    device is never opened: reading a named pipe blocks until some other program writes to it."""
    with reading(f"read the {what}", path):
        mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise DataError(f"the {what} {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise DataError(f"the {what} {path} is not a regular file (a named pipe, socket or device); it is not read")
    return path


def _hidden(name: str) -> bool:
    return name.startswith(".")  # .ipynb_checkpoints, .DS_Store and their kin: tool litter, never data


def list_files(root: Path, *, recursive: bool = True) -> tuple[list[Path], list[Path]]:
    """Every regular file under ``root`` and every other entry that is not a folder (named pipes, sockets, devices,
    broken links), in torchvision's ``make_dataset`` order (folders by path, files by name in each); hidden files
    and folders are left out. Links to folders are followed as ``ImageFolder`` follows them, each real folder
    visited once (a link back up the tree does not loop). The one listing of the data layer: nothing else walks a
    folder, so nothing else can open a named pipe or pass on an ``OSError``; unreadable folders are a
    ``DataError`` naming them, never silently skipped (``os.walk`` skips them unless told otherwise).
    """
    root = Path(root)

    def refuse(error: OSError) -> None:
        raise error

    groups: list[tuple[str, list[Path], list[Path]]] = []
    with reading("list the folder", root):
        seen = {(os.stat(root).st_dev, os.stat(root).st_ino)}
        for current, folders, names in os.walk(root, onerror=refuse, followlinks=True):
            here = Path(current)
            kept = []
            for name in sorted(folders):
                if _hidden(name) or not recursive:
                    continue
                with reading("list the folder", here / name):
                    info = os.stat(here / name)
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    kept.append(name)
            folders[:] = kept
            files, others = [], []
            for name in sorted(names):
                if _hidden(name):
                    continue
                try:
                    mode = os.stat(here / name).st_mode
                except FileNotFoundError:  # a broken link
                    others.append(here / name)
                    continue
                (files if stat.S_ISREG(mode) else others).append(here / name)
            groups.append((current, files, others))
    groups.sort(key=lambda group: group[0])
    return [f for _, files, _ in groups for f in files], [o for _, _, others in groups for o in others]


def decode_image(path: Path) -> torch.Tensor:
    """One image file as uint8 ``(3, H, W)`` RGB; ``DataError`` naming the file if it cannot be decoded. Whatever
    Pillow raises (a truncated file, a decompression bomb, an unknown format) is re-raised naming the file."""
    from PIL import Image  # Pillow releases the GIL while decoding: threads help

    regular_file(path, "image")
    try:
        with Image.open(path) as image:
            return torch.from_numpy(_to_rgb8(image, path)).permute(2, 0, 1)
    except DataError:
        raise
    except Image.DecompressionBombError as error:
        raise DataError(f"cannot decode image {path}: {error} (Pillow refuses images above "
                        "PIL.Image.MAX_IMAGE_PIXELS). Replace or delete this file.") from error
    except Exception as error:  # truncated, not an image, unreadable, a plugin's own error: name the file
        raise DataError(f"cannot decode image {path}: {error}. Replace or delete this file.") from error


def _to_rgb8(image, path: Path) -> np.ndarray:
    """Any mode Pillow hands back as uint8 ``(H, W, 3)``. ``convert("RGB")`` alone clips 16-bit grey to 255 (a
    white image) and keeps whatever colour lies under transparent pixels, so those modes are handled here."""
    mode = image.mode
    if mode.startswith("I;16") or (mode == "I" and image.format == "PNG"):  # a PNG's "I" is 16-bit grey
        grey = np.array(image, dtype=np.uint32)
        if grey.max(initial=0) > 65535 or grey.min(initial=0) < 0:
            raise DataError(f"image {path} has grey values outside 16 bits; convert it to 8-bit RGB first")
        grey = ((grey * 255 + 32767) // 65535).astype(np.uint8)   # 65535 -> 255, rounded
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("I", "F"):
        raise DataError(f"image {path} is a {'32-bit integer' if mode == 'I' else 'floating-point'} image (mode "
                        f"{mode}) whose scale is unknown; convert it to 8-bit RGB first")
    if mode in ("LA", "PA", "RGBA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        # composite over black: a transparent pixel shows the background, not the colour stored beneath it
        rgba = np.array(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:] / 255
        return np.round(rgba[:, :, :3] * alpha).astype(np.uint8)
    return np.array(image.convert("RGB"), dtype=np.uint8)  # L, 1, P, CMYK, YCbCr, RGB (16-bit RGB: high byte)


def _cached(key: str, make) -> dict:
    try:
        path = cache_dir() / f"{hashlib.sha1(key.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}.pt"
    except WriteError as error:  # a cache is a convenience: a read-only HOME decodes every time, with a warning
        warnings.warn(f"{error}; the data is decoded without a cache (set PE_LAB_CACHE to a writable folder)",
                      stacklevel=3)
        return make()
    if path.is_file():  # a regular file: anything else at that name is not a cache entry
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a corrupt cache is rebuilt, never trusted
            path.unlink(missing_ok=True)
    value = make()
    try:
        atomic_save(value, path)
    except WriteError as error:  # a cache is a convenience: the run goes on without it
        warnings.warn(f"{error}; the data will be decoded again next time (set PE_LAB_CACHE to a writable folder)",
                      stacklevel=3)
    return value


def _class_name(folder: Path) -> str:
    """A class folder's name in Unicode NFC: macOS writes ``café`` decomposed (NFD), Linux keeps what it is given,
    so the same class must compare equal whichever file system its folder came through."""
    return unicodedata.normalize("NFC", os.fsdecode(folder.name))


def class_folders(folder: Path) -> list[Path]:
    """The class folders of an image folder, sorted by name (hidden folders are not classes). Two folders whose
    names are the same text (one NFC, one NFD) are refused; two that differ only in case (``cat``, ``Cat``) are
    kept, with a warning naming both."""
    with reading("list the image folder", folder):
        found = sorted((p for p in Path(folder).iterdir() if not _hidden(p.name) and p.is_dir()), key=_class_name)
    by_name: dict[str, list[Path]] = {}
    for path in found:
        by_name.setdefault(_class_name(path), []).append(path)
    same = [paths for paths in by_name.values() if len(paths) > 1]
    if same:
        raise DataError(f"{folder} has class folders whose names are the same text in two Unicode forms: "
                        f"{[os.fsdecode(p.name) for p in same[0]]!r} (NFC and NFD); merge them into one folder")
    by_case: dict[str, list[str]] = {}
    for name in by_name:
        by_case.setdefault(name.casefold(), []).append(name)
    for names in by_case.values():
        if len(names) > 1:
            warnings.warn(f"{folder}: class folders {' and '.join(map(repr, names))} differ only in case; they are "
                          f"{len(names)} classes. If they are one class, merge them", stacklevel=2)
    return found


def match_classes(folder: Path, expected: tuple[str, ...] | None) -> tuple[list[Path], tuple[str, ...]]:
    """The class folders of ``folder`` and their names, in ``expected``'s order if given (names compared in NFC);
    a ``DataError`` naming the missing and unexpected folders if they are not exactly ``expected``."""
    class_dirs = class_folders(folder)
    if not class_dirs:
        raise DataError(f"{folder} has no class folders (expected <class>/<image> files)")
    by_name = {_class_name(p): p for p in class_dirs}
    if expected is None:
        return class_dirs, tuple(by_name)
    wanted = {unicodedata.normalize("NFC", c): c for c in expected}
    if set(by_name) != set(wanted):
        missing = sorted(wanted[c] for c in set(wanted) - set(by_name))
        extra = sorted(os.fsdecode(by_name[c].name) for c in set(by_name) - set(wanted))
        raise DataError(f"class folders in {folder} do not match: missing {missing}, unexpected {extra}; "
                        f"expected exactly {tuple(expected)}")
    return [by_name[unicodedata.normalize("NFC", c)] for c in expected], tuple(expected)


_IMAGE_SUFFIXES_WORDS = ", ".join(sorted(_IMAGE_SUFFIXES))


def image_files(class_dir: Path) -> list[Path]:
    """The image files of a class folder and its subfolders, as torchvision's ``ImageFolder`` finds them (same
    order; ``list_files``). Hidden files are left out silently (tool litter); any other file, and anything that is
    not a regular file (a named pipe, a broken link), is left out with a warning that counts them, so a folder of
    unexpected files is never ignored unseen."""
    regular, others = list_files(class_dir)
    files = [p for p in regular if p.suffix.lower() in _IMAGE_SUFFIXES]
    skipped = [p for p in regular if p.suffix.lower() not in _IMAGE_SUFFIXES]
    if skipped:
        kinds = ", ".join(sorted({p.suffix.lower() or "(no suffix)" for p in skipped}))
        warnings.warn(f"{class_dir}: {len(skipped)} file(s) that are not images were skipped ({kinds}; images are "
                      f"{_IMAGE_SUFFIXES_WORDS})", stacklevel=2)
    if others:
        warnings.warn(f"{class_dir}: {len(others)} entries that are not regular files (named pipes, sockets, devices "
                      f"or broken links) were skipped, e.g. {others[0]}", stacklevel=2)
    return files


def _folder_fingerprint(folder: Path, classes: tuple[str, ...] | None) -> str:
    """A digest of every image file's path, size and modification time: adding, removing or replacing an
    image changes it, so a cached decode is never served for a folder that changed (cheap: no reads)."""
    digest = hashlib.sha1(repr(classes).encode("utf-8", "surrogateescape"))
    for class_dir in class_folders(folder):
        for file in image_files(class_dir):
            with reading("read", file):
                info = file.stat()
            relative = os.fsencode(file.relative_to(folder))  # a name that is not UTF-8 is still its bytes
            digest.update(relative + f":{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_image_folder(folder: Path, expected_classes: tuple[str, ...] | None) -> tuple:
    class_dirs, names = match_classes(folder, expected_classes)
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = image_files(class_dir)
        if not found:
            raise DataError(f"class folder {class_dir} has no images ({_IMAGE_SUFFIXES_WORDS}); "
                            "a class with no images would silently shrink the data set")
        files += found
        labels += [label] * len(found)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        images = list(pool.map(decode_image, files, chunksize=256))
    shapes = [tuple(im.shape) for im in images]
    common = max(set(shapes), key=shapes.count)
    odd = [(f, s) for f, s in zip(files, shapes, strict=True) if s != common]
    if odd:
        listing = "; ".join(f"{f} is {s[2]}x{s[1]}" for f, s in odd[:3])
        raise DataError(f"{len(odd)} image(s) under {folder} differ from the {common[2]}x{common[1]} of the others: "
                        f"{listing}. Resize or remove them.")
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64), names


def load_image_folder(folder: str | os.PathLike, classes: tuple[str, ...] | None = None) -> ImageSet:
    """An image folder (``<folder>/<class>/<image>``, one image size throughout) decoded into memory (cached);
    the images of a class are those torchvision's ``ImageFolder`` finds, subfolders of a class folder included.
    ``classes`` fixes the class order (default: sorted folder names). For folders too large for memory, or of
    mixed sizes, see ``pe_lab.data.streaming.FolderSet``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a folder")
    if classes is None and len(class_folders(folder)) == 1:
        raise DataError(f"image folder {folder} has one class folder ({class_folders(folder)[0].name}); a classifier "
                        "needs at least two: point at the folder that holds the class folders")
    return _image_folder_set(folder, classes)


def _image_folder_set(folder: Path, classes: tuple[str, ...] | None) -> ImageSet:
    value = _cached(f"folder:{folder.resolve()}:{_folder_fingerprint(folder, classes)}",
                    lambda: dict(zip(("images", "labels", "classes"), _read_image_folder(folder, classes),
                                     strict=True)))
    return ImageSet(value["images"], value["labels"], tuple(value["classes"]), f"image folder {folder}")


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
                return _image_folder_set(folder, CIFAR10_CLASSES)
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
                return _image_folder_set(folder, digits)
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


# --------------------------------------------------------------------------------------------- batches

@functools.lru_cache(maxsize=16)
def _scaled_statistics(mean: tuple[float, ...], std: tuple[float, ...],
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, len(mean), 1, 1)
    return (torch.tensor(mean, device=device).view(shape) * 255, torch.tensor(std, device=device).view(shape) * 255)


def normalize(images: torch.Tensor, mean: tuple[float, ...] = CIFAR10_MEAN,
              std: tuple[float, ...] = CIFAR10_STD) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` -> float, normalised per channel, on the batch's device. The constants are built once
    per device, not copied to it for every batch (a per-step host-to-device copy on a GPU)."""
    mean_t, std_t = _scaled_statistics(tuple(mean), tuple(std), images.device)
    return (images.float() - mean_t) / std_t


class Batches:
    """Normalised float batches ``(B, 3, H, W)`` with labels ``(B,)`` from an ``ImageSet``.

    ``augment=True`` applies the CIFAR recipe on whole batches: random crop with zero padding 4 and a
    random horizontal flip. ``generator`` fixes the shuffle and the augmentation (a DE member passes
    its own, so members see their own orders). Everything runs on ``data``'s device.
    """

    def __init__(self, data: ImageSet, batch_size: int, *, shuffle: bool = False, augment: bool = False,
                 generator: torch.Generator | None = None, drop_last: bool = False, channels_last: bool = False,
                 mean: tuple[float, ...] = CIFAR10_MEAN, std: tuple[float, ...] = CIFAR10_STD) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.data, self.batch_size = data, batch_size
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.generator = generator or torch.Generator().manual_seed(0)
        self.channels_last = channels_last
        self.mean, self.std = tuple(mean), tuple(std)

    def __len__(self) -> int:
        n = len(self.data)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        n, _, height, width = images.shape
        pad = 4
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=self.generator).to(images.device)
        rows = (torch.arange(height, device=images.device)[None, :] + offsets[0, :, None])  # (N, H)
        cols = (torch.arange(width, device=images.device)[None, :] + offsets[1, :, None])   # (N, W)
        flip = (torch.rand(n, generator=self.generator) < 0.5).to(images.device)
        cols = torch.where(flip[:, None], cols.flip(1), cols)
        batch_index = torch.arange(n, device=images.device)[:, None, None]
        channels_last = padded.permute(0, 2, 3, 1)                                       # (N, H+8, W+8, C)
        return channels_last[batch_index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.data)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.data.images.device)
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                break
            images = self.data.images[index]
            if self.augment:
                images = self._augment(images)
            images = normalize(images, self.mean, self.std)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, self.data.labels[index]
