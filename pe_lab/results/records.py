"""The records pe-lab writes and reads back, as typed objects with one reader and one writer each.

``Report`` is what ``pe-lab experiment`` writes (its ``Run`` s and their per-method ``MethodSummary``), ``Sweep``
what ``pe-lab sweep collect`` writes (its ``SweepRow`` s); both carry a ``Provenance``. ``read_report`` and
``read_sweep`` parse a file, check it field by field (``record_checks``) and build the record; a file edited by
hand or left partial is refused with a ``ReportError`` naming the file and the field, e.g.
``assets/results/x.json: runs[2].metrics.accuracy is missing``, and so is a key the schema does not know (a typo
would otherwise vanish on the next write). ``to_json`` gives back the same JSON object (its keys in the records'
field order), so reading and writing a committed file loses nothing.

A run's ``metrics`` and a summary's statistics stay mappings keyed by metric name: the metrics are the rows of
``evaluation.metrics.METRICS`` and ``OOD_METRICS``, a table that grows, not a fixed set of fields.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .provenance import write_json
from .record_checks import FieldPath, ReportError, check_report, check_sweep, read_json

__all__ = ["DataRecord", "MethodSummary", "Provenance", "Report", "ReportError", "Run", "Statistics", "Sweep",
           "SweepRow", "read_report", "read_sweep", "write_record"]


def _known(record: Mapping, cls, at: FieldPath, *, also: tuple[str, ...] = ()) -> None:
    """Refuse a key ``cls`` has no field for (``also``: keys read into another field)."""
    names = {f.name for f in dataclasses.fields(cls)} | set(also)
    unknown = sorted(set(record) - names)
    if unknown:
        raise (at / unknown[0]).fail(f"is not a field of a {cls.__name__} (it has: {', '.join(sorted(names))})")


def _plain(value):
    """A record's value as JSON: records through ``to_json``, tuples as lists, ``None`` fields left out."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _to_json(record) -> dict:
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)
            if getattr(record, f.name) is not None}


@dataclass(frozen=True)
class Statistics:
    """Mean, standard deviation (0 with one value) and count of one number over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def from_json(cls, data: Mapping) -> Statistics:
        return cls(float(data["mean"]), float(data["std"]), int(data["n"]))

    def to_json(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


class MethodSummary(Mapping):
    """One method's numbers over seeds: ``summary["accuracy"].mean``, for every metric the runs recorded (a
    mapping, keyed by the metric tables' names), and the OOD criterion its OOD numbers are of."""

    def __init__(self, statistics: Mapping[str, Statistics], ood_criterion: str | None = None) -> None:
        self._statistics = dict(statistics)
        self.ood_criterion = ood_criterion

    def __getitem__(self, key: str) -> Statistics:
        return self._statistics[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._statistics)

    def __len__(self) -> int:
        return len(self._statistics)

    def __repr__(self) -> str:
        return f"MethodSummary({self._statistics!r}, ood_criterion={self.ood_criterion!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, MethodSummary) and self._statistics == other._statistics
                and self.ood_criterion == other.ood_criterion)

    @classmethod
    def from_json(cls, data: Mapping) -> MethodSummary:
        return cls({k: Statistics.from_json(v) for k, v in data.items() if k != "ood_criterion"},
                   data.get("ood_criterion"))

    def to_json(self) -> dict:
        criterion = {} if self.ood_criterion is None else {"ood_criterion": self.ood_criterion}
        return {**{k: v.to_json() for k, v in self._statistics.items()}, **criterion}


@dataclass(frozen=True)
class DataRecord:
    """The data a result was measured on: each set by name (``cifar10-jpeg/test``, never a path of the machine
    that ran it), its size, and whether the images were synthetic stand-ins."""

    num_train: int
    num_test: int
    train: str | None = None
    test: str | None = None
    ood: str | None = None
    num_ood: int | None = None
    synthetic: bool | None = None
    fingerprints: Mapping[str, str] | None = None

    @classmethod
    def from_json(cls, data: Mapping, at: FieldPath) -> DataRecord:
        _known(data, cls, at)
        return cls(**data)

    def to_json(self) -> dict:
        return _to_json(self)


@dataclass(frozen=True)
class Provenance:
    """Where a result comes from: the command, the machine, torch and Python, the git commit, the UTC date, the
    data, and the seeds of a report (a sweep's rows list their own). A sweep adds when its rows were collected,
    the preset its points ran (``point_preset``; sweeps collected before presets were records give the point's
    command line, ``point_command``) and the provenance of the sweep it was merged with."""

    command: str
    hardware: str
    torch: str
    git_commit: str
    date: str
    data: DataRecord
    device: str | None = None
    python: str | None = None
    seeds: tuple[int, ...] | None = None
    note: str | None = None
    merged_with: Mapping | None = None
    date_collected: str | None = None
    point_preset: Mapping | None = None
    point_command: str | None = None

    @classmethod
    def from_json(cls, data: Mapping, at: FieldPath) -> Provenance:
        _known(data, cls, at)
        seeds = tuple(data["seeds"]) if data.get("seeds") is not None else None
        return cls(**{**data, "data": DataRecord.from_json(data["data"], at / "data"), "seeds": seeds})

    def to_json(self) -> dict:
        return _to_json(self)


