"""Training and evaluation for any model that returns logits ``(B, M, K)``: Single, DE and PE alike.

* Every member has its own cross-entropy and the loss is their **sum**, so each member receives exactly the
  gradient it would receive if trained alone on that batch (a mean would shrink every member's step by M).
* A **PE**'s members all see the same batches (one forward through the packed network).
  A **DE**'s members each train on their own shuffle and augmentation (their own generator), which is
  what independently trained networks do. This is a real difference between the two; notebook 04 shows it.
* SGD with Nesterov momentum and weight decay, a one-cycle or cosine schedule, optional label smoothing;
  channels_last memory format; on CUDA, mixed precision (fp16 with loss scaling, which the T4 supports).
* A checkpoint is written atomically after every epoch; ``resume=True`` continues where it stopped, but
  only if the checkpoint's *run identity* (model, data, optimiser, schedule, epochs, batch, augmentation,
  AMP, seed, pe-lab version) equals this run's: otherwise ``RunMismatch`` names the first difference
  (``restart=True`` starts over instead). A non-finite loss stops the run with ``TrainingDiverged``,
  naming the step, and leaves the last good checkpoint in place.
* The step loop never waits for the GPU: loss, accuracy and the NaN check accumulate on the device and are
  read every ``SYNC_EVERY`` steps and at the end of each epoch. On CUDA, ``cudnn.benchmark`` is on (it picks
  the fastest grouped-convolution kernels for the fixed CIFAR shapes).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import __version__
from .config import atomic_save as _atomic_save
from .config import cudnn_benchmark, get_device, grad_scaler
from .data import Batches, ImageSet
from .methods import batch_functions, training_units
from .metrics import accuracy, ece, nll
from .validate import check_choice, check_int, check_number

__all__ = [
    "CheckpointError", "History", "RecipeError", "RunInterrupted", "RunMismatch", "TrainingDiverged", "TrainingUnit",
    "check_recipe", "checkpoint_state", "data_fingerprint", "evaluate", "first_difference", "fit", "load_checkpoint",
    "load_model_state", "make_training_units", "member_loss", "predict_member_probs", "resume_from", "run_identity",
    "seconds_per_epoch", "step_statistics", "stop_if_diverged", "train_step", "unit_loss"]

SCHEDULES = ("onecycle", "cosine", "constant")
MEMBER_LOSSES = ("sum", "mean")
SYNC_EVERY = 50  # steps between host reads of the running loss (and the NaN flag) during an epoch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and which checkpoint is safe."""


class RunMismatch(ValueError):
    """A checkpoint exists for this path but was made by a run with other settings."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, not a pe-lab checkpoint)."""


class RunInterrupted(RuntimeError):
    """Training was stopped from outside (SIGTERM: a preempted job) before it finished; the message says which
    checkpoint holds the last finished epoch and how to resume. A command line exits 143 on it, never 0."""


class RecipeError(ValueError):
    """A recipe that does not fit the data it is given (a batch larger than the training set, too few steps for
    the one-cycle schedule): only known once the data is loaded, so the CLI reports it without a traceback."""


def data_fingerprint(data) -> dict:
    """What identifies a data set for a run: its source, size and a digest of its pixels and labels (for a
    streamed folder, ``FolderSet.fingerprint``: its files' names, sizes and times, which it never decodes whole)."""
    if not isinstance(data, ImageSet):
        return data.fingerprint()
    digest = hashlib.blake2b(digest_size=12)
    digest.update(data.images.cpu().contiguous().numpy().tobytes())
    digest.update(data.labels.cpu().contiguous().numpy().tobytes())
    return {"source": data.source, "count": len(data), "digest": digest.hexdigest()}


