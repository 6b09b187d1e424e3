"""Figures: masks, rearranges, learning curves, confusion matrices, reliability diagrams, OOD plots, costs.

Every function returns a figure (matplotlib ``Figure`` or plain ``plotly.graph_objects.Figure``) and never
shows it: the caller (a notebook cell or an explorer's ``Output``) decides. Plain plotly figures, not
``FigureWidget``, because FigureWidget is unreliable on Colab.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from plotly.subplots import make_subplots
from torchmetrics.functional.classification import binary_precision_recall_curve, binary_roc

from ..evaluation.metrics import METRICS, OOD_METRICS, ece, mutual_information, ood_metrics, ood_score, reliability_data
from ..methods.registry import HYPERPARAMETERS, METHODS, options_of
from ..validate import check_choice

__all__ = [
    "MEMBER_COLOURS", "confusion_matrix_figure", "cost_figure", "diversity_figure", "learning_curves", "mask_figure",
    "ood_curves", "ood_histogram", "prediction_grid", "rearrange_figure", "reliability_diagram", "results_figure",
    "sharing_figure", "toy_figure", "sweep_figure", "width_figure", "frontier_figure"]

MEMBER_COLOURS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
_SYNTHETIC_NOTE = "  [SYNTHETIC DATA]"


def _member_colour(m: int) -> str:
    return MEMBER_COLOURS[m % len(MEMBER_COLOURS)]


def _method_colour(method: str, index: int = 0) -> str:
    """The colour of ``method``'s record, or the palette's ``index``-th for a method without one."""
    record = METHODS.get(method)
    return record.colour if record is not None and record.colour else _member_colour(index)


def _metric_title(key: str, criterion: str) -> str:
    """A panel title from the metric tables: ``"accuracy (%) ↑"``, ``"NLL ↓"``, ``"AUROC (msp, %) ↑"``."""
    entry = METRICS.get(key) or OOD_METRICS.get(key)
    if entry is None:
        return key
    within = ", ".join([criterion] * (key in OOD_METRICS) + ["%"] * (entry.scale == 100))
    return f"{entry.name}{f' ({within})' if within else ''} {'↑' if entry.higher_is_better else '↓'}"


def mask_figure(member_masks: list[torch.Tensor], *, title: str = "", ax=None) -> Figure:
    """Heatmap of a layer's mask, each member's entries in its own colour, white where the mask is 0.

    ``member_masks``: the ``mask_m^j`` of each member, 2-D ``(C_out, C_in)`` (a conv mask is reduced
    over its kernel). Rows are output channels k, columns input channels l, as in the paper's figure.
    """
    masks = [m if m.dim() == 2 else m.flatten(2).amax(-1) for m in member_masks]
    owner = torch.zeros_like(masks[0])
    for index, mask in enumerate(masks):
        owner = torch.where(mask > 0, torch.full_like(owner, index + 1), owner)
    colours = ["#FFFFFF"] + [_member_colour(m) for m in range(len(masks))]
    if ax is None:
        out_size, in_size = owner.shape
        scale = 4.2 / max(out_size, in_size)
        fig, ax = plt.subplots(figsize=(max(2.8, in_size * scale + 1.2), max(2.5, out_size * scale + 0.8)))
    else:
        fig = ax.figure
    ax.imshow(owner.numpy(), cmap=ListedColormap(colours), vmin=0, vmax=len(masks), interpolation="nearest")
    ax.set_xlabel("input channel l")
    ax.set_ylabel("output channel k")
    ax.set_title(title, fontsize=10)
    out_size, in_size = owner.shape
    ax.set_xticks(np.arange(-0.5, in_size, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, out_size, 1), minor=True)
    if max(out_size, in_size) <= 48:
        ax.grid(which="minor", color="#DDDDDD", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_member_colour(m)) for m in range(len(masks))]
    ax.legend(handles, [f"member {m}" for m in range(len(masks))], loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def rearrange_figure(batch: int, num_estimators: int, channels: int) -> Figure:
    """The two layouts of a packed activation: ``(B, M*C)`` and ``(M*B, C)``, coloured by member; every entry is
    labelled ``b,c`` (sample b, channel c of its member), so one entry can be followed as it moves."""
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 1.1 * num_estimators * channels + 4), 3.6))
    packed = np.repeat(np.arange(num_estimators), channels)[None, :].repeat(batch, 0)
    members = np.repeat(np.arange(num_estimators), batch)[:, None].repeat(channels, 1)
    cmap = ListedColormap([_member_colour(m) for m in range(num_estimators)])
    # (b, c) of each entry in both layouts: packed column m*C + c, member-major row m*B + b.
    packed_labels = [[f"{b},{col % channels}" for col in range(num_estimators * channels)] for b in range(batch)]
    member_labels = [[f"{row % batch},{c}" for c in range(channels)] for row in range(num_estimators * batch)]
    for ax, grid, labels, title, xlabel, ylabel in (
        (axes[0], packed, packed_labels, f"packed: (B, M·C) = ({batch}, {num_estimators * channels})",
         "channel m·C + c", "sample b"),
        (axes[1], members, member_labels, f"member-major: (M·B, C) = ({num_estimators * batch}, {channels})",
         "channel c", "row m·B + b"),
    ):
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=max(num_estimators - 1, 1), aspect="auto", interpolation="nearest")
        for row, line in enumerate(labels):
            for col, text in enumerate(line):
                ax.text(col, row, text, ha="center", va="center", fontsize=8, color="white")
        ax.set_xticks(range(grid.shape[1]))
        ax.set_yticks(range(grid.shape[0]))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.suptitle("rearrange 'b (m c) -> (m b) c': each entry 'b,c' keeps its colour (member m) and moves from "
                 "the channels to the batch", fontsize=10)
    fig.tight_layout()
    return fig


def learning_curves(histories: dict[str, dict], *, synthetic: bool = False) -> Figure:
    """Train loss and test accuracy / NLL / ECE per epoch, one line per method."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
    for index, (name, history) in enumerate(histories.items()):
        colour = _member_colour(index)
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        axes[0].plot(epochs, history["train_loss"], "o-", color=colour, label=name)
        for ax, key, scale in zip(axes[1:], ("test_accuracy", "test_nll", "test_ece"), (100, 1, 1), strict=True):
            if history.get(key):
                ax.plot(epochs, np.asarray(history[key]) * scale, "o-", color=colour, label=name)
    # Rates in percent, scores (NLL, ECE, Brier) as numbers: the same convention as the results tables.
    # The train loss is the mean over members of their cross-entropy (fit records loss / M).
    for ax, label in zip(axes, ("train loss (CE per member)", "test accuracy (%)", "test NLL", "test ECE"),
                         strict=True):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(label + (_SYNTHETIC_NOTE if synthetic else ""), fontsize=10)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrix_figure(probs: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...], *,
                            title: str = "") -> Figure:
    """Row-normalised confusion matrix (rows: true class) with per-class accuracy on the diagonal."""
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    matrix = multiclass_confusion_matrix(probs.argmax(1), labels, num_classes=len(classes), normalize="true")
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    image = ax.imshow(matrix.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for i in range(len(classes)):
        for j in range(len(classes)):
            value = matrix[i, j].item()
            if value >= 0.01:
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if value > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def prediction_grid(images: torch.Tensor, labels: torch.Tensor, member_probs: torch.Tensor,
                    classes: tuple[str, ...], *, columns: int = 4) -> Figure:
    """Test images, each with its true class and the ensemble's prediction and confidence above it, and every
    member's vote below it (green: the ensemble is right).

    ``images`` uint8 ``(N, 3, H, W)``, ``member_probs`` ``(N, M, K)``.
    """
    n = images.shape[0]
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 4.1 * rows), squeeze=False,
                             layout="constrained")
    probs = member_probs.float().mean(1)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i].permute(1, 2, 0).numpy())
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        confidence, predicted = probs[i].max(0)
        right = int(predicted) == int(labels[i])
        colour = "#228833" if right else "#CC3311"
        ax.set_title(f"true: {classes[int(labels[i])]}\nensemble: {classes[int(predicted)]} ({confidence:.0%})",
                     fontsize=10, color=colour)
        votes = [classes[int(v)] for v in member_probs[i].argmax(-1)]
        halves = [", ".join(votes[:2]), ", ".join(votes[2:])] if len(votes) > 2 else [", ".join(votes)]
        # An x label (not free text) so that the layout keeps it clear of the next row's titles.
        ax.set_xlabel("members: " + ",\n".join(h for h in halves if h), fontsize=9)
    return fig


