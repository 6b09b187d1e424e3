"""Training and evaluation for any model that returns logits ``(B, M, K)``: Single, DE and PE alike.

* Every member has its own cross-entropy and the loss is their **sum**, so each member receives exactly the
  gradient it would receive if trained alone on that batch (a mean would shrink every member's step by M).
* A **PE**'s members all see the same batches (one forward through the packed network).
  A **DE**'s members each train on their own shuffle and augmentation (their own generator), which is
  what independently trained networks do. This is a real difference between the two; notebook 04 shows it.
* SGD with Nesterov momentum and weight decay, a one-cycle or cosine schedule, optional label smoothing;
  channels_last memory format; on CUDA, mixed precision (fp16 with loss scaling, which the T4 supports); both
  chosen by ``pe_lab.runtime.resolve_runtime``.
* A checkpoint is written atomically after every epoch; ``resume=True`` continues where it stopped, but
  only if the checkpoint's *run identity* (model, data, optimiser, schedule, epochs, batch, augmentation,
  AMP, seed, pe-lab version) equals this run's: otherwise ``RunMismatch`` names the first difference
  (``restart=True`` starts over instead). A non-finite loss stops the run with ``TrainingDiverged``,
  naming the step, and leaves the last good checkpoint in place; so do non-finite weights after an epoch whose
  losses were all finite (an update that overflowed at its last step): the parameters are checked before a
  checkpoint is written and before ``fit`` returns, and only a checkpoint with finite weights is called good.
* The step loop never waits for the GPU: loss, accuracy and the NaN check accumulate on the device and are
  read every ``SYNC_EVERY`` steps and at the end of each epoch. On CUDA, ``cudnn.benchmark`` is on (it picks
  the fastest grouped-convolution kernels for the fixed CIFAR shapes).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from ..config import atomic_save
from ..data.images import Batches, ImageSet
from ..evaluation.prediction import evaluate
from ..methods.registry import batch_functions
from ..runtime import Runtime, cudnn_benchmark, grad_scaler, resolve_runtime
from ..validate import check_int
from .checkpoint import History, checkpoint_state, resume_from, run_identity
from .recipe import Recipe, check_recipe
from .step import (
    SYNC_EVERY,
    TrainingUnit,
    make_training_units,
    step_statistics,
    stop_if_diverged,
    stop_if_weights_diverged,
    train_step,
)

__all__ = ["RunInterrupted", "fit", "seconds_per_epoch"]


class RunInterrupted(RuntimeError):
    """Training was stopped from outside (SIGTERM: a preempted job) before it finished; the message says which
    checkpoint holds the last finished epoch and how to resume. A command line exits 143 on it, never 0."""


@dataclass
class _Run:
    """What ``fit`` sets up once and every epoch uses."""

    model: nn.Module
    train: ImageSet
    recipe: Recipe
    units: list[TrainingUnit]
    scaler: object
    train_batch: object
    steps: int
    runtime: Runtime
    path: Path | None
    identity: dict | None
    history: History = field(default_factory=History)
    start_epoch: int = 0
    trained_by: list = field(default_factory=list)
    good_checkpoint: bool = False  # ``path`` holds this run's state with finite weights (written or resumed)

    @property
    def good_path(self) -> Path | None:
        """The checkpoint a diverged run may name as good: one this run wrote or resumed, never a stale file."""
        return self.path if self.good_checkpoint else None


def _setup(model, train, test, recipe: Recipe, *, device, amp, channels_last, checkpoint, resume, restart) -> _Run:
    runtime = resolve_runtime(device, amp, channels_last)
    path = Path(checkpoint) if checkpoint is not None else None
    identity = None if path is None else run_identity(model, train, test, recipe, runtime.amp)
    model = runtime.place(model)
    steps = len(train) // recipe.batch_size
    units = make_training_units(model, recipe, steps)
    run = _Run(model, train.to(runtime.device), recipe, units, grad_scaler(runtime.amp), batch_functions(model)[0],
               steps, runtime, path, identity)
    if resume and not restart and path is not None and path.exists():
        state = resume_from(path, model, units, identity, runtime.device)
        run.history, run.start_epoch = History(**state["history"]), state["epoch"]
        run.trained_by = state.get("trained_by", [])
        run.good_checkpoint = True
    run.trained_by = [*run.trained_by, {"engine": "pe-lab", "processes": 1, "from_epoch": run.start_epoch}]
    return run


def _train_epoch(run: _Run, epoch: int, progress: bool) -> tuple[float, float]:
    """One epoch: every unit in turn (a DE's members one after another, each on its own shuffle), one
    ``train_step`` per batch; returns the epoch's mean training loss and accuracy."""
    run.model.train()
    recipe = run.recipe
    # Running sums live on the device: reading them forces a sync, so it happens every SYNC_EVERY steps.
    loss_sum, correct = torch.zeros((), device=run.runtime.device), torch.zeros((), device=run.runtime.device)
    first_bad = torch.full((), -1, device=run.runtime.device, dtype=torch.long)
    seen, step_index, total = 0, 0, len(run.units) * run.steps
    for unit in run.units:
        batches = Batches(run.train, recipe.batch_size, shuffle=True, augment=recipe.augment, drop_last=True,
                          generator=unit.generator, channels_last=run.runtime.channels_last)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=not progress)
        for images, labels in bar:
            logits, labels, loss = train_step(unit, run.model, images, labels, recipe, train_batch=run.train_batch,
                                              scaler=run.scaler, amp=run.runtime.amp)
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()),
                                    torch.as_tensor(step_index, device=run.runtime.device), first_bad)
            batch_loss, batch_correct = step_statistics(logits, labels, loss, recipe.member_reduction)
            loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
            seen, step_index = seen + len(labels), step_index + 1
            if step_index % SYNC_EVERY == 0 or step_index == total:
                stop_if_diverged(first_bad, epoch, run.steps, run.good_path, run.start_epoch, recipe.lr,
                                 len(run.units))
                if progress:
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{correct.item() / seen:.3f}")
    stop_if_diverged(first_bad, epoch, run.steps, run.good_path, run.start_epoch, recipe.lr, len(run.units))
    stop_if_weights_diverged(run.units, epoch, run.good_path, run.start_epoch, recipe.lr)
    return loss_sum.item() / seen, correct.item() / seen


