"""The explorers of stored predictions: reliability diagrams, OOD scores, accuracy under corruptions, and the
ensemble of a model's first n members. ``predictions`` map a model's name to its member probabilities
``(N, M, K)`` and their labels (or, for OOD, the probabilities on the OOD set)."""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import torch

from ...evaluation.metrics import OOD_CRITERIA, ece, first_members, ood_metrics, ood_score
from ...validate import check_probabilities
from ..viz import MEMBER_COLOURS, ood_curves, ood_histogram, reliability_diagram, shift_figure
from .state import Definition, Drawn, dropdown, int_slider, message_html, several, table_html


def calibration_definition(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, num_bins: int = 15,
                           synthetic: bool = False) -> Definition:
    """Bins and a choice of models -> reliability diagrams and each model's ECE."""
    names = list(predictions)

    def draw(num_bins: int, models: tuple[str, ...]) -> Drawn:
        if not models:
            return Drawn([], message_html("select at least one model"), {"figure": None, "ece": {}})
        chosen = {n: (predictions[n][0].float().mean(1), predictions[n][1]) for n in models}
        eces = {n: ece(p, y, num_bins) for n, (p, y) in chosen.items()}
        summary = message_html("ECE: " + ", ".join(f"{n} {v:.4f}" for n, v in eces.items()) + f" ({num_bins} bins)")
        figure = reliability_diagram(chosen, num_bins=num_bins, synthetic=synthetic)
        return Drawn([figure], summary, {"figure": figure, "ece": eces})

    controls = {"num_bins": int_slider("num_bins", "bins", num_bins, 2, 30, site=sorted({5, 10, 20, 30, num_bins})),
                "models": several("models", "models", names, names)}
    return Definition(controls, draw, "pe-calibration-explorer", "pe-ece", extra={"rows": min(4, len(names))})


def _check_ood_pairs(predictions: dict) -> None:
    if not predictions:
        raise ValueError("ood_explorer needs at least one model's predictions")
    for name, (probs_in, probs_out) in predictions.items():
        check_probabilities(f"{name}: in-distribution member_probs", probs_in.float(), dims=3)
        check_probabilities(f"{name}: OOD member_probs", probs_out.float(), dims=3)
        if probs_in.shape[1:] != probs_out.shape[1:]:
            raise ValueError(f"{name}: in-distribution (N, M, K) = {tuple(probs_in.shape)} and OOD "
                             f"{tuple(probs_out.shape)} must have the same members M and classes K (the same model)")


def ood_definition(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *,
                   synthetic: bool = False) -> Definition:
    """A criterion and a model -> OOD score histogram of that model, ROC/PR curves and metrics of every model.
    Both of a model must come from that model: the same members M and classes K (checked here)."""
    _check_ood_pairs(predictions)
    names = list(predictions)

    def draw(criterion: str, model: str) -> Drawn:
        scores, metrics = {}, {}
        for name, (probs_in, probs_out) in predictions.items():
            if probs_in.shape[1] == 1 and OOD_CRITERIA[criterion].needs_members:
                continue  # a single network has no members to disagree
            in_scores, out_scores = ood_score(probs_in.float(), criterion), ood_score(probs_out.float(), criterion)
            scores[name] = (in_scores, out_scores)
            metrics[name] = ood_metrics(in_scores, out_scores)
        rows = "".join(f"<tr><td>{n}</td>" + "".join(f"<td>{100 * m[key]:.1f}</td>"
                                                     for key in ("auroc", "aupr", "fpr95")) + "</tr>"
                       for n, m in metrics.items())
        summary = (f"<b>{html.escape(criterion)}</b>: {html.escape(OOD_CRITERIA[criterion].description)}"
                   f"<table><tr><th>model</th><th>AUROC (%)</th><th>AUPR (%)</th><th>FPR95 (%)</th></tr>{rows}"
                   "</table>")
        if model not in scores:
            histogram = None
            summary += f"<i>{html.escape(model)} has one member: no {html.escape(criterion)} histogram.</i>"
        else:
            histogram = ood_histogram(*predictions[model], criterion=criterion, name=model, synthetic=synthetic)
        curves = ood_curves(scores, synthetic=synthetic) if scores else None
        return Drawn([f for f in (histogram, curves) if f is not None], summary,
                     {"histogram": histogram, "curves": curves, "metrics": metrics})

    controls = {"criterion": dropdown("criterion", "criterion", list(OOD_CRITERIA), "msp"),
                "model": dropdown("model", "histogram of", names, names[-1])}
    return Definition(controls, draw, "pe-ood-explorer", "pe-ood-metrics")