def first_difference(stored, wanted, path: str = "") -> str | None:
    """The first place where two nested dicts differ, as ``"key.sub: stored -> wanted"``, else None.

    >>> first_difference({"lr": 0.1, "data": {"count": 5}}, {"lr": 0.1, "data": {"count": 6}})
    'data.count: 5 -> 6'
    """
    if isinstance(stored, dict) and isinstance(wanted, dict):
        for key in list(dict.fromkeys([*stored, *wanted])):
            where = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in wanted:
                return f"{where}: {stored.get(key, '<absent>')!r} -> {wanted.get(key, '<absent>')!r}"
            found = first_difference(stored[key], wanted[key], where)
            if found:
                return found
        return None
    return None if stored == wanted else f"{path}: {stored!r} -> {wanted!r}"


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", *, mmap: bool = False) -> dict:
    """A checkpoint written by ``fit``, loaded with ``weights_only=True``; ``CheckpointError`` names the
    file and the way out when it is truncated or is not one. ``mmap=True`` maps the tensors instead of reading
    them (to read a checkpoint's record, e.g. ``trained_by``, without loading a large model)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True, mmap=mmap)
    except Exception as error:  # truncated zip, garbage bytes, a pickle with code in it
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}); delete it, or pass "
                              "restart=True (--restart) to train from scratch") from error
    if not isinstance(state, dict) or not {"model", "epoch", "units", "history"} <= set(state):
        raise CheckpointError(f"{path} is not a pe-lab training checkpoint (no model/epoch/units/history); "
                              "delete it, or pass restart=True (--restart)")
    return state


@dataclass
class History:
    """Per-epoch record of a run (lists indexed by epoch)."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_nll: list[float] = field(default_factory=list)
    test_ece: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def train_seconds(self) -> float:
        return float(sum(self.epoch_seconds))

    def to_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.__dict__.items()}


@dataclass
class TrainingUnit:
    """What one optimiser trains: the whole model (Single, PE) or one DE member, with its schedule and the
    generator of its shuffle and augmentation."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator


def make_training_units(model: nn.Module, *, lr: float, momentum: float, weight_decay: float, schedule: str,
                        epochs: int, steps_per_epoch: int, seed: int, nesterov: bool = True) -> list[TrainingUnit]:
    """The optimiser (SGD, no weight decay on norms and biases), schedule (stepped every step) and generator of
    each training unit of ``model``: the one recipe that both engines (``fit`` and ``pe_lab.lightning``) use."""
    modules = training_units(model)
    units = []
    for index, module in enumerate(modules):
        # No weight decay on BatchNorm and biases: the usual CIFAR recipe.
        decay = [p for p in module.parameters() if p.dim() > 1]
        no_decay = [p for p in module.parameters() if p.dim() <= 1]
        optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                     {"params": no_decay, "weight_decay": 0.0}],
                                    lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
        total = epochs * steps_per_epoch  # fit has checked the schedule's name
        if schedule == "onecycle" and total < 10:
            raise RecipeError(f"the one-cycle schedule needs at least 10 steps, got epochs*steps_per_epoch={total}; "
                              "use more data or epochs, or schedule='cosine'")
        if schedule == "onecycle":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                                            pct_start=0.25, anneal_strategy="linear")
        elif schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
        else:  # constant, as in PyTorch's and torch-uncertainty's CIFAR-10 tutorials
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        units.append(TrainingUnit(module, optimizer, scheduler, torch.Generator().manual_seed(seed * 1000 + index)))
    return units


def _spec_dict(model: nn.Module) -> dict | None:
    spec = getattr(model, "spec", None)
    return spec.to_dict() if spec is not None else None


def member_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float,
                reduction: str = "sum") -> torch.Tensor:
    """Sum (pe-lab's default) or mean (torch-uncertainty's) over members of each member's mean cross-entropy;
    logits ``(B, M, K)``. The mean divides every member's gradient by M."""
    batch, members, classes = logits.shape
    targets = labels.reshape(-1) if labels.dim() == 2 else labels.repeat_interleave(members)  # (B, M) or (B,)
    per_sample = F.cross_entropy(logits.reshape(batch * members, classes).float(), targets,
                                 label_smoothing=label_smoothing)
    return per_sample * members if reduction == "sum" else per_sample


def step_statistics(logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor,
                    member_reduction: str = "sum") -> tuple[torch.Tensor, torch.Tensor]:
    """A training step's contribution to the epoch's running sums, as device tensors (no host sync):
    ``(summed per-image loss, number correct)``. Correct means the ensemble's averaged prediction is right; with
    one label per member (MIMO's slots, labels ``(B, M)``) it is the members' mean accuracy."""
    detached = logits.detach()
    per_member = logits.shape[1] if member_reduction == "sum" else 1
    loss_sum = loss.detach().float() * len(labels) / per_member
    if labels.dim() == 1:
        correct = (detached.float().softmax(-1).mean(1).argmax(-1) == labels).sum()
    else:
        correct = (detached.argmax(-1) == labels).float().mean(1).sum()
    return loss_sum, correct


