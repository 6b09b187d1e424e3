"""``pe-lab datapack pack DATA_ROOT OUT`` / ``pe-lab datapack unpack PACK DEST``: JPEG CIFAR-10 and SVHN in one
file for a machine that gets only the checkout (``pe_lab.data.datapack``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.datapack import pack, unpack
from .boundary import command

__all__ = ["main"]


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (how many SVHN images to keep), got {value}")
    return value


@command("datapack")
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="pe-lab datapack", description="pack JPEG CIFAR-10 and SVHN into one file, or "
                                "unpack it")
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
    except (ValueError, OSError) as error:  # PackError, DataError, WriteError: one line naming the file
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
