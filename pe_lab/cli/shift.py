"""``pe-lab shift --report R.json``: evaluate the trained runs of a report (their final checkpoints) under the
generated corruptions and on the synthetic textures, and write ``R-shift.json`` (``pe_lab.evaluate_report_shift``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.corruptions import CORRUPTIONS
from ..data.images import DataError
from ..experiments.shift import ShiftRequest, evaluate_report_shift, runs_to_evaluate
from ..results.provenance import recorded_command
from ..results.records import read_report
from ..training.checkpoint import CheckpointError
from .arguments import MAX_SEED, Rule, apply_rules
from .boundary import command

__all__ = ["main"]

_RULES = {"seed": Rule("--seed", True, 0, MAX_SEED), "test_per_class": Rule("--test-per-class", True, 1, 10**6),
          "textures": Rule("--textures", True, 1, 10**6)}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pe-lab shift", description="evaluate a report's trained runs under "
                                "generated corruptions and on far-OOD textures")
    p.add_argument("--report", type=Path, required=True)
    p.add_argument("--runs-dir", default=None, help="the runs' checkpoints (default: where the report records them)")
    p.add_argument("--methods", default=None, help="comma-separated (default: every method of the report)")
    p.add_argument("--seed", type=int, default=None, help="which seed's runs (default: the report's first)")
    p.add_argument("--corruptions", default=",".join(CORRUPTIONS))
    p.add_argument("--severities", default="1,2,3,4,5")
    p.add_argument("--test-per-class", type=int, default=100, help="balanced test subset per corruption")
    p.add_argument("--textures", type=int, default=2000, help="synthetic texture images (far OOD)")
    p.add_argument("--cifar10c", type=Path, default=None,
                   help="a folder of the official CIFAR-10-C files (<corruption>.npy, labels.npy): evaluated too")
    p.add_argument("--texture-folder", type=Path, default=None,
                   help="far-OOD images from a folder (e.g. DTD's images/) instead of the procedural textures")
    p.add_argument("--data", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=None)
    return apply_rules(p, _RULES)


def _in_flags(message: str) -> str:
    """A request's error message in the command line's words (``severities`` -> ``--severities``)."""
    import re

    for name in ("corruptions", "severities", "methods", "test_per_class", "textures"):
        message = re.sub(rf"(?<![-\w]){name}(?![-\w])", "--" + name.replace("_", "-"), message)
    return message


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(m.strip() for m in text.split(",") if m.strip())


def _request(args: argparse.Namespace, words: list[str]) -> ShiftRequest:
    try:
        severities = tuple(int(s) for s in args.severities.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--severities must be comma-separated integers, got {args.severities!r}") from None
    return ShiftRequest(report=args.report, runs_dir=args.runs_dir, methods=_names(args.methods), seed=args.seed,
                        corruptions=_names(args.corruptions), severities=severities,
                        test_per_class=args.test_per_class, textures=args.textures, cifar10c=args.cifar10c,
                        texture_folder=args.texture_folder, data=args.data, device=args.device, out=args.out,
                        command=recorded_command("pe-lab shift", words))


@command("shift")
def main(argv: list[str] | None = None) -> dict:
    p = _parser()
    args = p.parse_args(argv)
    try:
        request = _request(args, sys.argv[1:] if argv is None else argv)
        runs_to_evaluate(request, read_report(request.report))  # a bad report or method: named before any data
    except (ValueError, TypeError) as error:
        p.error(_in_flags(str(error)))
    try:
        return evaluate_report_shift(request)
    except (CheckpointError, DataError, FileNotFoundError, ValueError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