def run_identity(model: nn.Module, train, test, *, lr: float, momentum: float, nesterov: bool, weight_decay: float,
                 schedule: str, epochs: int, batch_size: int, member_reduction: str, label_smoothing: float,
                 augment: bool, amp: bool, seed: int) -> dict:
    """Everything that a checkpoint must share with a run that resumes it (else ``RunMismatch``). ``batch_size``
    is the *global* batch: a run on N processes with N * b = batch_size matches one process with batch_size.
    The engine is not part of it: a run may resume on another engine, and ``trained_by`` records which trained
    which epochs."""
    return {"model": _spec_dict(model), "train": data_fingerprint(train),
            "test": data_fingerprint(test) if test is not None else None,
            "optimizer": {"name": "sgd", "lr": lr, "momentum": momentum, "nesterov": bool(nesterov and momentum > 0),
                          "weight_decay": weight_decay},
            "schedule": schedule, "epochs": epochs, "batch_size": batch_size, "member_reduction": member_reduction,
            "label_smoothing": label_smoothing, "augment": bool(augment), "amp": bool(amp), "seed": seed,
            "pe_lab": __version__}


def checkpoint_state(model: nn.Module, identity: dict | None, epoch: int, history: History,
                     units: list[TrainingUnit], trained_by: list[dict]) -> dict:
    """What a checkpoint holds after ``epoch`` epochs, the same for both engines (so either can resume it)."""
    return {"spec": _spec_dict(model), "identity": identity, "model": model.state_dict(), "epoch": epoch,
            "history": history.to_dict(), "trained_by": trained_by,
            "units": [{"optimizer": u.optimizer.state_dict(), "scheduler": u.scheduler.state_dict(),
                       "generator": u.generator.get_state()} for u in units]}


def resume_from(path: Path, model: nn.Module, units: list[TrainingUnit], identity: dict | None,
                device: str | torch.device = "cpu") -> dict:
    """Load the checkpoint at ``path`` into ``model`` and ``units`` if its run identity equals ``identity``
    (else ``RunMismatch`` naming the first difference); returns the checkpoint (``epoch``, ``history``, ...)."""
    state = load_model_state(path, model, identity, device)
    restore_units(units, state)
    return state


def load_model_state(path: Path, model: nn.Module, identity: dict | None,
                     device: str | torch.device = "cpu") -> dict:
    """The first half of ``resume_from``: check the checkpoint's identity and load its weights into ``model``;
    returns the checkpoint, whose optimiser states ``restore_units`` loads once the units exist."""
    state = load_checkpoint(path, device)
    if state.get("spec") != _spec_dict(model):
        raise RunMismatch(f"checkpoint {path} is for {state.get('spec')}, not {_spec_dict(model)}; "
                          "pass restart=True (--restart) to train from scratch, or use another path")
    difference = first_difference(state.get("identity", {}), identity)
    if difference:
        raise RunMismatch(f"checkpoint {path} was made by a run with other settings ({difference}); "
                          "resuming would report that run under this one's settings. Pass restart=True "
                          "(--restart) to train from scratch, or use another path.")
    model.load_state_dict(state["model"])
    return state


def restore_units(units: list[TrainingUnit], state: dict) -> None:
    """Each unit's optimiser, schedule and generator from a checkpoint (the second half of ``resume_from``)."""
    for unit, unit_state in zip(units, state["units"], strict=True):
        unit.optimizer.load_state_dict(unit_state["optimizer"])
        unit.scheduler.load_state_dict(unit_state["scheduler"])
        unit.generator.set_state(unit_state["generator"].cpu())


@torch.no_grad()
def predict_member_probs(model: nn.Module, data, *, batch_size: int = 500,
                         device: str | torch.device = "auto", channels_last: bool | None = None) -> torch.Tensor:
    """Softmax probabilities of every member, ``(N, M, K)`` on the CPU, in eval mode. ``data``: an ``ImageSet``
    (in memory) or a ``pe_lab.streaming.FolderSet`` (read from disk)."""
    device = get_device(device)
    channels_last = True if channels_last is None else channels_last
    model = model.to(device).eval()
    if isinstance(data, ImageSet):
        batches = Batches(data.to(device), batch_size, channels_last=channels_last)
    else:  # a streamed folder (pe_lab.streaming.FolderSet): read by DataLoader workers, batch by batch
        batches = data.batches(batch_size, device=device, channels_last=channels_last)
    autocast = torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda")
    _, test_batch = batch_functions(model)
    out = []
    for images, _ in batches:
        with autocast:
            out.append(model(test_batch(images)).float().softmax(-1).cpu())
    return torch.cat(out)


