"""``python -m pe_lab.solutions``: write the instructor copies (``fill``) and train the exercises' runs (``run``).

The solutions themselves live in ``pe_lab.teaching.solutions``; this is only the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..teaching.solutions import EXERCISE_RUNS, fill_folder

__all__ = ["main"]


def run_exercises(data: str, out: Path, runs_dir: Path, names: list[str] | None = None) -> None:
    """Train the exercises' runs not yet done (each a resumable ``pe_lab.experiment`` run)."""
    from .experiment import main as experiment

    for name in names or list(EXERCISE_RUNS):
        target = out / f"{name}.json"
        if target.exists():
            continue
        experiment([*EXERCISE_RUNS[name], "--data", data, "--offline", "--no-progress", "--resume",
                    "--save-predictions", "--out", str(target), "--runs-dir", str(runs_dir / name)])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pe_lab.solutions", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fill", help="filled copies of the notebooks, with a Solutions section each")
    f.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    f.add_argument("--out", type=Path, default=Path("runs/instructor"))
    r = sub.add_parser("run", help="train the exercises' runs (real data, seed 0; resumable)")
    r.add_argument("--data", required=True)
    r.add_argument("--out", type=Path, default=Path("assets/results/exercises"))
    r.add_argument("--runs-dir", type=Path, default=Path("runs/exercises"))
    r.add_argument("--only", default=None, help="comma-separated names of EXERCISE_RUNS")
    args = p.parse_args(argv)
    try:
        if args.command == "fill":
            for path in fill_folder(args.notebooks, args.out):
                print(f"wrote {path}")
        else:
            names = [n.strip() for n in args.only.split(",")] if args.only else None
            for name in names or []:
                if name not in EXERCISE_RUNS:
                    raise ValueError(f"unknown exercise run {name!r}; known: {', '.join(EXERCISE_RUNS)}")
            run_exercises(args.data, args.out, args.runs_dir, names)
    except (KeyError, ValueError, OSError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
