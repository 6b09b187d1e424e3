"""Slim trained models for ``assets/checkpoints``: from the training checkpoints of one experiment report.

Train first (every run checkpoints under ``--runs-dir``), then export each run of the report::

    pe-lab experiment --preset lenet --seeds 0 --out /tmp/lenet_seed0.json --runs-dir /tmp/lenet
    python scripts/export_checkpoints.py --report /tmp/lenet_seed0.json --runs-dir /tmp/lenet --name lenet

writes ``assets/checkpoints/lenet-<method>-seed0.pt`` (model state in float32, spec, provenance; no optimiser),
which ``pe_lab.results.trained.load_trained("lenet", "packed", 0)`` reads with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pe_lab.results.trained import export_checkpoints, trained_dir  # noqa: E402


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", required=True, help="the report pe-lab experiment wrote (--out)")
    parser.add_argument("--runs-dir", required=True, help="the --runs-dir of that command: its training checkpoints")
    parser.add_argument("--name", required=True, help="the model's name in the files written, e.g. lenet")
    parser.add_argument("--out-dir", default=str(trained_dir()), help="where to write (default assets/checkpoints)")
    args = parser.parse_args(argv)
    command = "python scripts/export_checkpoints.py " + " ".join(sys.argv[1:] if argv is None else argv)
    written = export_checkpoints(args.report, args.runs_dir, args.name, args.out_dir, command=command)
    for path in written:
        print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return written


if __name__ == "__main__":
    main()
