"""Interactive explorers: sliders and dropdowns that redraw a figure and its numbers.

Each explorer is a function that returns ``(widget, update)``. ``update(**params)`` recomputes and redraws,
and returns a dict with the figure(s) it drew and the numbers it showed, so tests call it directly, with no
browser. Widgets use only what ipywidgets 7.7 (Colab) and 8 both have; matplotlib figures go into an
``Output``, plotly figures are plain ``go.Figure`` displayed into an ``Output`` (no ``FigureWidget``).

A configuration that breaks a rule (e.g. channels not divisible by M*gamma) is shown as that rule's
message in place of the figure: the student sees why, nothing crashes.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from .cost import count_flops, count_params
from .layers import PackedConv2d, PackedLinear
from .masks import member_mask
from .methods import HYPERPARAMETERS, METHODS
from .metrics import OOD_CRITERIA, ece, ood_metrics, ood_score
from .models import build
from .viz import cost_figure, mask_figure, ood_curves, ood_histogram, reliability_diagram, shift_figure

__all__ = ["calibration_explorer", "cost_explorer", "mask_explorer", "ood_explorer", "shift_explorer"]


def _show(output: widgets.Output, *figures) -> None:
    with output:
        output.clear_output(wait=True)  # no flicker while a slider moves
        for figure in figures:
            display(figure)
    for figure in figures:
        if isinstance(figure, plt.Figure):
            plt.close(figure)  # displayed as an image already; keep memory flat while sliders move


def _message(label: widgets.HTML, text: str, error: bool = False) -> None:
    colour = "#CC3311" if error else "inherit"
    label.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"


def _bind(controls: dict, redraw):
    """Wire ``controls`` (name -> widget) to ``redraw(**values)``; return ``update(**values)``, which moves
    the widgets to the given values (without firing a second redraw) and redraws once."""
    state = {"syncing": False}

    def on_change(change) -> None:
        if not state["syncing"]:
            redraw(**{name: control.value for name, control in controls.items()})

    for control in controls.values():
        control.observe(on_change, names="value")

    def update(**values) -> dict:
        unknown = set(values) - set(controls)
        if unknown:
            raise TypeError(f"update() got unknown parameters {sorted(unknown)}; valid: {sorted(controls)}")
        for name, value in values.items():
            _check_allowed(name, controls[name], value)
        state["syncing"] = True
        try:
            for name, value in values.items():
                if controls[name].value != value:
                    controls[name].value = value
        finally:
            state["syncing"] = False
        return redraw(**{name: control.value for name, control in controls.items()})

    return update


def _check_allowed(name: str, control, value) -> None:
    """A widget silently clamps or ignores a value it cannot show (M=0 would be drawn as M=1): refuse it."""
    if isinstance(control, widgets.IntSlider | widgets.FloatSlider):
        kind = int if isinstance(control, widgets.IntSlider) else float
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
            raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        if not control.min <= value <= control.max:
            raise ValueError(f"{name}={value} is outside this explorer's range [{control.min}, {control.max}]")
        steps = (value - control.min) / control.step
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"{name}={value} is not on the slider's grid (from {control.min} in steps of "
                             f"{control.step})")
    elif isinstance(control, widgets.SelectMultiple):
        values = tuple(value) if isinstance(value, list | tuple) else (value,)
        unknown = [v for v in values if v not in _option_values(control)]
        if unknown:
            raise ValueError(f"{name}={value!r} must be a selection of {list(_option_values(control))}")
    elif hasattr(control, "options") and value not in _option_values(control):
        raise ValueError(f"{name}={value!r} is not one of {list(_option_values(control))}")


def _option_values(control) -> tuple:
    return tuple(o[1] if isinstance(o, tuple) else o for o in control.options)


def _assemble(controls: dict, redraw, summary: widgets.HTML, figure_out: widgets.Output, css_class: str):
    """The common explorer: controls in a row above a summary and a figure; drawn once; ``(widget, update)``."""
    update = _bind(controls, redraw)
    widget = widgets.VBox([widgets.HBox(list(controls.values())), summary, figure_out])
    widget.add_class(css_class)
    update()
    return widget, update


def _slider(description: str, value, low, high, step=1, float_=False):
    cls = widgets.FloatSlider if float_ else widgets.IntSlider
    return cls(value=value, min=low, max=high, step=step, description=description, continuous_update=False,
               style={"description_width": "initial"})


def _pe_sliders(num_estimators: int, alpha: float, gamma: int, max_members: int) -> dict:
    """The three knobs of a PE, named as ``update`` takes them."""
    return {
        "num_estimators": _slider("M (num_estimators)", num_estimators, 1, max_members),
        "alpha": _slider("alpha", alpha, 1, 4, 0.5, float_=True),
        "gamma": _slider("gamma", gamma, 1, 4),
    }


def mask_explorer(in_channels: int = 6, out_channels: int = 6, *, kind: str = "conv", num_estimators: int = 2,
                  alpha: float = 2, gamma: int = 1):
    """Sliders for M, alpha, gamma redraw a hidden layer's mask and its parameter counts.

    Parameter counts compare the packed layer with the dense layer at the base width (``C_in*C_out``
    weights per kernel position) and with a Deep Ensemble of ``M`` such layers.
    """
    sliders = _pe_sliders(num_estimators, alpha, gamma, max_members=6)
    figure_out = widgets.Output()
    counts = widgets.HTML()
    counts.add_class("pe-param-count")

    def redraw(num_estimators: int, alpha: float, gamma: int) -> dict:
        try:
            if kind == "conv":
                layer = PackedConv2d(in_channels, out_channels, 3, alpha=alpha, num_estimators=num_estimators,
                                     gamma=gamma, bias=False)
                dense = in_channels * out_channels * 9
            else:
                layer = PackedLinear(in_channels, out_channels, alpha=alpha, num_estimators=num_estimators,
                                     gamma=gamma, bias=False)
                dense = in_channels * out_channels
        except ValueError as error:
            _message(counts, f"not a valid PE: {error}", error=True)
            _show(figure_out)
            return {"figure": None, "error": str(error)}
        packed = layer.weight.numel()
        masks = [member_mask(layer, m) for m in range(num_estimators)]
        figure = mask_figure(masks, title=f"mask^j for M={num_estimators}, alpha={alpha:g}, gamma={gamma} "
                                          f"({layer.groups} groups)")
        numbers = {"params": packed, "dense_params": dense, "deep_ensemble_params": num_estimators * dense,
                   "groups": layer.groups}
        deep = num_estimators * dense
        _message(counts, f"params: {packed} packed weights = {packed / dense:.2f} x dense layer ({dense}) = "
                         f"{packed / deep:.2f} x Deep Ensemble of M={num_estimators} ({deep}); "
                         f"alpha^2/(M*gamma) = {alpha ** 2 / (num_estimators * gamma):.2f}")
        _show(figure_out, figure)
        return {"figure": figure, **numbers}

    update = _bind(sliders, redraw)
    widget = widgets.VBox([widgets.HBox(list(sliders.values())), counts, figure_out])
    widget.add_class("pe-mask-explorer")
    update()
    return widget, update


def cost_explorer(model_name: str = "resnet20", *, num_estimators: int = 4, alpha: float = 2, gamma: int = 1):
    """Sliders for M, alpha, gamma redraw parameters and FLOPs of Single vs DE(M) vs PE(alpha, M, gamma)."""
    sliders = _pe_sliders(num_estimators, alpha, gamma, max_members=8)
    figure_out = widgets.Output()
    table = widgets.HTML()
    table.add_class("pe-cost-table")
    cache: dict = {}

    def cost_of(kind: str, **kw) -> dict:
        key = (kind, tuple(sorted(kw.items())))
        if key not in cache:
            model = build(model_name, kind, **kw)
            cache[key] = {"params": count_params(model), "flops": count_flops(model)}
        return cache[key]

    def redraw(num_estimators: int, alpha: float, gamma: int) -> dict:
        try:
            knobs = {"alpha": alpha, "num_estimators": num_estimators, "gamma": gamma}
            rows = {}
            for method in METHODS.values():  # every registered method, with the knobs it takes
                used = {h: knobs.get(h, HYPERPARAMETERS[h]) for h in method.hyperparameters}
                rows[method.label(used)] = cost_of(method.name, **used)
        except ValueError as error:
            _message(table, f"not a valid PE for {model_name}: {error}", error=True)
            _show(figure_out)
            return {"figure": None, "error": str(error)}
        cells = "".join(f"<tr><td>{n}</td><td>{r['params']:,}</td><td>{r['flops'] / 1e6:,.1f}</td></tr>"
                        for n, r in rows.items())
        table.value = (f"<table><tr><th>{model_name}</th><th>parameters</th><th>forward MFLOPs per 32x32 image"
                       f"</th></tr>{cells}</table>")
        figure = cost_figure(rows, title=f"{model_name}, 10 classes, 32x32 images")
        _show(figure_out, figure)
        return {"figure": figure, "rows": rows}

    update = _bind(sliders, redraw)
    widget = widgets.VBox([widgets.HBox(list(sliders.values())), table, figure_out])
    update()
    return widget, update


def calibration_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, num_bins: int = 15,
                         synthetic: bool = False):
    """A bins slider and a model selector over reliability diagrams.

    ``predictions``: model name -> (member_probs ``(N, M, K)``, labels ``(N,)``).
    """
    names = list(predictions)
    bins = _slider("bins", num_bins, 2, 30)
    chooser = widgets.SelectMultiple(options=names, value=tuple(names), description="models",
                                     rows=min(4, len(names)))
    figure_out = widgets.Output()
    summary = widgets.HTML()
    summary.add_class("pe-ece")

    def redraw(num_bins: int, models: tuple[str, ...]) -> dict:
        if not models:
            _message(summary, "select at least one model")
            _show(figure_out)
            return {"figure": None, "ece": {}}
        chosen = {n: (predictions[n][0].float().mean(1), predictions[n][1]) for n in models}
        eces = {n: ece(p, y, num_bins) for n, (p, y) in chosen.items()}
        _message(summary, "ECE: " + ", ".join(f"{n} {v:.4f}" for n, v in eces.items()) + f" ({num_bins} bins)")
        figure = reliability_diagram(chosen, num_bins=num_bins, synthetic=synthetic)
        _show(figure_out, figure)
        return {"figure": figure, "ece": eces}

    return _assemble({"num_bins": bins, "models": chooser}, redraw, summary, figure_out, "pe-calibration-explorer")


def ood_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, synthetic: bool = False):
    """A criterion and a model selector over OOD score histograms, ROC/PR curves and the metrics.

    ``predictions``: model name -> (member_probs on in-distribution ``(N, M, K)``, on OOD ``(N', M, K)``).
    """
    names = list(predictions)
    style = {"description_width": "initial"}
    criterion_box = widgets.Dropdown(options=list(OOD_CRITERIA), value="msp", description="criterion", style=style)
    model_box = widgets.Dropdown(options=names, value=names[-1], description="histogram of", style=style)
    figure_out = widgets.Output()
    summary = widgets.HTML()
    summary.add_class("pe-ood-metrics")

    def redraw(criterion: str, model: str) -> dict:
        scores, metrics = {}, {}
        for name, (probs_in, probs_out) in predictions.items():
            if probs_in.shape[1] == 1 and criterion in ("mutual_information", "variation_ratio"):
                continue  # a single network has no members to disagree
            in_scores, out_scores = ood_score(probs_in.float(), criterion), ood_score(probs_out.float(), criterion)
            scores[name] = (in_scores, out_scores)
            metrics[name] = ood_metrics(in_scores, out_scores)
        rows = "".join(f"<tr><td>{n}</td>" + "".join(f"<td>{100 * m[key]:.1f}</td>"
                                                     for key in ("auroc", "aupr", "fpr95")) + "</tr>"
                       for n, m in metrics.items())
        summary.value = (f"<b>{html.escape(criterion)}</b>: {html.escape(OOD_CRITERIA[criterion])}"
                         f"<table><tr><th>model</th><th>AUROC (%)</th><th>AUPR (%)</th><th>FPR95 (%)</th></tr>{rows}"
                         "</table>")
        if model not in scores:
            histogram = None
            summary.value += f"<i>{html.escape(model)} has one member: no {html.escape(criterion)} histogram.</i>"
        else:
            histogram = ood_histogram(*predictions[model], criterion=criterion, name=model, synthetic=synthetic)
        curves = ood_curves(scores, synthetic=synthetic) if scores else None
        _show(figure_out, *[f for f in (histogram, curves) if f is not None])
        return {"histogram": histogram, "curves": curves, "metrics": metrics}

    return _assemble({"criterion": criterion_box, "model": model_box}, redraw, summary, figure_out, "pe-ood-explorer")


def shift_explorer(results: dict[str, dict], images: torch.Tensor | None = None):
    """A corruption dropdown and a severity slider over accuracy / NLL / ECE against severity for each method,
    with one test image shown at the chosen corruption and severity.

    ``results``: method label -> ``pe_lab.shift.shift_metrics(...)`` (as stored in a ``-shift.json`` report);
    ``images``: a few uint8 test images ``(N, 3, H, W)`` to show corrupted (optional).
    """
    from .shift import corrupt

    names = list(next(iter(results.values())))
    style = {"description_width": "initial"}
    corruption_box = widgets.Dropdown(options=names, value=names[0], description="corruption", style=style)
    severity_slider = _slider("severity", 3, 0, 5)
    figure_out = widgets.Output()
    summary = widgets.HTML()
    summary.add_class("pe-shift-numbers")

    def redraw(corruption: str, severity: int) -> dict:
        example = None
        if images is not None:
            example = images[:1] if severity == 0 else corrupt(images[:1], corruption, severity)
            example = example[0]
        numbers = {label: {int(k): v for k, v in per[corruption].items()}[severity] for label, per in results.items()}
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{100 * n['accuracy']:.1f}</td><td>{n['nll']:.3f}</td>"
                       f"<td>{n['ece']:.3f}</td></tr>" for label, n in numbers.items())
        summary.value = (f"<b>{html.escape(corruption)}, severity {severity}</b><table><tr><th>method</th>"
                         f"<th>accuracy (%)</th><th>NLL</th><th>ECE</th></tr>{rows}</table>")
        figure = shift_figure(results, corruption, severity, example=example)
        _show(figure_out, figure)
        return {"figure": figure, "numbers": numbers}

    return _assemble({"corruption": corruption_box, "severity": severity_slider}, redraw, summary, figure_out,
                     "pe-shift-explorer")
