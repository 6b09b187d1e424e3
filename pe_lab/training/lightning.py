"""PyTorch Lightning engine: any pe-lab method on several processes (DDP), and data streamed from disk.

``pip install 'pe-lab[lightning]'``. Nothing of the recipe is written twice: the ``Recipe`` itself, the forward
half of a step (``step.unit_loss``: the method's feeding, logits, loss), the optimisers and schedules
(``step.make_training_units``), the step's running sums (``step.step_statistics``), the NaN stop
(``step.stop_if_diverged``), the evaluation (``evaluation.prediction.evaluate``), the run identity and the
checkpoint (``checkpoint.run_identity``, ``checkpoint.checkpoint_state``, ``checkpoint.load_model_state``) are the
ones ``fit`` uses. So a checkpoint written by either engine is resumed by the other (``trained_by`` in it records
which engine, on how many processes, trained from which epoch).

How it maps onto Lightning:

* ``EnsembleModule`` trains with *manual optimisation*: a Deep Ensemble's members keep their own optimisers,
  schedules and shuffles (one data loader per member, combined), and the step back-propagates the sum of the
  members' losses once (members share no weight, so each gets exactly its own gradient) and steps every optimiser.
  fp16 mixed precision on CUDA uses one loss scaler for all of them, updated once per step.
* ``EnsembleDataModule`` serves per-process shares of the *global* batch: N processes with ``batch_size / N``
  each see the global batches of one process with ``batch_size`` (``streaming.ShardedEpochSampler``), and every
  image's augmentation depends only on (seed, member, epoch, image), so the two runs match up to floating-point
  summation order. On GPUs, BatchNorm is synchronised across processes (statistics of the global batch); torch
  cannot do that on CPU processes, where each normalises with its own share (a warning says so).
* Rank 0 alone evaluates after each epoch and writes the checkpoint; the other processes write nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..config import atomic_save
from ..data.images import ImageSet
from ..data.streaming import FolderSet, SeededItems, ShardedEpochSampler, normalization, normalize
from ..evaluation.prediction import evaluate
from ..methods.registry import batch_functions, training_units
from ..runtime import cudnn_benchmark, grad_scaler, resolve_runtime
from ..validate import check_int
from .checkpoint import History, checkpoint_state, load_model_state, restore_units, run_identity
from .engine_choice import check_engine, require_lightning
from .loop import RunInterrupted
from .recipe import Recipe, check_recipe
from .step import (
    SYNC_EVERY,
    make_training_units,
    step_statistics,
    stop_if_diverged,
    stop_if_weights_diverged,
    unit_loss,
)

L = require_lightning()  # LightningMissing (with the pip command) if the extra is not installed

__all__ = ["EnsembleDataModule", "EnsembleModule", "fit_lightning", "revert_sync_batchnorm"]


class EnsembleDataModule(L.LightningDataModule):
    """Training batches of ``train`` (an ``ImageSet`` in memory or a ``FolderSet`` on disk) for ``units``
    training units (1, or M for a Deep Ensemble: each member its own shuffle and augmentation), split over the
    trainer's processes. Batches are read as uint8 ``(b, 3, H, W)`` with labels ``(b,)``, b = ``batch_size`` /
    processes, and normalised once on the device. ``test_dataloader`` serves ``test`` in order (uint8)."""

    def __init__(self, train: ImageSet | FolderSet, test: ImageSet | FolderSet | None = None, *, batch_size: int,
                 ood: ImageSet | FolderSet | None = None,
                 units: int = 1, seed: int = 0, augment: bool = True, num_workers: int = 0,
                 epoch_offset: int = 0, channels_last: bool = True) -> None:
        super().__init__()
        (self.mean, self.std), self.channels_last = normalization(train), channels_last
        self.train_set, self.test_set, self.ood_set = train, test, ood
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.units = check_int("units", units, minimum=1)
        self.seed, self.augment, self.epoch_offset = seed, augment, epoch_offset
        self.num_workers = check_int("num_workers", num_workers, minimum=0)

    @classmethod
    def cifar10(cls, root: str | os.PathLike | None = None, *, download: bool = True, svhn: bool = True,
                **kwargs) -> EnsembleDataModule:
        """CIFAR-10 train and test and, with ``svhn``, the SVHN test split as the OOD set, found or downloaded as
        ``pe_lab.data.load_cifar10`` / ``load_svhn`` do."""
        from ..data.images import load_cifar10, load_svhn

        return cls(load_cifar10("train", root, download=download), load_cifar10("test", root, download=download),
                   ood=load_svhn(root, download=download) if svhn else None, **kwargs)

    def _processes(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def train_dataloader(self):
        world, rank = self._processes()
        if self.batch_size % world:
            raise ValueError(f"the global batch_size {self.batch_size} must be divisible by the {world} processes")
        loaders = []
        for unit in range(self.units):
            items = SeededItems(self.train_set, train=True, augment=self.augment, seed=self.seed, unit=unit)
            sampler = ShardedEpochSampler(len(items), self.batch_size // world, num_replicas=world, rank=rank,
                                          seed=self.seed, unit=unit, epoch_offset=self.epoch_offset)
            loaders.append(DataLoader(items, batch_size=self.batch_size // world, sampler=sampler,
                                      num_workers=self.num_workers, persistent_workers=False,
                                      pin_memory=torch.cuda.is_available()))
        return loaders

    def on_after_batch_transfer(self, batch, dataloader_idx: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """On the device: uint8 -> normalised float (channels_last), one ``(images, labels)`` per unit."""
        out = []
        for images, labels in [batch] if torch.is_tensor(batch[0]) else batch:  # one loader's batch, or each unit's
            images = normalize(images, self.mean, self.std)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            out.append((images, labels))
        return out

    def _in_order(self, data: ImageSet | FolderSet | None, what: str) -> DataLoader:
        if data is None:
            raise ValueError(f"this data module has no {what} set")
        return DataLoader(SeededItems(data, train=False), batch_size=self.batch_size, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        """The test set in order, unaugmented."""
        return self._in_order(self.test_set, "test")

    def predict_dataloader(self) -> list[DataLoader]:
        """The test set, then the OOD set (if any), in order: what an OOD evaluation predicts on."""
        return [self._in_order(self.test_set, "test")] + ([self._in_order(self.ood_set, "OOD")]
                                                           if self.ood_set is not None else [])

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train_set) // self.batch_size


class EnsembleModule(L.LightningModule):
    """Trains ``model`` (any pe-lab method, logits ``(B, M, K)``) with ``fit``'s recipe; see the module doc.

    Batches come normalised from ``EnsembleDataModule``, one per training unit. ``test``: evaluated by rank 0 after
    every epoch (``evaluate``). ``checkpoint``: written by rank 0 after every epoch, in ``fit``'s format.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, *, steps_per_epoch: int, amp: bool = False,
                 channels_last: bool = True, test: ImageSet | FolderSet | None = None,
                 checkpoint: str | os.PathLike | None = None, identity: dict | None = None,
                 resumed: dict | None = None, history: History | None = None, start_epoch: int = 0,
                 trained_by: list[dict] | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.recipe, self.steps_per_epoch = recipe, steps_per_epoch
        self.amp, self.channels_last = amp, channels_last
        self.test_set, self.identity, self.resumed = test, identity, resumed
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.history = history if history is not None else History()
        self.start_epoch, self.trained_by = start_epoch, list(trained_by or [])
        self.scaler = grad_scaler(amp)
        self.train_batch, _ = batch_functions(model)
        self.units = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)

    def configure_optimizers(self):
        self.units = make_training_units(self.model, self.recipe, self.steps_per_epoch)
        return [unit.optimizer for unit in self.units]

    def on_fit_start(self) -> None:
        if self.resumed is not None:
            restore_units(self.units, self.resumed)

    def on_train_epoch_start(self) -> None:
        self.model.train()
        self._started = time.perf_counter()
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), device=self.device)
        self._seen = torch.zeros((), device=self.device)
        self._first_bad = torch.full((), -1, device=self.device, dtype=torch.long)
        self._step = 0

    def training_step(self, batch, batch_idx: int) -> None:
        if len(batch) != len(self.units):
            raise ValueError(f"got batches for {len(batch)} training units, the model has {len(self.units)}")
        total = torch.zeros((), device=self.device)
        for unit, (images, labels) in zip(self.units, batch, strict=True):
            logits, labels, loss = unit_loss(unit, self.model, images, labels, self.recipe,
                                             train_batch=self.train_batch, amp=self.amp)
            total = total + loss
            batch_loss, batch_correct = step_statistics(logits, labels, loss, self.recipe.member_reduction)
            self._loss_sum += batch_loss
            self._correct += batch_correct
            self._seen += len(labels)
        for unit in self.units:
            unit.optimizer.zero_grad(set_to_none=True)
        # The members share no weight: one backward of the summed losses gives each member its own gradient
        # (and DDP wants one backward per forward).
        self.manual_backward(self.scaler.scale(total))
        for unit in self.units:
            self.scaler.step(unit.optimizer)
        self.scaler.update()
        for unit in self.units:
            unit.scheduler.step()
        self._first_bad = torch.where((self._first_bad < 0) & ~torch.isfinite(total.detach()),
                                      torch.as_tensor(self._step, device=self.device), self._first_bad)
        self._step += 1
        if self._step % SYNC_EVERY == 0:
            self._stop_if_diverged()

    def _stop_if_diverged(self) -> None:
        first_bad = self.all_gather(self._first_bad).max()  # any process
        stop_if_diverged(first_bad, self.start_epoch + self.current_epoch, self.steps_per_epoch,
                         self.checkpoint, self.start_epoch + self.current_epoch, self.recipe.lr)

    def on_train_epoch_end(self) -> None:
        self._stop_if_diverged()
        # A finite loss can still end with non-finite weights (the epoch's last update overflowed): check them
        # before this epoch's checkpoint is written, so that no checkpoint ever holds them.
        good = self.start_epoch + self.current_epoch
        stop_if_weights_diverged(self.units, good, self.checkpoint, good, self.recipe.lr)
        totals = self.all_gather(torch.stack([self._loss_sum, self._correct, self._seen]).float())
        loss_sum, correct, seen = totals.reshape(-1, 3).sum(0).tolist()  # (3,) alone, (processes, 3) in DDP
        epoch = self.start_epoch + self.current_epoch
        self.history.train_loss.append(loss_sum / seen)
        self.history.train_accuracy.append(correct / seen)
        self.history.epoch_seconds.append(time.perf_counter() - self._started)
        if not self.trainer.is_global_zero:
            return  # rank 0 alone evaluates and writes
        if self.test_set is not None:
            scores = evaluate(self.model, self.test_set, device=self.device, channels_last=self.channels_last)
            self.history.test_accuracy.append(scores["accuracy"])
            self.history.test_nll.append(scores["nll"])
            self.history.test_ece.append(scores["ece"])
            self.model.train()
        if self.checkpoint is not None:
            atomic_save(checkpoint_state(self.model, self.identity, epoch + 1, self.history, self.units,
                                         self.trained_by), self.checkpoint)


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Undo ``nn.SyncBatchNorm.convert_sync_batchnorm`` in place (same parameters and running statistics): the
    trained model is then usable in one process again."""
    for name, child in module.named_children():
        if isinstance(child, nn.SyncBatchNorm):
            plain = nn.BatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                   child.track_running_stats, device=child.weight.device if child.affine else None)
            plain.load_state_dict(child.state_dict())
            plain.train(child.training)
            setattr(module, name, plain)
        else:
            revert_sync_batchnorm(child)
    return module


def _destroy_process_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _destroy_process_group_at_exit() -> None:
    atexit.unregister(_destroy_process_group)  # registered once however many runs one command trains
    atexit.register(_destroy_process_group)


def _resumed(model: nn.Module, path: Path | None, identity: dict | None, resume: bool) -> tuple:
    """``(history, start_epoch, trained_by, checkpoint or None)`` of a run that resumes ``path`` (checked and read
    once, here; the optimisers get their states in ``on_fit_start``, once they exist), or of a fresh run."""
    if not (resume and path is not None and path.exists()):
        return History(), 0, [], None
    state = load_model_state(path, model, identity)
    return History(**state["history"]), state["epoch"], state.get("trained_by", []), state


def _trainer(model: nn.Module, *, accelerator: str, devices: int, num_nodes: int, strategy: str, max_epochs: int,
             progress: bool):
    """The Lightning ``Trainer`` of a run, and whether it syncs BatchNorm across processes."""
    # torch's SyncBatchNorm runs on GPUs only: on CPU processes each one normalises with its own share's
    # statistics, which is not the computation of one process with the global batch (said once, here).
    has_norms = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    processes = devices * num_nodes
    sync_norms = processes > 1 and accelerator == "cuda" and has_norms
    if processes > 1 and accelerator != "cuda" and has_norms:
        warnings.warn(f"BatchNorm on {processes} CPU processes uses each process's own batch statistics (torch's "
                      "SyncBatchNorm needs GPUs): the run is close to, not the same as, one process with the "
                      "global batch", stacklevel=3)
    if not progress:  # the device summary and tips too: a quiet run prints only what pe-lab reports
        logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    trainer = L.Trainer(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
                        max_epochs=max_epochs, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, enable_progress_bar=progress, use_distributed_sampler=False,
                        sync_batchnorm=sync_norms, num_sanity_val_steps=0, limit_val_batches=0)
    return trainer, sync_norms


def _fit(trainer, module, data, *, cuda: bool, epochs: int, checkpoint) -> None:
    """``trainer.fit``, with a SIGTERM named as ``RunInterrupted`` and the process group destroyed at exit."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    try:
        with cudnn_benchmark(cuda):
            trainer.fit(module, datamodule=data)
    except SIGTERMException:
        # Lightning ends a SIGTERM'd fit with a SystemExit of code None, i.e. exit status 0: a preempted job
        # would look finished. Name it instead (the CLI exits 143).
        where = f"the checkpoint {checkpoint} holds the last finished epoch" if checkpoint else "no checkpoint"
        raise RunInterrupted(f"training stopped by SIGTERM before epoch {epochs} ({where}); run the same command "
                             "again to resume") from None
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # Lightning keeps the process group for the next fit and never destroys it; a gloo process that exits with
        # it alive can abort at interpreter shutdown ("terminate called without an active exception", seen once
        # on CI). Destroyed at exit, while the interpreter is still whole; every rank does it.
        _destroy_process_group_at_exit()


