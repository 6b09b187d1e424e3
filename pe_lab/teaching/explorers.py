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
import numbers

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from ..evaluation.metrics import OOD_CRITERIA, ece, ood_metrics, ood_score
from ..methods.registry import HYPERPARAMETERS, METHODS, build
from ..nn.layers import PackedConv2d, PackedLinear
from ..nn.masks import member_mask
from ..results.cost import count_flops, count_params
from .viz import MEMBER_COLOURS, cost_figure, mask_figure, ood_curves, ood_histogram, reliability_diagram, shift_figure

__all__ = ["alpha_explorer", "calibration_explorer", "cost_explorer", "ensemble_size_explorer", "frontier_explorer",
           "lab_explorer", "mask_explorer", "ood_explorer", "seed_explorer", "shift_explorer", "toy_explorer",
           "width_explorer"]


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
        values = {name: _plain(value) for name, value in values.items()}
        state["syncing"] = True
        try:
            for name, value in values.items():
                if controls[name].value != value:
                    controls[name].value = value
        finally:
            state["syncing"] = False
        return redraw(**{name: control.value for name, control in controls.items()})

    return update


def _plain(value):
    """A NumPy scalar as the Python number a widget's traitlet accepts (others unchanged)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def _check_allowed(name: str, control, value) -> None:
    """A widget silently clamps or ignores a value it cannot show (M=0 would be drawn as M=1): refuse it."""
    if isinstance(control, widgets.IntSlider | widgets.FloatSlider):
        kind = int if isinstance(control, widgets.IntSlider) else float
        # NumPy numbers (np.int64 from a loop over np.arange) are numbers.Real too
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or (kind is int and value != int(value)):
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
    Both of a model must come from that model: the same members M and classes K (checked here, before drawing).
    """
    from ..validate import check_probabilities

    if not predictions:
        raise ValueError("ood_explorer needs at least one model's predictions")
    for name, (probs_in, probs_out) in predictions.items():
        check_probabilities(f"{name}: in-distribution member_probs", probs_in.float(), dims=3)
        check_probabilities(f"{name}: OOD member_probs", probs_out.float(), dims=3)
        if probs_in.shape[1:] != probs_out.shape[1:]:
            raise ValueError(f"{name}: in-distribution (N, M, K) = {tuple(probs_in.shape)} and OOD "
                             f"{tuple(probs_out.shape)} must have the same members M and classes K (the same model)")
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
    from ..data.corruptions import corrupt

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


def toy_explorer(kind: str = "moons", *, num_points: int = 400, noise: float = 0.15, hidden: int = 16,
                 num_estimators: int = 4, alpha: float = 2, gamma: int = 1, epochs: int = 300, seed: int = 0,
                 grid_steps: int = 70):
    """Train a Single, DE(M) and PE(alpha, M, gamma) MLP on 2-D data every time a knob moves (a few seconds on
    2 CPU cores) and show their decision regions, each member's boundary, confidence, entropy and mutual
    information, with held-out accuracy / NLL / ECE and the mean MI on the far-away OOD ring in a table.

    ``update(**params)`` returns ``{"figure", "numbers": {label: metrics}}`` (``pe_lab.teaching.toy.toy_compare``)."""
    from .toy import DATASETS, toy_compare
    from .viz import toy_figure

    style = {"description_width": "initial"}
    controls = {
        "kind": widgets.Dropdown(options=list(DATASETS), value=kind, description="data", style=style),
        "noise": _slider("noise", noise, 0.0, 0.5, 0.05, float_=True),
        "num_points": _slider("points", num_points, 100, 1000, 100),
        "hidden": _slider("hidden width", hidden, 4, 64, 4),
        **_pe_sliders(num_estimators, alpha, gamma, max_members=8),
        "epochs": _slider("epochs (Adam steps)", epochs, 100, 1500, 100),
        "seed": _slider("seed", seed, 0, 9),
    }
    figure_out = widgets.Output()
    summary = widgets.HTML()
    summary.add_class("pe-toy-numbers")

    def redraw(**params) -> dict:
        try:
            comparison = toy_compare(**params, grid_steps=grid_steps)
        except ValueError as error:  # a divisibility rule of the packed layers: say it instead of a figure
            _message(summary, str(error), error=True)
            _show(figure_out)
            return {"figure": None, "numbers": {}, "error": str(error)}
        numbers = {label: r.metrics for label, r in comparison["results"].items()}
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{100 * n['accuracy']:.1f}</td><td>{n['nll']:.3f}</td>"
                       f"<td>{n['ece']:.3f}</td><td>{n['mi_test']:.3f}</td><td>{n['mi_ood']:.3f}</td>"
                       f"<td>{n['params']}</td></tr>" for label, n in numbers.items())
        summary.value = ("<table><tr><th>model</th><th>test acc (%)</th><th>NLL</th><th>ECE</th><th>mean MI, test</th>"
                         f"<th>mean MI, OOD ring</th><th>params</th></tr>{rows}</table>")
        figure = toy_figure(comparison)
        _show(figure_out, figure)
        return {"figure": figure, "numbers": numbers}

    update = _bind(controls, redraw)
    widget = widgets.VBox([widgets.HBox(list(controls.values())[:4]), widgets.HBox(list(controls.values())[4:]),
                           summary, figure_out])
    widget.add_class("pe-toy-explorer")
    update()
    return widget, update


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pm(stats: dict, scale: float = 1, digits: int = 3) -> str:
    if stats.get("n", 2) < 2:  # one seed has no spread: do not print a fake "± 0"
        return f"{stats['mean'] * scale:.{digits}f}"
    return f"{stats['mean'] * scale:.{digits}f} ± {stats['std'] * scale:.{digits}f}"