def fit(model: nn.Module, train: ImageSet, test: ImageSet | None = None, recipe: Recipe | None = None, *,
        device: str | torch.device = "auto", amp: bool | None = None, channels_last: bool | None = None,
        checkpoint: str | os.PathLike | None = None, resume: bool = False, restart: bool = False,
        progress: bool = True, **recipe_fields) -> History:
    """Train ``model`` on ``train`` with ``recipe`` (a ``Recipe``; or its fields as keywords, ``fit(model, train,
    epochs=3, lr=0.05)``); evaluate on ``test`` after each epoch.

    Works for any model returning ``(B, M, K)``. The model's method (``pe_lab.methods``) says how it splits
    into training units: a Deep Ensemble's members are trained one after the other within each epoch, each
    with its own optimiser, schedule, shuffle and augmentation; and how a batch is fed to it.
    Returns the ``History``; with ``checkpoint``, the state after each epoch is saved there.
    ``resume=True`` continues from that checkpoint if its run identity (recipe, model, data) matches (else
    ``RunMismatch``); ``restart=True`` ignores (and then overwrites) an existing checkpoint.
    """
    recipe = check_recipe(recipe, recipe_fields, train)
    run = _setup(model, train, test, recipe, device=device, amp=amp, channels_last=channels_last,
                 checkpoint=checkpoint, resume=resume, restart=restart)
    history = run.history
    epoch_bar = tqdm(range(run.start_epoch, recipe.epochs), desc="epochs", disable=not progress,
                     initial=run.start_epoch, total=recipe.epochs)
    with cudnn_benchmark(run.runtime.cuda):
        for epoch in epoch_bar:
            started = time.perf_counter()
            loss, train_accuracy = _train_epoch(run, epoch, progress)
            history.train_loss.append(loss)
            history.train_accuracy.append(train_accuracy)
            history.epoch_seconds.append(time.perf_counter() - started)
            if test is not None:
                scores = evaluate(run.model, test, device=run.runtime.device, channels_last=run.runtime.channels_last)
                history.test_accuracy.append(scores["accuracy"])
                history.test_nll.append(scores["nll"])
                history.test_ece.append(scores["ece"])
                epoch_bar.set_postfix(test_acc=f"{scores['accuracy']:.3f}", nll=f"{scores['nll']:.3f}")
            if run.path is not None:
                atomic_save(checkpoint_state(run.model, run.identity, epoch + 1, history, run.units,
                                             run.trained_by), run.path)
                run.start_epoch, run.good_checkpoint = epoch + 1, True
    return history


def seconds_per_epoch(model: nn.Module, train: ImageSet, *, batch_size: int = 128, device: str | torch.device = "auto",
                      amp: bool | None = None, channels_last: bool | None = None, steps: int = 3) -> float:
    """Estimated training seconds per epoch of ``model`` on ``train``, from ``steps`` timed steps (after one
    warm-up) of each training unit on a copy of the model, with ``train_step``, the step ``fit`` runs (the
    method's feeding included): an ETA to print before a long run starts. The copy leaves the model, its random
    state and its BatchNorm statistics untouched."""
    import copy

    runtime = resolve_runtime(device, amp, channels_last)
    device, cuda, amp = runtime.device, runtime.cuda, runtime.amp
    steps = check_int("steps", steps, minimum=1)
    probe = runtime.place(copy.deepcopy(model))
    probe.train()
    count = min(len(train), batch_size * (steps + 1))
    sample = ImageSet(train.images[:count], train.labels[:count], train.classes, train.source).to(device)
    train_batch, scaler, total = batch_functions(probe)[0], grad_scaler(amp), 0.0
    with cudnn_benchmark(cuda), torch.random.fork_rng(devices=[device] if cuda else []):
        probe_recipe = Recipe(epochs=1, batch_size=batch_size, lr=1e-3, weight_decay=0.0, schedule="constant")
        units = make_training_units(probe, probe_recipe, steps + 1)
        for unit in units:
            batches = list(Batches(sample, min(batch_size, count), shuffle=True, augment=True, drop_last=True,
                                   channels_last=runtime.channels_last))
            timed = 0.0
            for index in range(steps + 1):
                images, labels = batches[index % len(batches)]
                if cuda:
                    torch.cuda.synchronize(device)
                started = time.perf_counter()
                train_step(unit, probe, images, labels, probe_recipe, train_batch=train_batch, scaler=scaler, amp=amp)
                if cuda:
                    torch.cuda.synchronize(device)
                if index:  # the first step is a warm-up (allocation, kernel choice)
                    timed += time.perf_counter() - started
            total += timed / steps
    return total * (len(train) // batch_size)
