"""``pe-lab experiment`` (also ``python -m pe_lab experiment``): train Single / DE / PE, measure them on CIFAR-10
and SVHN, report.

Example (this is what produced ``assets/results/cifar10_resnet20.json``)::

    pe-lab experiment --methods single,deep,packed --model resnet20 --alpha 2 \\
        --num-estimators 4 --gamma 1 --epochs 3 --data ../shared/data --seeds 0,1,2

The flags are parsed into a ``pe_lab.Experiment`` (``FLAGS`` says which flag sets which field of which part) and
``pe_lab.run_experiment`` does the rest: it prints one table (mean ± std over seeds) and writes JSON with
provenance. Every flag is checked before any data is read (exit 2 with the rule).
"""

from __future__ import annotations

import argparse
import sys

from ..data.images import DataError
from ..evaluation.metrics import OOD_CRITERIA
from ..experiments.presets import PRESETS, preset
from ..experiments.run import check_experiment, run_experiment
from ..experiments.spec import DataSpec, EngineSpec, Evaluation, Experiment, ModelSettings, Outputs
from ..methods.registry import METHODS, method_options
from ..results.provenance import recorded_command
from ..results.records import ReportError
from ..results.report_files import RunLocked
from ..results.tables import format_table
from ..training.checkpoint import CheckpointError, RunMismatch
from ..training.engine_choice import ENGINES, STRATEGIES, LightningMissing, global_rank
from ..training.loop import RunInterrupted
from ..training.recipe import MEMBER_LOSSES, SCHEDULES, Recipe, RecipeError
from ..training.step import TrainingDiverged
from .arguments import Rule, apply_rules, seed_list
from .boundary import command

__all__ = ["FLAGS", "NUMERIC", "experiment_from_args", "main", "parse_args", "parser"]

_COUNT = 10**7  # a bound on image counts per class and the like: far above any data set, far below an overflow
# Every numeric option's whole range, checked by the parser's ``type=``: an infinite, huge, fractional or negative
# value never reaches torch.
NUMERIC = {
    "alpha": Rule("--alpha", positive=True, maximum=64), "num_estimators": Rule("--num-estimators", True, 1, 256),
    "gamma": Rule("--gamma", True, 1, 256), "width": Rule("--width", positive=True, maximum=64),
    "epochs": Rule("--epochs", True, 1, 100_000), "batch_size": Rule("--batch-size", True, 1, 2**20),
    "lr": Rule("--lr", positive=True, maximum=10), "label_smoothing": Rule("--label-smoothing", False, 0, 0.999),
    "momentum": Rule("--momentum", False, 0, 0.999),
    "weight_decay": Rule("--weight-decay", False, 0, 1), "train_per_class": Rule("--train-per-class", True, 1, _COUNT),
    "test_per_class": Rule("--test-per-class", True, 1, _COUNT), "num_bins": Rule("--num-bins", True, 1, 10_000),
    "shift_per_class": Rule("--shift-per-class", True, 1, _COUNT), "image_size": Rule("--image-size", True, 8, 4096),
    "num_workers": Rule("--num-workers", True, 0, 1024),
}


def _method_rules() -> dict[str, Rule]:
    """Each registered method's own hyperparameters, with the ranges its record declares (asked when a parser is
    built, so a method registered later has its flag and its rule)."""
    return {o.name: Rule(o.flag, o.type is int, o.minimum, o.maximum, o.positive) for o in method_options()}


def _negated(value):
    return not value


def _same(value):
    return value


def _seeds(value):
    return tuple(seed_list("--seeds", value)) if isinstance(value, str) else tuple(value)


def _methods(value):
    return tuple(m.strip() for m in value.split(",") if m.strip()) if isinstance(value, str) else tuple(value)


def _joined(value):
    return ",".join(str(v) for v in value)


# flag destination -> (part of the Experiment, its field, flag value -> field value, field value -> flag value)
FLAGS = {
    **{dest: ("recipe", dest, _same, _same) for dest in ("epochs", "batch_size", "lr", "momentum", "weight_decay",
                                                         "schedule", "label_smoothing")},
    "no_nesterov": ("recipe", "nesterov", _negated, _negated), "no_augment": ("recipe", "augment", _negated, _negated),
    "member_loss": ("recipe", "member_reduction", _same, _same),
    "methods": ("models", "methods", _methods, _joined),
    **{dest: ("models", dest, _same, _same) for dest in ("model", "alpha", "num_estimators", "gamma", "width")},
    "seeds": ("experiment", "seeds", _seeds, _joined),
    "data": ("data", "root", _same, _same), "no_ood": ("data", "ood", _negated, _negated),
    "data_mode": ("data", "mode", _same, _same),
    **{dest: ("data", dest, _same, _same) for dest in ("offline", "synthetic", "train_per_class", "test_per_class",
                                                       "train_folder", "test_folder", "ood_folder", "image_size",
                                                       "num_workers")},
    **{dest: ("evaluation", dest, _same, _same) for dest in ("num_bins", "ood_criterion", "shift", "shift_per_class",
                                                             "cifar10c", "texture_folder")},
    "engine": ("engine", "name", _same, _same),
    **{dest: ("engine", dest, _same, _same) for dest in ("devices", "num_nodes", "strategy", "device")},
    "no_progress": ("outputs", "progress", _negated, _negated), "no_eta": ("outputs", "eta", _negated, _negated),
    **{dest: ("outputs", dest, _same, _same) for dest in ("out", "runs_dir", "resume", "restart", "save_predictions",
                                                          "eta_only")},
}
_PARTS = {"recipe": Recipe, "models": ModelSettings, "data": DataSpec, "evaluation": Evaluation,
          "engine": EngineSpec, "outputs": Outputs}