def sharing_figure(num_estimators: int = 4, channels: int = 8, **hyperparameters) -> Figure:
    """What each method shares, drawn like the mask figures: one panel per registered method with a ``sharing``
    drawing (the Single has nothing to share), for one hidden layer of ``channels`` -> ``channels`` (at the
    method's own width), each weight (row: output channel, column: input channel) coloured by the member that owns
    it, grey when several members share it (the number written is how many). ``hyperparameters`` (``alpha``,
    ``gamma``, ``scale``, ...) replace the records' defaults."""
    m = num_estimators
    for name in hyperparameters:
        check_choice("hyperparameter", name, HYPERPARAMETERS)
    given = {"num_estimators": m, **hyperparameters}
    panels = []
    for method in METHODS.values():
        if method.sharing is not None:
            drawn = method.sharing(channels, **{o.name: given.get(o.name, o.default) for o in options_of(method)})
            users = drawn.users.numpy() if hasattr(drawn.users, "numpy") else drawn.users
            panels.append((drawn.title, drawn.owner.numpy(), users))
    colours = ["#BBBBBB", "#FFFFFF"] + [_member_colour(i) for i in range(m)]  # -2 shared, -1 unused, members
    cmap = ListedColormap(colours)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6))
    for ax, (title, grid, counts) in zip(axes, panels, strict=True):
        ax.imshow(grid + 2, cmap=cmap, vmin=0, vmax=len(colours) - 1, interpolation="nearest")
        if isinstance(counts, np.ndarray):
            for (k, col), value in np.ndenumerate(counts):
                if value > 1:
                    ax.text(col, k, f"{int(value)}", ha="center", va="center", fontsize=7)
        elif counts is not None:
            ax.text(grid.shape[1] / 2 - 0.5, grid.shape[0] / 2 - 0.5, f"all {counts}", ha="center", va="center",
                    fontsize=12)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("input channel")
        ax.set_ylabel("output channel")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("One hidden layer: which member uses which weight (colour: the one member that owns it; grey: shared;"
                 " white: no weight)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def shift_figure(results: dict[str, dict], corruption: str, severity: int, *,
                 example: torch.Tensor | None = None) -> Figure:
    """Accuracy, NLL and ECE against severity (0 = clean) under one corruption, one line per method, the chosen
    severity marked; ``results``: label -> ``shift_metrics(...)`` (keys may be ints or strings, as JSON gives
    them). ``example``: one uint8 image ``(3, H, W)`` at that severity, drawn beside the curves."""
    panels = 3 + (example is not None)
    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3.2))
    for index, (label, per_corruption) in enumerate(results.items()):
        curve = {int(k): v for k, v in per_corruption[corruption].items()}
        levels = sorted(curve)
        for ax, key, scale in zip(axes[:3], ("accuracy", "nll", "ece"), (100, 1, 1), strict=True):
            ax.plot(levels, [curve[s][key] * scale for s in levels], "o-", color=_member_colour(index), label=label)
    for ax, title in zip(axes[:3], ("accuracy (%)", "NLL", "ECE"), strict=True):
        ax.axvline(severity, color="#888888", linestyle="--", linewidth=1)
        ax.set_xlabel("severity (0 = clean)")
        ax.set_title(f"{title} under {corruption}", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if example is not None:
        axes[3].imshow(example.permute(1, 2, 0).numpy())
        axes[3].set_title(f"a test image, {corruption} {severity}", fontsize=10)
        axes[3].axis("off")
    fig.suptitle("corruptions in the style of CIFAR-10-C, generated by pe-lab (not the official files)", fontsize=9)
    fig.tight_layout()
    return fig


def diversity_figure(diversities: dict[str, dict], *, synthetic: bool = False) -> Figure:
    """Each method's members' test accuracy (dots) against its ensemble's (bar), with the ensemble gain and the
    pairwise disagreement written above; ``diversities``: label -> ``metrics.diversity(...)``."""
    names = list(diversities)
    fig, ax = plt.subplots(figsize=(1.9 * len(names) + 2.5, 3.6))
    for index, name in enumerate(names):
        d = diversities[name]
        ax.bar(index, 100 * d["ensemble_accuracy"], color=_member_colour(index), alpha=0.35, width=0.6,
               label="ensemble" if index == 0 else None)
        members = [100 * a for a in d["member_accuracy"]]
        ax.scatter([index] * len(members), members, color=_member_colour(index), zorder=3, s=25,
                   label="members" if index == 0 else None)
        ax.text(index, 100 * d["ensemble_accuracy"] + 0.5, f"gain {100 * d['ensemble_gain']:+.1f}\n"
                f"disagree {100 * d['disagreement']:.0f}%", ha="center", va="bottom", fontsize=8)
    low = min(min(d["member_accuracy"]) for d in diversities.values()) * 100
    high = max(d["ensemble_accuracy"] for d in diversities.values()) * 100
    ax.set_ylim(max(0, low - 5), high + 6)
    ax.set_xticks(range(len(names)), names, fontsize=9)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("members (dots) vs their ensemble (bar); gain in points" + (_SYNTHETIC_NOTE if synthetic else ""),
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def reliability_diagram(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, num_bins: int = 15,
                        synthetic: bool = False) -> go.Figure:
    """Reliability diagrams (accuracy vs confidence per bin) and confidence histograms, one column per
    model. ``predictions``: name -> (probs ``(N, K)``, labels ``(N,)``)."""
    names = list(predictions)
    fig = make_subplots(rows=2, cols=len(names), row_heights=[0.7, 0.3], vertical_spacing=0.12,
                        subplot_titles=[f"{n}: ECE {ece(*predictions[n], num_bins):.3f}" for n in names])
    for col, name in enumerate(names, start=1):
        probs, labels = predictions[name]
        data = reliability_data(probs.float(), labels, num_bins)
        centres = ((data["edges"][:-1] + data["edges"][1:]) / 2).numpy()
        width = 1 / num_bins
        accuracy = data["accuracy"].nan_to_num(0).numpy()
        confidence = data["confidence"].numpy()
        fig.add_bar(x=centres, y=accuracy, width=width, marker_color=_member_colour(0), name="accuracy",
                    showlegend=col == 1, row=1, col=col, hovertemplate="bin %{x:.2f}: accuracy %{y:.3f}")
        fig.add_bar(x=centres, y=np.nan_to_num(confidence - accuracy), base=accuracy, width=width,
                    marker_color="rgba(238,102,119,0.45)", name="gap to confidence", showlegend=col == 1,
                    row=1, col=col)
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dash", color="black"),
                        name="perfect calibration", showlegend=col == 1, row=1, col=col)
        fig.add_bar(x=centres, y=(data["count"] / data["count"].sum()).numpy(), width=width,
                    marker_color="#BBBBBB", name="share of samples", showlegend=col == 1, row=2, col=col)
        fig.update_xaxes(range=[0, 1], row=1, col=col)
        fig.update_xaxes(range=[0, 1], title_text="confidence", row=2, col=col)
        fig.update_yaxes(range=[0, 1], row=1, col=col)
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    fig.update_layout(barmode="overlay", height=520, width=max(420, 340 * len(names)),
                      title=f"Reliability diagrams ({num_bins} bins)" + (_SYNTHETIC_NOTE if synthetic else ""),
                      margin=dict(t=80), legend=dict(orientation="h", y=-0.15))
    return fig


def ood_histogram(member_probs_in: torch.Tensor, member_probs_out: torch.Tensor, *, criterion: str = "msp",
                  name: str = "", in_name: str = "CIFAR-10 test", out_name: str = "SVHN",
                  synthetic: bool = False) -> go.Figure:
    """Histograms of the uncertainty score on in-distribution vs OOD data, with AUROC/AUPR/FPR95."""
    in_scores = ood_score(member_probs_in.float(), criterion)
    out_scores = ood_score(member_probs_out.float(), criterion)
    scores = ood_metrics(in_scores, out_scores)
    fig = go.Figure()
    for scores_, label, colour in ((in_scores, in_name, _member_colour(0)), (out_scores, out_name, _member_colour(1))):
        fig.add_histogram(x=scores_.numpy(), name=label, histnorm="probability", opacity=0.6,
                          marker_color=colour, nbinsx=40)
    fig.update_layout(barmode="overlay", height=360, width=560,
                      title=f"{name} {criterion}: AUROC {100 * scores['auroc']:.1f} %, "
                            f"AUPR {100 * scores['aupr']:.1f} %, FPR95 {100 * scores['fpr95']:.1f} %"
                            + (_SYNTHETIC_NOTE if synthetic else ""),
                      xaxis_title=f"uncertainty score ({criterion})", yaxis_title="share of samples")
    return fig


def ood_curves(scores: dict[str, tuple[torch.Tensor, torch.Tensor]], *, synthetic: bool = False) -> go.Figure:
    """ROC and precision-recall curves (OOD positive). ``scores``: name -> (in_scores, out_scores)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["ROC (OOD = positive)", "Precision-recall"])
    for index, (name, (in_scores, out_scores)) in enumerate(scores.items()):
        values = torch.cat([in_scores, out_scores]).double()
        targets = torch.cat([torch.zeros(len(in_scores)), torch.ones(len(out_scores))]).long()
        fpr, tpr, _ = binary_roc(values, targets)
        precision, recall, _ = binary_precision_recall_curve(values, targets)
        result = ood_metrics(in_scores, out_scores)
        colour = _member_colour(index)
        fig.add_scatter(x=fpr.numpy(), y=tpr.numpy(), mode="lines", line=dict(color=colour),
                        name=f"{name} (AUROC {100 * result['auroc']:.1f} %)", row=1, col=1)
        fig.add_scatter(x=recall.numpy(), y=precision.numpy(), mode="lines", line=dict(color=colour, dash="dot"),
                        name=f"{name} (AUPR {100 * result['aupr']:.1f} %)", row=1, col=2)
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="grey", dash="dash"), showlegend=False,
                    row=1, col=1)
    fig.update_xaxes(title_text="false-positive rate (in-distribution flagged)", row=1, col=1)
    fig.update_yaxes(title_text="true-positive rate (OOD caught)", row=1, col=1)
    fig.update_xaxes(title_text="recall", row=1, col=2)
    fig.update_yaxes(title_text="precision", row=1, col=2)
    fig.update_layout(height=400, width=980, title="OOD detection" + (_SYNTHETIC_NOTE if synthetic else ""))
    return fig


def cost_figure(rows: dict[str, dict[str, float]], *, keys: tuple[str, ...] = ("params", "flops"),
                title: str = "") -> Figure:
    """Bar charts of costs; ``rows``: contender -> {key: value}. Bars carry their ratio to the first contender;
    ``params`` are shown in millions, ``flops`` in MFLOPs per image."""
    units = {"params": ("parameters (millions)", 1e-6), "flops": ("forward MFLOPs per image", 1e-6)}
    names = list(rows)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        label, scale = units.get(key, (key, 1.0))
        values = [rows[n][key] for n in names]
        bars = ax.bar(names, [v * scale for v in values], color=[_member_colour(i) for i in range(len(names))])
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{value / values[0]:.2f}x",
                    ha="center", va="bottom", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title + " (bar labels: ratio to the first)", fontsize=10)
    fig.tight_layout()
    return fig


def results_figure(report: dict,
                   keys: tuple[str, ...] = ("accuracy", "nll", "ece", "brier", "auroc", "fpr95")) -> Figure:
    """Bars of each method's mean over seeds with one standard deviation, one panel per metric (a key of ``METRICS``
    or ``OOD_METRICS``), from a report written by ``pe-lab experiment`` (its ``summary``), each method in
    its record's colour."""
    summary = report["summary"]
    methods = list(summary)
    criterion = summary[methods[0]].get("ood_criterion", "msp")
    labels = {m: METHODS[m].title if m in METHODS else m for m in methods}
    fig, axes = plt.subplots(1, len(keys), figsize=(2.6 * len(keys), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        entry = METRICS.get(key) or OOD_METRICS.get(key)
        scale = entry.scale if entry is not None else 1  # rates in %, as in the tables
        means = [summary[m][key]["mean"] * scale for m in methods]
        stds = [summary[m][key]["std"] * scale for m in methods]
        ax.bar([labels[m] for m in methods], means, yerr=stds, capsize=4,
               color=[_method_colour(m, i) for i, m in enumerate(methods)])
        low, high = min(means) - 3 * max(stds + [1e-3]), max(means) + 3 * max(stds + [1e-3])
        ax.set_ylim(max(0, low - 0.1 * (high - low)), high + 0.1 * (high - low))
        ax.set_title(_metric_title(key, criterion), fontsize=10)
        ax.tick_params(axis="x", labelsize=9)
    seeds = "/".join(str(n) for n in sorted({summary[m]["accuracy"]["n"] for m in methods}))
    synthetic = _SYNTHETIC_NOTE if report["provenance"]["data"]["synthetic"] else ""
    fig.suptitle(f"{report['provenance']['data']['num_train']} training images, mean ± std over {seeds} seeds "
                 f"(y axes do not start at 0){synthetic}", fontsize=10)
    fig.tight_layout()
    return fig


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
                               colors=_member_colour(m), linewidths=1.0)
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
_SWEEP_METRICS = tuple((key, _metric_title(key, "MSP, SVHN"), (METRICS.get(key) or OOD_METRICS[key]).scale)
                       for key in ("accuracy", "nll", "ece", "auroc"))
_SWEEP_COSTS = {"params": "parameters", "flops_per_image": "FLOPs per image", "train_seconds": "train seconds",
                "member_width": "member width (x the base LeNet)"}


def _data_label(report: dict) -> str:
    data = report["provenance"]["data"]
    if data.get("synthetic"):
        return "SYNTHETIC DATA"
    return "JPEG CIFAR-10" if "cifar10-jpeg" in str(data.get("train")) else str(data.get("train"))


def _sweep_value(row: dict, key: str) -> tuple[float, float]:
    if key in ("params", "flops_per_image", "member_width", "width"):
        return float(row[key]), 0.0
    stats = row["summary"][key]
    return stats["mean"], stats["std"]


def sweep_figure(report: dict, *, x: str = "member_width", highlight: float | None = None) -> Figure:
    """The alpha sweep (``assets/results/sweep_alpha_lenet.json``): accuracy, NLL, ECE and OOD AUROC of
    PE(alpha, M, 1) against ``x`` (member width, parameters, FLOPs or train seconds), the Single and the DE of
    the same base network beside it, mean ± std over seeds; ``highlight`` circles the PE of that alpha."""
    rows = report["rows"]
    packed = sorted((r for r in rows if r["method"] == "packed"), key=lambda r: r["alpha"])
    others = [r for r in rows if r["method"] != "packed"]
    fig, axes = plt.subplots(1, len(_SWEEP_METRICS), figsize=(3.3 * len(_SWEEP_METRICS), 3.2))
    for ax, (key, title, scale) in zip(axes, _SWEEP_METRICS, strict=True):
        xs = [_sweep_value(r, x)[0] for r in packed]
        means = [_sweep_value(r, key)[0] * scale for r in packed]
        stds = [_sweep_value(r, key)[1] * scale for r in packed]
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=_method_colour("packed"), label="PE(alpha,4,1)")
        for i, r in enumerate(others):
            mean, std, colour = *_sweep_value(r, key), _method_colour(r["method"], i)
            if x == "member_width":
                ax.axhline(mean * scale, color=colour, linestyle="--", label=r["label"])
                ax.axhspan((mean - std) * scale, (mean + std) * scale, color=colour, alpha=0.12)
            else:
                ax.errorbar([_sweep_value(r, x)[0]], [mean * scale], yerr=[std * scale], marker="s", capsize=3,
                            color=colour, linestyle="none", label=r["label"])
        for r in packed:
            if r["alpha"] == r["runs"][0]["spec"]["num_estimators"]:
                ax.plot([_sweep_value(r, x)[0]], [_sweep_value(r, key)[0] * scale], marker="*", markersize=14,
                        color=_method_colour("packed"), linestyle="none",
                        label="alpha = M: the DE's architecture in one network")
            if highlight is not None and r["alpha"] == highlight:
                ax.plot([_sweep_value(r, x)[0]], [_sweep_value(r, key)[0] * scale], marker="o", markersize=13,
                        markerfacecolor="none", markeredgecolor="black")
        if x in ("params", "flops_per_image", "train_seconds"):
            ax.set_xscale("log")
        ax.set_xlabel(_SWEEP_COSTS.get(x, x), fontsize=9)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=7, loc="lower right")
    seeds = "/".join(map(str, sorted({r["summary"]["accuracy"]["n"] for r in rows})))
    fig.suptitle(f"{_data_label(report)}, LeNet x{packed[0]['width']:g}, {report['recipe']['epochs']} epochs; "
                 f"mean ± std over {seeds} seeds", fontsize=10)
    fig.tight_layout()
    return fig


