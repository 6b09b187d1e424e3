"""``run_experiment(experiment)``: train every method of an ``Experiment`` once per seed, measure each run and
write the report (JSON with provenance; the first seed's probabilities beside it when asked).

Each run checkpoints every epoch under ``outputs.runs_dir``; running the same experiment again resumes instead of
starting over. A checkpoint or a report (``outputs.resume``) made with other settings is refused, naming the first
difference (``outputs.restart`` starts over); two runs writing the same ``outputs.out`` at once are refused by a
lock. ``check_experiment`` does every check that needs no data, so a bad setting fails in a second.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from ..config import set_seed
from ..data.images import ImageSet
from ..files import doing, probe_writable
from ..results.predictions import pick_sample_images, save_predictions, save_sample_images
from ..results.provenance import recorded_value
from ..results.records import Report, ReportError, Run, read_report, write_record
from ..results.report_files import report_lock
from ..results.tables import summarise
from ..results.train_and_measure import evaluate_run, make_provenance
from ..runtime import get_device
from ..training.checkpoint import checkpoint_digest, first_difference, load_checkpoint
from ..training.engine_choice import check_engine, global_rank
from ..training.loop import fit, seconds_per_epoch
from .data import load_data
from .spec import Experiment, checkpoint_path

__all__ = ["check_experiment", "checkpoint_path", "estimate", "run_experiment"]


def check_experiment(experiment: Experiment) -> None:
    """Every check that needs no data: the engine and device, where the outputs go, a streamed data mode's
    engine, the shift benchmarks' files, and every layer's divisibility rule (each method built on the meta device,
    allocating nothing)."""
    data, engine, outputs = experiment.data, experiment.engine, experiment.outputs
    check_engine(engine.name, devices=engine.devices, strategy=engine.strategy, num_nodes=engine.num_nodes,
                 accelerator=get_device(engine.device).type, batch_size=experiment.recipe.batch_size)
    if data.train_folder and data.mode == "auto":
        from ..data.streaming import memory_limit_bytes

        memory_limit_bytes()  # a bad $PE_LAB_MEMORY_LIMIT_GB is refused now, naming the variable, not mid-load
    _check_benchmarks(experiment)
    _check_outputs(outputs.out, outputs.runs_dir)
    with torch.device("meta"):
        for method in experiment.models.methods:
            experiment.models.build(method)


def _check_benchmarks(experiment: Experiment) -> None:
    from ..data.benchmarks import cifar10c_corruptions
    from ..data.images import DataError

    evaluation = experiment.evaluation
    if evaluation.cifar10c is not None:
        cifar10c_corruptions(evaluation.cifar10c)  # names the broken layout now, not after hours of training
    if evaluation.texture_folder is not None and not Path(evaluation.texture_folder).is_dir():
        raise DataError(f"texture folder {evaluation.texture_folder} is not a folder")


def _check_outputs(out, runs_dir) -> None:
    """``out`` must name a file that can be written, ``runs_dir`` a folder (or a place for one) where files can be
    created: found out now (by creating a file there), not when the first checkpoint is written after an epoch."""
    out_path = Path(out)
    with doing("check the report path", out_path):
        if out_path.is_dir():
            raise ValueError(f"out {out} is a folder: give a file name inside it, e.g. {out_path / 'report.json'}")
    if len(out_path.name.encode()) + len(".lock") > 255:  # the lock and temporary files add to the name
        raise ValueError(f"out {out}: the file name is too long for the file system (at most 250 bytes)")
    if global_rank() != 0:
        return  # only rank 0 writes the report and the checkpoints, so only it probes (a probe is a file too)
    problem = probe_writable("the report's folder", out_path.parent)
    if problem:
        raise ValueError(f"out {out} cannot be written: {problem}")
    problem = probe_writable("runs_dir", runs_dir)
    if problem:
        raise ValueError(f"{problem}; give a folder for the checkpoints")


def _trainer(experiment: Experiment):
    """The engine's ``fit`` and its own options."""
    engine = experiment.engine
    if engine.name == "lightning":
        from ..training.lightning import fit_lightning

        return fit_lightning, {"devices": engine.devices, "num_nodes": engine.num_nodes,
                               "strategy": engine.strategy, "num_workers": experiment.data.num_workers}
    return fit, {}


def run_experiment(experiment: Experiment) -> Report:
    """Train, measure and report ``experiment`` (see the module doc); returns the report as written."""
    check_experiment(experiment)
    outputs = experiment.outputs
    device = get_device(experiment.engine.device)
    out = Path(outputs.out)
    # Every process of a multi-process (DDP) run executes this function; rank 0 alone locks, evaluates and writes.
    rank_zero = global_rank() == 0
    with report_lock(out) if rank_zero else contextlib.nullcontext():
        previous = None
        if out.exists() and outputs.resume and not outputs.restart:
            previous = read_report(out)  # fail on a broken report before reading any data
        with doing("read the data from", experiment.data.where):
            train, test, ood = load_data(experiment.data, experiment.engine.name)
        identity = experiment.identity(train, test, ood)
        kept = []
        if previous is not None:
            difference = (first_difference(previous.identity, identity) if previous.identity is not None
                          else "the report records no identity")
            if difference:
                raise ReportError(f"resume: the runs in {out} were made with other settings ({difference}); "
                                  "restart to replace them, or write another report")
            kept = list(previous.runs)  # every finished run, also of seeds or methods not asked for now
        seeds = experiment.seeds
        report_seeds = sorted({r.seed for r in kept} | set(seeds))
        command = experiment.command or f"pe_lab.run_experiment({_recorded(experiment)!r})"
        report = Report(make_provenance(train, test, ood, device, report_seeds, command), runs=kept, identity=identity)
        done = {(r.method, r.seed) for r in report.runs}
        if outputs.eta and rank_zero and isinstance(train, ImageSet):
            report.eta = estimate(experiment, train, done, device)
        if outputs.eta_only:  # plan a class: the time it would take, nothing trained or written
            return report
        for seed in seeds:
            for method in experiment.models.methods:
                if (method, seed) not in done:
                    _train_and_measure(experiment, method, seed, (train, test, ood), device, report, rank_zero)
        report.summary = summarise(report.runs, experiment.evaluation.ood_criterion)
        if rank_zero:
            write_record(report, out)
    return report


