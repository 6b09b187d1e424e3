"""``pe-lab solutions``: write the instructor copies (``fill``) and train the exercises' runs (``run``).

The solutions themselves live in ``pe_lab.teaching.solutions``, one file per notebook; this is only the command
line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..teaching.solutions import EXERCISE_RUNS, exercise_experiment, fill_folder
from .boundary import command, probe_writable

__all__ = ["main"]


def run_exercises(data: str, out: Path, runs_dir: Path, names: list[str] | None = None) -> None:
    """Train the exercises' runs not yet done (each a resumable ``run_experiment``)."""
    from ..experiments.run import run_experiment

    for name in list(EXERCISE_RUNS) if names is None else names:
        target = out / f"{name}.json"
        if not target.exists():
            run_experiment(exercise_experiment(name, data=data, out=str(target), runs_dir=str(runs_dir / name)))


def parse_only(text: str | None) -> list[str] | None:
    """``--only``: None (the option absent) is every run; otherwise comma-separated names of ``EXERCISE_RUNS``,
    at least one (an empty shell variable must not mean "train everything"), none unknown or twice."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--only names no exercise run (got {text!r}); leave it out to train every run, or name "
                         f"some of: {', '.join(EXERCISE_RUNS)}")
    for name in names:
        if name not in EXERCISE_RUNS:
            raise ValueError(f"unknown exercise run {name!r}; known: {', '.join(EXERCISE_RUNS)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"--only lists {', '.join(twice)} more than once")
    return names


@command("solutions")
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="pe-lab solutions", description=__doc__.split("\n\n")[0])
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
            names = parse_only(args.only)
            if not Path(args.data).is_dir():
                raise ValueError(f"--data {args.data} is not a folder")
            for option, folder in (("--out", args.out), ("--runs-dir", args.runs_dir)):
                problem = probe_writable(option, folder)  # before the first run trains, not after it
                if problem:
                    raise ValueError(problem)
            run_exercises(args.data, args.out, args.runs_dir, names)
    except (KeyError, ValueError) as error:  # an OSError is the boundary's one line
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
