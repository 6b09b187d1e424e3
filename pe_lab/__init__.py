"""pe-lab: an interactive teaching lab for Packed-Ensembles (Laurent et al., ICLR 2023).

This module is the namespace the notebooks use: ``from pe_lab import build, fit, load_committed, toy_explorer``.
Each name is imported from its home module on first use (PEP 562), so ``import pe_lab.nn.layers`` stays fast.
The package in layers (a module imports only from its own layer or below; ``tests/test_layout.py`` checks):
``config``/``runtime``/``validate``/``files`` (0) < ``nn`` (1) < ``data`` (2) < ``methods`` (3) < ``evaluation`` (4)
< ``training`` (5) < ``results`` (6) < ``experiments`` (7) < ``teaching`` (8) < ``cli`` (9). Only ``teaching``
imports a plotting or widget library; only ``cli`` parses command lines.
"""

from __future__ import annotations

import importlib

from .version import __version__

# name -> the module that is its one home
_HOMES = {
    "config": ("assets_dir", "env_flag", "is_quick", "set_seed"),
    "runtime": ("get_device",),
    "nn.layers": ("PackedConv2d", "PackedLinear", "logits_by_member", "members_to_packed", "packed_to_members"),
    "nn.tutorial": ("tutorial_network",),
    "nn.masks": ("from_dense", "layer_mask", "member_mask", "to_dense"),
    "nn.models": ("ARCHITECTURES", "ModelSpec"),
    "methods.registry": ("METHODS", "build", "build_from_spec", "build_member", "label_for"),
    "methods.packed": ("pack", "unpack"),
    "methods.masksembles": ("generate_masks",),
    "evaluation.metrics": ("OOD_CRITERIA", "accuracy", "brier_score", "calibration_direction", "diversity", "ece",
                           "ece_by_hand", "entropy", "evaluate_predictions", "first_members", "mutual_information",
                           "nll", "ood_metrics", "ood_score", "reliability_data", "variation_ratio",
                           "with_temperature"),
    "evaluation.independence.audit": ("audit_members",),
    "evaluation.independence.findings": ("IndependenceReport",),
    "evaluation.independence.layouts": ("LAYOUTS", "Layout"),
    "evaluation.prediction": ("evaluate", "predict_member_probs", "predict_proba"),
    "evaluation.verdict": ("Comparison", "compare"),
    "data.images.imageset": ("ImageSet", "subset"),
    "data.images.datasets": ("lab_data", "load_cifar10", "load_svhn"),
    "data.images.synthetic": ("synthetic_dataset",),
    "training.loop": ("fit",),
    "experiments.spec": ("DataSpec", "EngineSpec", "Evaluation", "Experiment", "ModelSettings", "Outputs"),
    "experiments.presets": ("PRESETS", "preset"),
    "experiments.run": ("check_experiment", "run_experiment"),
    "experiments.shift": ("ShiftRequest", "evaluate_report_shift"),
    "experiments.sweep": ("collect_sweep", "run_sweep"),
    "results.cost": ("contender_label", "count_flops", "count_params", "measure"),
    "results.comparisons": ("higher_is_better", "verdict"),
    "results.predictions": ("load_committed_samples", "load_predictions", "pick_sample_images"),
    "results.prose": ("collapsed_runs", "describe", "describe_gap_vs_doubling", "describe_sweeps"),
    "results.trained": ("TrainedCheckpointError", "TrainedModel", "available_trained", "load_all_trained",
                        "load_trained", "trained_table", "trained_test_set"),
    "results.tutorial": ("TUTORIALS", "compare_networks", "load_tutorial", "prediction_differences", "run_tutorial",
                         "runs_by_network", "tutorial_table"),
    "results.provenance": ("shown_command", "todays_command"),
    "results.records": ("MethodSummary", "Report", "ReportError", "Run", "Statistics", "Sweep", "SweepRow",
                        "read_report", "read_sweep", "write_record"),
    "results.report_files": ("load_committed", "load_results"),
    "results.sweeps": ("load_sweep", "load_sweep_predictions"),
    "results.tables": ("format_table", "summarise", "sweep_table"),
    "results.train_and_measure": ("compare_methods",),
    "teaching.toy": ("make_toy", "toy_compare"),
    "teaching.viz": ("confusion_matrix_figure", "cost_figure", "diversity_figure", "frontier_figure", "learning_curves",
                     "mask_figure", "ood_curves", "ood_histogram", "prediction_grid", "rearrange_figure",
                     "reliability_diagram", "results_figure", "sharing_figure", "shift_figure", "sweep_figure",
                     "toy_figure", "width_figure"),
    "teaching.explorers": ("alpha_explorer", "calibration_explorer", "cost_explorer", "ensemble_size_explorer",
                           "frontier_explorer", "lab_explorer", "mask_explorer", "ood_explorer", "seed_explorer",
                           "shift_explorer", "toy_explorer", "width_explorer"),
    "teaching.exercises.grouped": ("check_grouped_index", "check_readers"),
    "teaching.exercises.masks": ("check_mask",),
    "teaching.exercises.parameters": ("check_pe_params",),
    "teaching.exercises.averaging": ("check_ensemble_average", "check_rules_differ"),
    "teaching.exercises.calibration": ("check_ece",),
    "teaching.exercises.batch_ensemble": ("check_member_weight",),
    "teaching.exercises.tutorial_loss": ("check_tutorial_loss",),
    "teaching.exercises.width": ("check_member_channels",),
    "teaching.solutions": ("SOLUTIONS", "exercise_command", "exercise_run"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = ["__version__", *sorted(_HOME_OF)]


def __getattr__(name: str):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'pe_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once, then a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME_OF))