def experiment_from_args(args: argparse.Namespace, command_line: str = "") -> Experiment:
    """The ``Experiment`` a parsed command line describes (each part checks its fields as it is made)."""
    fields: dict[str, dict] = {part: {} for part in (*_PARTS, "experiment")}
    for dest, (part, name, to_field, _) in FLAGS.items():
        fields[part][name] = to_field(getattr(args, dest))
    fields["models"]["options"] = {name: getattr(args, name) for name in _method_rules()}
    parts = {part: kind(**fields[part]) for part, kind in _PARTS.items()}
    return Experiment(**parts, **fields["experiment"], command=command_line)


def in_flags(message: str) -> str:
    """An ``Experiment``'s error message in the command line's words: a field a flag sets (not negated) named by its
    flag where the message names the setting itself (``alpha must be ...`` -> ``--alpha must be ...``; ``unknown
    model``, ``... and test_folder``, ``is the train_folder``), not where the word is prose (``a Lightning
    strategy``) or part of a value shown (``num_estimators*gamma=12``)."""
    import re

    for dest, (_, name, to_field, _) in FLAGS.items():
        if to_field is _negated:
            continue
        flag = "--" + dest.replace("_", "-")
        message = re.sub(rf"(^|\bunknown |\band |\bis the ){name}(?![-\w*=])", rf"\g<1>{flag}", message)
    return message


def _defaults_of(experiment: Experiment) -> dict:
    """The flag values that describe ``experiment`` (a preset as the parser's defaults)."""
    values = {}
    for dest, (part, name, _, to_flag) in FLAGS.items():
        record = experiment if part == "experiment" else getattr(experiment, part)
        values[dest] = to_flag(getattr(record, name))
    values.update({name: experiment.models.options[name] for name in _method_rules()})
    return values


def _recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The model, the method and the training recipe: everything a run's identity is made of."""
    g = p.add_argument_group("model and recipe")
    g.add_argument("--preset", choices=sorted(PRESETS), help="fill the options below from a preset")
    g.add_argument("--methods", default="single,deep,packed", help=f"comma-separated, of {', '.join(METHODS)}")
    g.add_argument("--model", default="resnet20")
    g.add_argument("--alpha", type=float, default=2)
    g.add_argument("--num-estimators", type=int, default=4)
    g.add_argument("--gamma", type=int, default=1)
    g.add_argument("--width", type=float, default=1.0,
                   help="base-width multiplier of the architecture, for every method (2: twice the channels)")
    g.add_argument("--epochs", type=int, default=4)
    g.add_argument("--batch-size", type=int, default=128)
    g.add_argument("--lr", type=float, default=0.1)
    g.add_argument("--label-smoothing", type=float, default=0.0)
    for option in method_options():
        g.add_argument(option.flag, type=option.type, default=option.default, help=option.help)
    g.add_argument("--momentum", type=float, default=0.9)
    g.add_argument("--no-nesterov", action="store_true", help="plain momentum (as the tutorials use)")
    g.add_argument("--weight-decay", type=float, default=5e-4)
    g.add_argument("--schedule", default="onecycle", choices=SCHEDULES)
    g.add_argument("--no-augment", action="store_true", help="no random crop and flip")
    g.add_argument("--member-loss", default="sum", choices=MEMBER_LOSSES,
                   help="sum over members (each gets its own gradient) or mean (torch-uncertainty's convention)")


