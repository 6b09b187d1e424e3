"""Markdown tables of a report and of a sweep: mean ± std over seeds, and each row's accuracy difference from the
Single with its 95 % interval; ``summarise`` computes the per-method summary they read."""

from __future__ import annotations

import statistics

from ..evaluation.metrics import METRICS, OOD_METRICS
from ..evaluation.verdict import Comparison
from ..methods.registry import get_method
from .comparisons import by_seed, compare_by_seed, row_gap
from .records import MethodSummary, Provenance, Report, Run, Statistics, Sweep

__all__ = ["columns", "format_table", "seed_statistics", "summarise", "sweep_table"]


def columns() -> list[tuple[str, str, float, int, bool]]:
    """A report table's metric columns, read from the metric tables: ``(key, head, scale, digits, is_ood)`` for
    every ``METRICS`` entry, then every ``OOD_METRICS`` one (by the report's OOD criterion)."""
    return [(key, m.label, m.scale, m.digits, key in OOD_METRICS) for key, m in {**METRICS, **OOD_METRICS}.items()]


def seed_statistics(rows: list[dict[str, float]]) -> dict[str, Statistics]:
    """Mean, standard deviation (0 with one seed) and count over seeds of each number in ``rows`` (one dict per
    seed; a number missing from some rows is summarised over the rows that have it)."""
    values: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            values.setdefault(key, []).append(float(value))
    return {k: Statistics(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))
            for k, v in values.items()}


def summarise(runs: list[Run], ood_criterion: str = "msp") -> dict[str, MethodSummary]:
    """Mean and std over seeds of every reported number, per method (in the order of each method's first run);
    OOD numbers by ``ood_criterion``."""
    summary = {}
    for method in dict.fromkeys(r.method for r in runs):
        rows = []
        for r in (r for r in runs if r.method == method):
            row = {k: r.metrics[k] for k in METRICS if k in r.metrics}  # a metric added later: n/a before
            row.update(r.ood(ood_criterion))
            row.update(params=r.params, train_seconds=r.train_seconds, test_images_per_second=r.test_images_per_second)
            rows.append({k: v for k, v in row.items() if v is not None})
        summary[method] = MethodSummary(seed_statistics(rows), ood_criterion)
    return summary