def alpha_explorer(report: dict, *, alpha: float = 2, x: str = "member_width"):
    """An alpha slider over the committed alpha sweep (``sweep_alpha_lenet.json``): the chosen PE circled on
    accuracy / NLL / ECE / OOD AUROC against member width, parameters, FLOPs or train seconds, and its numbers
    beside the Single's and the DE's (mean ± std over seeds). No training."""
    from .viz import sweep_figure

    rows = report["rows"]
    alphas = sorted(r["alpha"] for r in rows if r["method"] == "packed")
    controls = {"alpha": _slider("alpha", alpha, min(alphas), max(alphas), 1, float_=True),
                "x": widgets.Dropdown(options=[("member width", "member_width"), ("parameters", "params"),
                                               ("FLOPs", "flops_per_image"), ("train seconds", "train_seconds")],
                                      value=x, description="x axis")}
    figure_out, summary = widgets.Output(), widgets.HTML()
    summary.add_class("pe-alpha-numbers")

    def redraw(alpha: float, x: str) -> dict:
        chosen = [r for r in rows if r["method"] != "packed" or r["alpha"] == alpha]
        table = [[r["label"] + (" (alpha = M: the DE's architecture in one network)" if r["method"] == "packed"
                                and r["alpha"] == r["runs"][0]["spec"]["num_estimators"] else ""),
                  f"{r['member_width']:g}", f"{r['params']:,}", f"{r['flops_per_image'] / 1e6:.2f} M",
                  _pm(r["summary"]["accuracy"], 100, 1), _pm(r["summary"]["nll"]), _pm(r["summary"]["ece"]),
                  _pm(r["summary"]["auroc"], 100, 1), f"{r['summary']['train_seconds']['mean']:.0f}",
                  str(r["summary"]["accuracy"]["n"])] for r in chosen]
        summary.value = _table(["model", "member width", "params", "FLOPs/img", "acc (%)", "NLL", "ECE",
                                "AUROC (%)", "train s", "seeds"], table)
        figure = sweep_figure(report, x=x, highlight=alpha)
        _show(figure_out, figure)
        return {"figure": figure, "numbers": {r["label"]: r["summary"] for r in chosen}}

    return _assemble(controls, redraw, summary, figure_out, "pe-alpha-explorer")