def shift_definition(results: dict[str, dict], images: torch.Tensor | None = None) -> Definition:
    """A corruption and a severity -> accuracy / NLL / ECE against severity for each method, and one test image
    at that corruption and severity. ``results``: label -> ``shift_metrics(...)``; ``images``: uint8 ``(N, 3, H,
    W)`` (optional)."""
    from ...data.corruptions import corrupt

    names = list(next(iter(results.values())))

    def draw(corruption: str, severity: int) -> Drawn:
        example = None
        if images is not None:
            example = images[:1] if severity == 0 else corrupt(images[:1], corruption, severity)
            example = example[0]
        numbers = {label: {int(k): v for k, v in per[corruption].items()}[severity] for label, per in results.items()}
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{100 * n['accuracy']:.1f}</td><td>{n['nll']:.3f}</td>"
                       f"<td>{n['ece']:.3f}</td></tr>" for label, n in numbers.items())
        summary = (f"<b>{html.escape(corruption)}, severity {severity}</b><table><tr><th>method</th>"
                   f"<th>accuracy (%)</th><th>NLL</th><th>ECE</th></tr>{rows}</table>")
        figure = shift_figure(results, corruption, severity, example=example)
        return Drawn([figure], summary, {"figure": figure, "numbers": numbers})

    controls = {"corruption": dropdown("corruption", "corruption", names, names[0]),
                "severity": int_slider("severity", "severity", 3, 0, 5)}
    return Definition(controls, draw, "pe-shift-explorer", "pe-shift-numbers")


_SIZE_KEYS = (("accuracy", "accuracy (%) ↑", 100), ("nll", "NLL ↓", 1), ("ece", "ECE ↓", 1),
              ("mutual_information", "mean MI (test)", 1))


def ensemble_size_definition(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, n: int = 1,
                             num_bins: int = 15) -> Definition:
    """n -> the ensemble of the first n members of each stored model: accuracy, NLL, ECE and mean mutual
    information against n, the chosen n marked. ``predictions``: label -> (member_probs ``(N, M, K)``, labels)."""
    most = max(p.shape[1] for p, _ in predictions.values())
    curves = {name: [first_members(p.float(), y, j, num_bins) for j in range(1, p.shape[1] + 1)]
              for name, (p, y) in predictions.items()}

    def draw(n: int) -> Drawn:
        numbers = {name: curve[min(n, len(curve)) - 1] for name, curve in curves.items()}
        summary = table_html(["model", "members used", "acc (%)", "NLL", "ECE", "mean MI"], [
            [name, str(min(n, len(curves[name]))), f"{100 * row['accuracy']:.1f}", f"{row['nll']:.3f}",
             f"{row['ece']:.3f}", f"{row['mutual_information']:.3f}"] for name, row in numbers.items()])
        figure, axes = plt.subplots(1, len(_SIZE_KEYS), figsize=(3.2 * len(_SIZE_KEYS), 2.9))
        for ax, (key, title, scale) in zip(axes, _SIZE_KEYS, strict=True):
            for i, (name, curve) in enumerate(curves.items()):
                ax.plot(range(1, len(curve) + 1), [c[key] * scale for c in curve], marker="o",
                        color=MEMBER_COLOURS[i % len(MEMBER_COLOURS)], label=name)
            ax.axvline(n, color="#888888", linestyle="--", linewidth=1)
            ax.set_xlabel("first n members")
            ax.set_title(title, fontsize=10)
        axes[0].legend(fontsize=7)
        figure.tight_layout()
        return Drawn([figure], summary, {"figure": figure, "numbers": numbers})

    return Definition({"n": int_slider("n", "members n", n, 1, most)}, draw, "pe-ensemble-size-explorer",
                      "pe-ensemble-size-numbers")
