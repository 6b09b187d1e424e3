"""The committed sweeps (``assets/results/sweep_<name>_lenet.json``) and the predictions stored for their rows."""

from __future__ import annotations

from ..config import assets_dir
from .predictions import load_predictions
from .records import read_sweep

__all__ = ["load_sweep", "load_sweep_predictions"]


def load_sweep(name: str = "alpha") -> dict:
    """The committed sweep ``assets/results/sweep_<name>_lenet.json`` (``name``: ``alpha`` or ``width``)."""
    path = assets_dir() / "results" / f"sweep_{name}_lenet.json"
    if not path.exists():
        raise FileNotFoundError(f"no sweep at {path}; run pe-lab sweep run / collect first")
    return read_sweep(path)  # checked field by field (``records.check_sweep``)


def load_sweep_predictions(report: dict, label: str) -> dict:
    """The seed-0 member probabilities stored for the row ``label`` of a sweep (``load_predictions`` format)."""
    row = next((r for r in report["rows"] if r["label"] == label), None)
    if row is None:
        raise ValueError(f"no row {label!r} in this sweep; rows: {', '.join(r['label'] for r in report['rows'])}")
    alpha = f"-a{row['alpha']:g}" if row["method"] == "packed" else ""
    path = assets_dir() / "results" / "sweep" / f"lenet-w{row['width']:g}-{row['method']}{alpha}-seed0-predictions.pt"
    return load_predictions(path)
