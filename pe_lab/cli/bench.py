"""``pe-lab bench``: Single vs Deep Ensemble vs Packed-Ensemble costs in one table.

    pe-lab bench --model resnet18 --alpha 2 --num-estimators 4 --gamma 1 --batch 64 --device cpu

Prints parameters, forward FLOPs per image, activation memory of a training step, and median times of
a forward pass and of a full training step (forward + backward + SGD step), with the ratios PE/Single
and DE/PE, and writes the same as JSON (with the hardware it ran on).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from ..methods.registry import build, get_method
from ..results.cost import REFERENCE, Cost, contender_label, measure, reference_available, registered_contenders
from ..results.provenance import provenance, recorded_command, write_json
from ..runtime import get_device
from ..validate import check_choice, check_int
from .arguments import Rule, apply_rules
from .boundary import command, probe_writable

# The report compares every contender with the lab's subject (the PE) and the PE with the baseline.
BASELINE, SUBJECT = "single", "packed"
_RULES = {"alpha": Rule("--alpha", positive=True, maximum=64), "num_estimators": Rule("--num-estimators", True, 1, 256),
          "gamma": Rule("--gamma", True, 1, 256), "batch": Rule("--batch", True, 1, 2**16),
          "repeats": Rule("--repeats", True, 1, 10_000), "warmup": Rule("--warmup", True, 0, 10_000)}


def _label(name: str, config: dict) -> str:
    label = contender_label(name)
    if name in (SUBJECT, REFERENCE):
        label = get_method(SUBJECT).label(config).replace(get_method(SUBJECT).title, label, 1)
    return label


def format_table(costs: list[Cost], config: dict) -> str:
    by_name = {c.name: c for c in costs if not c.error}
    lines = ["| Contender | Params | GFLOPs/img | Activations (MiB) | Forward ms | Train step ms |",
             "|---|---|---|---|---|---|"]
    for c in costs:
        label = _label(c.name, config)
        if c.error:
            lines.append(f"| {label} | failed on this device: {c.error.replace('|', '/')} | | | | |")
            continue
        lines.append(f"| {label} | {c.params / 1e6:.3f} M | {c.flops / 1e9:.3f} | {c.activation_bytes / 2**20:.1f} | "
                     f"{c.forward_ms:.1f} | {c.train_step_ms:.1f} |")
    ratios = []
    if SUBJECT in by_name and BASELINE in by_name:
        pe, single = by_name[SUBJECT], by_name[BASELINE]
        ratios.append(f"PE/Single: params {pe.params / single.params:.3f}, FLOPs {pe.flops / single.flops:.3f}, "
                      f"train step {pe.train_step_ms / single.train_step_ms:.2f}x, "
                      f"forward {pe.forward_ms / single.forward_ms:.2f}x")
    for name, other in by_name.items():
        if name in (SUBJECT, BASELINE, REFERENCE) or SUBJECT not in by_name:
            continue
        pe = by_name[SUBJECT]
        ratios.append(f"{contender_label(name)}/PE: train step {other.train_step_ms / pe.train_step_ms:.2f}x, "
                      f"forward {other.forward_ms / pe.forward_ms:.2f}x")
    if REFERENCE in by_name and SUBJECT in by_name:
        ref, pe = by_name[REFERENCE], by_name[SUBJECT]
        ratios.append(f"pe-lab PE / torch-uncertainty PE: train step {pe.train_step_ms / ref.train_step_ms:.2f}x, "
                      f"params {pe.params / ref.params:.3f}")
    return "\n".join(lines + [""] + ratios)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pe-lab bench", description=__doc__.splitlines()[0],
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
                   help=f"comma-separated, from {', '.join(tuple(registered_contenders()))}, reference_pe "
                        "(default: all, with reference_pe when torch-uncertainty is installed)")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--amp-dtype", default="float16", choices=("float16", "bfloat16"),
                   help="CUDA mixed precision: fp16 with loss scaling, or bf16")
    p.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                   help="wrap each contender's model in torch.compile (default backend inductor)")
    p.add_argument("--out", default=None,
                   help="JSON path (default runs/bench-<model>-<device>.json; committed results only when named)")
    return apply_rules(p, _RULES)


@command("bench")
def main(argv: list[str] | None = None) -> dict:
    p = _parser()
    args = p.parse_args(argv)
    try:  # every option is checked before a model is built
        device = get_device(args.device)
        if args.contenders is None:
            contenders = tuple(registered_contenders()) + ((REFERENCE,) if reference_available() else ())
        else:
            contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
            if not contenders:
                choices = ", ".join((*registered_contenders(), REFERENCE))
                raise ValueError(f"--contenders names none; choose from {choices}")
            for kind in contenders:
                check_choice("contender", kind, (*registered_contenders(), REFERENCE))
        check_int("--batch", args.batch, minimum=1)
        check_int("--repeats", args.repeats, minimum=1)
        check_int("--warmup", args.warmup, minimum=0)
        if args.compile is not None:
            check_choice("--compile backend", args.compile, tuple(torch.compiler.list_backends(exclude_tags=())))
        with torch.device("meta"):
            build(args.model, "packed", alpha=args.alpha, num_estimators=args.num_estimators, gamma=args.gamma)
        out = Path(args.out or f"runs/bench-{args.model}-{device.type}.json")
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder: give a file name")
        problem = probe_writable("--out's folder", out.parent)  # before the minutes of measuring, not after
        if problem:
            raise ValueError(f"--out {out} cannot be written: {problem}")
    except (ValueError, TypeError) as error:
        p.error(str(error))
    costs = measure(args.model, alpha=args.alpha, num_estimators=args.num_estimators, gamma=args.gamma,
                    batch_size=args.batch, device=device, contenders=contenders, repeats=args.repeats,
                    warmup=args.warmup, channels_last=not args.no_channels_last, amp_dtype=args.amp_dtype,
                    compile_backend=args.compile)
    config = {k: v for k, v in vars(args).items() if k != "out"}
    table = format_table(costs, config)
    command = recorded_command("pe-lab bench", argv if argv is not None else sys.argv[1:])
    result = {"config": config, "costs": [dataclasses.asdict(c) for c in costs], "table": table,
              "provenance": provenance(command, device)}
    write_json(result, out)  # atomic; an OSError is the boundary's one line
    print(table)
    print(f"\n{result['provenance']['hardware']}; torch {torch.__version__}; wrote {out}")
    return result


if __name__ == "__main__":
    main()
