"""``python -m pe_lab.experiment``: train Single / DE / PE, measure them on CIFAR-10 and SVHN, report.

Example (this is what produced ``assets/results/``)::

    python -m pe_lab.experiment --methods single,deep,packed --model resnet20 --alpha 2 \\
        --num-estimators 4 --gamma 1 --epochs 4 --data ../shared/data --seeds 0,1,2

It prints one table (mean ± std over seeds) and writes JSON with provenance (command, data source and
counts, device, torch version, git commit, seeds, date). Each run checkpoints every epoch under
``--runs-dir``; running the same command again resumes instead of starting over. A checkpoint or a report
(``--resume``) made with other settings is refused, naming the first difference (``--restart`` starts
over); two runs writing the same ``--out`` at once are refused by a lock. Every argument is checked before
any data is read.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import torch

from ..config import get_device, set_seed
from ..data.images import DataError, ImageSet, load_cifar10, load_image_folder, load_svhn, subset, synthetic_splits
from ..evaluation.metrics import OOD_CRITERIA
from ..evaluation.prediction import predict_member_probs
from ..methods.registry import METHODS, build
from ..nn.models import ARCHITECTURES
from ..results.provenance import write_json
from ..results.report import (
    ReportError,
    RunLocked,
    checkpoint_path,
    format_table,
    pick_sample_images,
    read_report,
    report_lock,
    save_predictions,
    save_sample_images,
    summarise,
)
from ..results.runs import evaluate_run, make_provenance
from ..training.checkpoint import CheckpointError, RunMismatch, checkpoint_digest, first_difference, load_checkpoint
from ..training.engines import ENGINES, STRATEGIES, LightningMissing, check_engine, global_rank
from ..training.loop import RunInterrupted, fit, seconds_per_epoch
from ..training.presets import PRESETS
from ..training.recipe import MEMBER_LOSSES, SCHEDULES, RecipeError
from ..training.step import TrainingDiverged
from ..validate import check_choice, check_int, check_number
from .arguments import Rule, apply_rules, seed_list
from .boundary import command, doing, probe_writable
from .identity import matches_flat_config, recipe_of, report_identity

__all__ = ["NUMERIC", "estimate", "main", "parse_args", "parse_methods", "parse_seeds",
           "run_experiment", "validate_args"]

_COUNT = 10**7  # a bound on image counts per class and the like: far above any data set, far below an overflow
# Every numeric option's whole range: the parser's ``type=`` and ``validate_args`` (a namespace built in code) both
# check it, so an infinite, huge, fractional or negative value never reaches torch.
NUMERIC = {
    "alpha": Rule("--alpha", positive=True, maximum=64), "num_estimators": Rule("--num-estimators", True, 1, 256),
    "gamma": Rule("--gamma", True, 1, 256), "width": Rule("--width", positive=True, maximum=64),
    "epochs": Rule("--epochs", True, 1, 100_000), "batch_size": Rule("--batch-size", True, 1, 2**20),
    "lr": Rule("--lr", positive=True, maximum=10), "label_smoothing": Rule("--label-smoothing", False, 0, 0.999),
    "rho": Rule("--rho", False, 0, 1), "batch_repetition": Rule("--batch-repetition", True, 1, 64),
    "scale": Rule("--scale", False, 1, 64), "momentum": Rule("--momentum", False, 0, 0.999),
    "weight_decay": Rule("--weight-decay", False, 0, 1), "train_per_class": Rule("--train-per-class", True, 1, _COUNT),
    "test_per_class": Rule("--test-per-class", True, 1, _COUNT), "num_bins": Rule("--num-bins", True, 1, 10_000),
    "shift_per_class": Rule("--shift-per-class", True, 1, _COUNT), "image_size": Rule("--image-size", True, 8, 4096),
    "num_workers": Rule("--num-workers", True, 0, 1024),
}


def _load_folders(args) -> tuple:
    """``--train-folder``/``--test-folder``/``--ood-folder``: decoded into memory or streamed (``--data-mode``;
    ``auto`` streams above ``$PE_LAB_MEMORY_LIMIT_GB`` decoded, or when image sizes differ)."""
    from ..data.streaming import FolderSet, choose_mode

    # Listing a large folder takes a while: list it once, for the choice and for streaming.
    listed = None if args.data_mode == "memory" else FolderSet(args.train_folder, image_size=args.image_size,
                                                                   num_workers=args.num_workers)
    mode = choose_mode(listed, args.data_mode) if listed is not None else "memory"
    if mode == "stream" and args.engine != "lightning":
        raise DataError(f"{args.train_folder} is streamed from disk (--data-mode {args.data_mode}: too large for "
                        "memory, or images of several sizes), which only the Lightning engine reads: add "
                        "--engine lightning, or --data-mode memory")

    def load(folder, classes=None):
        if folder is None:
            return None
        if mode == "stream":
            return FolderSet(folder, image_size=args.image_size, classes=classes, num_workers=args.num_workers)
        return load_image_folder(folder, classes)

    train = listed if mode == "stream" else load(args.train_folder)
    test = load(args.test_folder, train.classes)
    ood = None if args.no_ood else load(args.ood_folder)
    if mode == "memory" and args.train_per_class:
        train = subset(train, args.train_per_class)
    if mode == "memory" and args.test_per_class:
        test = subset(test, args.test_per_class)
    return train, test, ood


def _load_data(args) -> tuple[ImageSet, ImageSet, ImageSet | None]:
    train, test, ood = _read_data(args)
    check_splits(train, test, ood)
    return train, test, ood


def check_splits(train, test, ood=None) -> None:
    """Refuse test or OOD images of another size than the training images (the network would fail on them after
    the training), and an OOD set equal to the test set; warn when the test set *is* the training set (equal pixels
    and labels: every test number would measure memorisation)."""
    import warnings

    if not (isinstance(train, ImageSet) and isinstance(test, ImageSet)):
        return  # streamed folders: their sizes are checked as they are read
    for name, data in (("test", test), ("OOD", ood)):
        if isinstance(data, ImageSet) and train.images.shape[1:] != data.images.shape[1:]:
            raise DataError(f"{name} images are {tuple(data.images.shape[1:])} but training images "
                            f"{tuple(train.images.shape[1:])} ({data.source} vs {train.source}): use one image size")
    if isinstance(ood, ImageSet) and len(ood) == len(test) and torch.equal(ood.images, test.images):
        raise DataError(f"the OOD set ({ood.source}) holds the test images ({test.source}): out-of-distribution "
                        "images must come from another data set")
    if len(train) == len(test) and torch.equal(train.labels, test.labels) and torch.equal(train.images, test.images):
        warnings.warn(f"the test set is identical to the training set ({test.source}): test numbers will measure "
                      "memorisation, not generalisation", stacklevel=2)


def _read_data(args) -> tuple[ImageSet, ImageSet, ImageSet | None]:
    if args.train_folder:
        return _load_folders(args)
    if args.synthetic:
        per_class = args.train_per_class or 100
        train, test, ood = synthetic_splits(per_class, max(10, per_class // 5))
        return train, test, None if args.no_ood else ood
    train = load_cifar10("train", args.data, download=not args.offline)
    test = load_cifar10("test", args.data, download=not args.offline)
    if args.train_per_class:
        train = subset(train, args.train_per_class)
    if args.test_per_class:
        test = subset(test, args.test_per_class)
    ood = None if args.no_ood else load_svhn(args.data, download=not args.offline)
    if ood is not None and args.test_per_class:
        ood = subset(ood, args.test_per_class)
    return train, test, ood


def _train_and_measure(args, method: str, seed: int, train, test, ood, device, report: dict, out: Path, train_fn,
                       engine_options: dict, rank_zero: bool) -> None:
    """Train one (method, seed) run (resuming its checkpoint), measure it and add it to ``report``, written at
    once: a run that finished is never lost to a later one that fails. Only rank 0 measures and writes."""
    set_seed(seed)
    model = _build(args, method, len(train.classes))
    checkpoint = checkpoint_path(args, method, seed)
    history = train_fn(model, train, test, recipe_of(args, seed), device=device, checkpoint=checkpoint,
                       resume=True, restart=args.restart, progress=not args.no_progress, **engine_options)
    if not rank_zero:
        return
    run, member_probs, ood_probs = evaluate_run(method, seed, model, history, test, ood, device, args.num_bins)
    if args.shift:
        run["shift"] = _shift_evaluation(model, test, member_probs, args, device)
    run["engine"] = {"name": args.engine, "processes": args.devices * args.num_nodes, "strategy": args.strategy}
    # which engine trained which epochs (a run resumed across engines, or found finished, was not
    # all trained by this command's engine): the checkpoint's record
    if checkpoint.exists():
        stored = load_checkpoint(checkpoint, mmap=True)
        run["trained_by"] = stored.get("trained_by", [])
        run["checkpoint"] = str(checkpoint)  # where pe_lab.shift finds the trained model
        # which file that is: a later run (--restart, other settings) may write another at the same path
        run["checkpoint_sha256"], run["checkpoint_epoch"] = checkpoint_digest(checkpoint), int(stored["epoch"])
    report["runs"].append(run)
    if seed == report["provenance"]["seeds"][0] and args.save_predictions:  # the seed the notebooks load
        save_predictions(out.with_name(f"{out.stem}-predictions-{method}-seed{seed}.pt"), member_probs,
                         test.labels, ood_probs, test.classes)
        if member_probs.shape[1] > 1 and isinstance(test, ImageSet):  # where members can disagree
            save_sample_images(out.with_name(f"{out.stem}-samples.pt"), test.images, pick_sample_images(member_probs))
    report["summary"] = summarise(report["runs"], args.ood_criterion)
    write_json(report, out)
    metrics = run["metrics"]
    print(f"[{method} seed {seed}] acc {metrics['accuracy']:.4f} nll {metrics['nll']:.4f} "
          f"ece {metrics['ece']:.4f} in {history.train_seconds:.0f}s", flush=True)


def _check_resumable(previous: dict, out: Path, identity: dict, args, train, test, ood) -> None:
    """``--resume`` extends a report only with runs of its own identity; a report of the flat layout (``config``)
    is compared as it recorded itself, and then rewritten with the new identity."""
    if "identity" in previous:
        difference = first_difference(previous["identity"], identity)
    elif "config" in previous:
        difference = matches_flat_config(previous["config"], args, train, test, ood)
    else:
        difference = "the report records no identity"
    if difference:
        raise ReportError(f"--resume: the runs in {out} were made with other settings ({difference}); "
                          "pass --restart to replace them, or use another --out")


def run_experiment(args) -> dict:
    methods, seeds = parse_methods(args.methods), parse_seeds(args.seeds)
    device = get_device(args.device)
    out = Path(args.out)
    # Every process of a multi-process (DDP) run executes this function; rank 0 alone locks, evaluates and writes.
    rank_zero = global_rank() == 0
    train_fn = fit
    engine_options = {}
    if args.engine == "lightning":
        from ..training.lightning import fit_lightning as train_fn

        engine_options = {"devices": args.devices, "num_nodes": args.num_nodes, "strategy": args.strategy,
                          "num_workers": args.num_workers}
    with report_lock(out) if rank_zero else contextlib.nullcontext():
        previous = None
        if out.exists() and args.resume and not args.restart:
            previous = read_report(out)  # fail on a broken report before reading any data
        with doing("read the data from", args.train_folder or args.data or "the data root"):
            train, test, ood = _load_data(args)
        identity = report_identity(args, train, test, ood)
        kept = []
        if previous is not None:
            _check_resumable(previous, out, identity, args, train, test, ood)
            # --resume keeps every finished run of the report, also those of seeds or methods not asked for now
            kept = list(previous["runs"])
        report_seeds = sorted({r["seed"] for r in kept} | set(seeds))
        report = {"provenance": make_provenance(train, test, ood, device, report_seeds,
                                                "python -m pe_lab.experiment " + " ".join(sys.argv[1:])),
                  "identity": identity, "runs": kept}
        done = {(r["method"], r["seed"]) for r in report["runs"]}
        if not args.no_eta and rank_zero and isinstance(train, ImageSet):
            report["eta"] = estimate(args, train, methods, seeds, done, device)
        if args.eta_only:  # plan a class: the time it would take, nothing trained or written
            return report
        for seed in seeds:
            for method in methods:
                if (method, seed) not in done:
                    _train_and_measure(args, method, seed, train, test, ood, device, report, out, train_fn,
                                       engine_options, rank_zero)
        report["summary"] = summarise(report["runs"], args.ood_criterion)
        if rank_zero:
            write_json(report, out)
    return report


def estimate(args, train: ImageSet, methods: list[str], seeds: list[int], done: set, device: torch.device) -> dict:
    """Print and return the estimated training time of the runs still to do, from a few timed steps of each
    method on this machine (training only; evaluation adds a little)."""
    per_epoch = {}
    for method in methods:
        if all((method, seed) in done for seed in seeds):
            continue
        model = _build(args, method, len(train.classes))
        per_epoch[method] = seconds_per_epoch(model, train, batch_size=args.batch_size, device=device)
    runs = {m: sum((m, s) not in done for s in seeds) for m in per_epoch}
    total = sum(per_epoch[m] * args.epochs * runs[m] for m in per_epoch)
    parts = ", ".join(f"{m} {per_epoch[m]:.0f} s/epoch x {args.epochs} x {runs[m]} run(s)" for m in per_epoch)
    # The steps are timed with pe-lab's own loop in this one process: for the Lightning engine that is a guide
    # only (its per-image loading is slower on CPU; several processes share the work).
    timed_with = "pe-lab's loop, one process"
    caveat = "" if args.engine == "pe-lab" else f" (timed with {timed_with}: a guide for --engine {args.engine})"
    print(f"ETA (training only, from 3 timed steps per method here): {parts}; about {total / 60:.1f} min in all"
          f"{caveat}", flush=True)
    return {"seconds_per_epoch": per_epoch, "total_seconds": total, "runs": runs, "timed_with": timed_with}


def _check_benchmarks(args) -> None:
    """``--cifar10c`` / ``--texture-folder``: only with ``--shift``, and checked before any training."""
    from ..data.benchmarks import cifar10c_corruptions

    for flag, value in (("--cifar10c", args.cifar10c), ("--texture-folder", args.texture_folder)):
        if value is not None and not args.shift:
            raise ValueError(f"{flag} is evaluated with the shift sets: add --shift")
    if args.cifar10c is not None:
        cifar10c_corruptions(args.cifar10c)  # names the broken layout now, not after hours of training
    if args.texture_folder is not None and not Path(args.texture_folder).is_dir():
        raise DataError(f"--texture-folder {args.texture_folder} is not a folder")


def _shift_evaluation(model: torch.nn.Module, test: ImageSet, member_probs: torch.Tensor, args,
                      device: torch.device) -> dict:
    """``--shift``: accuracy / NLL / ECE under every generated corruption and severity (on a balanced test
    subset of ``--shift-per-class``), far-OOD detection (MSP, entropy, mutual information) of the procedural
    textures or of ``--texture-folder``, and with ``--cifar10c`` the official CIFAR-10-C files as well."""
    from ..data.benchmarks import load_texture_folder
    from ..data.corruptions import synthetic_textures
    from ..evaluation.metrics import ood_metrics, ood_score
    from ..evaluation.shift import official_shift_metrics, shift_metrics

    per_class = args.shift_per_class
    far = load_texture_folder(args.texture_folder, limit=1000) if args.texture_folder else synthetic_textures(1000)
    textures = predict_member_probs(model, far, device=device)
    criteria = ("msp", "entropy", "mutual_information") if member_probs.shape[1] > 1 else ("msp", "entropy")
    result = {"test_per_class": per_class,
              "corruptions": shift_metrics(model, subset(test, per_class), device=device),
              "textures": {c: ood_metrics(ood_score(member_probs, c), ood_score(textures, c)) for c in criteria},
              "textures_source": far.source,
              "note": "corruptions in the style of CIFAR-10-C, generated by pe-lab; far-OOD textures: "
                      + (far.source if args.texture_folder else "procedural, generated by pe-lab (not DTD)")}
    if args.cifar10c:
        result["cifar10c"] = official_shift_metrics(model, args.cifar10c, per_class=per_class, device=device)
        result["note"] += f"; the official CIFAR-10-C files of {args.cifar10c} under cifar10c"
    return result


def _build(args, method: str, num_classes: int = 10) -> torch.nn.Module:
    """``method`` of ``--model`` with the command line's hyperparameters."""
    return build(args.model, method, alpha=args.alpha, num_estimators=args.num_estimators, gamma=args.gamma,
                 width=args.width, num_classes=num_classes, **options(args))