def format_table(report: Report) -> str:
    """A Markdown table of the summary: mean ± std over seeds, OOD by the criterion it names; beside the accuracy,
    each method's difference from the Single with its 95 % interval (``compare``) when the report has a Single."""
    summary = report.summary
    criterion = next((s.ood_criterion for s in summary.values() if s.ood_criterion), "msp")
    heads = ["Method"] + [f"{h} ({criterion})" if ood else h for _, h, _, _, ood in columns()]
    against_single = "single" in summary and len(summary) > 1
    if against_single:
        heads.insert(2, "Acc − Single (95 % CI)")

    def side(method: str):
        return by_seed(report.runs_of(method), summary[method]["accuracy"], "accuracy", criterion)

    heads += ["Params", "Train s", "Test img/s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for method, stats in summary.items():
        cells = [get_method(method).label(report.runs_of(method)[0].spec)]
        for key, _, scale, digits, _ in columns():
            cells.append(_spread_cell(stats.get(key), scale, digits))
            if key == "accuracy" and against_single:
                cells.append("—" if method == "single" else
                             _difference_cell(compare_by_seed(side(method), side("single")), scale, 1))
        cells += [f"{stats['params'].mean / 1e6:.3f} M", f"{stats['train_seconds'].mean:.0f}",
                  f"{stats['test_images_per_second'].mean:.0f}", str(stats["accuracy"].n)]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report.provenance
    note = " **Synthetic data: not CIFAR-10.**" if prov.data.synthetic else ""
    lines.append(f"\n{_data_line(prov)} ({prov.data.num_ood}); {_machine_line(prov)}; {prov.date}.{note}")
    if against_single:
        lines.append(_DIFFERENCE_NOTE.format(what="Acc − Single", reference="the Single"))
    return "\n".join(lines)


def _spread_cell(stats: Statistics | None, scale: float, digits: int) -> str:
    """``"69.0 ± 1.0"`` (``"± n/a"`` with one seed), or ``"n/a"`` for a number not measured."""
    if stats is None:
        return "n/a"
    spread = f"{stats.std * scale:.{digits}f}" if stats.n > 1 else "n/a"
    return f"{stats.mean * scale:.{digits}f} ± {spread}"


def _data_line(prov: Provenance) -> str:
    data = prov.data
    return f"{data.num_train} train / {data.num_test} test images ({data.test}), OOD: {data.ood}"


def _machine_line(prov: Provenance) -> str:
    return f"{prov.hardware}; torch {prov.torch}; commit {prov.git_commit[:12]}"


_DIFFERENCE_NOTE = ("\n± is the standard deviation over seeds, not a test. {what}: the accuracy difference from "
                    "{reference} in points with its 95 % confidence interval (a paired t-test where both ran the same "
                    "seeds, Welch's otherwise; `pe_lab.compare`); * marks an interval that excludes zero, and no "
                    "test is possible with one seed.")


def _difference_cell(comparison: Comparison, scale: float, digits: int) -> str:
    """A table cell: ``"+2.2 (+0.9 to +3.4) *"`` (the star: the interval excludes zero), ``"+0.3 (no test)"``."""
    difference = f"{comparison.difference * scale:+.{digits}f}"
    if comparison.low != comparison.low:  # NaN: one seed on a side
        return f"{difference} (no test)"
    star = " *" if comparison.separated else ""
    return f"{difference} ({comparison.low * scale:+.{digits}f} to {comparison.high * scale:+.{digits}f}){star}"


_SWEEP_COLUMNS = (("accuracy", "Acc (%)", 100, 1), ("nll", "NLL", 1, 3), ("ece", "ECE", 1, 3),
                  ("auroc", "AUROC msp (%)", 100, 1), ("mi_auroc", "AUROC MI (%)", 100, 1))


def sweep_table(sweep: Sweep) -> str:
    """A Markdown table of a sweep's rows: member width, parameters, FLOPs, every metric as mean ± std over
    seeds, each row's accuracy difference from the Single of its base width with its 95 % interval
    (``compare``), training seconds, seeds."""
    singles = {r.width: r for r in sweep.rows if r.method == "single"}
    heads = ["Model", "member width", "Params", "MFLOPs/img"] + [h for _, h, _, _ in _SWEEP_COLUMNS]
    if singles:
        heads.insert(5, "Acc − Single of its width (95 % CI)")
    heads += ["Train s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in sweep.rows:
        cells = [row.label, f"{row.member_width:g}", f"{row.params / 1e6:.3f} M", f"{row.flops_per_image / 1e6:.2f}"]
        for key, _, scale, digits in _SWEEP_COLUMNS:
            stats = row.summary.get(key)
            cells.append(_spread_cell(stats, scale, digits))
            if stats is not None and key == "accuracy" and singles:
                single = singles.get(row.width)
                cells.append("—" if single is None or single is row else
                             _difference_cell(row_gap(row, single, "accuracy"), scale, digits))
        cells += [f"{row.summary['train_seconds'].mean:.0f}", ",".join(map(str, row.seeds))]
        lines.append("| " + " | ".join(cells) + " |")
    prov = sweep.provenance
    lines.append(f"\n{_data_line(prov)}; {_machine_line(prov)}; {sweep.recipe['epochs']} epochs; training time "
                 f"{_train_hours(sweep):.1f} h (wall clock, summed over runs); CPU time recorded "
                 f"{sweep.cpu_seconds / 3600:.1f} h (a lower bound: a point stopped by the machine counts only the "
                 "attempt that finished it).")
    if singles:
        lines.append(_DIFFERENCE_NOTE.format(what="Acc − Single of its width",
                                             reference="the Single of the row's base width"))
    return "\n".join(lines)


def _train_hours(sweep: Sweep) -> float:
    return sum(run.train_seconds for row in sweep.rows for run in row.runs) / 3600
