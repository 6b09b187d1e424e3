"""Pack an ImageFolder data set into one small file, and unpack it bit for bit: for a machine (a rented GPU,
a CI runner) that receives only a checkout of limited size and cannot download CIFAR-10.

JPEG files written by one encoder with one setting share their header (quantisation and Huffman tables: 609 of
the ~900 bytes of a 32x32 CIFAR-10 JPEG); the pack stores each distinct header once and every file's remaining
bytes, so all of CIFAR-10 (JPEG, 60,000 files) fits in about 21 MiB, with the first 2,500 SVHN test PNGs in
25 MiB (with all 10,000, 37 MiB: too much beside the committed results in the 64 MiB that travel).
Unpacking rewrites the very same bytes (checked against a SHA-256 taken when packing), so decoded images are
identical to the originals.

    python -m pe_lab.datapack pack ../shared/data .gpu-data/cifar10-svhn.pack --svhn 2500
    python -m pe_lab.datapack unpack .gpu-data/cifar10-svhn.pack /tmp/pe-data    # -> cifar10-jpeg/, svhn-test/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path, PurePosixPath

__all__ = ["PackError", "pack", "unpack"]

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
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _digest(data: bytes) -> int:
    return zlib.crc32(data)  # per entry, to name a damaged file; the SHA-256 of everything guards the whole


def pack(sources: dict[str, Path], out: Path, *, limits: dict[str, int] | None = None) -> dict[str, int]:
    """Pack each folder tree ``sources[name]`` (stored under ``name/``) into ``out``; ``limits[name]`` keeps
    only that many files of a tree (the first in file-name order; at least 1). Returns the file count per tree."""
    for name, limit in (limits or {}).items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"the limit for {name!r} must be an integer >= 1 (files to keep), got {limit!r}")
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(_MAGIC + struct.pack("<Q", len(index)) + index)
        for chunk in chunks:
            handle.write(chunk)
        handle.write(header_blob)
    os.replace(tmp, out)
    return counts


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
    try:
        index = json.loads(zlib.decompress(raw[start:start + length]))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as error:
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


def unpack(pack_file: Path, dest: Path) -> dict[str, int]:
    """Rewrite every packed file under ``dest``. Every entry is checked (its digest, its path inside ``dest``)
    before any file is written, so a damaged pack names its first bad entry and leaves ``dest`` untouched; each
    file is then written atomically."""
    pack_file = Path(pack_file)
    index, data = _read_index(pack_file, pack_file.read_bytes())
    try:
        headers = [data[offset:offset + length] for offset, length in index["headers"]]
        entries, offset = [], 0
        for relative, header, length, digest in index["entries"]:
            entries.append((str(relative), headers[header] + data[offset:offset + length], digest))
            offset += length
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise PackError(f"{pack_file}: its index is damaged ({type(error).__name__}: {error})") from None
    files, whole = [], hashlib.sha256()
    for relative, content, digest in entries:
        if _digest(content) != digest:
            raise PackError(f"{pack_file}: entry {relative} is damaged (its bytes do not match the digest taken "
                            "when packing); nothing was written")
        whole.update(content)
        files.append((_safe_relative(pack_file, relative), content))
    if whole.hexdigest() != index["sha256"]:
        raise PackError(f"{pack_file}: unpacked bytes do not match the digest taken when packing; nothing was "
                        "written")
    for relative, content in files:
        path = Path(dest).joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    return dict(index["counts"])


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (how many SVHN images to keep), got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pe_lab.datapack", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    do_pack = sub.add_parser("pack", help="pack DATA_ROOT/cifar10-jpeg and DATA_ROOT/svhn-test into OUT")
    do_pack.add_argument("data_root", type=Path)
    do_pack.add_argument("out", type=Path)
    do_pack.add_argument("--svhn", type=_at_least_one, default=2500, help="how many SVHN test images to keep")
    do_unpack = sub.add_parser("unpack", help="rewrite the packed trees under DEST")
    do_unpack.add_argument("pack_file", type=Path)
    do_unpack.add_argument("dest", type=Path)
    args = p.parse_args(argv)
    try:
        if args.command == "pack":
            counts = pack({"cifar10-jpeg": args.data_root / "cifar10-jpeg",
                           "svhn-test": args.data_root / "svhn-test"}, args.out, limits={"svhn-test": args.svhn})
            print(f"packed {counts} into {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB)")
        else:
            print(f"unpacked {unpack(args.pack_file, args.dest)} into {args.dest}")
    except (PackError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
