"""``pe-lab sweep run`` / ``pe-lab sweep collect``: the alpha and width sweeps (``pe_lab.experiments.sweep``)::

    OMP_NUM_THREADS=1 pe-lab sweep run --data ../shared/data --dir runs/sweep &
    OMP_NUM_THREADS=1 pe-lab sweep run --data ../shared/data --dir runs/sweep &
    pe-lab sweep collect --dir runs/sweep --out assets/results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..experiments.sweep import collect_sweep, collected_points, run_sweep
from ..results.provenance import recorded_command
from .boundary import command, doing

__all__ = ["main"]


@command("sweep")
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="pe-lab sweep", description="when does a Packed-Ensemble match a Deep "
                                "Ensemble? the alpha and width sweeps on one grid")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the grid points not yet done (resumable; start twice for two cores)")
    r.add_argument("--data", required=True)
    r.add_argument("--dir", default="runs/sweep")
    r.add_argument("--results", default="assets/results",
                   help="skip the points whose run is already collected here (default: assets/results)")
    c = sub.add_parser("collect", help="write one JSON per sweep from the points done")
    c.add_argument("--dir", default="runs/sweep")
    c.add_argument("--out", default="assets/results")
    args = p.parse_args(argv)
    folder = Path(args.dir)
    if args.command == "run":
        with doing("create the sweep folder", folder):
            folder.mkdir(parents=True, exist_ok=True)
    elif folder.exists() and not folder.is_dir():
        p.exit(1, f"{p.prog}: error: --dir {folder} is a file, not a folder of grid points\n")
    if args.command == "collect" and not any(folder.glob("lenet-*.json")):
        p.exit(1, f"{p.prog}: error: no finished grid point in {folder}; run `pe-lab sweep run` first\n")
    try:
        if args.command == "run":
            run_sweep(folder, args.data, done=collected_points(Path(args.results)))
        else:
            command_line = recorded_command("pe-lab sweep", sys.argv[1:] if argv is None else argv)
            for name, path in collect_sweep(folder, Path(args.out), command_line).items():
                print(f"wrote {name} sweep: {path}")
    except ValueError as error:  # a point's report, the data: named, one line (OSError: the boundary's line)
        p.exit(1, f"{p.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