@dataclass(frozen=True)
class Run:
    """One trained model's results: its method and seed, test metrics (``metrics["accuracy"]``; OOD scores per
    criterion under ``metrics["ood"]``), the spec ``build_from_spec`` rebuilds it from, its size and times, its
    per-epoch history, and where its training checkpoint was written."""

    method: str
    seed: int
    metrics: Mapping
    spec: Mapping
    params: int
    train_seconds: float
    history: Mapping[str, list]
    test_images_per_second: float | None = None
    cpu_seconds: float | None = None
    engine: Mapping | None = None
    trained_by: tuple | None = None
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    checkpoint_epoch: int | None = None
    shift: Mapping | None = None

    @classmethod
    def from_json(cls, data: Mapping, at: FieldPath) -> Run:
        _known(data, cls, at)
        trained_by = tuple(data["trained_by"]) if data.get("trained_by") is not None else None
        return cls(**{**data, "trained_by": trained_by})

    def ood(self, criterion: str) -> Mapping[str, float]:
        """This run's OOD scores by ``criterion`` (``auroc``, ``aupr``, ``fpr95``), empty where it has none."""
        return (self.metrics.get("ood") or {}).get(criterion, {})

    def replace(self, **changes) -> Run:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return _to_json(self)


@dataclass
class Report:
    """What ``pe-lab experiment`` writes: provenance, the runs (one per method and seed, in the order they
    finished), the per-method summary over seeds, and the run settings it was made with (``identity``), so that
    ``--resume`` can refuse runs of other settings."""

    provenance: Provenance
    runs: list[Run] = field(default_factory=list)
    summary: dict[str, MethodSummary] = field(default_factory=dict)
    identity: Mapping | None = None
    config: Mapping | None = None
    eta: Mapping | None = None

    @property
    def methods(self) -> list[str]:
        """The methods that have runs, in the order of their first run."""
        return list(dict.fromkeys(run.method for run in self.runs))

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.provenance.seeds or ()

    def runs_of(self, method: str) -> list[Run]:
        return [run for run in self.runs if run.method == method]

    def run(self, method: str, seed: int) -> Run:
        found = next((r for r in self.runs if r.method == method and r.seed == seed), None)
        if found is None:
            raise KeyError(f"no run of {method} seed {seed} in this report; runs: "
                           + ", ".join(f"{r.method} seed {r.seed}" for r in self.runs))
        return found

    @classmethod
    def from_json(cls, data, where: str | os.PathLike = "the report") -> Report:
        check_report(data, where)
        at = FieldPath(str(where))
        _known(data, cls, at)
        return cls(provenance=Provenance.from_json(data["provenance"], at / "provenance"),
                   runs=[Run.from_json(run, at / "runs" / i) for i, run in enumerate(data["runs"])],
                   summary={m: MethodSummary.from_json(s) for m, s in (data.get("summary") or {}).items()},
                   identity=data.get("identity"), config=data.get("config"), eta=data.get("eta"))

    def to_json(self) -> dict:
        return _to_json(self)


@dataclass(frozen=True)
class SweepRow:
    """One point of a sweep: a method at one base width and alpha (``label`` e.g. ``"PE(2,4,1) x2"``), its size and
    cost, its runs over seeds and their summary."""

    label: str
    method: str
    width: float
    alpha: float
    member_width: float
    params: int
    flops_per_image: float
    seeds: tuple[int, ...]
    summary: Mapping[str, Statistics]
    cpu_seconds: float
    runs: tuple[Run, ...]

    @classmethod
    def from_json(cls, data: Mapping, at: FieldPath) -> SweepRow:
        _known(data, cls, at)
        return cls(**{**data, "seeds": tuple(data["seeds"]),
                      "summary": {k: Statistics.from_json(v) for k, v in data["summary"].items()},
                      "runs": tuple(Run.from_json(run, at / "runs" / i) for i, run in enumerate(data["runs"]))})

    def to_json(self) -> dict:
        return _to_json(self)


@dataclass(frozen=True)
class Sweep:
    """What ``pe-lab sweep collect`` writes: provenance, the recipe every row shares, the rows, and the CPU (and
    training) seconds they cost in all."""

    provenance: Provenance
    recipe: Mapping
    rows: tuple[SweepRow, ...]
    cpu_seconds: float
    sweep: str | None = None
    train_seconds: float | None = None

    def row(self, label: str) -> SweepRow:
        found = next((r for r in self.rows if r.label == label), None)
        if found is None:
            raise KeyError(f"no row {label!r} in this sweep; rows: {', '.join(r.label for r in self.rows)}")
        return found

    @classmethod
    def from_json(cls, data, where: str | os.PathLike = "the sweep") -> Sweep:
        check_sweep(data, where)
        at = FieldPath(str(where))
        _known(data, cls, at)
        return cls(**{**data, "provenance": Provenance.from_json(data["provenance"], at / "provenance"),
                      "rows": tuple(SweepRow.from_json(row, at / "rows" / i) for i, row in enumerate(data["rows"]))})

    def to_json(self) -> dict:
        return _to_json(self)


def read_report(path: str | os.PathLike) -> Report:
    """The experiment report at ``path``, parsed, checked and typed."""
    return Report.from_json(read_json(path, "report"), path)


def read_sweep(path: str | os.PathLike) -> Sweep:
    """The collected sweep at ``path``, parsed, checked and typed."""
    return Sweep.from_json(read_json(path, "sweep"), path)


def write_record(record: Report | Sweep, path: str | os.PathLike) -> None:
    """``record`` as indented JSON at ``path``, atomically, after checking that its reader takes it back (a record
    no reader takes is never written)."""
    data = record.to_json()
    type(record).from_json(data, f"the record to be written to {path}")
    write_json(data, path)
