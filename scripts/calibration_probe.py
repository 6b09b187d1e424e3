"""Is an ensemble's calibration gap a matter of temperature? Fit one temperature per method and look again.

Reads a committed report's seed-0 member probabilities (``assets/results/<name>-predictions-<method>-seed0.pt``),
splits the CIFAR-10 test images into two halves (even indices: fit, odd indices: report), and for each method
fits one temperature ``T`` to the ensemble's predictive distribution, ``softmax(log p_bar / T)`` with ``p_bar`` the
mean of the members' probabilities, by minimising the NLL on the fit half (scipy's bounded scalar search over
``log T``). On the other half it reports NLL, ECE (15 bins) and the reliability direction (bins whose accuracy
is above their confidence: under-confident; below: over-confident) before and after. ``T > 1`` softens the
predictions, so a fitted ``T < 1`` says the method was under-confident; ``T > 1`` over-confident.

Writes ``assets/results/<name>-temperature.json`` with its provenance: the command, the source report's
provenance and a fingerprint of the files it read (SHA-256 of the report and of every predictions file), the git
commit and the date::

    python scripts/calibration_probe.py                       # lenet_converged
    python scripts/calibration_probe.py --report lenet_noaug
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import torch
from scipy.optimize import minimize_scalar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pe_lab.evaluation.metrics import calibration_direction, ece, nll  # noqa: E402
from pe_lab.results.provenance import provenance, write_json  # noqa: E402
from pe_lab.results.report_files import load_results  # noqa: E402

RESULTS = ROOT / "assets" / "results"
NUM_BINS = 15
LOG_T_BOUNDS = (math.log(0.05), math.log(20.0))  # T from 0.05 to 20: far beyond any fit seen on these runs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scaled(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(log p / T)``: the temperature applied to a predictive distribution ``(N, K)``."""
    return (probs.double().clamp_min(1e-12).log() / temperature).softmax(-1).float()


def fit_temperature(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The ``T`` minimising the NLL of ``scaled(probs, T)`` on ``(probs, labels)``."""
    found = minimize_scalar(lambda log_t: nll(scaled(probs, math.exp(log_t)), labels), bounds=LOG_T_BOUNDS,
                            method="bounded", options={"xatol": 1e-4})
    return math.exp(found.x)


def calibration(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    direction = calibration_direction(probs, labels, NUM_BINS)
    return {"nll": nll(probs, labels), "ece": ece(probs, labels, NUM_BINS),
            "mean_confidence": probs.max(1).values.mean().item(),
            "accuracy": (probs.argmax(1) == labels).float().mean().item(), **direction}


def probe(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    report, predictions = load_results(path)
    seed = report.provenance.seeds[0]
    methods = {}
    for method, stored in predictions.items():
        probs, labels = stored["test"].mean(1), stored["test_labels"]
        fit, held = (probs[0::2], labels[0::2]), (probs[1::2], labels[1::2])
        temperature = fit_temperature(*fit)
        methods[method] = {"temperature": temperature, "members": int(stored["test"].shape[1]),
                           "before": calibration(*held), "after": calibration(scaled(held[0], temperature), held[1])}
        print(f"{method:12s} T = {temperature:.3f}; held-out half: NLL {methods[method]['before']['nll']:.4f} -> "
              f"{methods[method]['after']['nll']:.4f}, ECE {methods[method]['before']['ece']:.4f} -> "
              f"{methods[method]['after']['ece']:.4f}, under-confident bins "
              f"{methods[method]['before']['under_bins']}/{methods[method]['before']['filled_bins']} -> "
              f"{methods[method]['after']['under_bins']}/{methods[method]['after']['filled_bins']}")
    read = [path] + [path.with_name(f"{path.stem}-predictions-{m}-seed{seed}.pt") for m in predictions]
    source = {"report": f"assets/results/{path.name}", "seed": seed, "provenance": report.provenance.to_json(),
              "config_data": (report.config or {}).get("data"),
              "identity_data": (report.identity or {}).get("data"),   # newer reports: data digests
              "sha256": {f"assets/results/{p.name}": sha256(p) for p in read}}
    note = (f"one temperature per method on softmax(log mean_m p_m / T), fitted by NLL on the even-indexed half of "
            f"the {len(labels)} test images (seed {seed}), reported on the odd-indexed half; ECE with {NUM_BINS} bins")
    command = "python scripts/calibration_probe.py" + ("" if name == "lenet_converged" else f" --report {name}")
    return {"provenance": provenance(command, torch.device("cpu"), source=source, note=note), "methods": methods}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", default="lenet_converged",
                        help="a committed report's name in assets/results (default: lenet_converged)")
    parser.add_argument("--out", type=Path, default=None, help="default: assets/results/<report>-temperature.json")
    args = parser.parse_args()
    if not (RESULTS / f"{args.report}.json").exists():
        parser.error(f"--report: no committed report assets/results/{args.report}.json")
    result = probe(args.report)
    out = args.out or RESULTS / f"{args.report}-temperature.json"
    write_json(result, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
