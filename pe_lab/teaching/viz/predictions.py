"""Figures of what trained models predict: learning curves, confusions, sample grids, shift, diversity,
calibration, OOD and the results summary."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from plotly.subplots import make_subplots
from torchmetrics.functional.classification import binary_precision_recall_curve, binary_roc

from ...evaluation.metrics import (
    METRICS,
    OOD_METRICS,
    ece,
    ood_metrics,
    ood_score,
    reliability_data,
)
from ...methods.registry import METHODS
from ...results.records import Report
from .style import SYNTHETIC_NOTE, member_colour, method_colour, metric_title

__all__ = ["confusion_matrix_figure", "diversity_figure", "learning_curves", "ood_curves", "ood_histogram",
           "prediction_grid", "reliability_diagram", "results_figure", "shift_figure"]


def learning_curves(histories: dict[str, dict], *, synthetic: bool = False) -> Figure:
    """Train loss and test accuracy / NLL / ECE per epoch, one line per method."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
    for index, (name, history) in enumerate(histories.items()):
        colour = member_colour(index)
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
        ax.set_title(label + (SYNTHETIC_NOTE if synthetic else ""), fontsize=10)
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
            ax.plot(levels, [curve[s][key] * scale for s in levels], "o-", color=member_colour(index), label=label)
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
        ax.bar(index, 100 * d["ensemble_accuracy"], color=member_colour(index), alpha=0.35, width=0.6,
               label="ensemble" if index == 0 else None)
        members = [100 * a for a in d["member_accuracy"]]
        ax.scatter([index] * len(members), members, color=member_colour(index), zorder=3, s=25,
                   label="members" if index == 0 else None)
        ax.text(index, 100 * d["ensemble_accuracy"] + 0.5, f"gain {100 * d['ensemble_gain']:+.1f}\n"
                f"disagree {100 * d['disagreement']:.0f}%", ha="center", va="bottom", fontsize=8)
    low = min(min(d["member_accuracy"]) for d in diversities.values()) * 100
    high = max(d["ensemble_accuracy"] for d in diversities.values()) * 100
    ax.set_ylim(max(0, low - 5), high + 6)
    ax.set_xticks(range(len(names)), names, fontsize=9)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("members (dots) vs their ensemble (bar); gain in points" + (SYNTHETIC_NOTE if synthetic else ""),
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
        fig.add_bar(x=centres, y=accuracy, width=width, marker_color=member_colour(0), name="accuracy",
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
                      title=f"Reliability diagrams ({num_bins} bins)" + (SYNTHETIC_NOTE if synthetic else ""),
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
    for scores_, label, colour in ((in_scores, in_name, member_colour(0)), (out_scores, out_name, member_colour(1))):
        fig.add_histogram(x=scores_.numpy(), name=label, histnorm="probability", opacity=0.6,
                          marker_color=colour, nbinsx=40)
    fig.update_layout(barmode="overlay", height=360, width=560,
                      title=f"{name} {criterion}: AUROC {100 * scores['auroc']:.1f} %, "
                            f"AUPR {100 * scores['aupr']:.1f} %, FPR95 {100 * scores['fpr95']:.1f} %"
                            + (SYNTHETIC_NOTE if synthetic else ""),
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
        colour = member_colour(index)
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
    fig.update_layout(height=400, width=980, title="OOD detection" + (SYNTHETIC_NOTE if synthetic else ""))
    return fig


def results_figure(report: Report,
                   keys: tuple[str, ...] = ("accuracy", "nll", "ece", "brier", "auroc", "fpr95")) -> Figure:
    """Bars of each method's mean over seeds with one standard deviation, one panel per metric (a key of ``METRICS``
    or ``OOD_METRICS``), from a report written by ``pe-lab experiment`` (its ``summary``), each method in
    its record's colour."""
    summary = report.summary
    methods = list(summary)
    criterion = summary[methods[0]].ood_criterion or "msp"
    labels = {m: METHODS[m].title if m in METHODS else m for m in methods}
    fig, axes = plt.subplots(1, len(keys), figsize=(2.6 * len(keys), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        entry = METRICS.get(key) or OOD_METRICS.get(key)
        scale = entry.scale if entry is not None else 1  # rates in %, as in the tables
        means = [summary[m][key].mean * scale for m in methods]
        stds = [summary[m][key].std * scale for m in methods]
        ax.bar([labels[m] for m in methods], means, yerr=stds, capsize=4,
               color=[method_colour(m, i) for i, m in enumerate(methods)])
        low, high = min(means) - 3 * max(stds + [1e-3]), max(means) + 3 * max(stds + [1e-3])
        ax.set_ylim(max(0, low - 0.1 * (high - low)), high + 0.1 * (high - low))
        ax.set_title(metric_title(key, criterion), fontsize=10)
        ax.tick_params(axis="x", labelsize=9)
    seeds = "/".join(str(n) for n in sorted({summary[m]["accuracy"].n for m in methods}))
    synthetic = SYNTHETIC_NOTE if report.provenance.data.synthetic else ""
    fig.suptitle(f"{report.provenance.data.num_train} training images, mean ± std over {seeds} seeds "
                 f"(y axes do not start at 0){synthetic}", fontsize=10)
    fig.tight_layout()
    return fig
