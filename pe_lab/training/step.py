"""One training step, the one every caller runs (``fit``, the Lightning engine, the ETA and the cost
benchmark): a training unit (the whole model, or one DE member) with its optimiser, schedule and generator;
the members' summed cross-entropy on logits ``(B, M, K)``; backward and step; and the divergence check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..methods.registry import training_units
from ..runtime import autocast
from .recipe import Recipe, RecipeError

__all__ = ["TrainingDiverged", "TrainingUnit", "make_training_units", "member_loss", "non_finite_units",
           "step_statistics", "stop_if_diverged", "stop_if_weights_diverged", "train_step", "unit_loss"]


SYNC_EVERY = 50  # steps between host reads of the running loss (and the NaN flag) during an epoch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and which checkpoint is safe."""


@dataclass
class TrainingUnit:
    """What one optimiser trains: the whole model (Single, PE) or one DE member, with its schedule and the
    generator of its shuffle and augmentation."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator


def make_training_units(model: nn.Module, recipe: Recipe, steps_per_epoch: int) -> list[TrainingUnit]:
    """The optimiser (SGD, no weight decay on norms and biases), schedule (stepped every step) and generator of
    each training unit of ``model``, from ``recipe``: what both engines (``fit`` and ``pe_lab.training.lightning``)
    train with."""
    modules = training_units(model)
    lr, momentum, schedule = recipe.lr, recipe.momentum, recipe.schedule
    units = []
    for index, module in enumerate(modules):
        # No weight decay on BatchNorm and biases: the usual CIFAR recipe.
        decay = [p for p in module.parameters() if p.dim() > 1]
        no_decay = [p for p in module.parameters() if p.dim() <= 1]
        optimizer = torch.optim.SGD([{"params": decay, "weight_decay": recipe.weight_decay},
                                     {"params": no_decay, "weight_decay": 0.0}],
                                    lr=lr, momentum=momentum, nesterov=recipe.nesterov and momentum > 0)
        total = recipe.epochs * steps_per_epoch
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
        generator = torch.Generator().manual_seed(recipe.seed * 1000 + index)
        units.append(TrainingUnit(module, optimizer, scheduler, generator))
    return units


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


def unit_loss(unit: TrainingUnit, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, recipe: Recipe, *,
              train_batch, amp: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The forward half of every training step, the one both engines and the ETA run: the method feeds the batch
    (``train_batch``: MIMO's input slots, BatchEnsemble's repeat), the unit computes logits ``(B, M, K)``, and
    ``member_loss`` scores them. Returns ``(logits, labels as fed, loss)``."""
    images, labels = train_batch(model, images, labels, unit.generator)
    with autocast(amp):
        logits = unit.module(images)
        loss = member_loss(logits, labels, recipe.label_smoothing, recipe.member_reduction)
    return logits, labels, loss


def train_step(unit: TrainingUnit, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, recipe: Recipe, *,
               train_batch, scaler, amp: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimiser step of one training unit: ``unit_loss``, backward (scaled on CUDA), step, schedule.
    ``fit`` and ``seconds_per_epoch`` run it; the Lightning engine runs ``unit_loss`` for every unit of a step
    and one backward of their sum (the units share no weight, so each still gets its own gradient)."""
    logits, labels, loss = unit_loss(unit, model, images, labels, recipe, train_batch=train_batch, amp=amp)
    unit.optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(unit.optimizer)
    scaler.update()
    unit.scheduler.step()
    return logits, labels, loss


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
    raise TrainingDiverged(f"loss became non-finite (NaN or inf) at {where}; {_safe(path, good_epoch)}. "
                           f"Try a lower lr (now {lr}).")


def _safe(path: Path | None, good_epoch: int) -> str:
    """Which checkpoint a diverged run leaves to resume from: ``path`` is given only when this run wrote or
    resumed it with finite weights (a file left there by an earlier run is no good checkpoint of this one)."""
    return f"the last good checkpoint is {path} (epoch {good_epoch})" if path and path.exists() \
        else "no checkpoint was written"


def non_finite_units(units: list[TrainingUnit]) -> list[int]:
    """The indices of the units whose parameters or floating buffers (BatchNorm statistics) hold a NaN or an
    infinity: an update can overflow while the loss that produced it was finite. One host sync for all units."""
    flags = [torch.stack([torch.isfinite(t).all() for t in (*unit.module.parameters(), *unit.module.buffers())
                          if t.is_floating_point()]).all() for unit in units]
    return [index for index, finite in enumerate(torch.stack(flags).tolist()) if not finite]


def stop_if_weights_diverged(units: list[TrainingUnit], epoch: int, path: Path | None, good_epoch: int,
                             lr: float) -> None:
    """Raise ``TrainingDiverged`` if any unit's weights are non-finite after ``epoch`` (checked before a checkpoint
    is written and before ``fit`` returns, so that neither ever holds them), naming the member of a model that
    trains as several units and the last good checkpoint (``path``: see ``_safe``)."""
    bad = non_finite_units(units)
    if not bad:
        return
    which = f"the weights of member {', '.join(map(str, bad))}" if len(units) > 1 else "the weights"
    raise TrainingDiverged(f"{which} became non-finite (NaN or inf) in epoch {epoch + 1} although the loss stayed "
                           f"finite (an update overflowed); {_safe(path, good_epoch)}. Try a lower lr (now {lr}).")