def width_figure(report: dict, *, highlight: list[dict] | None = None) -> Figure:
    """The width sweep (``sweep_width_lenet.json``): top row, each metric of Single, DE(4) and PE(2,4,1) against
    the base width; middle row, the gaps PE - DE and PE - Single against the PE's member width (seeds as error
    bars: the gap's std is the two stds combined, as for independent runs); bottom row, each metric against the
    parameter count, where PE(2,4,1) at base width 2w sits on DE(4) at w and the Single at 2w: at equal
    parameters, one network or an ensemble? ``highlight``: rows circled in the top and bottom rows."""
    rows = report["rows"]
    by = {(r["method"], r["width"]): r for r in rows}
    widths = sorted({r["width"] for r in rows})
    fig, axes = plt.subplots(3, len(_SWEEP_METRICS), figsize=(3.3 * len(_SWEEP_METRICS), 9.3))
    for col, (key, title, scale) in enumerate(_SWEEP_METRICS):
        ax = axes[0, col]
        for i, method in enumerate(("single", "deep", "packed")):
            present = [w for w in widths if (method, w) in by]
            if not present:
                continue
            stats = [_sweep_value(by[(method, w)], key) for w in present]
            ax.errorbar(present, [m * scale for m, _ in stats], yerr=[s * scale for _, s in stats], marker="o",
                        capsize=3, color=_method_colour(method, i),
                        label=by[(method, present[0])]["label"].split(" x")[0])
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
                        color=_method_colour(other, 1 - i),
                        label=f"PE(2,4,1) - {'DE(4)' if other == 'deep' else 'Single'}")
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("PE member width (x LeNet)", fontsize=9)
        ax.set_title("gap in " + title.split(" ")[0], fontsize=10)
        _metric_against_parameters(axes[2, col], by, widths, key, title, scale)
        for r in highlight or ():
            mean = _sweep_value(r, key)[0] * scale
            for ax, x in ((axes[0, col], r["width"]), (axes[2, col], r["params"])):
                ax.plot([x], [mean], marker="o", markersize=13, markerfacecolor="none", markeredgecolor="black")
    for row in range(3):
        axes[row, 0].legend(fontsize=7)
    fig.suptitle(f"{_data_label(report)}, LeNet at base widths {', '.join(f'{w:g}' for w in widths)}, "
                 f"{report['recipe']['epochs']} epochs; error bars: std over seeds", fontsize=10)
    fig.tight_layout()
    return fig


