"""``pe-lab tutorial``: torch-uncertainty's CIFAR-10 Packed-Ensembles tutorial, trained as it was
written (``--version 2024-02``, the version the lab grew from, or ``2025-03``, today's), measured, reported.

Example (the committed runs; about 25 CPU minutes for 2024-02 on 2 cores, 10 for 2025-03):

    pe-lab tutorial --version 2024-02 --networks packed-seed-head,packed-class-head \\
        --layers torch-uncertainty --seeds 0,1,2 --data ../shared/data --out assets/results/tutorial_2024-02.json

Runs already in ``--out`` with the same recipe are kept (a stopped run resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ..data.images import load_cifar10, load_svhn
from ..results.predictions import save_predictions
from ..results.provenance import provenance, recorded_command, write_json
from ..results.tutorial import TUTORIALS, run_tutorial
from ..training.checkpoint import data_fingerprint

NETWORKS = ("packed-seed-head", "packed-class-head", "single", "deep")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pe-lab tutorial", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", choices=sorted(TUTORIALS), required=True)
    parser.add_argument("--networks", default=",".join(NETWORKS), help=f"comma-separated, of {', '.join(NETWORKS)}")
    parser.add_argument("--layers", choices=("pe-lab", "torch-uncertainty"), default="pe-lab",
                        help="whose packed layers build the PE (torch-uncertainty: pip install 'pe-lab[reference]')")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--data", required=True, help="data root holding CIFAR-10 (and SVHN for OOD)")
    parser.add_argument("--out", required=True, type=Path)
    return parser


def _choices(text: str, valid: tuple[str, ...], what: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise SystemExit(f"{what}: give at least one of {', '.join(valid)}")
    for item in items:
        if item not in valid:
            raise SystemExit(f"{what}: unknown {item!r}; valid: {', '.join(valid)}")
    return items


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise SystemExit(f"--seeds: whole numbers separated by commas, got {text!r}") from None
    if not seeds or any(not 0 <= seed < 2**31 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise SystemExit(f"--seeds: distinct whole numbers in [0, 2**31), got {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    networks = _choices(args.networks, NETWORKS, "--networks")
    seeds = _seeds(args.seeds)
    recipe = TUTORIALS[args.version]
    if args.layers == "torch-uncertainty":  # refuse a missing or unchecked torch-uncertainty before loading data
        from ..nn.tutorial import tutorial_network

        tutorial_network("packed", layers="torch-uncertainty")
    torch.set_num_threads(1)  # the tutorial's own setting
    train = load_cifar10("train", args.data, download=False)
    test = load_cifar10("test", args.data, download=False)
    try:
        ood = load_svhn(args.data, download=False)
    except FileNotFoundError:
        ood = None
        print("no SVHN under --data: OOD metrics are left out", file=sys.stderr)
    # Data by name and fingerprint (``dataset_name``: "image folder cifar10-jpeg/train"), never this machine's path.
    data = {name: data_fingerprint(part)
            for name, part in (("train", train), ("test", test), ("ood", ood)) if part is not None}
    versions = {}
    if args.layers == "torch-uncertainty":
        from importlib.metadata import version

        versions["torch_uncertainty"] = version("torch-uncertainty")
    report = {"provenance": provenance(recorded_command("pe-lab tutorial", argv or sys.argv[1:]),
                                       torch.device("cpu"), data=data, seeds=seeds, **versions),
              "recipe": {"version": recipe.version, "source": recipe.source, "epochs": recipe.epochs,
                         "batch_size": recipe.batch_size, "lr": recipe.lr, "momentum": recipe.momentum,
                         "log_every": recipe.log_every},
              "runs": []}
    if args.out.exists():
        previous = json.loads(args.out.read_text())
        if previous.get("recipe") == report["recipe"]:
            report["runs"] = previous.get("runs", [])
    done = {(run["network"], run["seed"]) for run in report["runs"]}
    for seed in seeds:
        for network in networks:
            if (network, seed) in done:
                continue
            run, probs = run_tutorial(network, recipe, seed, train, test, ood, layers=args.layers)
            report["runs"].append(run)
            m = run["metrics"]
            print(f"{recipe.version} {network} seed {seed}: accuracy {m['accuracy']:.4f}, NLL {m['nll']:.3f}, "
                  f"ECE {m['ece']:.3f}, mass on impossible classes {m['impossible_mass']:.4f}, "
                  f"{run['train_seconds']:.0f} s", flush=True)
            if seed == seeds[0]:
                save_predictions(args.out.with_name(f"{args.out.stem}-predictions-{network}-seed{seed}.pt"),
                                 probs.float(), test.labels, None, test.classes)
            write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
