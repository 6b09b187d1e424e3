"""Figures of the toy world and of the sweeps: decision maps, metrics against member width, base width and
parameters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ...evaluation.metrics import (
    METRICS,
    OOD_METRICS,
    mutual_information,
)
from ...results.records import Report, Sweep, SweepRow
from .style import member_colour, method_colour, metric_title

__all__ = ["frontier_figure", "sweep_figure", "toy_figure", "width_figure"]


_CLASS_COLOURS = ["#4477AA", "#EE6677", "#228833"]


def toy_figure(comparison: dict) -> Figure:
    """The toy comparison (``pe_lab.teaching.toy.toy_compare``) as one row per model: decision regions with each
    member's own boundary drawn over them, confidence (max probability), predictive entropy and mutual information,
    on the grid around the data; training points and the OOD ring on the first panel."""
    results = comparison["results"]
    points, labels = comparison["train"]
    extent, ood = comparison["extent"], comparison["ood"]
    num_classes = comparison["num_classes"]
    steps = int(round(comparison["grid"].shape[0] ** 0.5))
    fig, axes = plt.subplots(len(results), 4, figsize=(13, 3.1 * len(results)), squeeze=False)
    cmap = ListedColormap(_CLASS_COLOURS[:num_classes])
    # one MI scale for every row, so a brighter map means more disagreement, not another colour range
    mi_max = max(max(float(mutual_information(r.grid_probs).max()) for r in results.values()), 1e-3)
    for row, (label, result) in enumerate(results.items()):
        member_probs = result.grid_probs                        # (G, M, K)
        probs = member_probs.mean(1)
        panels = [("decision regions, member boundaries", probs.argmax(-1).float(), cmap, (0, num_classes - 1)),
                  ("confidence (max prob.)", probs.max(-1).values, "viridis", (1 / num_classes, 1)),
                  ("predictive entropy", -(probs * probs.clamp_min(1e-12).log()).sum(-1), "magma",
                   (0, float(np.log(num_classes)))),
                  ("mutual information", mutual_information(member_probs), "magma", (0, mi_max))]
        for col, (title, values, colours, (low, high)) in enumerate(panels):
            ax = axes[row, col]
            image = values.reshape(steps, steps).numpy()
            ax.imshow(image, origin="lower", extent=extent, cmap=colours, vmin=low, vmax=high,
                      alpha=0.45 if col == 0 else 1.0, aspect="auto")
            if col == 0:
                xs = np.linspace(extent[0], extent[1], steps)
                ys = np.linspace(extent[2], extent[3], steps)
                for m in range(member_probs.shape[1]):
                    member_class = member_probs[:, m].argmax(-1).reshape(steps, steps).numpy()
                    ax.contour(xs, ys, member_class, levels=np.arange(num_classes - 1) + 0.5,
                               colors=member_colour(m), linewidths=1.0)
                ax.scatter(points[:, 0], points[:, 1], c=[_CLASS_COLOURS[i] for i in labels], s=6,
                           edgecolors="none")
                ax.set_ylabel(label)
            if col == 3:
                ax.scatter(ood[:, 0], ood[:, 1], s=3, c="white", edgecolors="none")
            ax.set_xlim(extent[:2])
            ax.set_ylim(extent[2:])
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# The sweep figures' panels (key, title, scale): titles and scales from the metric tables, OOD against SVHN by MSP.
_SWEEP_METRICS = tuple((key, metric_title(key, "MSP, SVHN"), (METRICS.get(key) or OOD_METRICS[key]).scale)
                       for key in ("accuracy", "nll", "ece", "auroc"))
_SWEEP_COSTS = {"params": "parameters", "flops_per_image": "FLOPs per image", "train_seconds": "train seconds",
                "member_width": "member width (x the base LeNet)"}


def _data_label(sweep: Sweep) -> str:
    data = sweep.provenance.data
    if data.synthetic:
        return "SYNTHETIC DATA"
    return "JPEG CIFAR-10" if "cifar10-jpeg" in str(data.train) else str(data.train)


def _sweep_value(row: SweepRow, key: str) -> tuple[float, float]:
    if key in ("params", "flops_per_image", "member_width", "width"):
        return float(getattr(row, key)), 0.0
    stats = row.summary[key]
    return stats.mean, stats.std


def sweep_figure(sweep: Sweep, *, x: str = "member_width", highlight: float | None = None) -> Figure:
    """The alpha sweep (``assets/results/sweep_alpha_lenet.json``): accuracy, NLL, ECE and OOD AUROC of
    PE(alpha, M, 1) against ``x`` (member width, parameters, FLOPs or train seconds), the Single and the DE of
    the same base network beside it, mean ± std over seeds; ``highlight`` circles the PE of that alpha."""
    rows = sweep.rows
    packed = sorted((r for r in rows if r.method == "packed"), key=lambda r: r.alpha)
    others = [r for r in rows if r.method != "packed"]
    fig, axes = plt.subplots(1, len(_SWEEP_METRICS), figsize=(3.3 * len(_SWEEP_METRICS), 3.2))
    for ax, (key, title, scale) in zip(axes, _SWEEP_METRICS, strict=True):
        xs = [_sweep_value(r, x)[0] for r in packed]
        means = [_sweep_value(r, key)[0] * scale for r in packed]
        stds = [_sweep_value(r, key)[1] * scale for r in packed]
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=method_colour("packed"), label="PE(alpha,4,1)")
        for i, r in enumerate(others):
            mean, std, colour = *_sweep_value(r, key), method_colour(r.method, i)
            if x == "member_width":
                ax.axhline(mean * scale, color=colour, linestyle="--", label=r.label)
                ax.axhspan((mean - std) * scale, (mean + std) * scale, color=colour, alpha=0.12)
            else:
                ax.errorbar([_sweep_value(r, x)[0]], [mean * scale], yerr=[std * scale], marker="s", capsize=3,
                            color=colour, linestyle="none", label=r.label)
        for r in packed:
            if r.alpha == r.runs[0].spec["num_estimators"]:
                ax.plot([_sweep_value(r, x)[0]], [_sweep_value(r, key)[0] * scale], marker="*", markersize=14,
                        color=method_colour("packed"), linestyle="none",
                        label="alpha = M: the DE's architecture in one network")
            if highlight is not None and r.alpha == highlight:
                ax.plot([_sweep_value(r, x)[0]], [_sweep_value(r, key)[0] * scale], marker="o", markersize=13,
                        markerfacecolor="none", markeredgecolor="black")
        if x in ("params", "flops_per_image", "train_seconds"):
            ax.set_xscale("log")
        ax.set_xlabel(_SWEEP_COSTS.get(x, x), fontsize=9)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=7, loc="lower right")
    seeds = "/".join(map(str, sorted({r.summary["accuracy"].n for r in rows})))
    fig.suptitle(f"{_data_label(sweep)}, LeNet x{packed[0].width:g}, {sweep.recipe['epochs']} epochs; "
                 f"mean ± std over {seeds} seeds", fontsize=10)
    fig.tight_layout()
    return fig


def width_figure(sweep: Sweep, *, highlight: list[SweepRow] | None = None) -> Figure:
    """The width sweep (``sweep_width_lenet.json``): top row, each metric of Single, DE(4) and PE(2,4,1) against
    the base width; middle row, the gaps PE - DE and PE - Single against the PE's member width (seeds as error
    bars: the gap's std is the two stds combined, as for independent runs); bottom row, each metric against the
    parameter count, where PE(2,4,1) at base width 2w sits on DE(4) at w and the Single at 2w: at equal
    parameters, one network or an ensemble? ``highlight``: rows circled in the top and bottom rows."""
    rows = sweep.rows
    by = {(r.method, r.width): r for r in rows}
    widths = sorted({r.width for r in rows})
    fig, axes = plt.subplots(3, len(_SWEEP_METRICS), figsize=(3.3 * len(_SWEEP_METRICS), 9.3))
    for col, (key, title, scale) in enumerate(_SWEEP_METRICS):
        ax = axes[0, col]
        for i, method in enumerate(("single", "deep", "packed")):
            present = [w for w in widths if (method, w) in by]
            if not present:
                continue
            stats = [_sweep_value(by[(method, w)], key) for w in present]
            ax.errorbar(present, [m * scale for m, _ in stats], yerr=[s * scale for _, s in stats], marker="o",
                        capsize=3, color=method_colour(method, i),
                        label=by[(method, present[0])].label.split(" x")[0])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("base width (x LeNet)", fontsize=9)
        ax.set_title(title, fontsize=10)
        ax = axes[1, col]
        for i, other in enumerate(("deep", "single")):
            present = [w for w in widths if ("packed", w) in by and (other, w) in by]
            gaps, errors = [], []
            for w in present:
                (pm, ps), (om, os_) = _sweep_value(by[("packed", w)], key), _sweep_value(by[(other, w)], key)
                gaps.append((pm - om) * scale)
                errors.append(float(np.hypot(ps, os_)) * scale)
            ax.errorbar([w / 2 for w in present], gaps, yerr=errors, marker="o", capsize=3,
                        color=method_colour(other, 1 - i),
                        label=f"PE(2,4,1) - {'DE(4)' if other == 'deep' else 'Single'}")
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("PE member width (x LeNet)", fontsize=9)
        ax.set_title("gap in " + title.split(" ")[0], fontsize=10)
        _metric_against_parameters(axes[2, col], by, widths, key, title, scale)
        for r in highlight or ():
            mean = _sweep_value(r, key)[0] * scale
            for ax, x in ((axes[0, col], r.width), (axes[2, col], r.params)):
                ax.plot([x], [mean], marker="o", markersize=13, markerfacecolor="none", markeredgecolor="black")
    for row in range(3):
        axes[row, 0].legend(fontsize=7)
    fig.suptitle(f"{_data_label(sweep)}, LeNet at base widths {', '.join(f'{w:g}' for w in widths)}, "
                 f"{sweep.recipe['epochs']} epochs; error bars: std over seeds", fontsize=10)
    fig.tight_layout()
    return fig


def _metric_against_parameters(ax, by: dict, widths: list[float], key: str, title: str, scale: float) -> None:
    for i, method in enumerate(("single", "deep", "packed")):
        present = [by[(method, w)] for w in widths if (method, w) in by]
        if not present:
            continue
        stats = [_sweep_value(r, key) for r in present]
        ax.errorbar([r.params for r in present], [m * scale for m, _ in stats], yerr=[s * scale for _, s in stats],
                    marker="o", capsize=3, color=method_colour(method, i), label=present[0].label.split(" x")[0])
        for r, (mean, _) in zip(present, stats, strict=True):
            ax.annotate(f"x{r.width:g}", (r.params, mean * scale), fontsize=7, textcoords="offset points",
                        xytext=(3, 3), color=method_colour(method, i))
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log)", fontsize=9)
    ax.set_title(title + " at equal parameters", fontsize=10)


def frontier_figure(report: Report, *, x: str = "params", metrics: tuple[str, ...] = ("accuracy", "nll")) -> Figure:
    """Every method of one report (e.g. ``rivals_lenet.json``) as a point of ``metrics`` against a cost ``x``
    (``params``, ``flops_per_image`` or ``train_seconds``, log scale): the efficiency frontier, mean ± std over
    seeds. FLOPs are counted on a model rebuilt from each run's spec."""
    from ...methods.registry import build_from_spec, label_for
    from ...results.cost import count_flops

    runs = {method: report.runs_of(method)[0] for method in report.methods}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.4 * len(metrics), 3.6), squeeze=False)
    titles = {key: (title, scale) for key, title, scale in _SWEEP_METRICS}
    for ax, key in zip(axes[0], metrics, strict=True):
        title, scale = titles.get(key, (key, 1))
        for i, (method, run) in enumerate(runs.items()):
            stats = report.summary[method]
            if x == "flops_per_image":
                cost = count_flops(build_from_spec(run.spec))
            else:
                cost = stats[x].mean
            ax.errorbar([cost], [stats[key].mean * scale], yerr=[stats[key].std * scale], marker="o",
                        capsize=3, color=method_colour(method, i), linestyle="none")
            ax.annotate(label_for(run.spec), (cost, stats[key].mean * scale), fontsize=8,
                        textcoords="offset points", xytext=(5, 4))
        ax.set_xscale("log")
        ax.margins(x=0.3)  # room for the labels of the widest methods
        ax.set_xlabel(_SWEEP_COSTS.get(x, x), fontsize=9)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