def _train_and_measure(experiment: Experiment, method: str, seed: int, data: tuple, device, report: Report,
                       rank_zero: bool) -> None:
    """Train one (method, seed) run (resuming its checkpoint), measure it and add it to ``report``, written at
    once: a run that finished is never lost to a later one that fails. Only rank 0 measures and writes."""
    train, test, ood = data
    outputs, out = experiment.outputs, Path(experiment.outputs.out)
    set_seed(seed)
    model = experiment.models.build(method, len(train.classes))
    checkpoint = checkpoint_path(out, outputs.runs_dir, method, seed)
    train_fn, engine_options = _trainer(experiment)
    history = train_fn(model, train, test, experiment.recipe.replace(seed=seed), device=device,
                       checkpoint=checkpoint, resume=True, restart=outputs.restart, progress=outputs.progress,
                       **engine_options)
    if not rank_zero:
        return
    run, member_probs, ood_probs = evaluate_run(method, seed, model, history, test, ood, device,
                                                experiment.evaluation.num_bins)
    engine = experiment.engine
    run = run.replace(engine={"name": engine.name, "processes": engine.devices * engine.num_nodes,
                              "strategy": engine.strategy})
    if experiment.evaluation.shift:
        from .shift import shift_evaluation

        run = run.replace(shift=shift_evaluation(model, test, member_probs, experiment.evaluation, device))
    if checkpoint.exists():
        run = _with_checkpoint(run, checkpoint)
    report.runs.append(run)
    if seed == report.seeds[0] and outputs.save_predictions:  # the seed the notebooks load
        save_predictions(out.with_name(f"{out.stem}-predictions-{method}-seed{seed}.pt"), member_probs,
                         test.labels, ood_probs, test.classes)
        if member_probs.shape[1] > 1 and isinstance(test, ImageSet):  # where members can disagree
            save_sample_images(out.with_name(f"{out.stem}-samples.pt"), test.images, pick_sample_images(member_probs))
    report.summary = summarise(report.runs, experiment.evaluation.ood_criterion)
    write_record(report, out)
    metrics = run.metrics
    print(f"[{method} seed {seed}] acc {metrics['accuracy']:.4f} nll {metrics['nll']:.4f} "
          f"ece {metrics['ece']:.4f} in {history.train_seconds:.0f}s", flush=True)


def _recorded(experiment: Experiment) -> Experiment:
    """``experiment`` as its report records it: each data option as ``recorded_value`` names it (the root by
    ``$PE_LAB_DATA``, a folder by its last two parts), the same rule as a recorded command line, so that the report
    holds no path of the machine that made it."""
    fields = {"root": "--data", "train_folder": "--train-folder", "test_folder": "--test-folder",
              "ood_folder": "--ood-folder", "cifar10c": "--cifar10c", "texture_folder": "--texture-folder"}
    named = {name: recorded_value(flag, value) for name, flag in fields.items()
             if (value := getattr(experiment.data, name, None) or getattr(experiment.evaluation, name, None))}
    return experiment.replace(**named)


def _with_checkpoint(run: Run, checkpoint: Path) -> Run:
    """``run`` with its checkpoint's record: which engine trained which epochs (a run resumed across engines, or
    found finished, was not all trained by this engine), the file (where the shift evaluation finds the trained
    model) and its SHA-256 (a later run with other settings may write another file at the same path)."""
    stored = load_checkpoint(checkpoint, mmap=True)
    return run.replace(trained_by=tuple(stored.get("trained_by", [])), checkpoint=str(checkpoint),
                       checkpoint_sha256=checkpoint_digest(checkpoint), checkpoint_epoch=int(stored["epoch"]))


def estimate(experiment: Experiment, train: ImageSet, done: set, device: torch.device) -> dict:
    """Print and return the estimated training time of the runs still to do, from a few timed steps of each
    method on this machine (training only; evaluation adds a little)."""
    seeds, epochs = experiment.seeds, experiment.recipe.epochs
    per_epoch = {}
    for method in experiment.models.methods:
        if all((method, seed) in done for seed in seeds):
            continue
        model = experiment.models.build(method, len(train.classes))
        per_epoch[method] = seconds_per_epoch(model, train, batch_size=experiment.recipe.batch_size, device=device)
    runs = {m: sum((m, s) not in done for s in seeds) for m in per_epoch}
    total = sum(per_epoch[m] * epochs * runs[m] for m in per_epoch)
    parts = ", ".join(f"{m} {per_epoch[m]:.0f} s/epoch x {epochs} x {runs[m]} run(s)" for m in per_epoch)
    # The steps are timed with pe-lab's own loop in this one process: for the Lightning engine that is a guide
    # only (its per-image loading is slower on CPU; several processes share the work).
    timed_with = "pe-lab's loop, one process"
    engine = experiment.engine.name
    caveat = "" if engine == "pe-lab" else f" (timed with {timed_with}: a guide for the {engine} engine)"
    print(f"ETA (training only, from 3 timed steps per method here): {parts}; about {total / 60:.1f} min in all"
          f"{caveat}", flush=True)
    return {"seconds_per_epoch": per_epoch, "total_seconds": total, "runs": runs, "timed_with": timed_with}
