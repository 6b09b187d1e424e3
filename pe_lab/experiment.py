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
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import __version__
from .config import assets_dir, atomic_save, get_device, set_seed
from .data import DataError, ImageSet, load_cifar10, load_image_folder, load_svhn, subset, synthetic_splits
from .engines import ENGINES, STRATEGIES, LightningMissing, check_engine, global_rank
from .methods import METHODS, get_method, label_for
from .metrics import OOD_CRITERIA, evaluate_predictions
from .models import ARCHITECTURES, build
from .train import (
    MEMBER_LOSSES,
    SCHEDULES,
    CheckpointError,
    RecipeError,
    RunInterrupted,
    RunMismatch,
    TrainingDiverged,
    first_difference,
    fit,
    load_checkpoint,
    predict_member_probs,
    seconds_per_epoch,
)
from .validate import check_choice, check_int, check_number

__all__ = [
    "PRESETS", "ReportError", "RunLocked", "checkpoint_path", "compare_methods", "describe", "estimate",
    "evaluate_run", "format_table", "load_committed", "load_committed_samples", "load_predictions", "load_results",
    "main", "make_provenance", "parse_args", "parse_methods", "parse_seeds", "pick_sample_images", "read_report",
    "run_config", "run_experiment", "save_predictions", "save_sample_images", "summarise", "validate_args"]


PRESETS = {
    # Sized for about 3 minutes of PE training on 2 CPU cores (see README for the measured result).
    "quick": dict(methods="single,packed", model="resnet20", alpha=2, num_estimators=4, gamma=1, epochs=2,
                  seeds="0", batch_size=128, lr=0.1),
    # torch-uncertainty's tutorial "From a Standard Classifier to a Packed-Ensemble" (the version the seed ran):
    # its LeNet, PE(2,4,1), batch 4, SGD lr 0.001 with plain momentum 0.9, no weight decay, constant lr, no
    # augmentation, 2 epochs, cross-entropy averaged over the M*B outputs (mean over members).
    "tutorial": dict(methods="single,packed,deep", model="lenet", alpha=2, num_estimators=4, gamma=1, epochs=2,
                     seeds="0,1,2", batch_size=4, lr=0.001, momentum=0.9, no_nesterov=True, weight_decay=0.0,
                     schedule="constant", no_augment=True, member_loss="mean"),
    # The same network trained to convergence on a CPU: batch 128, Nesterov, cosine, crop + flip, weight decay.
    "lenet": dict(methods="single,packed,deep", model="lenet", alpha=2, num_estimators=4, gamma=1, epochs=20,
                  seeds="0,1,2", batch_size=128, lr=0.05, weight_decay=5e-4, schedule="cosine"),
    # An H100-class card: the batch-512 recipe measured at commit bb9e316 (Single 27 s, PE 38 s of training for
    # 15 epochs on one H100; the DE was not finished there). The ETA line prints the estimate before it starts.
    "h100": dict(methods="single,packed,deep", model="resnet18", alpha=2, num_estimators=4, gamma=1, epochs=15,
                 seeds="0", batch_size=512, lr=0.2, label_smoothing=0.1, device="cuda"),
    # A T4-class card (Colab): ResNet-20, the three methods. Not yet timed on a T4: the ETA line measures it on
    # the card at hand before training starts, and a disconnect resumes from the last epoch's checkpoint.
    "t4": dict(methods="single,packed,deep", model="resnet20", alpha=2, num_estimators=4, gamma=1, epochs=20,
               seeds="0", batch_size=256, lr=0.1, label_smoothing=0.1, device="cuda"),
}


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+uncommitted-changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def hardware(device: torch.device) -> str:
    """A one-line description of the machine that produced a number."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def _load_folders(args) -> tuple:
    """``--train-folder``/``--test-folder``/``--ood-folder``: decoded into memory or streamed (``--data-mode``;
    ``auto`` streams above ``$PE_LAB_MEMORY_LIMIT_GB`` decoded, or when image sizes differ)."""
    from .streaming import FolderSet, choose_mode

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


def _atomic_json(obj: dict, path: Path) -> None:
    atomic_save(json.dumps(obj, indent=1), path)


def _timed_predictions(model: torch.nn.Module, data: ImageSet, device: torch.device) -> tuple[torch.Tensor, float]:
    """Member probabilities on ``data`` and the images per second it took (eval, batch 500, after a warm-up)."""
    if isinstance(data, ImageSet):  # a streamed folder's first batch is its own warm-up
        predict_member_probs(model, subset(data, 10), device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    member_probs = predict_member_probs(model, data, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return member_probs, len(data) / (time.perf_counter() - start)


def make_provenance(train: ImageSet, test: ImageSet, ood: ImageSet | None, device: torch.device, seeds: list[int],
                    command: str) -> dict:
    """Where a result came from: command, data, machine, versions, commit, seeds, date."""
    return {
        "command": command,
        "data": {"train": train.source, "num_train": len(train), "test": test.source, "num_test": len(test),
                 "ood": ood.source if ood is not None else None, "num_ood": len(ood) if ood is not None else 0,
                 "synthetic": train.synthetic},
        "device": str(device), "hardware": hardware(device), "torch": torch.__version__,
        "python": platform.python_version(), "git_commit": _git_commit(), "seeds": seeds,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def evaluate_run(method: str, seed: int, model: torch.nn.Module, history, test: ImageSet, ood: ImageSet | None,
                 device: torch.device, num_bins: int = 15) -> tuple[dict, torch.Tensor, torch.Tensor | None]:
    """Measure a trained model: the run's record, and its member probabilities on test and OOD data."""
    member_probs, images_per_second = _timed_predictions(model, test, device)
    ood_probs = predict_member_probs(model, ood, device=device) if ood is not None else None
    metrics = evaluate_predictions(member_probs, test.labels.cpu(), ood_probs, num_bins=num_bins)
    run = {"method": method, "seed": seed, "metrics": metrics, "history": history.to_dict(),
           "train_seconds": history.train_seconds, "test_images_per_second": images_per_second,
           "params": sum(p.numel() for p in model.parameters()), "spec": model.spec.to_dict()}
    return run, member_probs, ood_probs


