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
import pickle
from pathlib import Path

__all__ = ["pack", "unpack"]

_FORMAT = "pe-lab datapack 1"
_SOS = b"\xff\xda"  # JPEG start-of-scan: everything before it is the (shared) header


def _split(data: bytes, suffix: str) -> tuple[bytes, bytes]:
    if suffix in (".jpg", ".jpeg") and _SOS in data:
        at = data.index(_SOS)
        return data[:at], data[at:]
    return b"", data


def _tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def pack(sources: dict[str, Path], out: Path, *, limits: dict[str, int] | None = None) -> dict[str, int]:
    """Pack each folder tree ``sources[name]`` (stored under ``name/``) into ``out``; ``limits[name]`` keeps
    only that many files of a tree (the first in file-name order). Returns the file count per tree."""
    headers: dict[bytes, int] = {}
    entries: list[tuple[str, int, bytes]] = []
    counts = {}
    digest = hashlib.sha256()
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
            digest.update(data)
            header, body = _split(data, path.suffix.lower())
            index = headers.setdefault(header, len(headers))
            entries.append((f"{name}/{path.relative_to(root).as_posix()}", index, body))
        counts[name] = len(files)
    blob = {"format": _FORMAT, "headers": list(headers), "entries": entries, "sha256": digest.hexdigest(),
            "counts": counts}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(pickle.dumps(blob, protocol=5))
    tmp.replace(out)
    return counts


def unpack(pack_file: Path, dest: Path) -> dict[str, int]:
    """Rewrite every packed file under ``dest``, checking the bytes against the digest taken when packing."""
    blob = pickle.loads(Path(pack_file).read_bytes())  # noqa: S301 - a file this module wrote
    if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
        raise ValueError(f"{pack_file} is not a {_FORMAT!r} file")
    digest = hashlib.sha256()
    for relative, index, body in blob["entries"]:
        data = blob["headers"][index] + body
        digest.update(data)
        path = Path(dest) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if digest.hexdigest() != blob["sha256"]:
        raise ValueError(f"{pack_file}: unpacked bytes do not match the digest taken when packing")
    return dict(blob["counts"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pe_lab.datapack", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    do_pack = sub.add_parser("pack", help="pack DATA_ROOT/cifar10-jpeg and DATA_ROOT/svhn-test into OUT")
    do_pack.add_argument("data_root", type=Path)
    do_pack.add_argument("out", type=Path)
    do_pack.add_argument("--svhn", type=int, default=2500, help="how many SVHN test images to keep")
    do_unpack = sub.add_parser("unpack", help="rewrite the packed trees under DEST")
    do_unpack.add_argument("pack_file", type=Path)
    do_unpack.add_argument("dest", type=Path)
    args = p.parse_args(argv)
    if args.command == "pack":
        counts = pack({"cifar10-jpeg": args.data_root / "cifar10-jpeg", "svhn-test": args.data_root / "svhn-test"},
                      args.out, limits={"svhn-test": args.svhn})
        print(f"packed {counts} into {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB)")
    else:
        print(f"unpacked {unpack(args.pack_file, args.dest)} into {args.dest}")


if __name__ == "__main__":
    main()