def _metric_against_parameters(ax, by: dict, widths: list[float], key: str, title: str, scale: float) -> None:
    for i, method in enumerate(("single", "deep", "packed")):
        present = [by[(method, w)] for w in widths if (method, w) in by]
        if not present:
            continue
        stats = [_sweep_value(r, key) for r in present]
        ax.errorbar([r["params"] for r in present], [m * scale for m, _ in stats], yerr=[s * scale for _, s in stats],
                    marker="o", capsize=3, color=_method_colour(method, i), label=present[0]["label"].split(" x")[0])
        for r, (mean, _) in zip(present, stats, strict=True):
            ax.annotate(f"x{r['width']:g}", (r["params"], mean * scale), fontsize=7, textcoords="offset points",
                        xytext=(3, 3), color=_method_colour(method, i))
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log)", fontsize=9)
    ax.set_title(title + " at equal parameters", fontsize=10)


def frontier_figure(report: dict, *, x: str = "params", metrics: tuple[str, ...] = ("accuracy", "nll")) -> Figure:
    """Every method of one report (e.g. ``rivals_lenet.json``) as a point of ``metrics`` against a cost ``x``
    (``params``, ``flops_per_image`` or ``train_seconds``, log scale): the efficiency frontier, mean ± std over
    seeds. FLOPs are counted on a model rebuilt from each run's spec."""
    from ..methods.registry import build_from_spec, label_for
    from ..results.cost import count_flops

    runs = {}
    for run in report["runs"]:
        runs.setdefault(run["method"], run)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.4 * len(metrics), 3.6), squeeze=False)
    titles = {key: (title, scale) for key, title, scale in _SWEEP_METRICS}
    for ax, key in zip(axes[0], metrics, strict=True):
        title, scale = titles.get(key, (key, 1))
        for i, (method, run) in enumerate(runs.items()):
            stats = report["summary"][method]
            if x == "flops_per_image":
                cost = count_flops(build_from_spec(run["spec"]))
            else:
                cost = stats[x]["mean"]
            ax.errorbar([cost], [stats[key]["mean"] * scale], yerr=[stats[key]["std"] * scale], marker="o",
                        capsize=3, color=_method_colour(method, i), linestyle="none")
            ax.annotate(label_for(run["spec"]), (cost, stats[key]["mean"] * scale), fontsize=8,
                        textcoords="offset points", xytext=(5, 4))
        ax.set_xscale("log")
        ax.margins(x=0.3)  # room for the labels of the widest methods
        ax.set_xlabel(_SWEEP_COSTS.get(x, x), fontsize=9)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