def save_predictions(path: Path, member_probs: torch.Tensor, labels: torch.Tensor, ood_probs: torch.Tensor | None,
                     classes: tuple[str, ...]) -> None:
    """Store member probabilities (float16) so that notebooks can plot real results without training."""
    atomic_save({"test": member_probs.half(), "test_labels": labels.cpu(),
                 "ood": ood_probs.half() if ood_probs is not None else None, "classes": list(classes)}, path)


def _load_stored(path: Path, what: str, keys: tuple[str, ...]) -> dict:
    """A dict of tensors written by this module, loaded with ``weights_only=True``; ``ReportError`` names the
    file when it is unreadable or lacks one of ``keys``."""
    try:
        stored = torch.load(path, weights_only=True)
    except Exception as error:  # truncated or not a torch file
        raise ReportError(f"stored {what} {path} cannot be read ({type(error).__name__}); restore the file "
                          "(git checkout) or rerun the experiment with --save-predictions") from error
    if not isinstance(stored, dict) or any(stored.get(key) is None for key in keys):
        raise ReportError(f"{path} is not a pe-lab {what} file (needs {', '.join(keys)})")
    return stored


def load_predictions(path: Path) -> dict:
    """Inverse of ``save_predictions`` (``weights_only=True``); probabilities come back as float32."""
    stored = _load_stored(path, "predictions", ("test", "test_labels", "classes"))
    stored["test"] = stored["test"].float()
    if stored.get("ood") is not None:
        stored["ood"] = stored["ood"].float()
    return stored