def evaluate(model: nn.Module, data: ImageSet, **kwargs) -> dict[str, float]:
    """Accuracy, NLL and ECE of the ensemble's averaged prediction on ``data``."""
    probs = predict_member_probs(model, data, **kwargs).mean(1)
    labels = data.labels.cpu()
    return {"accuracy": accuracy(probs, labels), "nll": nll(probs, labels), "ece": ece(probs, labels)}


def check_recipe(train, *, epochs, batch_size, lr, momentum, weight_decay, label_smoothing, schedule,
                 member_reduction, seed) -> tuple:
    """The training recipe's checks (both engines run them before training): ``(epochs, batch_size, lr, momentum,
    weight_decay, label_smoothing, seed)`` validated, or a ``ValueError``/``TypeError`` naming the rule."""
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_number("lr", lr, positive=True)
    momentum = check_number("momentum", momentum, minimum=0, maximum=0.999)
    weight_decay = check_number("weight_decay", weight_decay, minimum=0)
    label_smoothing = check_number("label_smoothing", label_smoothing, minimum=0)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("member_reduction", member_reduction, MEMBER_LOSSES)
    seed = check_int("seed", seed)
    if not label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if len(train) < batch_size:
        raise RecipeError(f"the training set has {len(train)} images, fewer than batch_size={batch_size}")
    return epochs, batch_size, lr, momentum, weight_decay, label_smoothing, seed


def unit_loss(unit: TrainingUnit, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
              train_batch, amp: bool = False, label_smoothing: float = 0.0,
              member_reduction: str = "sum") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The forward half of every training step, the one both engines and the ETA run: the method feeds the batch
    (``train_batch``: MIMO's input slots, BatchEnsemble's repeat), the unit computes logits ``(B, M, K)``, and
    ``member_loss`` scores them. Returns ``(logits, labels as fed, loss)``."""
    images, labels = train_batch(model, images, labels, unit.generator)
    with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
        logits = unit.module(images)
        loss = member_loss(logits, labels, label_smoothing, member_reduction)
    return logits, labels, loss


def train_step(unit: TrainingUnit, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, train_batch,
               scaler, amp: bool = False, label_smoothing: float = 0.0,
               member_reduction: str = "sum") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimiser step of one training unit: ``unit_loss``, backward (scaled on CUDA), step, schedule.
    ``fit`` and ``seconds_per_epoch`` run it; the Lightning engine runs ``unit_loss`` for every unit of a step
    and one backward of their sum (the units share no weight, so each still gets its own gradient)."""
    logits, labels, loss = unit_loss(unit, model, images, labels, train_batch=train_batch, amp=amp,
                                     label_smoothing=label_smoothing, member_reduction=member_reduction)
    unit.optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(unit.optimizer)
    scaler.update()
    unit.scheduler.step()
    return logits, labels, loss


@dataclass
class _Run:
    """What ``fit`` sets up once and every epoch uses."""

    model: nn.Module
    train: ImageSet
    units: list[TrainingUnit]
    scaler: object
    train_batch: object
    steps: int
    device: torch.device
    amp: bool
    channels_last: bool
    path: Path | None
    identity: dict | None
    history: History = field(default_factory=History)
    start_epoch: int = 0
    trained_by: list = field(default_factory=list)


def _setup(model, train, test, *, epochs, batch_size, lr, momentum, weight_decay, schedule, label_smoothing,
           augment, device, amp, channels_last, seed, checkpoint, resume, restart, nesterov, member_reduction) -> _Run:
    device = get_device(device)
    cuda = device.type == "cuda"
    amp = (cuda if amp is None else amp) and cuda
    # channels_last measured faster on both: resnet20 train step on 2 CPU cores 0.31 s -> 0.14 s (Single),
    # 0.39 s -> 0.28 s (PE(2,4,1)), batch 128.
    channels_last = True if channels_last is None else channels_last
    path = Path(checkpoint) if checkpoint is not None else None
    identity = None if path is None else run_identity(
        model, train, test, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
        schedule=schedule, epochs=epochs, batch_size=batch_size, member_reduction=member_reduction,
        label_smoothing=label_smoothing, augment=augment, amp=amp, seed=seed)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    steps = len(train) // batch_size
    units = make_training_units(model, lr=lr, momentum=momentum, weight_decay=weight_decay, schedule=schedule,
                                epochs=epochs, steps_per_epoch=steps, seed=seed, nesterov=nesterov)
    run = _Run(model, train.to(device), units, grad_scaler(amp), batch_functions(model)[0], steps, device, amp,
               channels_last, path, identity)
    if resume and not restart and path is not None and path.exists():
        state = resume_from(path, model, units, identity, device)
        run.history, run.start_epoch = History(**state["history"]), state["epoch"]
        run.trained_by = state.get("trained_by", [])
    run.trained_by = [*run.trained_by, {"engine": "pe-lab", "processes": 1, "from_epoch": run.start_epoch}]
    return run


