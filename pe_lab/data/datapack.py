"""Pack an ImageFolder data set into one small file, and unpack it bit for bit: for a machine (a rented GPU,
a CI runner) that receives only a checkout of limited size and cannot download CIFAR-10.

JPEG files written by one encoder with one setting share their header (quantisation and Huffman tables: 609 of
the ~900 bytes of a 32x32 CIFAR-10 JPEG); the pack stores each distinct header once and every file's remaining
bytes, so all of CIFAR-10 (JPEG, 60,000 files) fits in about 21 MiB, with the first 2,500 SVHN test PNGs in
25 MiB (with all 10,000, 37 MiB: too much beside the committed results in the 64 MiB that travel).
Unpacking rewrites the very same bytes (checked against a SHA-256 taken when packing), so decoded images are
identical to the originals. A pack is untrusted input: its index is inflated with a bound (``INDEX_LIMIT``), every
entry is checked against the data it points into, the total it would write against the free disk space, and the
files are written into a temporary sibling of the destination that is renamed into place only when every entry
has been written and checked, so a damaged pack, a full disk or an interruption leaves no half-unpacked folder.

    pe-lab datapack pack ../shared/data .gpu-data/cifar10-svhn.pack --svhn 2500
    pe-lab datapack unpack .gpu-data/cifar10-svhn.pack /tmp/pe-data    # -> cifar10-jpeg/, svhn-test/
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import zlib
from pathlib import Path, PurePosixPath

from ..config import WriteError
from ..validate import check_int
from .images import list_files, reading, regular_file

__all__ = ["INDEX_LIMIT", "PackError", "pack", "unpack"]

# The index of all of CIFAR-10 and 2,500 SVHN images (62,500 entries) inflates to about 4 MiB; an index that
# inflates past this is refused before it is inflated further (a "zip bomb" of zeros inflates a thousandfold).
INDEX_LIMIT = 64 * 2**20

# Format 2: the magic line, an 8-byte little-endian length, a zlib-compressed UTF-8 JSON index, then raw bytes.
# Nothing in it is executed on load (format 1 was a pickle, which runs code: a downloaded pack must never).
_FORMAT = "pe-lab datapack 2"
_MAGIC = b"PE-LAB-DATAPACK 2\n"
_SOS = b"\xff\xda"  # JPEG start-of-scan: everything before it is the (shared) header


class PackError(ValueError):
    """A pack that cannot be read: not a pack, another format version, truncated, damaged or unsafe."""


def _split(data: bytes, suffix: str) -> tuple[bytes, bytes]:
    if suffix in (".jpg", ".jpeg") and _SOS in data:
        at = data.index(_SOS)
        return data[:at], data[at:]
    return b"", data


def _tree_files(root: Path) -> list[Path]:
    return list_files(root)[0]  # regular files only, hidden ones left out; unreadable folders named


def _digest(data: bytes) -> int:
    return zlib.crc32(data)  # per entry, to name a damaged file; the SHA-256 of everything guards the whole


def pack(sources: dict[str, Path], out: Path, *, limits: dict[str, int] | None = None) -> dict[str, int]:
    """Pack each folder tree ``sources[name]`` (stored under ``name/``) into ``out``; ``limits[name]`` keeps
    only that many files of a tree (the first in file-name order; at least 1). Returns the file count per tree."""
    for name, limit in (limits or {}).items():
        try:
            check_int("limit", limit, minimum=1)
        except (TypeError, ValueError):
            raise ValueError(f"the limit for {name!r} must be an integer >= 1 (files to keep), got {limit!r}") from None
    headers: dict[bytes, int] = {}
    entries: list[list] = []
    chunks: list[bytes] = []
    counts = {}
    offset = 0
    whole = hashlib.sha256()
    for name, root in sources.items():
        if not Path(root).is_dir():
            raise FileNotFoundError(f"cannot pack {name!r}: {root} is not a folder")
        files = _tree_files(Path(root))
        if limits and name in limits:
            files = sorted(files, key=lambda p: p.name)[:limits[name]]
        if not files:
            raise ValueError(f"cannot pack {name!r}: {root} holds no files")
        for path in files:
            with reading("read", path):
                data = path.read_bytes()
            whole.update(data)
            header, body = _split(data, path.suffix.lower())
            if header not in headers:
                headers[header] = len(headers)
            entries.append([f"{name}/{path.relative_to(root).as_posix()}", headers[header], len(body),
                            _digest(data)])
            chunks.append(body)
            offset += len(body)
        counts[name] = len(files)
    header_blob = b"".join(headers)
    header_spans, at = [], offset
    for header in headers:
        header_spans.append([at, len(header)])
        at += len(header)
    # 62,500 file names compress about 10x: the index stays small beside the images
    index = zlib.compress(json.dumps({"format": _FORMAT, "headers": header_spans, "entries": entries,
                                      "counts": counts, "sha256": whole.hexdigest(), "size": at}).encode(), 9)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(_MAGIC + struct.pack("<Q", len(index)) + index)
            for chunk in chunks:
                handle.write(chunk)
            handle.write(header_blob)
        os.replace(tmp, out)
    except OSError as error:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise WriteError(out, error) from error
    return counts


def _inflate_index(pack_file: Path, compressed: bytes) -> bytearray:
    """The index's JSON text, inflated 1 MiB at a time and refused as soon as it passes ``INDEX_LIMIT``: a bomb
    costs at most that much memory, never what it would inflate to."""
    inflater, text, step = zlib.decompressobj(), bytearray(), 2**20
    pending = compressed
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, step)
            pending = inflater.unconsumed_tail
            text += piece
            if len(text) > INDEX_LIMIT:
                raise PackError(f"{pack_file}: its index inflates past the {INDEX_LIMIT // 2**20} MiB limit on a "
                                "pack's index (all of CIFAR-10 needs about 4 MiB); refused without inflating the rest")
            if not piece and not pending:
                break  # no input left and nothing more comes out: the index ends early
    except zlib.error as error:
        raise PackError(f"{pack_file} is truncated or damaged (its index does not inflate: {error})") from None
    if not inflater.eof:
        raise PackError(f"{pack_file} is truncated or damaged (its index ends early)")
    return text


def _read_index(pack_file: Path, raw: bytes) -> tuple[dict, bytes]:
    if raw[:1] == b"\x80":
        raise PackError(f"{pack_file} is a format-1 pack (a Python pickle, which can run code when loaded): it "
                        "is not opened; pack the data again with this version of pe-lab")
    if not raw.startswith(_MAGIC):
        raise PackError(f"{pack_file} is not a {_FORMAT!r} file (it does not start with {_MAGIC!r})")
    start = len(_MAGIC) + 8
    if len(raw) < start:
        raise PackError(f"{pack_file} is truncated (it ends inside its header)")
    (length,) = struct.unpack("<Q", raw[len(_MAGIC):start])
    if start + length > len(raw):
        raise PackError(f"{pack_file} is truncated (its header declares a {length}-byte index; the file ends before)")
    try:
        index = json.loads(_inflate_index(pack_file, raw[start:start + length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackError(f"{pack_file} is truncated or damaged (its index does not read: {error})") from None
    if not isinstance(index, dict) or index.get("format") != _FORMAT:
        raise PackError(f"{pack_file} is not a {_FORMAT!r} file (index format {index.get('format')!r})"
                        if isinstance(index, dict) else f"{pack_file} is not a {_FORMAT!r} file")
    data = raw[start + length:]
    if len(data) != index.get("size"):
        raise PackError(f"{pack_file} is truncated: {len(data)} bytes of data where the index says {index['size']}")
    return index, data


def _safe_relative(pack_file: Path, relative: str) -> PurePosixPath:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise PackError(f"{pack_file}: entry {relative!r} would be written outside the destination; refused")
    return path


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entries(pack_file: Path, index: dict, data: bytes) -> tuple[list[tuple[PurePosixPath, int, int, int, int]],
                                                                  list[bytes], int]:
    """Every entry as ``(path, header, offset, length, digest)``, checked against the data before anything is
    read from it, the shared headers, and the bytes the entries would write in all."""
    try:
        spans, listed, counts = index["headers"], index["entries"], index["counts"]
        if not (isinstance(spans, list) and isinstance(listed, list) and isinstance(counts, dict)
                and isinstance(index["sha256"], str)):
            raise TypeError("headers, entries, counts or sha256 of the wrong kind")
        headers = []
        for span in spans:
            at, length = span
            if not (_count(at) and _count(length) and at + length <= len(data)):
                raise ValueError(f"header span {span!r} lies outside the {len(data)} bytes of data")
            headers.append(data[at:at + length])
        entries, offset, total = [], 0, 0
        for entry in listed:
            relative, header, length, digest = entry
            if not (isinstance(relative, str) and _count(header) and header < len(headers) and _count(length)
                    and _count(digest) and offset + length <= len(data)):
                raise ValueError(f"entry {entry!r} does not fit the pack")
            entries.append((_safe_relative(pack_file, relative), header, offset, length, digest))
            offset += length
            total += len(headers[header]) + length
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, PackError):
            raise
        raise PackError(f"{pack_file}: its index is damaged ({type(error).__name__}: {error})") from None
    return entries, headers, total


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def unpack(pack_file: Path, dest: Path) -> dict[str, int]:
    """Rewrite every packed file under ``dest``. The index is inflated with a bound and every entry checked against
    the data before any byte is written, and the total against the free space; the files are then written into a
    temporary sibling of ``dest``, each checked against its digest, and moved into ``dest`` only when all of them
    (and the SHA-256 of the whole) are right. A damaged pack names its first bad entry and leaves ``dest`` as it
    was; so does a full disk or an interrupted unpack (no half-unpacked folder)."""
    pack_file, dest = Path(pack_file), Path(dest)
    regular_file(pack_file, "pack")  # a named pipe would block the read forever
    with reading("read the pack", pack_file):
        raw = pack_file.read_bytes()
    index, data = _read_index(pack_file, raw)
    entries, headers, total = _entries(pack_file, index, data)
    parent = dest.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() and not dest.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder", str(dest))
        free = _free_bytes(parent)
    except OSError as error:
        raise WriteError(dest, error) from error
    if total > free:
        raise PackError(f"{pack_file} would write {total / 2**20:.1f} MiB under {dest}, where {free / 2**20:.1f} MiB "
                        "are free; refused before writing anything")
    staging = parent / f".{dest.name}.unpacking-{os.getpid()}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        whole = hashlib.sha256()
        for relative, header, offset, length, digest in entries:
            content = headers[header] + data[offset:offset + length]
            if _digest(content) != digest:
                raise PackError(f"{pack_file}: entry {relative} is damaged (its bytes do not match the digest taken "
                                "when packing); nothing was written")
            whole.update(content)
            path = staging.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if whole.hexdigest() != index["sha256"]:
            raise PackError(f"{pack_file}: unpacked bytes do not match the digest taken when packing; nothing was "
                            "written")
        _move_into(staging, dest, [relative for relative, *_ in entries])
    except OSError as error:
        raise WriteError(dest, error) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dict(index["counts"])


def _move_into(staging: Path, dest: Path, files: list[PurePosixPath]) -> None:
    """``staging``'s files into ``dest``: one rename if ``dest`` does not exist yet, else file by file (each an
    atomic replace on the same file system), after checking that no file would land on a folder."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    for relative in files:
        target = dest.joinpath(*relative.parts)
        if target.is_dir():
            raise IsADirectoryError(21, "a packed file would replace a folder", str(target))
    for relative in files:
        target = dest.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging.joinpath(*relative.parts), target)
