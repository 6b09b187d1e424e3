"""The explorers of committed reports: the alpha sweep, the width sweep, the efficiency frontier of several
methods, and one report's numbers seed by seed. No training: every number is read from the report."""

from __future__ import annotations

import html

from ...results.records import Report, Sweep
from .state import Definition, Drawn, dropdown, float_slider, mean_pm, selection_slider, table_html


def alpha_definition(sweep: Sweep, *, alpha: float = 2, x: str = "member_width") -> Definition:
    """alpha and an x axis -> the chosen PE circled on accuracy / NLL / ECE / OOD AUROC against member width,
    parameters, FLOPs or train seconds, its numbers beside the Single's and the DE's (mean ± std over seeds)."""
    from ..viz import sweep_figure

    rows = sweep.rows
    alphas = sorted(r.alpha for r in rows if r.method == "packed")

    def draw(alpha: float, x: str) -> Drawn:
        chosen = [r for r in rows if r.method != "packed" or r.alpha == alpha]
        table = [[r.label + (" (alpha = M: the DE's architecture in one network)" if r.method == "packed"
                             and r.alpha == r.runs[0].spec["num_estimators"] else ""),
                  f"{r.member_width:g}", f"{r.params:,}", f"{r.flops_per_image / 1e6:.2f} M",
                  mean_pm(r.summary["accuracy"], 100, 1), mean_pm(r.summary["nll"]),
                  mean_pm(r.summary["ece"]), mean_pm(r.summary["auroc"], 100, 1),
                  f"{r.summary['train_seconds'].mean:.0f}", str(r.summary["accuracy"].n)]
                 for r in chosen]
        summary = table_html(["model", "member width", "params", "FLOPs/img", "acc (%)", "NLL", "ECE",
                              "AUROC (%)", "train s", "seeds"], table)
        figure = sweep_figure(sweep, x=x, highlight=alpha)
        return Drawn([figure], summary, {"figure": figure, "numbers": {r.label: r.summary for r in chosen}})

    controls = {"alpha": float_slider("alpha", "alpha", alpha, min(alphas), max(alphas), 1),
                "x": dropdown("x", "x axis", [("member width", "member_width"), ("parameters", "params"),
                                              ("FLOPs", "flops_per_image"), ("train seconds", "train_seconds")], x)}
    return Definition(controls, draw, "pe-alpha-explorer", "pe-alpha-numbers")


def _width_label(method: str, width: float) -> str:
    return f"{'Single' if method == 'single' else 'DE(4)' if method == 'deep' else 'PE(2,4,1)'} x{width:g}"


def width_definition(sweep: Sweep, *, width: float = 1, compare: str = "base") -> Definition:
    """A base width and a comparison -> the Single, DE(4) and PE(2,4,1) at that base width (``"base"``), or the
    three at the same parameters (``"params"``: DE(4) at ``width``, PE(2,4,1) and the Single at twice it), circled
    on the sweep's figure, their numbers in a table and the rows the sweep has not measured named under it."""
    from ..viz import width_figure

    rows = sweep.rows
    by = {(r.method, r.width): r for r in rows}
    widths = sorted({r.width for r in rows})

    def draw(width: float, compare: str) -> Drawn:
        wanted = ([("single", width), ("deep", width), ("packed", width)] if compare == "base" else
                  [("single", 2 * width), ("deep", width), ("packed", 2 * width)])
        chosen = [by[key] for key in wanted if key in by]
        missing = [_width_label(m, w) for m, w in wanted if (m, w) not in by]
        table = [[r.label, f"{r.width:g}", f"{r.member_width:g}", f"{r.params:,}",
                  mean_pm(r.summary["accuracy"], 100, 1), mean_pm(r.summary["nll"]),
                  mean_pm(r.summary["ece"]), mean_pm(r.summary["auroc"], 100, 1),
                  str(r.summary["accuracy"].n)] for r in chosen]
        summary = table_html(["model", "base width", "member width", "params", "acc (%)", "NLL", "ECE",
                              "AUROC (%)", "seeds"], table) + (
            f"<p>not measured in this sweep: {html.escape(', '.join(missing))}</p>" if missing else "")
        figure = width_figure(sweep, highlight=chosen)
        return Drawn([figure], summary, {"figure": figure, "numbers": {r.label: r.summary for r in chosen},
                                         "missing": missing})

    controls = {"width": selection_slider("width", "base width", [(f"x{w:g}", w) for w in widths], width),
                "compare": dropdown("compare", "compare", [("same base width", "base"),
                                                           ("equal parameters", "params")], compare)}
    return Definition(controls, draw, "pe-width-explorer", "pe-width-numbers")


def frontier_definition(report: Report, *, x: str = "params", metric: str = "accuracy") -> Definition:
    """A cost and a metric -> every method of one report (e.g. the six of ``rivals_lenet.json``) on that metric
    against that cost."""
    from ..viz import frontier_figure

    def draw(x: str, metric: str) -> Drawn:
        figure = frontier_figure(report, x=x, metrics=(metric,))
        numbers = {m: s[metric] for m, s in report.summary.items()}
        summary = f"{metric}, mean ± std over seeds, against {x}"
        return Drawn([figure], summary, {"figure": figure, "numbers": numbers})

    controls = {"x": dropdown("x", "cost", [("parameters", "params"), ("FLOPs", "flops_per_image"),
                                            ("train seconds", "train_seconds")], x),
                "metric": dropdown("metric", "metric", ["accuracy", "nll", "ece", "auroc"], metric)}
    return Definition(controls, draw, "pe-frontier-explorer", "pe-frontier-numbers")


_SEED_KEYS = (("accuracy", 100, 1), ("nll", 1, 3), ("ece", 1, 3), ("brier", 1, 3))


def seed_definition(report: Report) -> Definition:
    """A seed -> a report's table: the mean ± std over seeds, or one seed's numbers (one seed of several can rank
    methods differently from their mean)."""
    from ...methods.registry import label_for

    seeds = sorted({r.seed for r in report.runs})

    def draw(seed: int) -> Drawn:
        rows, numbers = [], {}
        for method in report.summary:
            runs = report.runs_of(method)
            label = label_for(runs[0].spec)
            if seed < 0:
                stats = report.summary[method]
                numbers[label] = {k: stats[k].mean for k, _, _ in _SEED_KEYS}
                rows.append([label] + [mean_pm(stats[k], scale, d) for k, scale, d in _SEED_KEYS])
            else:
                run = next((r for r in runs if r.seed == seed), None)
                if run is None:
                    continue
                numbers[label] = {k: run.metrics[k] for k, _, _ in _SEED_KEYS}
                rows.append([label] + [f"{run.metrics[k] * scale:.{d}f}" for k, scale, d in _SEED_KEYS])
        summary = table_html(["method", "acc (%)", "NLL", "ECE", "Brier"], rows)
        return Drawn([], summary, {"figure": None, "numbers": numbers})

    controls = {"seed": dropdown("seed", "show", [("mean ± std", -1)] + [(f"seed {s}", s) for s in seeds], -1)}
    return Definition(controls, draw, "pe-seed-explorer", "pe-seed-table")