def _data_arguments(p: argparse.ArgumentParser) -> None:
    """The seeds, the data and what is measured on it."""
    g = p.add_argument_group("data and evaluation")
    g.add_argument("--seeds", default="0,1,2")
    g.add_argument("--data", default=None, help="data root (else $PE_LAB_DATA, else download)")
    g.add_argument("--offline", action="store_true", help="never try to download")
    g.add_argument("--synthetic", action="store_true", help="use synthetic data (says so everywhere)")
    g.add_argument("--train-per-class", type=int, default=None, help="train on a balanced subset")
    g.add_argument("--test-per-class", type=int, default=None, help="test on a balanced subset")
    g.add_argument("--no-ood", action="store_true", help="skip SVHN")
    g.add_argument("--ood-criterion", default="msp", choices=sorted(OOD_CRITERIA))
    g.add_argument("--num-bins", type=int, default=15, help="ECE bins")
    g.add_argument("--shift", action="store_true",
                   help="also evaluate under generated corruptions (in the style of CIFAR-10-C) and on textures")
    g.add_argument("--shift-per-class", type=int, default=100, help="test images per class for --shift")
    g.add_argument("--cifar10c", default=None,
                   help="with --shift: also the official CIFAR-10-C files here (<corruption>.npy, labels.npy)")
    g.add_argument("--texture-folder", default=None,
                   help="with --shift: far-OOD textures from this folder (e.g. DTD's images/), not the procedural ones")
    g.add_argument("--train-folder", default=None,
                   help="train on an image folder (<class>/<image>, e.g. ImageNet's train/) instead of CIFAR-10")
    g.add_argument("--test-folder", default=None, help="its test split (same class folders)")
    g.add_argument("--ood-folder", default=None, help="an out-of-distribution image folder for those runs")
    g.add_argument("--data-mode", default="auto", choices=("auto", "memory", "stream"),
                   help="image folders: decode into memory, or stream from disk (auto: by decoded size)")
    g.add_argument("--image-size", type=int, default=224, help="streamed folders: side of the crops")


def _run_arguments(p: argparse.ArgumentParser) -> None:
    """Where and how it runs (engine, processes, device) and what is kept (outputs, checkpoints, progress)."""
    g = p.add_argument_group("engine and outputs")
    g.add_argument("--engine", default="pe-lab", choices=ENGINES,
                   help="pe-lab's own loop (one process) or PyTorch Lightning (pip install 'pe-lab[lightning]')")
    g.add_argument("--devices", type=int, default=1, help="Lightning: processes (GPUs, or CPU processes)")
    g.add_argument("--num-nodes", type=int, default=1, help="Lightning: machines (e.g. SLURM nodes)")
    g.add_argument("--strategy", default="auto", help=f"Lightning: {', '.join(STRATEGIES)}")
    g.add_argument("--num-workers", type=int, default=0, help="Lightning: DataLoader workers per process")
    g.add_argument("--device", default="auto")
    g.add_argument("--out", default="runs/experiment.json",
                   help="the report (committed results are written only when named here)")
    g.add_argument("--runs-dir", default="runs", help="checkpoints (resumable)")
    g.add_argument("--resume", action="store_true", help="keep finished runs found in --out (same settings only)")
    g.add_argument("--restart", action="store_true",
                   help="train from scratch: ignore checkpoints and runs made with other settings, and replace them")
    g.add_argument("--save-predictions", action="store_true", help="store the first seed's probabilities")
    g.add_argument("--no-progress", action="store_true")
    g.add_argument("--no-eta", action="store_true", help="skip the few timed steps that estimate the run's time")
    g.add_argument("--eta-only", action="store_true",
                   help="print the ETA (a few timed steps per method on this machine) and stop: nothing is trained")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pe-lab experiment", description="train Single / DE / PE, measure them on "
                                "CIFAR-10 and SVHN, report", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _recipe_arguments(p)
    _data_arguments(p)
    _run_arguments(p)
    # every flag sets a field of the Experiment: a new flag missing from FLAGS would be silently ignored
    unmapped = {a.dest for a in p._actions} - set(FLAGS) - {*_method_rules(), "preset", "help"}
    if unmapped:
        raise KeyError(f"{p.prog}: flags {', '.join(sorted(unmapped))} set no field of the Experiment (FLAGS)")
    return apply_rules(p, {**NUMERIC, **_method_rules()})


def parse_args(argv: list[str] | None = None, p: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """The command line as ``main`` reads it: a ``--preset`` fills the defaults, explicit flags win."""
    p = p or parser()
    args = p.parse_args(argv)
    if args.preset:
        p.set_defaults(**_defaults_of(preset(args.preset)))
        args = p.parse_args(argv)
    return args


@command("experiment")
def main(argv: list[str] | None = None) -> dict:
    p = parser()
    args = parse_args(argv, p)
    words = sys.argv[1:] if argv is None else argv
    try:
        experiment = experiment_from_args(args, recorded_command("pe-lab experiment", words))
        check_experiment(experiment)
    except (ValueError, TypeError, LightningMissing) as error:
        p.error(in_flags(str(error)))  # exit 2 with the usage line, before any data is read
    try:
        report = run_experiment(experiment)
    except (RunMismatch, CheckpointError, RecipeError, DataError, ReportError, RunLocked, TrainingDiverged,
            FileNotFoundError, LightningMissing) as error:
        # Named failures a user can act on: the message says which file and what to do, no traceback needed.
        p.exit(1, f"{p.prog}: error: {error}\n")
    except RunInterrupted as error:  # 128 + SIGTERM, as a shell reports a job the signal ended
        p.exit(143, f"{p.prog}: stopped: {error}\n")
    if args.eta_only:
        return report
    if global_rank() == 0:
        print(format_table(report))
        print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
