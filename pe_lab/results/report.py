"""Reports: what the command lines write and the notebooks read.

A report is the JSON ``pe-lab experiment`` writes (provenance, config, runs, summary); beside it the
first seed's member probabilities (``-predictions-<method>-seed<s>.pt``) and a few test images (``-samples.pt``).
Each concept has its module: ``report_files`` (reading reports, the lock), ``predictions`` (stored probabilities and
sample images), ``tables``, ``prose`` (generated sentences), ``comparisons`` (``verdict``) and ``sweeps``; the
names are re-exported here, where older code imports them from.
"""

from __future__ import annotations

from .comparisons import higher_is_better, verdict
from .predictions import (
    load_committed_samples,
    load_predictions,
    pick_sample_images,
    save_predictions,
    save_sample_images,
)
from .prose import collapsed_runs, describe, describe_gap_vs_doubling, describe_sweeps
from .records import ReportError
from .report_files import RunLocked, load_committed, load_results, read_report, report_lock
from .sweeps import load_sweep, load_sweep_predictions
from .tables import columns, format_table, summarise, sweep_table

__all__ = ["ReportError", "RunLocked", "describe", "format_table", "load_committed",
           "load_committed_samples", "load_predictions", "load_results", "pick_sample_images", "read_report",
           "report_lock", "save_predictions", "save_sample_images", "summarise", "collapsed_runs", "columns",
           "describe_gap_vs_doubling", "describe_sweeps", "higher_is_better", "load_sweep", "load_sweep_predictions",
           "sweep_table", "verdict"]
