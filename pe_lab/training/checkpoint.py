"""A run's checkpoint and its identity: what is saved after every epoch (atomically), what a run that resumes
it must share (``run_identity``; else ``RunMismatch`` naming the first difference), and how it is loaded
(``weights_only=True``)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..data.images import ImageSet, dataset_name
from ..version import __version__
from .recipe import Recipe
from .step import TrainingUnit

__all__ = ["CheckpointError", "History", "RunMismatch", "checkpoint_digest", "checkpoint_state", "data_fingerprint",
           "first_difference", "load_checkpoint", "load_model_state", "resume_from", "run_identity"]


class RunMismatch(ValueError):
    """A checkpoint exists for this path but was made by a run with other settings."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, not a pe-lab checkpoint)."""


def data_fingerprint(data) -> dict:
    """What identifies a data set for a run: its source, size and a digest of its pixels and labels (for a
    streamed folder, ``FolderSet.fingerprint``: its files' names, sizes and times, which it never decodes whole)."""
    if not isinstance(data, ImageSet):
        return data.fingerprint()
    digest = hashlib.blake2b(digest_size=12)
    digest.update(data.images.cpu().contiguous().numpy().tobytes())
    digest.update(data.labels.cpu().contiguous().numpy().tobytes())
    return {"source": dataset_name(data.source), "count": len(data), "digest": digest.hexdigest()}


def checkpoint_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a checkpoint file's bytes: a report records it beside each run, so that whoever reads the run's
    checkpoint later (``pe-lab shift``) can tell the very file that run finished with from one a later
    run wrote at the same path."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _spec_dict(model: nn.Module) -> dict | None:
    spec = getattr(model, "spec", None)
    return spec.to_dict() if spec is not None else None


def run_identity(model: nn.Module, train, test, recipe: Recipe, amp: bool) -> dict:
    """A run's identity: everything a checkpoint must share with a run that resumes it (else ``RunMismatch``):
    the ``recipe``, the model's spec, the data's fingerprints, whether AMP ran (it changes the result; it is not in
    the recipe because ``fit`` resolves it from the device) and pe-lab's version. ``recipe.batch_size`` is the
    *global* batch, so a run on N processes matches one process. The engine is not part of it: a run may resume
    on another engine, and ``trained_by`` records which trained which epochs."""
    return {"recipe": recipe.to_dict(), "model": _spec_dict(model), "train": data_fingerprint(train),
            "test": data_fingerprint(test) if test is not None else None, "amp": bool(amp), "pe_lab": __version__}


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
    stored = state.get("identity")
    if identity is not None and stored is None:
        raise RunMismatch(f"checkpoint {path} records no run identity, so nothing says which recipe and data made it; "
                          "pass restart=True (--restart) to train from scratch, or use another path")
    difference = first_difference(stored or {}, identity)
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
