"""The field-by-field checks behind ``records``: each record kind has one checker that validates a parsed JSON
object and names the file and the field of the first value that is missing or wrong, e.g.
``assets/results/x.json: runs[2].metrics.accuracy is missing``. ``records`` builds its typed records from what
these checks accepted; nothing else reads a record's JSON."""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

__all__ = ["FieldPath", "ReportError", "check_report", "check_run", "check_sweep", "check_sweep_row", "read_json"]


class ReportError(ValueError):
    """A report (``--out``, a committed result) that cannot be read, or that holds runs of other settings."""


_HEADLINE = ("accuracy", "nll", "ece", "brier")
_UNIT_INTERVAL = ("accuracy", "ece", "auroc", "aupr", "fpr95")


class FieldPath:
    """Where a value sits in a record, for the messages: ``file: runs[2].metrics.accuracy``."""

    def __init__(self, where: str, path: str = "") -> None:
        self.where, self.path = where, path

    def __truediv__(self, key) -> FieldPath:
        if isinstance(key, int):
            return FieldPath(self.where, f"{self.path}[{key}]")
        return FieldPath(self.where, f"{self.path}.{key}" if self.path else str(key))

    def fail(self, rule: str) -> ReportError:
        return ReportError(f"{self.where}: {self.path or 'the record'} {rule}")


