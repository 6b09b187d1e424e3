"""When does a Packed-Ensemble match a Deep Ensemble? Two sweeps on one grid.

* the **alpha sweep**: PE(alpha, 4, 1) for alpha = 1, 2, 3, 4 (member width alpha/M = 1/4 ... 1) beside the
  Single and DE(4) of the same base network;
* the **width sweep**: Single, DE(4) and PE(2,4,1) over base widths (every layer's channels times w).

Every grid point is one ``run_experiment`` (one method, one seed) with its own report, so a point is resumed,
skipped when done, and skipped when another worker holds it (the report's lock): start ``run_sweep`` in two
processes (``OMP_NUM_THREADS=1`` each) to use two cores, stop it at any time, start it again to continue.
``collect`` then reads the points and writes one JSON per sweep with provenance, the grid, every run, the mean and
std over seeds, FLOPs per image, and the CPU time the sweep took (``pe-lab sweep run`` / ``pe-lab sweep collect``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import WriteError, atomic_save
from ..results.records import ReportError, Run, Sweep, SweepRow, read_report, read_sweep, write_record
from ..results.report_files import RunLocked
from ..results.tables import seed_statistics
from .presets import preset
from .run import run_experiment
from .spec import Experiment

__all__ = ["ALPHAS", "ALPHA_WIDTH", "Point", "SWEEPS", "SWEEP_PRESET", "SWEEP_SETTINGS", "WIDTHS", "alpha_points",
           "collect_sweep", "collected", "collected_points", "grid", "run_sweep", "width_points"]

# The lenet preset's recipe (batch 128, SGD + Nesterov, lr 0.05, cosine, weight decay 5e-4, crop + flip, member
# losses summed) at 10 epochs instead of 20: the grid below at 20 epochs does not fit a session on 2 CPU cores.
SWEEP_PRESET = "lenet"
SWEEP_SETTINGS = {"epochs": 10, "model": "lenet", "num_estimators": 4, "gamma": 1}
ALPHA_WIDTH = 2.0  # LeNet x2 (12, 32, 240, 168): the smallest LeNet where alpha = 1, 2, 3, 4 all divide by M = 4
ALPHAS = (1, 2, 3, 4)
WIDTHS = (1.0, 2.0, 4.0, 8.0)
SWEEPS = {  # the rows of each sweep, by (method, base width, alpha)
    "alpha": [(m, ALPHA_WIDTH, float(a)) for m, a in (("single", 2), ("deep", 2), *(("packed", a) for a in ALPHAS))],
    "width": [(m, w, 2.0) for w in WIDTHS for m in ("single", "packed", "deep")],
}


@dataclass(frozen=True)
class Point:
    """One grid point: a method of LeNet at base ``width`` (``alpha`` for a PE), one seed."""

    method: str
    width: float
    seed: int
    alpha: float = 2

    @property
    def name(self) -> str:
        alpha = f"-a{self.alpha:g}" if self.method == "packed" else ""
        return f"lenet-w{self.width:g}-{self.method}{alpha}-seed{self.seed}"

    def experiment(self, data: str | None, folder: Path, **changes) -> Experiment:
        """This point's run as an ``Experiment`` (the sweep's recipe; ``changes`` override any setting)."""
        where = {"root": data, "offline": True} if data is not None else {}
        settings = {**SWEEP_SETTINGS, "methods": (self.method,), "alpha": self.alpha, "width": self.width,
                    "seeds": (self.seed,), **where, "progress": False, "resume": True,
                    "out": str(folder / f"{self.name}.json"), "runs_dir": str(folder / "checkpoints"),
                    "save_predictions": self.seed == 0, "command": f"pe_lab sweep point {self.name}"}
        return preset(SWEEP_PRESET, **{**settings, **changes})


def alpha_points(seed: int) -> list[Point]:
    return [Point("single", ALPHA_WIDTH, seed), Point("deep", ALPHA_WIDTH, seed),
            *(Point("packed", ALPHA_WIDTH, seed, alpha) for alpha in ALPHAS)]


def width_points(seed: int, widths=WIDTHS) -> list[Point]:
    return [Point(method, width, seed) for width in widths for method in ("single", "packed", "deep")]


def grid(seeds=(0, 1, 2)) -> list[Point]:
    """Every point, most informative first (2 CPU cores cannot run all of it in a session): seed 0 of both
    sweeps up to width 4, more seeds of the alpha sweep, more seeds of width 1, width 8 (Single and PE, then
    the DE), and more seeds of width 4 last."""
    first, rest = seeds[0], seeds[1:]
    order = [*alpha_points(first), *width_points(first, WIDTHS[:-1])]
    order += [p for seed in rest for p in alpha_points(seed)]
    order += [p for seed in rest for p in width_points(seed, WIDTHS[:1])]
    widest = width_points(first, WIDTHS[-1:])
    order += [p for p in widest if p.method != "deep"]
    order += [p for seed in rest for p in width_points(seed, WIDTHS[2:3])]
    order += [p for p in widest if p.method == "deep"]
    order += [p for seed in rest for p in width_points(seed, WIDTHS[-1:])]
    unique: list[Point] = []
    for point in order:
        if point not in unique:
            unique.append(point)
    return unique


def _key(method: str, width: float, alpha: float) -> tuple[str, float, float]:
    return method, float(width), float(alpha)


def _collected_reports(results: Path) -> dict[str, Sweep]:
    """The sweep JSON already collected in ``results``, by sweep name (a sweep not collected yet is absent)."""
    paths = {name: results / f"sweep_{name}_lenet.json" for name in SWEEPS}
    return {name: read_sweep(path) for name, path in paths.items() if path.exists()}  # checked field by field


def collected(results: Path, reports: dict[str, Sweep] | None = None) -> dict[tuple, SweepRow]:
    """The rows already collected in ``results`` (committed JSON, or its ``reports`` if already read), by
    (method, width, alpha)."""
    reports = _collected_reports(results) if reports is None else reports
    return {_key(row.method, row.width, row.alpha): row for sweep in reports.values() for row in sweep.rows}


def collected_points(results: Path) -> set[Point]:
    """The grid points whose run is already in ``results``: a new worker folder need not train them again."""
    return {Point(row.method, row.width, seed, row.alpha) for row in collected(results).values() for seed in row.seeds}


def run_sweep(folder: Path, data: str | None, points: list[Point] | None = None, changes: dict | None = None,
              done: set[Point] = frozenset()) -> None:
    """Run every point (default: the whole ``grid()``) not yet done (in ``folder`` or in ``done``, the points
    already collected) and not held by another worker; ``changes`` override the recipe's settings (tests:
    ``synthetic=True``). The CPU seconds this worker spent on a point are added to that point's ``<name>.cpu``
    file (a resumed point adds up)."""
    for point in points if points is not None else grid():
        out = folder / f"{point.name}.json"
        if point in done or (out.exists() and read_report(out).runs):
            continue
        experiment = point.experiment(data, folder, **(changes or {}))
        start, cpu = time.process_time(), folder / f"{point.name}.cpu"
        try:
            run_experiment(experiment)
        except RunLocked:
            continue
        finally:  # an attempt cut short by an error still counts: its resumed run adds to it
            atomic_save(str(_cpu_seconds(cpu) + time.process_time() - start), cpu)
        print(f"[sweep] done {point.name}", flush=True)


def _cpu_seconds(path: Path) -> float:
    """The CPU seconds a ``<point>.cpu`` file holds (0 when absent); ``ReportError`` naming it when it holds no
    finite number >= 0."""
    if not path.exists():
        return 0.0
    text = path.read_text().strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (seconds >= 0 and seconds != float("inf")):
        raise ReportError(f"{path}: must hold the CPU seconds of its point (a number >= 0), got {text[:40]!r}; "
                          "delete it to count the point's CPU time as 0")
    return seconds


def _summary(runs: list[Run]) -> dict:
    """A sweep row's numbers over seeds: the headline metrics, MSP's AUROC and FPR95 on SVHN, mutual information's
    AUROC (``mi_auroc``), and the training time (a run without OOD data, or a collapsed one, lacks its OOD numbers)."""
    rows = []
    for r in runs:
        row = {key: r.metrics[key] for key in ("accuracy", "nll", "ece", "brier")}
        if r.ood("msp"):
            row.update(auroc=r.ood("msp")["auroc"], fpr95=r.ood("msp")["fpr95"])
        if r.ood("mutual_information"):
            row["mi_auroc"] = r.ood("mutual_information")["auroc"]
        rows.append({**row, "train_seconds": r.train_seconds})
    return seed_statistics(rows)


def _row_run(run: Run, cpu_seconds: float) -> Run:
    """A run as a sweep row keeps it: its numbers, spec and history and the CPU seconds it cost; not its engine,
    checkpoint or test throughput (the point's own report keeps those)."""
    return Run(run.method, run.seed, run.metrics, run.spec, run.params, run.train_seconds, run.history,
               cpu_seconds=cpu_seconds)


def _row(folder: Path, points: list[Point], before: SweepRow | None = None) -> SweepRow | None:
    """One row from the points done in ``folder``, merged with the row collected ``before`` (a seed run in
    ``folder`` replaces the same seed there; the others are kept, with their CPU time)."""
    from ..methods.registry import build_from_spec, label_for
    from ..results.cost import count_flops

    runs, cpu = [], 0.0
    for point in points:
        out = folder / f"{point.name}.json"
        if not out.exists():
            continue
        report = read_report(out)
        if not report.runs:
            continue
        point_cpu = _cpu_seconds(folder / f"{point.name}.cpu")
        runs.extend(_row_run(r, point_cpu / len(report.runs)) for r in report.runs)
        cpu += point_cpu
    if before is not None:
        fresh = {r.seed for r in runs}
        kept = [r for r in before.runs if r.seed not in fresh]
        # rows collected before runs carried their own CPU time: the row's total, shared out evenly
        share = before.cpu_seconds / len(before.runs)
        runs.extend(_row_run(r, share if r.cpu_seconds is None else r.cpu_seconds) for r in kept)
        cpu += sum(share if r.cpu_seconds is None else r.cpu_seconds for r in kept)
        runs.sort(key=lambda r: r.seed)
    if not runs:
        return None
    spec = runs[0].spec
    first = points[0]
    return SweepRow(label=label_for(spec), method=first.method, width=first.width, alpha=first.alpha,
                    member_width=first.width * (first.alpha / spec["num_estimators"] if first.method == "packed"
                                                else 1.0),
                    params=runs[0].params, flops_per_image=count_flops(build_from_spec(spec)),
                    seeds=tuple(sorted(r.seed for r in runs)), summary=_summary(runs), cpu_seconds=cpu,
                    runs=tuple(runs))


def _done_points(folder: Path) -> list[Point]:
    """The grid points with a finished run in ``folder``; ``ReportError`` when none is, naming what was found
    there instead (reports of points off the grid, another seed or width, are not part of any sweep)."""
    on_grid = {f"{point.name}.json": point for point in grid()}
    found = sorted(path.name for path in folder.glob("lenet-*.json"))
    done = [on_grid[name] for name in found if name in on_grid and read_report(folder / name).runs]
    if not done:
        off = [name for name in found if name not in on_grid]
        raise ReportError(f"no finished grid point in {folder}"
                          + (f" (off the grid, not collected: {', '.join(off[:5])}"
                             + (f" and {len(off) - 5} more" if len(off) > 5 else "") + ")" if off else "")
                          + "; nothing was written")
    return done


def collect_sweep(folder: Path, out_dir: Path, command: str = "") -> dict[str, Path]:
    """Write ``sweep_alpha_lenet.json`` and ``sweep_width_lenet.json`` from the points done in ``folder``,
    merged with the rows already in ``out_dir`` (so a new worker folder adds seeds, never drops them). A sweep
    with nothing new keeps its file; with no finished grid point at all nothing is written (``ReportError``).
    Every sweep is built before any file is written."""
    by_key: dict[tuple, list[Point]] = {}
    for point in grid():
        by_key.setdefault(_key(point.method, point.width, point.alpha), []).append(point)
    done = set(_done_points(folder))
    earlier = _collected_reports(out_dir)
    before = collected(out_dir, earlier)
    first_report = read_report(folder / f"{min(done, key=lambda p: p.name).name}.json")
    recipe = first_report.identity["recipe"]
    built: dict[str, tuple[Sweep, list[Point]]] = {}
    for name, keys in SWEEPS.items():
        fresh = [p for key in keys for p in by_key[key] if p in done]
        if not fresh:  # nothing new for this sweep: its JSON (if any) stays as it was
            continue
        rows = tuple(row for key in keys if (row := _row(folder, by_key[key], before.get(key))) is not None)
        provenance = dataclasses.replace(
            first_report.provenance, command=command or f"pe_lab.collect_sweep({str(folder)!r}, {str(out_dir)!r})",
            merged_with=earlier[name].provenance.to_json() if name in earlier else None,
            point_preset={"preset": SWEEP_PRESET, **SWEEP_SETTINGS},
            seeds=tuple(sorted({seed for row in rows for seed in row.seeds})),  # every row's, not the first point's
            date_collected=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        note = "the lenet preset's recipe at 10 epochs; width/alpha/methods vary per row"
        sweep = Sweep(provenance=provenance, recipe={**recipe, "note": note},
                      sweep=name, rows=rows, cpu_seconds=sum(r.cpu_seconds for r in rows),
                      train_seconds=sum(run.train_seconds for r in rows for run in r.runs))
        # never write a record no reader takes: checked before any file is written
        Sweep.from_json(sweep.to_json(), f"the {name} sweep collected from {folder}")
        built[name] = (sweep, [by_key[key][0] for key in keys])
    written = {}
    for name, (sweep, points) in built.items():
        for point in points:  # the seed-0 member probabilities, beside the JSON
            stored = folder / f"{point.name}-predictions-{point.method}-seed0.pt"
            if stored.exists():
                _copy_atomically(stored, out_dir / "sweep" / f"{point.name}-predictions.pt")
        path = out_dir / f"sweep_{name}_lenet.json"
        write_record(sweep, path)
        written[name] = path
    return written


def _copy_atomically(source: Path, target: Path) -> None:
    """``source``'s bytes at ``target`` through a temporary file and ``os.replace`` (never half a file)."""
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise WriteError(target, error) from error


