"""``python -m pe_lab.bench``: Single vs Deep Ensemble vs Packed-Ensemble costs in one table.

    python -m pe_lab.bench --model resnet18 --alpha 2 --num-estimators 4 --gamma 1 --batch 64 --device cpu

Prints parameters, forward FLOPs per image, activation memory of a training step, and median times of
a forward pass and of a full training step (forward + backward + SGD step), with the ratios PE/Single
and DE/PE, and writes the same as JSON (with the hardware it ran on).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from pathlib import Path

import torch

from .config import get_device
from .cost import CONTENDERS, REFERENCE, Cost, measure, reference_available
from .experiment import _atomic_json, _git_commit, hardware
from .models import build
from .validate import check_choice, check_int

LABELS = {"single": "Single", "deep_loop": "DE (loop)", "deep_vmap": "DE (vmap)", "packed": "PE",
          "reference_pe": "torch-uncertainty PE"}


def format_table(costs: list[Cost], config: dict) -> str:
    by_name = {c.name: c for c in costs if not c.error}
    lines = ["| Contender | Params | GFLOPs/img | Activations (MiB) | Forward ms | Train step ms |",
             "|---|---|---|---|---|---|"]
    for c in costs:
        label = LABELS[c.name]
        if c.name in ("packed", "reference_pe"):
            label += f"({config['alpha']:g},{config['num_estimators']},{config['gamma']})"
        if c.error:
            lines.append(f"| {label} | failed on this device: {c.error.replace('|', '/')} | | | | |")
            continue
        lines.append(f"| {label} | {c.params / 1e6:.3f} M | {c.flops / 1e9:.3f} | {c.activation_bytes / 2**20:.1f} | "
                     f"{c.forward_ms:.1f} | {c.train_step_ms:.1f} |")
    ratios = []
    if "packed" in by_name and "single" in by_name:
        pe, single = by_name["packed"], by_name["single"]
        ratios.append(f"PE/Single: params {pe.params / single.params:.3f}, FLOPs {pe.flops / single.flops:.3f}, "
                      f"train step {pe.train_step_ms / single.train_step_ms:.2f}x, "
                      f"forward {pe.forward_ms / single.forward_ms:.2f}x")
    for deep in ("deep_loop", "deep_vmap"):
        if deep in by_name and "packed" in by_name:
            d, pe = by_name[deep], by_name["packed"]
            ratios.append(f"{LABELS[deep]}/PE: train step {d.train_step_ms / pe.train_step_ms:.2f}x, "
                          f"forward {d.forward_ms / pe.forward_ms:.2f}x")
    if REFERENCE in by_name and "packed" in by_name:
        ref, pe = by_name[REFERENCE], by_name["packed"]
        ratios.append(f"pe-lab PE / torch-uncertainty PE: train step {pe.train_step_ms / ref.train_step_ms:.2f}x, "
                      f"params {pe.params / ref.params:.3f}")
    return "\n".join(lines + [""] + ratios)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m pe_lab.bench", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="resnet18")
    p.add_argument("--alpha", type=float, default=2)
    p.add_argument("--num-estimators", type=int, default=4)
    p.add_argument("--gamma", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--contenders", default=None,
                   help=f"comma-separated, from {', '.join(CONTENDERS)}, reference_pe "
                        "(default: all, with reference_pe when torch-uncertainty is installed)")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--out", default=None, help="JSON path (default assets/results/bench-<model>-<device>.json)")
    args = p.parse_args(argv)
    try:  # every option is checked before a model is built
        device = get_device(args.device)
        if args.contenders is None:
            contenders = CONTENDERS + ((REFERENCE,) if reference_available() else ())
        else:
            contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
            if not contenders:
                raise ValueError(f"--contenders names none; choose from {', '.join((*CONTENDERS, REFERENCE))}")
            for kind in contenders:
                check_choice("contender", kind, (*CONTENDERS, REFERENCE))
        check_int("--batch", args.batch, minimum=1)
        check_int("--repeats", args.repeats, minimum=1)
        check_int("--warmup", args.warmup, minimum=0)
        with torch.device("meta"):
            build(args.model, "packed", alpha=args.alpha, num_estimators=args.num_estimators, gamma=args.gamma)
    except (ValueError, TypeError) as error:
        p.error(str(error))
    costs = measure(args.model, alpha=args.alpha, num_estimators=args.num_estimators, gamma=args.gamma,
                    batch_size=args.batch, device=device, contenders=contenders, repeats=args.repeats,
                    warmup=args.warmup, channels_last=not args.no_channels_last)
    config = {k: v for k, v in vars(args).items() if k != "out"}
    table = format_table(costs, config)
    result = {"config": config, "costs": [dataclasses.asdict(c) for c in costs], "table": table,
              "provenance": {"command": "python -m pe_lab.bench " + " ".join(argv if argv is not None else
                                                                              __import__("sys").argv[1:]),
                             "hardware": hardware(device), "torch": torch.__version__, "git_commit": _git_commit(),
                             "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}}
    out = Path(args.out or f"assets/results/bench-{args.model}-{device.type}.json")
    _atomic_json(result, out)
    print(table)
    print(f"\n{result['provenance']['hardware']}; torch {torch.__version__}; wrote {out}")
    return result


if __name__ == "__main__":
    main()