def options(args) -> dict:
    """The rivals' own hyperparameters from the command line (MIMO's rho and batch repetition,
    Masksembles' scale), as ``build`` takes them."""
    return {"rho": args.rho, "batch_repetition": args.batch_repetition, "scale": args.scale}


def parse_methods(text: str) -> list[str]:
    """``"single,deep"`` -> ``["single", "deep"]``; unknown, duplicate or no methods are errors."""
    methods = [m.strip() for m in str(text).split(",") if m.strip()]
    if not methods:
        raise ValueError(f"--methods names no method; choose from {', '.join(METHODS)}")
    for method in methods:
        check_choice("method", method, METHODS)
    duplicates = sorted({m for m in methods if methods.count(m) > 1})
    if duplicates:
        raise ValueError(f"--methods lists {', '.join(duplicates)} more than once")
    return methods


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; non-integers and duplicates are errors (a duplicate seed would
    report one run as two, with a standard deviation of 0)."""
    return seed_list("--seeds", text)


def _check_out(out: str, runs_dir: str) -> None:
    """``--out`` must name a file that can be written; ``--runs-dir`` a folder (or a place for one) where files can
    be created: both found out now (by creating a file there), not when the first checkpoint is written after an
    epoch of training."""
    if not str(out).strip():
        raise ValueError("--out is empty: give the report's file name, e.g. --out runs/report.json")
    out_path = Path(out)
    with doing("check --out", out_path):
        if out_path.is_dir():
            raise ValueError(f"--out {out} is a folder: give a file name inside it, e.g. "
                             f"--out {out_path / 'report.json'}")
    if len(out_path.name.encode()) + len(".lock") > 255:  # the lock and temporary files add to the name
        raise ValueError(f"--out {out}: the file name is too long for the file system (at most 250 bytes)")
    if global_rank() != 0:
        return  # only rank 0 writes the report and the checkpoints, so only it probes (a probe is a file too)
    problem = probe_writable("--out's folder", out_path.parent)
    if problem:
        raise ValueError(f"--out {out} cannot be written: {problem}")
    problem = probe_writable("--runs-dir", runs_dir)
    if problem:
        raise ValueError(f"{problem}; give a folder for the checkpoints")


def _check_folders(args) -> None:
    """The image folders: ``--ood-folder`` must not be ``--test-folder`` or ``--train-folder`` (every OOD number
    would then score in-distribution images as OOD)."""
    if not args.ood_folder or args.no_ood:
        return
    ood = Path(args.ood_folder).resolve()
    for flag, folder in (("--test-folder", args.test_folder), ("--train-folder", args.train_folder)):
        if folder and Path(folder).resolve() == ood:
            raise ValueError(f"--ood-folder {args.ood_folder} is the {flag}: out-of-distribution images must come "
                             "from another data set (every OOD number would score in-distribution images)")


def validate_args(args) -> None:
    """Every check that needs no data, so that a bad option fails in a second, not after loading CIFAR-10."""
    for option, rule in NUMERIC.items():  # the parser's rules again, for a namespace built in code
        if getattr(args, option) is not None:
            rule.check(getattr(args, option))
    parse_methods(args.methods)
    parse_seeds(args.seeds)
    if args.model not in ARCHITECTURES:
        raise ValueError(f"unknown --model {args.model!r}; valid choices: {', '.join(ARCHITECTURES)}")
    check_number("--width", args.width, positive=True)
    check_int("--epochs", args.epochs, minimum=1)
    check_int("--batch-size", args.batch_size, minimum=1)
    check_number("--lr", args.lr, positive=True)
    check_number("--label-smoothing", args.label_smoothing, minimum=0, maximum=0.999)
    check_number("--momentum", args.momentum, minimum=0, maximum=0.999)
    check_number("--weight-decay", args.weight_decay, minimum=0)
    check_int("--num-bins", args.num_bins, minimum=1)
    check_int("--shift-per-class", args.shift_per_class, minimum=1)
    for name in ("train_per_class", "test_per_class"):
        if getattr(args, name) is not None:
            check_int("--" + name.replace("_", "-"), getattr(args, name), minimum=1)
    check_engine(args.engine, devices=args.devices, strategy=args.strategy, num_nodes=args.num_nodes,
                 accelerator=get_device(args.device).type, batch_size=args.batch_size)  # checks --device too
    check_int("--num-workers", args.num_workers, minimum=0)
    check_int("--image-size", args.image_size, minimum=8)
    if args.data_mode == "stream" and args.engine != "lightning":
        raise ValueError("--data-mode stream reads images from disk with DataLoader workers, which only the "
                         "Lightning engine does: add --engine lightning")
    if bool(args.train_folder) != bool(args.test_folder):
        raise ValueError("--train-folder and --test-folder go together (an image folder for each split)")
    if args.train_folder and args.data_mode == "auto":
        from ..data.streaming import memory_limit_bytes

        memory_limit_bytes()  # a bad $PE_LAB_MEMORY_LIMIT_GB is refused now, naming the variable, not mid-load
    if args.train_folder and (args.synthetic or args.shift):
        raise ValueError("--train-folder cannot be combined with --synthetic or --shift (CIFAR-10 only)")
    _check_benchmarks(args)
    _check_folders(args)
    _check_out(args.out, args.runs_dir)
    if args.eta_only and args.no_eta:
        raise ValueError("--eta-only prints the ETA and stops; --no-eta skips it: choose one")
    if args.restart and args.resume:
        raise ValueError("--resume keeps finished runs and --restart discards them: choose one")
    with torch.device("meta"):  # every layer's divisibility rule, without allocating anything
        for method in parse_methods(args.methods):
            _build(args, method)


def _recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The model, the method and the training recipe: everything a run's identity is made of."""
    g = p.add_argument_group("model and recipe")
    g.add_argument("--preset", choices=sorted(PRESETS), help="fill the options below from a preset")
    g.add_argument("--methods", default="single,deep,packed")
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
    g.add_argument("--rho", type=float, default=0.6, help="MIMO: input repetition probability")
    g.add_argument("--batch-repetition", type=int, default=2, help="MIMO: batch repetitions per step")
    g.add_argument("--scale", type=float, default=2.0, help="Masksembles: mask overlap control (>= 1)")
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
    g.add_argument("--out", default="assets/results/experiment.json")
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
    p = argparse.ArgumentParser(prog="python -m pe_lab.experiment", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _recipe_arguments(p)
    _data_arguments(p)
    _run_arguments(p)
    return apply_rules(p, NUMERIC)


def parse_args(argv: list[str] | None = None, p: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """The command line as ``main`` reads it: a ``--preset`` fills the defaults, explicit flags win."""
    p = p or parser()
    args = p.parse_args(argv)
    if args.preset:
        p.set_defaults(**PRESETS[args.preset])
        args = p.parse_args(argv)
    return args


@command("experiment")
def main(argv: list[str] | None = None) -> dict:
    p = parser()
    args = parse_args(argv, p)
    try:
        validate_args(args)
    except (ValueError, TypeError, LightningMissing) as error:
        p.error(str(error))  # exit 2 with the usage line, before any data is read
    try:
        report = run_experiment(args)
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