def _get(record: dict, key: str, at: FieldPath, kinds, what: str, *, optional: bool = False):
    """``record[key]`` if it is one of ``kinds`` (None allowed when ``optional``), else a ``ReportError``."""
    if key not in record:
        if optional:
            return None
        raise (at / key).fail("is missing")
    value = record[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise (at / key).fail(f"must be {what}, got {value!r}")
    if not isinstance(value, kinds):
        raise (at / key).fail(f"must be {what}, got {type(value).__name__} {_short(value)}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dict(record, key, at, *, optional=False) -> dict | None:
    return _get(record, key, at, dict, "an object", optional=optional)


def _list(record, key, at, *, optional=False, nonempty=False) -> list | None:
    value = _get(record, key, at, list, "a list", optional=optional)
    if nonempty and value is not None and not value:
        raise (at / key).fail("is empty")
    return value


def _text(record, key, at, *, optional=False) -> str | None:
    return _get(record, key, at, str, "text", optional=optional)


def _int(record, key, at, *, minimum: int | None = None, optional=False) -> int | None:
    value = _get(record, key, at, numbers.Integral, "an integer", optional=optional)
    if value is not None and minimum is not None and value < minimum:
        raise (at / key).fail(f"must be an integer >= {minimum}, got {value}")
    return value


def _number(record, key, at, *, minimum: float | None = None, maximum: float | None = None, optional=False):
    value = _get(record, key, at, numbers.Real, "a number", optional=optional)
    if value is None:
        return None
    if not math.isfinite(value):
        raise (at / key).fail(f"must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise (at / key).fail(f"must be >= {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise (at / key).fail(f"must be <= {maximum:g}, got {value:g}")
    return value


def _seeds(record, key, at) -> list[int]:
    seeds = _list(record, key, at, nonempty=True)
    for index, seed in enumerate(seeds):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise (at / key / index).fail(f"must be a seed (an integer >= 0), got {_short(seed)}")
    if len(set(seeds)) != len(seeds):
        raise (at / key).fail(f"lists a seed more than once: {seeds}")
    return seeds


def _spec(record, at) -> dict:
    spec = _dict(record, "spec", at)
    here = at / "spec"
    _text(spec, "name", here)
    _text(spec, "kind", here)
    _int(spec, "num_classes", here, minimum=2)
    _int(spec, "num_estimators", here, minimum=1)
    _number(spec, "alpha", here, minimum=0)
    _int(spec, "gamma", here, minimum=1)
    _number(spec, "width", here, minimum=0, optional=True)
    _dict(spec, "options", here, optional=True)
    return spec


def _metrics(record, at) -> dict:
    metrics = _dict(record, "metrics", at)
    here = at / "metrics"
    for key in _HEADLINE:
        _number(metrics, key, here, minimum=0, maximum=1 if key in _UNIT_INTERVAL else None)
    ood = _dict(metrics, "ood", here, optional=True) or {}
    for criterion, scores in ood.items():
        where = here / "ood" / criterion
        if not isinstance(scores, dict):
            raise where.fail(f"must be an object of OOD scores, got {_short(scores)}")
        for key in ("auroc", "aupr", "fpr95"):
            _number(scores, key, where, minimum=0, maximum=1, optional=key != "auroc")
    return metrics


def check_run(run, at: FieldPath | str, *, timed: bool = True) -> dict:
    """One run of a report (``timed``: with its test images per second) or of a sweep row."""
    at = at if isinstance(at, FieldPath) else FieldPath(str(at))
    if not isinstance(run, dict):
        raise at.fail(f"must be an object (a run), got {_short(run)}")
    method = _text(run, "method", at)
    if not method:
        raise (at / "method").fail("is empty")
    _int(run, "seed", at, minimum=0)
    _metrics(run, at)
    _spec(run, at)
    _int(run, "params", at, minimum=1)
    _number(run, "train_seconds", at, minimum=0)
    if timed:
        _number(run, "test_images_per_second", at, minimum=0)
    history = _dict(run, "history", at)
    for key, values in history.items():
        if not isinstance(values, list) or not all(isinstance(v, numbers.Real) for v in values):
            raise (at / "history" / key).fail(f"must be a list of numbers, got {_short(values)}")
    return run


def _statistics(summary, key, at, *, optional=False) -> dict | None:
    stats = _dict(summary, key, at, optional=optional)
    if stats is None:
        return None
    here = at / key
    _number(stats, "mean", here)
    _number(stats, "std", here, minimum=0)
    _int(stats, "n", here, minimum=1)
    return stats


def _provenance(record, at, *, seeds: bool) -> dict:
    provenance = _dict(record, "provenance", at)
    here = at / "provenance"
    _text(provenance, "command", here)
    _text(provenance, "hardware", here)
    _text(provenance, "torch", here)
    _text(provenance, "git_commit", here)
    _text(provenance, "date", here)
    if seeds:
        _seeds(provenance, "seeds", here)
    data = _dict(provenance, "data", here)
    where = here / "data"
    for key in ("train", "test"):
        _text(data, key, where, optional=not seeds)
    _text(data, "ood", where, optional=True)
    for key in ("num_train", "num_test"):
        _int(data, key, where, minimum=0)
    _int(data, "num_ood", where, minimum=0, optional=True)
    _get(data, "synthetic", where, bool, "true or false", optional=not seeds)
    return provenance


def check_report(report, where: str | os.PathLike = "the report") -> dict:
    """A report of ``pe-lab experiment`` (or ``compare_methods``), checked field by field; returned as
    it is. ``ReportError`` names ``where`` and the first field that is missing or wrong."""
    at = FieldPath(str(where))
    if not isinstance(report, dict):
        raise at.fail(f"must be a pe-lab experiment report (an object with provenance and runs), got "
                      f"{type(report).__name__}")
    if "provenance" not in report or "runs" not in report:
        raise ReportError(f"{where} is not a pe-lab experiment report (no provenance/runs)")
    provenance = _provenance(report, at, seeds=True)
    runs = _list(report, "runs", at)
    seen = set()
    for index, run in enumerate(runs):
        check_run(run, at / "runs" / index)
        key = (run["method"], run["seed"])
        if key in seen:
            raise (at / "runs" / index).fail(f"repeats the run of {run['method']} seed {run['seed']}")
        seen.add(key)
        if run["seed"] not in provenance["seeds"]:
            raise (at / "runs" / index / "seed").fail(f"is {run['seed']}, which provenance.seeds "
                                                      f"{provenance['seeds']} does not list")
    summary = _dict(report, "summary", at, optional=not runs)
    if summary is not None:
        for method in dict.fromkeys(r["method"] for r in runs):
            stats = _dict(summary, method, at / "summary")
            for key in ("accuracy", "params", "train_seconds", "test_images_per_second"):
                _statistics(stats, key, at / "summary" / method)
            for key in ("nll", "ece", "brier", "auroc", "aupr", "fpr95"):
                _statistics(stats, key, at / "summary" / method, optional=True)
            _text(stats, "ood_criterion", at / "summary" / method, optional=True)
        for method in summary:
            if method not in {m for m, _ in seen}:
                raise (at / "summary" / method).fail("summarises a method that has no run in runs")
    for key in ("identity", "config"):
        _dict(report, key, at, optional=True)
    return report


def check_sweep_row(row, at: FieldPath | str) -> dict:
    """One row of a sweep: a method at one width (and alpha), its runs over seeds and their summary."""
    at = at if isinstance(at, FieldPath) else FieldPath(str(at))
    if not isinstance(row, dict):
        raise at.fail(f"must be an object (a sweep row), got {_short(row)}")
    _text(row, "label", at)
    _text(row, "method", at)
    _number(row, "width", at, minimum=0)
    _number(row, "alpha", at, minimum=0)
    _number(row, "member_width", at, minimum=0)
    _int(row, "params", at, minimum=1)
    _number(row, "flops_per_image", at, minimum=0)
    _number(row, "cpu_seconds", at, minimum=0)
    seeds = _seeds(row, "seeds", at)
    runs = _list(row, "runs", at, nonempty=True)
    for index, run in enumerate(runs):
        check_run(run, at / "runs" / index, timed=False)
        _number(run, "cpu_seconds", at / "runs" / index, minimum=0, optional=True)
    if sorted(r["seed"] for r in runs) != sorted(seeds):
        raise (at / "seeds").fail(f"are {sorted(seeds)} but the runs are of seeds {sorted(r['seed'] for r in runs)}")
    summary = _dict(row, "summary", at)
    for key in ("accuracy", "train_seconds"):
        _statistics(summary, key, at / "summary")
    for key in ("nll", "ece", "brier", "auroc", "fpr95", "mi_auroc"):
        _statistics(summary, key, at / "summary", optional=True)
    return row


def check_sweep(sweep, where: str | os.PathLike = "the sweep") -> dict:
    """A sweep of ``pe-lab sweep collect``, checked field by field (its rows too); returned as it is."""
    at = FieldPath(str(where))
    if not isinstance(sweep, dict) or "rows" not in sweep:
        raise ReportError(f"{where} is not a pe-lab sweep (no rows)")
    _provenance(sweep, at, seeds=False)
    recipe = _dict(sweep, "recipe", at)
    _int(recipe, "epochs", at / "recipe", minimum=1)
    _text(sweep, "sweep", at, optional=True)
    rows = _list(sweep, "rows", at, nonempty=True)
    keys = set()
    for index, row in enumerate(rows):
        check_sweep_row(row, at / "rows" / index)
        key = (row["method"], float(row["width"]), float(row["alpha"]))
        if key in keys:
            raise (at / "rows" / index).fail(f"repeats the row of {row['method']} at width {row['width']:g}, "
                                             f"alpha {row['alpha']:g}")
        keys.add(key)
    _number(sweep, "cpu_seconds", at, minimum=0)
    _number(sweep, "train_seconds", at, minimum=0, optional=True)
    return sweep


def read_json(path: str | os.PathLike, what: str) -> object:
    """A JSON file's content; ``ReportError`` naming the file when it cannot be read or parsed. NaN and
    infinities (which Python writes) parse, and the checkers then name the field that holds one."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        raise ReportError(f"{what} {path} cannot be read as JSON ({error}); restore it, or pass --restart "
                          "(or another --out) to write a new one") from error
