"""Files and image folders: the data layer's one listing of a folder, its one boundary for operating-system errors
(``reading``, ``DataError``), decoding one image, and an image folder ``<folder>/<class>/<image>`` decoded into an
``ImageSet`` (cached on disk)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import unicodedata
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ...config import WriteError, atomic_save, cache_dir
from .imageset import ImageSet

__all__ = [
    "DataError", "class_folders", "decode_image", "image_files", "labelled_files", "list_files",
    "load_image_folder", "match_classes", "reading", "regular_file"]


_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}  # what Pillow decodes


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


def labelled_files(folder: Path, expected_classes: tuple[str, ...] | None = None,
                   ) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Every image file under ``folder``'s class folders with its label, and the class names (``match_classes``
    order); ``DataError`` naming a class folder with no images, which would silently shrink the data set."""
    class_dirs, names = match_classes(folder, expected_classes)
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = image_files(class_dir)
        if not found:
            raise DataError(f"class folder {class_dir} has no images ({_IMAGE_SUFFIXES_WORDS}); "
                            "a class with no images would silently shrink the data set")
        files += found
        labels += [label] * len(found)
    return files, labels, names


def _read_image_folder(folder: Path, expected_classes: tuple[str, ...] | None) -> tuple:
    files, labels, names = labelled_files(folder, expected_classes)
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
