"""The lab's tabs: every explorer on the committed results (no data download, no training except the toy's), as
the kernel page (``lab_explorer``, ``make explorer``) and the static site (``make site``) both show them."""

from __future__ import annotations

import json

from .layers import cost_definition, mask_definition
from .predictions import calibration_definition, ensemble_size_definition, ood_definition, shift_definition
from .state import Definition
from .sweeps import alpha_definition, frontier_definition, seed_definition, width_definition
from .toy_world import toy_definition

# tab -> its title in the kernel page; the link names a tab by the key
TITLES = {"masks": "Masks", "costs": "Costs", "calibration": "Calibration", "ood": "OOD", "shift": "Shift",
          "toy": "Toy (trains live)", "alpha": "Alpha sweep", "width": "Width sweep", "ensemble-size": "Ensemble size",
          "frontier": "Frontier", "seeds": "Seeds"}
DEFAULT_TAB = "masks"


def lab_definitions(*, toy_epochs: int = 300, toy_grid_steps: int = 70, toy_compare=None) -> dict[str, Definition]:
    """Every tab's definition, keyed by its name in a link (``TITLES`` gives its title). ``toy_compare``: what
    trains a toy state (the site passes a cached ``toy_compare``)."""
    from ...config import assets_dir
    from ...methods.registry import label_for
    from ...results.predictions import load_committed_samples
    from ...results.records import read_report
    from ...results.report_files import load_committed
    from ...results.sweeps import load_sweep, load_sweep_predictions

    results = assets_dir() / "results"
    report, predictions = load_committed("cifar10_resnet20")
    names = {r.method: label_for(r.spec) for r in report.runs}
    shift_report = json.loads((results / "lenet_converged-shift.json").read_text())
    samples = load_committed_samples("cifar10_resnet20")
    alpha = load_sweep("alpha")
    stored = {row.label: load_sweep_predictions(alpha, row.label) for row in alpha.rows if row.method != "single"}
    rivals = read_report(results / "rivals_lenet.json")
    return {
        "masks": mask_definition(6, 6),
        "costs": cost_definition("resnet20"),
        "calibration": calibration_definition({names[m]: (p["test"], p["test_labels"])
                                               for m, p in predictions.items()}),
        "ood": ood_definition({names[m]: (p["test"], p["ood"]) for m, p in predictions.items()}),
        "shift": shift_definition({label_for(r["spec"]): r["shift"] for r in shift_report["results"].values()},
                                  samples["images"] if samples else None),
        "toy": toy_definition("spirals", hidden=8, alpha=1, epochs=toy_epochs, grid_steps=toy_grid_steps,
                              compare=toy_compare),
        "alpha": alpha_definition(alpha),
        "width": width_definition(load_sweep("width")),
        "ensemble-size": ensemble_size_definition({label: (s["test"], s["test_labels"])
                                                   for label, s in stored.items()}),
        "frontier": frontier_definition(rivals),
        "seeds": seed_definition(rivals),
    }