def _train_epoch(run: _Run, epoch: int, *, batch_size, augment, lr, label_smoothing, member_reduction,
                 progress) -> tuple[float, float]:
    """One epoch: every unit in turn (a DE's members one after another, each on its own shuffle), one
    ``train_step`` per batch; returns the epoch's mean training loss and accuracy."""
    run.model.train()
    # Running sums live on the device: reading them forces a sync, so it happens every SYNC_EVERY steps.
    loss_sum, correct = torch.zeros((), device=run.device), torch.zeros((), device=run.device)
    first_bad = torch.full((), -1, device=run.device, dtype=torch.long)
    seen, step_index, total = 0, 0, len(run.units) * run.steps
    for unit in run.units:
        batches = Batches(run.train, batch_size, shuffle=True, augment=augment, drop_last=True,
                          generator=unit.generator, channels_last=run.channels_last)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=not progress)
        for images, labels in bar:
            logits, labels, loss = train_step(unit, run.model, images, labels, train_batch=run.train_batch,
                                              scaler=run.scaler, amp=run.amp, label_smoothing=label_smoothing,
                                              member_reduction=member_reduction)
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()),
                                    torch.as_tensor(step_index, device=run.device), first_bad)
            batch_loss, batch_correct = step_statistics(logits, labels, loss, member_reduction)
            loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
            seen, step_index = seen + len(labels), step_index + 1
            if step_index % SYNC_EVERY == 0 or step_index == total:
                stop_if_diverged(first_bad, epoch, run.steps, run.path, run.start_epoch, lr, len(run.units))
                if progress:
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{correct.item() / seen:.3f}")
    stop_if_diverged(first_bad, epoch, run.steps, run.path, run.start_epoch, lr, len(run.units))
    return loss_sum.item() / seen, correct.item() / seen


def fit(model: nn.Module, train: ImageSet, test: ImageSet | None = None, *, epochs: int, batch_size: int = 128,
        lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4, schedule: str = "onecycle",
        label_smoothing: float = 0.0, augment: bool = True, device: str | torch.device = "auto",
        amp: bool | None = None, channels_last: bool | None = None, seed: int = 0,
        checkpoint: str | os.PathLike | None = None, resume: bool = False, restart: bool = False,
        progress: bool = True, nesterov: bool = True, member_reduction: str = "sum") -> History:
    """Train ``model`` for ``epochs`` epochs on ``train``; evaluate on ``test`` after each epoch.

    Works for any model returning ``(B, M, K)``. The model's method (``pe_lab.methods``) says how it splits
    into training units: a Deep Ensemble's members are trained one after the other within each epoch, each
    with its own optimiser, schedule, shuffle and augmentation; and how a batch is fed to it.
    Returns the ``History``; with ``checkpoint``, the state after each epoch is saved there.
    ``member_reduction="mean"`` reproduces torch-uncertainty's loss (mean over members) for comparison runs.
    ``resume=True`` continues from that checkpoint if its run identity matches (else ``RunMismatch``);
    ``restart=True`` ignores (and then overwrites) an existing checkpoint.
    """
    epochs, batch_size, lr, momentum, weight_decay, label_smoothing, seed = check_recipe(
        train, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
        label_smoothing=label_smoothing, schedule=schedule, member_reduction=member_reduction, seed=seed)
    run = _setup(model, train, test, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
                 weight_decay=weight_decay, schedule=schedule, label_smoothing=label_smoothing, augment=augment,
                 device=device, amp=amp, channels_last=channels_last, seed=seed, checkpoint=checkpoint,
                 resume=resume, restart=restart, nesterov=nesterov, member_reduction=member_reduction)
    history = run.history
    epoch_bar = tqdm(range(run.start_epoch, epochs), desc="epochs", disable=not progress, initial=run.start_epoch,
                     total=epochs)
    with cudnn_benchmark(run.device.type == "cuda"):
        for epoch in epoch_bar:
            started = time.perf_counter()
            loss, train_accuracy = _train_epoch(run, epoch, batch_size=batch_size, augment=augment, lr=lr,
                                                label_smoothing=label_smoothing, member_reduction=member_reduction,
                                                progress=progress)
            history.train_loss.append(loss)
            history.train_accuracy.append(train_accuracy)
            history.epoch_seconds.append(time.perf_counter() - started)
            if test is not None:
                scores = evaluate(run.model, test, device=run.device, channels_last=run.channels_last)
                history.test_accuracy.append(scores["accuracy"])
                history.test_nll.append(scores["nll"])
                history.test_ece.append(scores["ece"])
                epoch_bar.set_postfix(test_acc=f"{scores['accuracy']:.3f}", nll=f"{scores['nll']:.3f}")
            if run.path is not None:
                _atomic_save(checkpoint_state(run.model, run.identity, epoch + 1, history, run.units,
                                              run.trained_by), run.path)
                run.start_epoch = epoch + 1
    return history


