"""Small trained models that come with the lab: a CPU student loads a trained Packed-Ensemble, unpacks it and
looks at its members without training one.

A committed file ``assets/checkpoints/<model>-<method>-seed<seed>.pt`` holds the model's state only (float32,
no optimiser), its ``spec`` (what ``build_from_spec`` rebuilds) and its provenance: the recipe, the data's names
and fingerprints, the run's test accuracy, NLL and ECE as its report recorded them, the report it belongs to and
the git commits of the training and of the export. ``export_checkpoints`` writes such files from the training
checkpoints of ``pe-lab experiment ... --runs-dir D`` (``scripts/export_checkpoints.py``);
``load_trained`` reads one back with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..config import assets_dir, atomic_save, env_flag
from ..data.images import ImageSet, load_cifar10, subset, synthetic_dataset
from ..methods.registry import build_from_spec
from ..training.checkpoint import checkpoint_digest, load_checkpoint
from .provenance import provenance, without_paths
from .records import Report, Run, read_report, write_record

__all__ = ["TrainedCheckpointError", "TrainedModel", "available_trained", "export_checkpoints", "load_trained",
           "load_all_trained", "trained_dir", "trained_table",
           "trained_path", "trained_test_set"]

SLIM_KEYS = ("spec", "model", "provenance")


class TrainedCheckpointError(FileNotFoundError):
    """A committed trained model that is missing, or a file that is not one."""


def trained_dir() -> Path:
    """Where the committed trained models live: ``assets/checkpoints``."""
    return assets_dir() / "checkpoints"


def trained_path(model: str, method: str, seed: int, folder: str | os.PathLike | None = None) -> Path:
    """The file of one trained model: ``<folder>/<model>-<method>-seed<seed>.pt``."""
    return Path(folder or trained_dir()) / f"{model}-{method}-seed{seed}.pt"


def available_trained(folder: str | os.PathLike | None = None) -> list[str]:
    """The trained models in ``folder`` (default ``assets/checkpoints``), as ``<model>-<method>-seed<seed>``."""
    folder = Path(folder or trained_dir())
    return sorted(path.stem for path in folder.glob("*-seed*.pt")) if folder.is_dir() else []


def load_trained(model: str = "lenet", method: str = "packed", seed: int = 0, *,
                 folder: str | os.PathLike | None = None) -> tuple[nn.Module, dict]:
    """A committed trained model (in eval mode), rebuilt from its spec, and its provenance: ``net(images)`` gives
    logits ``(B, M, K)``, ``record["metrics"]`` the run's test accuracy, NLL and ECE. The file is read with
    ``weights_only=True`` (no code runs on load). A missing file raises ``TrainedCheckpointError`` naming it
    and the models that are there."""
    path = trained_path(model, method, seed, folder)
    if not path.is_file():
        found = available_trained(folder)
        raise TrainedCheckpointError(
            f"no trained model at {path}; available: {', '.join(found) if found else 'none'}. "
            "Export one with: python scripts/export_checkpoints.py --report R.json --runs-dir D --name " + model)
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated file, a pickle with code in it
        raise TrainedCheckpointError(f"{path} cannot be read ({type(error).__name__}: {error})") from error
    if not isinstance(stored, dict) or not set(SLIM_KEYS) <= set(stored):
        raise TrainedCheckpointError(f"{path} is not a pe-lab trained model (it needs {', '.join(SLIM_KEYS)})")
    net = build_from_spec(stored["spec"])
    net.load_state_dict(stored["model"])
    net.eval()
    try:  # the path as a reader of the repository writes it, where it is inside it
        shown = path.resolve().relative_to(assets_dir().parent)
    except ValueError:
        shown = path
    return net, {**stored["provenance"], "file": str(shown)}


@dataclass(frozen=True)
class TrainedModel:
    """A committed trained model: which network it is, the model (eval mode) and its provenance record."""

    model: str
    method: str
    seed: int
    net: nn.Module
    record: dict


_METHOD_ORDER = ("single", "deep", "packed")


def load_all_trained(folder: str | os.PathLike | None = None) -> list[TrainedModel]:
    """Every committed trained model (``available_trained``), each loaded by ``load_trained``, by model name and
    then Single, DE, PE, any other method last."""
    loaded = []
    for name in available_trained(folder):  # "<model>-<method>-seed<seed>"
        stem, seed = name.rsplit("-seed", 1)
        model, method = stem.rsplit("-", 1)
        net, record = load_trained(model, method, int(seed), folder=folder)
        loaded.append(TrainedModel(model, method, int(seed), net, record))
    rank = {method: i for i, method in enumerate(_METHOD_ORDER)}
    return sorted(loaded, key=lambda t: (t.model, rank.get(t.method, len(rank)), t.seed))


def trained_table(trained: list[TrainedModel]) -> str:
    """A Markdown table of committed models: members, parameters (and their ratio to the Single of the same
    model), epochs and the test accuracy its run recorded, with the test set it was recorded on."""
    from ..methods.registry import label_for
    from .cost import count_params

    singles = {t.model: t for t in trained if t.method == "single"}
    rows = ["| Model | Network | Members $M$ | Parameters | × the Single's | Epochs | Test accuracy (its run) |",
            "|---|---|---|---|---|---|---|"]
    for t in trained:
        single = singles.get(t.model)
        ratio = f"{count_params(t.net) / count_params(single.net):.2f}" if single is not None else "n/a"
        epochs = (t.record.get("recipe") or {}).get("epochs", "n/a")
        rows.append(f"| {t.model} | {label_for(t.net.spec.to_dict())} | {t.net.spec.num_estimators} | "
                    f"{count_params(t.net):,} | {ratio} | {epochs} | {100 * t.record['metrics']['accuracy']:.1f} % |")
    tested_on = trained[0].record["data"]["test"] if trained else {}
    return ("\n".join(rows) + "\n\nTest accuracy as each run's report recorded it, on the "
            f"{tested_on.get('count', 0):,} images of {tested_on.get('source', 'n/a')} (JPEG CIFAR-10); one seed each, "
            "so no comparison is stated from this table.")


def trained_test_set(quick: bool, per_class: int = 100) -> ImageSet:
    """CIFAR-10 test images to evaluate a trained model on: found (``$PE_LAB_DATA``) or downloaded (unless
    ``$PE_LAB_OFFLINE=1``), all 10,000, or ``per_class`` of each class in quick mode. Where none can be had, a
    synthetic set with a warning: its ``source`` says ``synthetic``, and a CIFAR-10 model's accuracy on it means
    nothing."""
    try:
        test = load_cifar10("test", download=not env_flag("PE_LAB_OFFLINE"))
    except (FileNotFoundError, ValueError) as error:
        warnings.warn(f"no CIFAR-10 test set ({str(error).splitlines()[0]}); using SYNTHETIC images", stacklevel=2)
        return synthetic_dataset(per_class if quick else 1000, split="test")
    return subset(test, per_class) if quick else test


def slim_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A model's state as float32 tensors that own their storage (a floating tensor in another precision is cast;
    integer buffers such as BatchNorm's step count are kept as they are)."""
    return {key: (value.float() if value.is_floating_point() else value).detach().clone().contiguous()
            for key, value in state.items()}