def compare_methods(model_name: str, train: ImageSet, test: ImageSet, ood: ImageSet | None, *,
                    methods: tuple[str, ...] = tuple(METHODS), alpha: float = 2,
                    num_estimators: int = 4, gamma: int = 1, epochs: int = 3, batch_size: int = 128,
                    lr: float = 0.1, seed: int = 0, device: str | torch.device = "auto",
                    progress: bool = True) -> tuple[dict, dict[str, dict]]:
    """Train and measure each method once (one seed): the notebooks' version of the CLI.

    Returns ``(report, predictions)``: the report has the same form as the CLI's JSON (``format_table``
    prints it), ``predictions[method]`` holds member probabilities on test and OOD data and the labels.
    """
    device = get_device(device)
    runs, predictions = [], {}
    for method in methods:
        set_seed(seed)
        model = build(model_name, method, alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                      num_classes=len(train.classes))
        history = fit(model, train, test, epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed,
                      progress=progress)
        run, member_probs, ood_probs = evaluate_run(method, seed, model, history, test, ood, device)
        runs.append(run)
        predictions[method] = {"test": member_probs, "test_labels": test.labels.cpu(), "ood": ood_probs,
                               "classes": list(test.classes)}
    command = (f"pe_lab.experiment.compare_methods({model_name!r}, methods={methods}, alpha={alpha}, "
               f"num_estimators={num_estimators}, gamma={gamma}, epochs={epochs}, seed={seed})")
    report = {"provenance": make_provenance(train, test, ood, device, [seed], command), "runs": runs,
              "summary": summarise(runs)}
    return report, predictions


def pick_sample_images(member_probs: torch.Tensor, count: int = 8, seed: int = 0) -> torch.Tensor:
    """Indices of ``count`` test images for a prediction grid, by a seeded random pick: half on which the
    members disagree (their arg-max differs), half on which they agree. ``member_probs`` ``(N, M, K)``."""
    order = torch.randperm(member_probs.shape[0], generator=torch.Generator().manual_seed(seed))
    votes = member_probs[order].argmax(-1)
    disagree = order[(votes != votes[:, :1]).any(1)]
    agree = order[(votes == votes[:, :1]).all(1)]
    half = count // 2
    chosen = torch.cat([disagree[:half], agree[:count - min(half, len(disagree))]])
    return chosen[:count]


def save_sample_images(path: Path, images: torch.Tensor, index: torch.Tensor) -> None:
    """Store the few test images a notebook draws (uint8), so that it need not read the whole test set."""
    atomic_save({"index": index.cpu(), "images": images[index.to(images.device)].cpu()}, path)


def load_committed_samples(name: str = "cifar10_resnet20", which: str = "samples") -> dict | None:
    """Test images stored beside committed predictions (``index``, ``images`` uint8), or None:
    ``which="samples"`` the grid's seeded pick, ``"first-images"`` the first test images."""
    path = assets_dir() / "results" / f"{name}-{which}.pt"
    if not path.exists():
        return None
    return _load_stored(path, "sample images", ("index", "images"))


def load_committed(name: str = "cifar10_resnet20", methods: tuple[str, ...] = ("single", "deep", "packed"),
                   ) -> tuple[dict, dict[str, dict]]:
    """The committed report ``assets/results/<name>.json`` and its first seed's stored predictions.

    Raises ``FileNotFoundError`` if the report or the predictions of any of ``methods`` are missing.
    """
    return load_results(assets_dir() / "results" / f"{name}.json", methods)


def load_results(path: str | os.PathLike, methods: tuple[str, ...] | None = None) -> tuple[dict, dict[str, dict]]:
    """A report written by this CLI (with ``--save-predictions``) and its first seed's stored predictions, for
    ``methods`` (default: every method in the report)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}; run python -m pe_lab.experiment first")
    report = read_report(path)
    seed = report["provenance"]["seeds"][0]
    methods = methods if methods is not None else tuple(dict.fromkeys(r["method"] for r in report["runs"]))
    predictions = {}
    for method in methods:
        stored = path.with_name(f"{path.stem}-predictions-{method}-seed{seed}.pt")
        if not stored.exists():
            raise FileNotFoundError(f"results {path} lack the predictions of {method!r} ({stored})")
        predictions[method] = load_predictions(stored)
    return report, predictions


class ReportError(ValueError):
    """A report (``--out``, a committed result) that cannot be read, or that holds runs of other settings."""


class RunLocked(RuntimeError):
    """Another run is writing the same ``--out`` right now."""


def read_report(path: Path) -> dict:
    """A JSON report written by this CLI; ``ValueError`` naming the file if it is not one."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"report {path} cannot be read as JSON ({error}); restore it, or pass --restart "
                         "(or another --out) to write a new one") from error
    if not isinstance(report, dict) or not {"provenance", "runs"} <= set(report):
        raise ReportError(f"{path} is not a pe-lab experiment report (no provenance/runs)")
    return report