def seconds_per_epoch(model: nn.Module, train: ImageSet, *, batch_size: int = 128, device: str | torch.device = "auto",
                      amp: bool | None = None, channels_last: bool | None = None, steps: int = 3) -> float:
    """Estimated training seconds per epoch of ``model`` on ``train``, from ``steps`` timed steps (after one
    warm-up) of each training unit on a copy of the model, with ``train_step``, the step ``fit`` runs (the
    method's feeding included): an ETA to print before a long run starts. The copy leaves the model, its random
    state and its BatchNorm statistics untouched."""
    import copy

    device = get_device(device)
    cuda = device.type == "cuda"
    amp = (cuda if amp is None else amp) and cuda
    channels_last = True if channels_last is None else channels_last
    steps = check_int("steps", steps, minimum=1)
    probe = copy.deepcopy(model).to(device)
    if channels_last:
        probe = probe.to(memory_format=torch.channels_last)
    probe.train()
    count = min(len(train), batch_size * (steps + 1))
    sample = ImageSet(train.images[:count], train.labels[:count], train.classes, train.source).to(device)
    train_batch, scaler, total = batch_functions(probe)[0], grad_scaler(amp), 0.0
    with cudnn_benchmark(cuda), torch.random.fork_rng(devices=[device] if cuda else []):
        units = make_training_units(probe, lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="constant",
                                    epochs=1, steps_per_epoch=steps + 1, seed=0)
        for unit in units:
            batches = list(Batches(sample, min(batch_size, count), shuffle=True, augment=True, drop_last=True,
                                   channels_last=channels_last))
            timed = 0.0
            for index in range(steps + 1):
                images, labels = batches[index % len(batches)]
                if cuda:
                    torch.cuda.synchronize(device)
                started = time.perf_counter()
                train_step(unit, probe, images, labels, train_batch=train_batch, scaler=scaler, amp=amp)
                if cuda:
                    torch.cuda.synchronize(device)
                if index:  # the first step is a warm-up (allocation, kernel choice)
                    timed += time.perf_counter() - started
            total += timed / steps
    return total * (len(train) // batch_size)


def stop_if_diverged(first_bad: torch.Tensor, epoch: int, steps: int, path: Path | None, good_epoch: int,
                     lr: float, units: int = 1) -> None:
    """Raise ``TrainingDiverged`` if ``first_bad`` (the epoch's first step index with a non-finite loss, -1 if
    none; a device tensor, read here) is set, naming the step, the member (when the model trains as ``units``
    separate members, each ``steps`` steps one after another: a DE) and the last good checkpoint."""
    bad = int(first_bad.item())
    if bad < 0:
        return
    unit, step = divmod(bad, steps)
    where = f"epoch {epoch + 1}, step {step + 1}" + (f" of member {unit}" if units > 1 else "")
    safe = f"the last good checkpoint is {path} (epoch {good_epoch})" if path and path.exists() \
        else "no checkpoint was written"
    raise TrainingDiverged(f"loss became non-finite (NaN or inf) at {where}; {safe}. Try a lower lr (now {lr}).")