def width_explorer(report: dict, *, width: float = 1, compare: str = "base"):
    """A base-width slider over the committed width sweep (``sweep_width_lenet.json``): the Single, DE(4) and
    PE(2,4,1) at that base width (``compare="base"``), or the three at the same parameters (``"params"``: DE(4)
    at ``width``, PE(2,4,1) and the Single at twice it), circled on the sweep's figure, their numbers (mean ± std
    over seeds) in a table and the rows the sweep has not measured named under it. No training."""
    from .viz import width_figure

    rows = report["rows"]
    by = {(r["method"], r["width"]): r for r in rows}
    widths = sorted({r["width"] for r in rows})
    controls = {"width": widgets.SelectionSlider(options=[(f"x{w:g}", w) for w in widths], value=width,
                                                 description="base width", continuous_update=False),
                "compare": widgets.Dropdown(options=[("same base width", "base"), ("equal parameters", "params")],
                                            value=compare, description="compare")}
    figure_out, summary = widgets.Output(), widgets.HTML()
    summary.add_class("pe-width-numbers")

    def redraw(width: float, compare: str) -> dict:
        wanted = ([("single", width), ("deep", width), ("packed", width)] if compare == "base" else
                  [("single", 2 * width), ("deep", width), ("packed", 2 * width)])
        chosen = [by[key] for key in wanted if key in by]
        missing = [f"{'Single' if m == 'single' else 'DE(4)' if m == 'deep' else 'PE(2,4,1)'} x{w:g}"
                   for m, w in wanted if (m, w) not in by]
        table = [[r["label"], f"{r['width']:g}", f"{r['member_width']:g}", f"{r['params']:,}",
                  _pm(r["summary"]["accuracy"], 100, 1), _pm(r["summary"]["nll"]), _pm(r["summary"]["ece"]),
                  _pm(r["summary"]["auroc"], 100, 1), str(r["summary"]["accuracy"]["n"])] for r in chosen]
        summary.value = _table(["model", "base width", "member width", "params", "acc (%)", "NLL", "ECE",
                                "AUROC (%)", "seeds"], table) + (
            f"<p>not measured in this sweep: {html.escape(', '.join(missing))}</p>" if missing else "")
        figure = width_figure(report, highlight=chosen)
        _show(figure_out, figure)
        return {"figure": figure, "numbers": {r["label"]: r["summary"] for r in chosen}, "missing": missing}

    return _assemble(controls, redraw, summary, figure_out, "pe-width-explorer")


def ensemble_size_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, n: int = 1,
                           num_bins: int = 15):
    """An n slider: the ensemble of the first n members of each stored model (member probabilities from a
    committed run), with accuracy, NLL, ECE and mean mutual information against n, the chosen n marked.

    ``predictions``: model label -> (member_probs ``(N, M, K)``, labels ``(N,)``)."""
    from ..evaluation.metrics import first_members

    most = max(p.shape[1] for p, _ in predictions.values())
    curves = {name: [first_members(p.float(), y, j, num_bins) for j in range(1, p.shape[1] + 1)]
              for name, (p, y) in predictions.items()}
    controls = {"n": _slider("members n", n, 1, most)}
    figure_out, summary = widgets.Output(), widgets.HTML()
    summary.add_class("pe-ensemble-size-numbers")
    keys = (("accuracy", "accuracy (%) ↑", 100), ("nll", "NLL ↓", 1), ("ece", "ECE ↓", 1),
            ("mutual_information", "mean MI (test)", 1))

    def redraw(n: int) -> dict:
        numbers = {name: curve[min(n, len(curve)) - 1] for name, curve in curves.items()}
        summary.value = _table(["model", "members used", "acc (%)", "NLL", "ECE", "mean MI"], [
            [name, str(min(n, len(curves[name]))), f"{100 * row['accuracy']:.1f}", f"{row['nll']:.3f}",
             f"{row['ece']:.3f}", f"{row['mutual_information']:.3f}"] for name, row in numbers.items()])
        figure, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.9))
        for ax, (key, title, scale) in zip(axes, keys, strict=True):
            for i, (name, curve) in enumerate(curves.items()):
                ax.plot(range(1, len(curve) + 1), [c[key] * scale for c in curve], marker="o",
                        color=MEMBER_COLOURS[i % len(MEMBER_COLOURS)], label=name)
            ax.axvline(n, color="#888888", linestyle="--", linewidth=1)
            ax.set_xlabel("first n members")
            ax.set_title(title, fontsize=10)
        axes[0].legend(fontsize=7)
        figure.tight_layout()
        _show(figure_out, figure)
        return {"figure": figure, "numbers": numbers}

    return _assemble(controls, redraw, summary, figure_out, "pe-ensemble-size-explorer")


def frontier_explorer(report: dict, *, x: str = "params", metric: str = "accuracy"):
    """The efficiency frontier of every method in one report (e.g. the six methods of ``rivals_lenet.json``):
    one metric against one cost, chosen in two dropdowns."""
    from .viz import frontier_figure

    controls = {"x": widgets.Dropdown(options=[("parameters", "params"), ("FLOPs", "flops_per_image"),
                                               ("train seconds", "train_seconds")], value=x, description="cost"),
                "metric": widgets.Dropdown(options=["accuracy", "nll", "ece", "auroc"], value=metric,
                                           description="metric")}
    figure_out, summary = widgets.Output(), widgets.HTML()
    summary.add_class("pe-frontier-numbers")

    def redraw(x: str, metric: str) -> dict:
        figure = frontier_figure(report, x=x, metrics=(metric,))
        numbers = {m: s[metric] for m, s in report["summary"].items()}
        summary.value = f"{metric}, mean ± std over seeds, against {x}"
        _show(figure_out, figure)
        return {"figure": figure, "numbers": numbers}

    return _assemble(controls, redraw, summary, figure_out, "pe-frontier-explorer")