# Options that cannot change a run's numbers; every other option is part of the run's identity.
_NOT_IDENTITY = {"methods", "seeds", "out", "runs_dir", "resume", "restart", "save_predictions", "no_progress",
                 "no_eta", "ood_criterion", "preset", "device", "data", "offline", "num_workers"}


def run_config(args, train: ImageSet, test: ImageSet, ood: ImageSet | None) -> dict:
    """Everything that changes a run's result: the options, the data actually loaded and pe-lab's version."""
    config = {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_IDENTITY}
    config["data"] = {"train": (train.source, len(train)), "test": (test.source, len(test)),
                      "ood": (ood.source, len(ood)) if ood is not None else None}
    config["pe_lab"] = __version__
    return json.loads(json.dumps(config))  # as it will read back from the report (tuples become lists)


def checkpoint_path(args, method: str, seed: int) -> Path:
    """Where a run's checkpoint lives: keyed by the resolved ``--out`` path, so the same file name in
    another folder never shares a checkpoint."""
    out = Path(args.out).resolve()
    key = hashlib.sha1(str(out).encode()).hexdigest()[:8]
    return Path(args.runs_dir) / f"{out.stem}-{key}-{method}-seed{seed}.pt"


@contextlib.contextmanager
def _exclusive(out: Path):
    """Refuse a second run writing the same report at once (the later writer would drop the earlier's runs).
    An OS lock (flock) is released when the process dies, even by kill -9, so no stale lock remains."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.with_name(out.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; run one experiment per --out there
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(f"{out} is being written by another run ({holder}); wait for it to finish, or use "
                               "another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_experiment(args) -> dict:
    methods, seeds = parse_methods(args.methods), parse_seeds(args.seeds)
    device = get_device(args.device)
    out = Path(args.out)
    # Every process of a multi-process (DDP) run executes this function; rank 0 alone locks, evaluates and writes.
    rank_zero = global_rank() == 0
    train_fn = fit
    engine_options = {}
    if args.engine == "lightning":
        from .lightning import fit_lightning as train_fn

        engine_options = {"devices": args.devices, "num_nodes": args.num_nodes, "strategy": args.strategy,
                          "num_workers": args.num_workers}
    with _exclusive(out) if rank_zero else contextlib.nullcontext():
        previous = None
        if out.exists() and args.resume and not args.restart:
            previous = read_report(out)  # fail on a broken report before reading any data
        train, test, ood = _load_data(args)
        config = run_config(args, train, test, ood)
        kept = []
        if previous is not None:
            difference = first_difference(previous.get("config", {}), config)
            if difference:
                raise ReportError(f"--resume: the runs in {out} were made with other settings ({difference}); "
                                 "pass --restart to replace them, or use another --out")
            # --resume keeps every finished run of the report, also those of seeds or methods not asked for now
            kept = list(previous["runs"])
        report_seeds = sorted({r["seed"] for r in kept} | set(seeds))
        report = {"provenance": make_provenance(train, test, ood, device, report_seeds,
                                                "python -m pe_lab.experiment " + " ".join(sys.argv[1:])),
                  "config": config, "runs": kept}
        done = {(r["method"], r["seed"]) for r in report["runs"]}
        if not args.no_eta and rank_zero and isinstance(train, ImageSet):
            report["eta"] = estimate(args, train, methods, seeds, done, device)
        for seed in seeds:
            for method in methods:
                if (method, seed) in done:
                    continue
                set_seed(seed)
                model = _build(args, method, len(train.classes))
                checkpoint = checkpoint_path(args, method, seed)
                history = train_fn(model, train, test, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   momentum=args.momentum, weight_decay=args.weight_decay, schedule=args.schedule,
                                   nesterov=not args.no_nesterov, augment=not args.no_augment,
                                   member_reduction=args.member_loss, label_smoothing=args.label_smoothing,
                                   device=device, seed=seed, checkpoint=checkpoint,
                                   resume=True, restart=args.restart, progress=not args.no_progress,
                                   **engine_options)
                if not rank_zero:
                    continue
                run, member_probs, ood_probs = evaluate_run(method, seed, model, history, test, ood, device,
                                                            args.num_bins)
                if args.shift:
                    run["shift"] = _shift_evaluation(model, test, member_probs, args.shift_per_class, device)
                run["engine"] = {"name": args.engine, "processes": args.devices * args.num_nodes,
                                 "strategy": args.strategy}
                # which engine trained which epochs (a run resumed across engines, or found finished, was not
                # all trained by this command's engine): the checkpoint's record
                if checkpoint.exists():
                    run["trained_by"] = load_checkpoint(checkpoint, mmap=True).get("trained_by", [])
                    run["checkpoint"] = str(checkpoint)  # where pe_lab.shift finds the trained model
                report["runs"].append(run)
                if seed == report_seeds[0] and args.save_predictions:  # the seed the notebooks load
                    save_predictions(out.with_name(f"{out.stem}-predictions-{method}-seed{seed}.pt"), member_probs,
                                     test.labels, ood_probs, test.classes)
                    samples = out.with_name(f"{out.stem}-samples.pt")
                    if member_probs.shape[1] > 1 and isinstance(test, ImageSet):  # where members can disagree
                        save_sample_images(samples, test.images, pick_sample_images(member_probs))
                report["summary"] = summarise(report["runs"], args.ood_criterion)
                _atomic_json(report, out)
                metrics = run["metrics"]
                print(f"[{method} seed {seed}] acc {metrics['accuracy']:.4f} nll {metrics['nll']:.4f} "
                      f"ece {metrics['ece']:.4f} in {history.train_seconds:.0f}s", flush=True)
        report["summary"] = summarise(report["runs"], args.ood_criterion)
        if rank_zero:
            _atomic_json(report, out)
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


def _shift_evaluation(model: torch.nn.Module, test: ImageSet, member_probs: torch.Tensor, per_class: int,
                      device: torch.device) -> dict:
    """``--shift``: accuracy / NLL / ECE under every generated corruption and severity (on a balanced test
    subset), and far-OOD detection of the synthetic textures (MSP, entropy, mutual information)."""
    from .metrics import ood_metrics, ood_score
    from .shift import shift_metrics, synthetic_textures

    textures = predict_member_probs(model, synthetic_textures(1000), device=device)
    criteria = ("msp", "entropy", "mutual_information") if member_probs.shape[1] > 1 else ("msp", "entropy")
    return {"test_per_class": per_class,
            "corruptions": shift_metrics(model, subset(test, per_class), device=device),
            "textures": {c: ood_metrics(ood_score(member_probs, c), ood_score(textures, c)) for c in criteria},
            "note": "corruptions in the style of CIFAR-10-C and procedural textures, generated by pe-lab"}


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
    parts = [s.strip() for s in str(text).split(",") if s.strip()]
    if not parts:
        raise ValueError("--seeds names no seed, e.g. --seeds 0,1,2")
    try:
        seeds = [int(s) for s in parts]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ValueError(f"--seeds lists {', '.join(map(str, duplicates))} more than once")
    if any(s < 0 for s in seeds):
        raise ValueError(f"--seeds must be >= 0, got {text!r}")
    return seeds


def validate_args(args) -> None:
    """Every check that needs no data, so that a bad option fails in a second, not after loading CIFAR-10."""
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
    if args.train_folder and (args.synthetic or args.shift):
        raise ValueError("--train-folder cannot be combined with --synthetic or --shift (CIFAR-10 only)")
    if args.restart and args.resume:
        raise ValueError("--resume keeps finished runs and --restart discards them: choose one")
    with torch.device("meta"):  # every layer's divisibility rule, without allocating anything
        for method in parse_methods(args.methods):
            _build(args, method)


COLUMNS = [("accuracy", "Acc", 100), ("nll", "NLL", 1), ("ece", "ECE", 1), ("brier", "Brier", 1),
           ("auroc", "AUROC", 100), ("aupr", "AUPR", 100), ("fpr95", "FPR95", 100)]


def summarise(runs: list[dict], ood_criterion: str = "msp") -> dict:
    """Mean and std over seeds of every reported number, per method."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        chosen = [r for r in runs if r["method"] == method]
        values: dict[str, list[float]] = {}
        for r in chosen:
            row = {k: r["metrics"][k] for k in ("accuracy", "nll", "ece", "brier")}
            row.update(r["metrics"].get("ood", {}).get(ood_criterion, {}))
            row.update(params=r["params"], train_seconds=r["train_seconds"],
                       test_images_per_second=r["test_images_per_second"])
            for k, v in row.items():
                values.setdefault(k, []).append(float(v))
        summary[method] = {k: {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0,
                               "n": len(v)} for k, v in values.items()}
        summary[method]["ood_criterion"] = ood_criterion
    return summary