def _source_checkpoint(run: Run, report_path: Path, runs_dir: Path) -> Path:
    """The training checkpoint a report's run finished with: the file its report names, looked for in
    ``runs_dir`` (the report may have been written in another working folder), else
    ``<report>-*-<method>-seed<s>.pt``."""
    candidates = [runs_dir / Path(run.checkpoint).name] if run.checkpoint else []
    candidates += sorted(runs_dir.glob(f"{report_path.stem}-*-{run.method}-seed{run.seed}.pt"))
    for path in candidates:
        if path.is_file():
            return path
    raise TrainedCheckpointError(f"no training checkpoint for {run.method} seed {run.seed} of {report_path} "
                                 f"in {runs_dir} (looked for {', '.join(str(p) for p in candidates) or 'none'})")


def _provenance(run: Run, report: Report, report_path: Path, checkpoint: dict, source: Path, copy: Path) -> dict:
    """The provenance a trained model's file carries (a plain dict: it is stored in the ``.pt``)."""
    identity = checkpoint.get("identity") or {}
    made = report.provenance
    return {
        "model": run.spec["name"], "method": run.method, "seed": run.seed,
        "recipe": identity.get("recipe"),
        "data": {"train": identity.get("train"), "test": identity.get("test"), "ood": made.data.ood},
        "metrics": {key: run.metrics[key] for key in ("accuracy", "nll", "ece")},
        "epoch": int(checkpoint["epoch"]), "params": run.params,
        "report": {"file": copy.name, "written_as": str(report_path), "command": made.command,
                   "date": made.date, "hardware": made.hardware, "git_commit": made.git_commit},
        "source_checkpoint": {"file": source.name, "sha256": checkpoint_digest(source)},
        "git_commit": made.git_commit,
    }


def export_checkpoints(report_path: str | os.PathLike, runs_dir: str | os.PathLike, name: str,
                       out_dir: str | os.PathLike | None = None, command: str = "export_checkpoints") -> list[Path]:
    """Write ``<out_dir>/<name>-<method>-seed<seed>.pt`` for every run of the report at ``report_path`` from its
    training checkpoint in ``runs_dir``: model state (float32), spec and provenance, atomically; and a copy of the
    report beside them, ``<name>-report.json``, which each file's provenance names. A checkpoint whose SHA-256
    differs from the one the report recorded (a later run wrote over it) is refused. Neither the files nor the copy
    hold a path of this machine (``without_paths``). The report is read with
    ``read_report`` (checked field by field) and its copy written with ``write_record``."""
    report_path, runs_dir = Path(report_path), Path(runs_dir)
    out_dir = Path(out_dir or trained_dir())
    report = read_report(report_path)
    copy = out_dir / f"{name}-report.json"
    written = []
    for run in report.runs:
        source = _source_checkpoint(run, report_path, runs_dir)
        recorded = run.checkpoint_sha256
        if recorded and recorded != checkpoint_digest(source):
            raise TrainedCheckpointError(f"{source} is not the checkpoint {report_path} recorded for {run.method} "
                                         f"seed {run.seed} (its SHA-256 differs): a later run wrote over it")
        checkpoint = load_checkpoint(source)
        record = _provenance(run, report, report_path, checkpoint, source, copy)
        record["exported"] = provenance(command, torch.device("cpu"))
        # plain types only (torch's version is a str subclass), and no path of this machine
        record = without_paths(json.loads(json.dumps(record)))
        path = trained_path(name, run.method, run.seed, out_dir)
        atomic_save({"spec": checkpoint["spec"] or dict(run.spec), "model": slim_state(checkpoint["model"]),
                     "provenance": record}, path)
        written.append(path)
    write_record(Report.from_json(without_paths(report.to_json()), report_path), copy)
    return written
