"""Report files: reading a report (``records.read_report``: checked field by field, typed) with its stored
predictions, the committed ones under ``assets/results/``, and the lock that keeps two runs from writing one report
at once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..config import WriteError, assets_dir
from .predictions import load_predictions
from .records import Report, read_report

__all__ = ["first_seed_predictions", "RunLocked", "load_committed", "load_results", "predictions_beside",
           "report_lock"]


class RunLocked(RuntimeError):
    """Another run is writing the same ``--out`` right now."""


def load_committed(name: str = "cifar10_resnet20", methods: tuple[str, ...] = ("single", "deep", "packed"),
                   ) -> tuple[Report, dict[str, dict]]:
    """The committed report ``assets/results/<name>.json`` and its first seed's stored predictions.

    Raises ``FileNotFoundError`` if the report or the predictions of any of ``methods`` are missing.
    """
    return load_results(assets_dir() / "results" / f"{name}.json", methods)


def load_results(path: str | os.PathLike, methods: tuple[str, ...] | None = None) -> tuple[Report, dict[str, dict]]:
    """A report written by this CLI (with ``--save-predictions``) and its first seed's stored predictions, for
    ``methods`` (default: every method in the report)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}; run pe-lab experiment first")
    report = read_report(path)
    methods = methods if methods is not None else tuple(report.methods)
    return report, first_seed_predictions(path, report, methods, load_predictions)


def first_seed_predictions(path: Path, report: Report, names: Iterable[str], load: Callable[[Path], dict]) -> dict:
    """``{name: load(file)}`` for the probabilities stored beside report ``path`` for its first seed
    (``<stem>-predictions-<name>-seed<s>.pt``); ``FileNotFoundError`` naming the first one missing."""
    return predictions_beside(path, report.seeds[0], names, load)


def predictions_beside(path: Path, seed: int, names: Iterable[str], load: Callable[[Path], dict]) -> dict:
    """``{name: load(file)}`` for the probabilities of ``seed`` stored beside the result file ``path``
    (``<stem>-predictions-<name>-seed<seed>.pt``), for a result of any kind; ``FileNotFoundError`` naming the first
    one missing."""
    found = {}
    for name in names:
        stored = path.with_name(f"{path.stem}-predictions-{name}-seed{seed}.pt")
        if not stored.exists():
            raise FileNotFoundError(f"results {path} lack the predictions of {name!r} ({stored})")
        found[name] = load(stored)
    return found


@contextlib.contextmanager
def report_lock(out: Path):
    """Refuse a second run writing the same report at once (the later writer would drop the earlier's runs).
    An OS lock (flock) is released when the process dies, even by kill -9, so no stale lock remains."""
    lock_path = out.with_name(out.name + ".lock")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as error:  # a folder that cannot be made or written: named, before any work
        raise WriteError(lock_path, error) from error
    with handle:
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