def seed_explorer(report: dict):
    """A seed selector over a report's table: the mean ± std over seeds, or any single seed's numbers (one
    seed of several can rank methods differently from their mean)."""
    from ..methods.registry import label_for

    seeds = sorted({r["seed"] for r in report["runs"]})
    controls = {"seed": widgets.Dropdown(options=[("mean ± std", -1)] + [(f"seed {s}", s) for s in seeds],
                                         value=-1, description="show")}
    figure_out, summary = widgets.Output(), widgets.HTML()
    summary.add_class("pe-seed-table")
    keys = (("accuracy", 100, 1), ("nll", 1, 3), ("ece", 1, 3), ("brier", 1, 3))

    def redraw(seed: int) -> dict:
        rows, numbers = [], {}
        for method in report["summary"]:
            runs = [r for r in report["runs"] if r["method"] == method]
            label = label_for(runs[0]["spec"])
            if seed < 0:
                stats = report["summary"][method]
                numbers[label] = {k: stats[k]["mean"] for k, _, _ in keys}
                rows.append([label] + [_pm(stats[k], scale, d) for k, scale, d in keys])
            else:
                run = next((r for r in runs if r["seed"] == seed), None)
                if run is None:
                    continue
                numbers[label] = {k: run["metrics"][k] for k, _, _ in keys}
                rows.append([label] + [f"{run['metrics'][k] * scale:.{d}f}" for k, scale, d in keys])
        summary.value = _table(["method", "acc (%)", "NLL", "ECE", "Brier"], rows)
        _show(figure_out)
        return {"figure": None, "numbers": numbers}

    return _assemble(controls, redraw, summary, figure_out, "pe-seed-explorer")


def lab_explorer(*, toy_epochs: int = 300) -> tuple[widgets.Tab, dict]:
    """Every explorer in one tabbed page, on the committed results (no data download, no training except the
    toy's few seconds): masks, costs, calibration, OOD, shift, the live toy, the alpha sweep, ensemble size and
    the frontier. Returns ``(tab, updates)``: ``updates[title](**params)`` is that tab's ``update``, so a test
    moves a slider without a browser. An instructor projects it with ``make explorer`` (Voila)."""
    import json

    from ..config import assets_dir
    from ..methods.registry import label_for
    from ..results.report import load_committed, load_committed_samples, load_sweep, load_sweep_predictions, read_report

    results = assets_dir() / "results"
    report, predictions = load_committed("cifar10_resnet20")
    names = {r["method"]: label_for(r["spec"]) for r in report["runs"]}
    shift_report = json.loads((results / "lenet_converged-shift.json").read_text())
    samples = load_committed_samples("cifar10_resnet20")
    alpha = load_sweep("alpha")
    stored = {row["label"]: load_sweep_predictions(alpha, row["label"]) for row in alpha["rows"]
              if row["method"] != "single"}
    made = {
        "Masks": mask_explorer(6, 6),
        "Costs": cost_explorer("resnet20"),
        "Calibration": calibration_explorer({names[m]: (p["test"], p["test_labels"]) for m, p in predictions.items()}),
        "OOD": ood_explorer({names[m]: (p["test"], p["ood"]) for m, p in predictions.items()}),
        "Shift": shift_explorer({label_for(r["spec"]): r["shift"] for r in shift_report["results"].values()},
                                samples["images"] if samples else None),
        "Toy (trains live)": toy_explorer("spirals", hidden=8, alpha=1, epochs=toy_epochs),
        "Alpha sweep": alpha_explorer(alpha),
        "Width sweep": width_explorer(load_sweep("width")),
        "Ensemble size": ensemble_size_explorer({label: (s["test"], s["test_labels"]) for label, s in stored.items()}),
        "Frontier": frontier_explorer(read_report(results / "rivals_lenet.json")),
    }
    tab = widgets.Tab(children=[widget for widget, _ in made.values()])
    for index, title in enumerate(made):
        tab.set_title(index, title)  # ipywidgets 7.7 and 8 both have set_title
    tab.add_class("pe-lab-explorer")
    return tab, {title: update for title, (_, update) in made.items()}
