"""pe-lab: an interactive teaching lab for Packed-Ensembles (Laurent et al., ICLR 2023).

This module is the face the notebooks use: ``from pe_lab import build, fit, load_committed, toy_explorer``.
Each name is imported from its home module on first use (PEP 562), so ``import pe_lab.layers`` stays fast and
the core (``layers``, ``masks``, ``models``, ``methods``, ``ensemble``, ``metrics``, ``train``, ``data``) never
imports a plotting or widget library; ``viz`` and ``explorers`` are the teaching face on top of it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> the module that is its one home
_HOMES = {
    "config": ("assets_dir", "env_flag", "get_device", "is_quick", "set_seed"),
    "layers": ("PackedConv2d", "PackedLinear", "logits_by_member", "members_to_packed", "packed_to_members"),
    "masks": ("from_dense", "layer_mask", "member_mask", "to_dense"),
    "models": ("ARCHITECTURES", "ModelSpec"),
    "methods": ("METHODS", "build", "build_from_spec", "build_member", "label_for"),
    "ensemble": ("pack", "predict_proba", "unpack"),
    "metrics": ("OOD_CRITERIA", "accuracy", "brier_score", "calibration_direction", "diversity", "ece", "ece_by_hand",
                "entropy", "evaluate_predictions", "first_members", "mutual_information", "nll", "ood_metrics",
                "ood_score", "reliability_data", "variation_ratio", "with_temperature"),
    "data": ("ImageSet", "lab_data", "load_cifar10", "load_svhn", "subset", "synthetic_dataset"),
    "train": ("evaluate", "fit", "predict_member_probs"),
    "cost": ("contender_label", "count_flops", "count_params", "measure"),
    "presets": ("PRESETS", "experiment_argv"),
    "report": ("describe", "describe_sweeps", "format_table", "load_committed", "load_committed_samples",
               "load_predictions", "load_results", "load_sweep", "load_sweep_predictions", "pick_sample_images",
               "read_report", "summarise", "sweep_table", "verdict"),
    "runs": ("compare_methods",),
    "toy": ("make_toy", "toy_compare"),
    "viz": ("confusion_matrix_figure", "cost_figure", "diversity_figure", "frontier_figure", "learning_curves",
            "mask_figure", "ood_curves", "ood_histogram", "prediction_grid", "rearrange_figure", "reliability_diagram",
            "results_figure", "sharing_figure", "shift_figure", "sweep_figure", "toy_figure", "width_figure"),
    "explorers": ("alpha_explorer", "calibration_explorer", "cost_explorer", "ensemble_size_explorer", "lab_explorer",
                  "frontier_explorer", "mask_explorer", "ood_explorer", "seed_explorer", "shift_explorer",
                  "toy_explorer"),
    "masksembles": ("generate_masks",),
    "solutions": ("SOLUTIONS", "exercise_command", "exercise_run"),
    "exercises": ("check_ece", "check_ensemble_average", "check_grouped_index", "check_mask", "check_member_channels",
                  "check_member_weight", "check_pe_params", "check_readers", "check_rules_differ",
                  "check_tutorial_loss"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = ["__version__", "run_experiment_command", *sorted(_HOME_OF)]


def run_experiment_command(argv: list[str]) -> dict:
    """What ``python -m pe_lab.experiment ARGS`` does, from a notebook: train, measure, write the report."""
    from .experiment import main

    return main(argv)


def __getattr__(name: str):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'pe_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once, then a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME_OF))