def fit_lightning(model: nn.Module, train: ImageSet | FolderSet, test: ImageSet | FolderSet | None = None,
                  recipe: Recipe | None = None, *, device: str | torch.device = "auto", amp: bool | None = None,
                  channels_last: bool | None = None, checkpoint: str | os.PathLike | None = None,
                  resume: bool = False, restart: bool = False, progress: bool = True, devices: int = 1,
                  strategy: str = "auto", num_workers: int = 0, num_nodes: int = 1, **recipe_fields) -> History:
    """``fit`` on Lightning: the same arguments (the recipe's ``batch_size`` is the global batch) plus ``devices``
    (processes per machine), ``num_nodes`` (machines, e.g. under SLURM), ``strategy`` (``"auto"``, ``"ddp"``) and
    ``num_workers`` (DataLoader workers per process).

    Every process must call it (as every DDP program runs on every rank); each returns the ``History`` (test
    metrics only on rank 0). ``train`` may be a ``FolderSet``, read from disk by the workers.
    """
    runtime = resolve_runtime(device, amp, channels_last)
    accelerator, amp, channels_last = runtime.device.type, runtime.amp, runtime.channels_last
    recipe = check_recipe(recipe, recipe_fields, train)
    check_engine("lightning", devices=devices, strategy=strategy, accelerator=accelerator,
                 batch_size=recipe.batch_size, num_nodes=num_nodes)
    epochs = recipe.epochs
    path = Path(checkpoint) if checkpoint is not None else None
    identity = run_identity(model, train, test, recipe, amp) if path is not None else None
    history, start_epoch, trained_by, state = _resumed(model, path, identity, resume and not restart)
    trained_by = [*trained_by, {"engine": "lightning", "processes": devices * num_nodes, "strategy": strategy,
                                "from_epoch": start_epoch}]
    if start_epoch >= epochs:
        return history
    model = runtime.place(model, move=False)  # Lightning moves it to each process's device
    data = EnsembleDataModule(train, test, batch_size=recipe.batch_size, units=len(training_units(model)),
                              seed=recipe.seed, augment=recipe.augment, num_workers=num_workers,
                              epoch_offset=start_epoch, channels_last=channels_last)
    module = EnsembleModule(model, recipe, steps_per_epoch=data.steps_per_epoch, amp=amp,
                            channels_last=channels_last, test=test, checkpoint=path, identity=identity,
                            resumed=state, history=history, start_epoch=start_epoch, trained_by=trained_by)
    trainer, sync_norms = _trainer(model, accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                                   strategy=strategy, max_epochs=epochs - start_epoch, progress=progress)
    _fit(trainer, module, data, cuda=runtime.cuda, epochs=epochs, checkpoint=checkpoint)
    if sync_norms:
        revert_sync_batchnorm(model)
    return module.history

