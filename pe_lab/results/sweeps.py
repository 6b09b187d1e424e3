"""The committed sweeps (``assets/results/sweep_<name>_lenet.json``) and the predictions stored for their rows."""

from __future__ import annotations

from ..config import assets_dir
from .predictions import load_predictions
from .records import Sweep, read_sweep

__all__ = ["load_sweep", "load_sweep_predictions"]


def load_sweep(name: str = "alpha") -> Sweep:
    """The committed sweep ``assets/results/sweep_<name>_lenet.json`` (``name``: ``alpha`` or ``width``), read by
    ``records.read_sweep`` (checked field by field)."""
    path = assets_dir() / "results" / f"sweep_{name}_lenet.json"
    if not path.exists():
        raise FileNotFoundError(f"no sweep at {path}; run pe-lab sweep run / collect first")
    return read_sweep(path)


def load_sweep_predictions(sweep: Sweep, label: str) -> dict:
    """The seed-0 member probabilities stored for the row ``label`` of ``sweep`` (``load_predictions`` format);
    ``KeyError`` naming the rows there are when it has no such row."""
    row = sweep.row(label)
    alpha = f"-a{row.alpha:g}" if row.method == "packed" else ""
    path = assets_dir() / "results" / "sweep" / f"lenet-w{row.width:g}-{row.method}{alpha}-seed0-predictions.pt"
    return load_predictions(path)