def format_table(report: dict) -> str:
    """A Markdown table of the summary: mean ± std over seeds, OOD by the criterion it names."""
    summary = report["summary"]
    criterion = next(iter(summary.values()))["ood_criterion"] if summary else "msp"
    heads = ["Method"] + [f"{h} ({criterion})" if k in ("auroc", "aupr", "fpr95") else h for k, h, _ in COLUMNS]
    heads += ["Params", "Train s", "Test img/s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for method, stats in summary.items():
        spec = next(r["spec"] for r in report["runs"] if r["method"] == method)
        cells = [get_method(method).label(spec)]
        for key, _, scale in COLUMNS:
            if key in stats:
                digits = 1 if scale == 100 else 3
                spread = f"{stats[key]['std'] * scale:.{digits}f}" if stats[key]["n"] > 1 else "n/a"
                cells.append(f"{stats[key]['mean'] * scale:.{digits}f} ± {spread}")
            else:
                cells.append("n/a")
        cells += [f"{stats['params']['mean'] / 1e6:.3f} M", f"{stats['train_seconds']['mean']:.0f}",
                  f"{stats['test_images_per_second']['mean']:.0f}", str(stats["accuracy"]["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report["provenance"]
    note = " **Synthetic data: not CIFAR-10.**" if prov["data"]["synthetic"] else ""
    lines.append(f"\n{prov['data']['num_train']} train / {prov['data']['num_test']} test images "
                 f"({prov['data']['test']}), OOD: {prov['data']['ood']} ({prov['data']['num_ood']}); "
                 f"{prov['hardware']}; torch {prov['torch']}; commit {prov['git_commit'][:12]}; "
                 f"{prov['date']}.{note}")
    return "\n".join(lines)


def describe(report: dict) -> str:
    """What a report shows, in Markdown sentences generated from its numbers (never typed): which method is
    best on each headline metric, and how each ensemble compares with the others, with the seed spread.
    A difference within the larger of the two standard deviations is called *within noise*."""
    summary = report["summary"]
    labels = {m: label_for(next(r["spec"] for r in report["runs"] if r["method"] == m)) for m in summary}
    criterion = next(iter(summary.values())).get("ood_criterion", "msp")
    metrics = [("accuracy", "accuracy", True, 100, "%"), ("nll", "NLL", False, 1, ""), ("ece", "ECE", False, 1, ""),
               ("brier", "Brier score", False, 1, ""), ("auroc", f"OOD AUROC ({criterion})", True, 100, "%")]
    prov = report["provenance"]
    seeds = {stats["accuracy"]["n"] for stats in summary.values()}
    where = (f"{'synthetic data' if prov['data']['synthetic'] else 'real data'}, {prov['data']['num_train']} "
             f"training images, {'/'.join(map(str, sorted(seeds)))} seed(s), {prov['hardware']}")
    lines = [f"*Generated from the report ({where}).*", ""]
    for key, name, higher, scale, unit in metrics:
        present = {m: s[key] for m, s in summary.items() if key in s}
        if len(present) < 2:
            continue
        ranked = sorted(present, key=lambda m: present[m]["mean"], reverse=higher)
        best, runner = ranked[0], ranked[1]
        gap = abs(present[best]["mean"] - present[runner]["mean"])
        noise = max(present[best]["std"], present[runner]["std"])
        digits = 1 if scale == 100 else 3
        verdict = "within noise" if min(present[best]["n"], present[runner]["n"]) > 1 and gap <= noise else (
            "one seed: no spread to compare with" if min(present[best]["n"], present[runner]["n"]) == 1 else
            "beyond one standard deviation")
        values = ", ".join(f"{labels[m]} {present[m]['mean'] * scale:.{digits}f}{unit}" for m in ranked)
        lead = f"{gap * scale:.{digits}f}" + (" points" if unit else "")
        lines.append(f"* **{name}**: best is {labels[best]} ({values}); its lead over {labels[runner]} is "
                     f"{lead}, {verdict}.")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pe_lab.experiment", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="fill the options below from a preset")
    p.add_argument("--methods", default="single,deep,packed")
    p.add_argument("--model", default="resnet20")
    p.add_argument("--alpha", type=float, default=2)
    p.add_argument("--num-estimators", type=int, default=4)
    p.add_argument("--gamma", type=int, default=1)
    p.add_argument("--width", type=float, default=1.0,
                   help="base-width multiplier of the architecture, for every method (2: twice the channels)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--rho", type=float, default=0.6, help="MIMO: input repetition probability")
    p.add_argument("--batch-repetition", type=int, default=2, help="MIMO: batch repetitions per step")
    p.add_argument("--scale", type=float, default=2.0, help="Masksembles: mask overlap control (>= 1)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--no-nesterov", action="store_true", help="plain momentum (as the tutorials use)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--schedule", default="onecycle", choices=SCHEDULES)
    p.add_argument("--no-augment", action="store_true", help="no random crop and flip")
    p.add_argument("--member-loss", default="sum", choices=MEMBER_LOSSES,
                   help="sum over members (each gets its own gradient) or mean (torch-uncertainty's convention)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--data", default=None, help="data root (else $PE_LAB_DATA, else download)")
    p.add_argument("--offline", action="store_true", help="never try to download")
    p.add_argument("--synthetic", action="store_true", help="use synthetic data (says so everywhere)")
    p.add_argument("--train-per-class", type=int, default=None, help="train on a balanced subset")
    p.add_argument("--test-per-class", type=int, default=None, help="test on a balanced subset")
    p.add_argument("--no-ood", action="store_true", help="skip SVHN")
    p.add_argument("--ood-criterion", default="msp", choices=sorted(OOD_CRITERIA))
    p.add_argument("--num-bins", type=int, default=15, help="ECE bins")
    p.add_argument("--shift", action="store_true",
                   help="also evaluate under generated corruptions (in the style of CIFAR-10-C) and on textures")
    p.add_argument("--shift-per-class", type=int, default=100, help="test images per class for --shift")
    p.add_argument("--train-folder", default=None,
                   help="train on an image folder (<class>/<image>, e.g. ImageNet's train/) instead of CIFAR-10")
    p.add_argument("--test-folder", default=None, help="its test split (same class folders)")
    p.add_argument("--ood-folder", default=None, help="an out-of-distribution image folder for those runs")
    p.add_argument("--data-mode", default="auto", choices=("auto", "memory", "stream"),
                   help="image folders: decode into memory, or stream from disk (auto: by decoded size)")
    p.add_argument("--image-size", type=int, default=224, help="streamed folders: side of the crops")
    p.add_argument("--engine", default="pe-lab", choices=ENGINES,
                   help="pe-lab's own loop (one process) or PyTorch Lightning (pip install 'pe-lab[lightning]')")
    p.add_argument("--devices", type=int, default=1, help="Lightning: processes (GPUs, or CPU processes)")
    p.add_argument("--num-nodes", type=int, default=1, help="Lightning: machines (e.g. SLURM nodes)")
    p.add_argument("--strategy", default="auto", help=f"Lightning: {', '.join(STRATEGIES)}")
    p.add_argument("--num-workers", type=int, default=0, help="Lightning: DataLoader workers per process")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="assets/results/experiment.json")
    p.add_argument("--runs-dir", default="runs", help="checkpoints (resumable)")
    p.add_argument("--resume", action="store_true", help="keep finished runs found in --out (same settings only)")
    p.add_argument("--restart", action="store_true",
                   help="train from scratch: ignore checkpoints and runs made with other settings, and replace them")
    p.add_argument("--save-predictions", action="store_true", help="store the first seed's probabilities")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-eta", action="store_true", help="skip the few timed steps that estimate the run's time")
    return p


def parse_args(argv: list[str] | None = None, p: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """The command line as ``main`` reads it: a ``--preset`` fills the defaults, explicit flags win."""
    p = p or parser()
    args = p.parse_args(argv)
    if args.preset:
        p.set_defaults(**PRESETS[args.preset])
        args = p.parse_args(argv)
    return args


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
    if global_rank() == 0:
        print(format_table(report))
        print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
