"""Interactive explorers: sliders and dropdowns that redraw a figure and its numbers.

Each explorer is a function that returns ``(widget, update)``. ``update(**params)`` recomputes and redraws,
and returns a dict with the figure(s) it drew and the numbers it showed, so tests call it directly, with no
browser. Widgets use only what ipywidgets 7.7 (Colab) and 8 both have; matplotlib figures go into an
``Output``, plotly figures are plain ``go.Figure`` displayed into an ``Output`` (no ``FigureWidget``).

What each explorer allows and draws is its definition in ``pe_lab.teaching.explore`` (controls + ``draw``); the
static site (``make site``) is made from the same definitions, so the two show one explorer.

A configuration that breaks a rule (e.g. channels not divisible by M*gamma) is shown as that rule's
message in place of the figure: the student sees why, nothing crashes.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from ..results.records import Report, Sweep
from .explore.lab import TITLES, lab_definitions
from .explore.layers import cost_definition, mask_definition
from .explore.predictions import (
    calibration_definition,
    ensemble_size_definition,
    ood_definition,
    shift_definition,
)
from .explore.state import Control, Definition
from .explore.sweeps import alpha_definition, frontier_definition, seed_definition, width_definition
from .explore.toy_world import toy_definition

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


def _control_widget(control: Control, definition: Definition):
    """The ipywidget of one control, at its default value."""
    style = {"description_width": "initial"}
    if control.kind in ("int", "float"):
        cls = widgets.IntSlider if control.kind == "int" else widgets.FloatSlider
        return cls(value=control.default, min=control.low, max=control.high, step=control.step,
                   description=control.label, continuous_update=False, style=style)
    if control.kind == "slider":
        return widgets.SelectionSlider(options=list(control.options), value=control.default,
                                       description=control.label, continuous_update=False)
    if control.kind == "choices":
        return widgets.SelectMultiple(options=list(control.options), value=control.default, description=control.label,
                                      rows=definition.extra.get("rows", 4))
    return widgets.Dropdown(options=list(control.options), value=control.default, description=control.label,
                            style=style)


def _bind(definition: Definition, controls: dict, redraw):
    """Wire ``controls`` (name -> widget) to ``redraw(**values)``; return ``update(**values)``, which checks the
    values against the definition, moves the widgets to them (without firing a second redraw) and redraws once."""
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
            definition.controls[name].check(value)
        values = {name: definition.controls[name].plain(value) for name, value in values.items()}
        state["syncing"] = True
        try:
            for name, value in values.items():
                if controls[name].value != value:
                    controls[name].value = value
        finally:
            state["syncing"] = False
        return redraw(**{name: control.value for name, control in controls.items()})

    return update


def _explorer(definition: Definition):
    """The kernel explorer of a definition: its controls in a row (two if ``split``) above the summary and the
    figure; drawn once; ``(widget, update)``."""
    controls = {name: _control_widget(control, definition) for name, control in definition.controls.items()}
    figure_out, summary = widgets.Output(), widgets.HTML()
    if definition.summary_class:
        summary.add_class(definition.summary_class)

    def redraw(**state) -> dict:
        drawn = definition.draw(**state)
        summary.value = drawn.summary
        _show(figure_out, *drawn.figures)
        return drawn.result

    update = _bind(definition, controls, redraw)
    boxes = list(controls.values())
    rows = [boxes[:definition.split], boxes[definition.split:]] if definition.split else [boxes]
    widget = widgets.VBox([widgets.HBox(row) for row in rows] + [summary, figure_out])
    if definition.css_class:
        widget.add_class(definition.css_class)
    update()
    return widget, update


def mask_explorer(in_channels: int = 6, out_channels: int = 6, *, kind: str = "conv", num_estimators: int = 2,
                  alpha: float = 2, gamma: int = 1):
    """Sliders for M, alpha, gamma redraw a hidden layer's mask and its parameter counts.

    Parameter counts compare the packed layer with the dense layer at the base width (``C_in*C_out``
    weights per kernel position) and with a Deep Ensemble of ``M`` such layers.
    """
    return _explorer(mask_definition(in_channels, out_channels, kind=kind, num_estimators=num_estimators,
                                     alpha=alpha, gamma=gamma))


def cost_explorer(model_name: str = "resnet20", *, num_estimators: int = 4, alpha: float = 2, gamma: int = 1):
    """Sliders for M, alpha, gamma redraw parameters and FLOPs of Single vs DE(M) vs PE(alpha, M, gamma)."""
    return _explorer(cost_definition(model_name, num_estimators=num_estimators, alpha=alpha, gamma=gamma))


def calibration_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, num_bins: int = 15,
                         synthetic: bool = False):
    """A bins slider and a model selector over reliability diagrams.

    ``predictions``: model name -> (member_probs ``(N, M, K)``, labels ``(N,)``).
    """
    return _explorer(calibration_definition(predictions, num_bins=num_bins, synthetic=synthetic))


def ood_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, synthetic: bool = False):
    """A criterion and a model selector over OOD score histograms, ROC/PR curves and the metrics.

    ``predictions``: model name -> (member_probs on in-distribution ``(N, M, K)``, on OOD ``(N', M, K)``).
    Both of a model must come from that model: the same members M and classes K (checked here, before drawing).
    """
    return _explorer(ood_definition(predictions, synthetic=synthetic))


def shift_explorer(results: dict[str, dict], images: torch.Tensor | None = None):
    """A corruption dropdown and a severity slider over accuracy / NLL / ECE against severity for each method,
    with one test image shown at the chosen corruption and severity.

    ``results``: method label -> ``pe_lab.shift.shift_metrics(...)`` (as stored in a ``-shift.json`` report);
    ``images``: a few uint8 test images ``(N, 3, H, W)`` to show corrupted (optional).
    """
    return _explorer(shift_definition(results, images))


def toy_explorer(kind: str = "moons", *, num_points: int = 400, noise: float = 0.15, hidden: int = 16,
                 num_estimators: int = 4, alpha: float = 2, gamma: int = 1, epochs: int = 300, seed: int = 0,
                 grid_steps: int = 70):
    """Train a Single, DE(M) and PE(alpha, M, gamma) MLP on 2-D data every time a knob moves (a few seconds on
    2 CPU cores) and show their decision regions, each member's boundary, confidence, entropy and mutual
    information, with held-out accuracy / NLL / ECE and the mean MI on the far-away OOD ring in a table.

    ``update(**params)`` returns ``{"figure", "numbers": {label: metrics}}`` (``pe_lab.teaching.toy.toy_compare``)."""
    return _explorer(toy_definition(kind, num_points=num_points, noise=noise, hidden=hidden,
                                    num_estimators=num_estimators, alpha=alpha, gamma=gamma, epochs=epochs, seed=seed,
                                    grid_steps=grid_steps))


def alpha_explorer(sweep: Sweep, *, alpha: float = 2, x: str = "member_width"):
    """An alpha slider over the committed alpha sweep (``sweep_alpha_lenet.json``): the chosen PE circled on
    accuracy / NLL / ECE / OOD AUROC against member width, parameters, FLOPs or train seconds, and its numbers
    beside the Single's and the DE's (mean ± std over seeds). No training."""
    return _explorer(alpha_definition(sweep, alpha=alpha, x=x))


def width_explorer(sweep: Sweep, *, width: float = 1, compare: str = "base"):
    """A base-width slider over the committed width sweep (``sweep_width_lenet.json``): the Single, DE(4) and
    PE(2,4,1) at that base width (``compare="base"``), or the three at the same parameters (``"params"``: DE(4)
    at ``width``, PE(2,4,1) and the Single at twice it), circled on the sweep's figure, their numbers (mean ± std
    over seeds) in a table and the rows the sweep has not measured named under it. No training."""
    return _explorer(width_definition(sweep, width=width, compare=compare))


def ensemble_size_explorer(predictions: dict[str, tuple[torch.Tensor, torch.Tensor]], *, n: int = 1,
                           num_bins: int = 15):
    """An n slider: the ensemble of the first n members of each stored model (member probabilities from a
    committed run), with accuracy, NLL, ECE and mean mutual information against n, the chosen n marked.

    ``predictions``: model label -> (member_probs ``(N, M, K)``, labels ``(N,)``)."""
    return _explorer(ensemble_size_definition(predictions, n=n, num_bins=num_bins))


def frontier_explorer(report: Report, *, x: str = "params", metric: str = "accuracy"):
    """The efficiency frontier of every method in one report (e.g. the six methods of ``rivals_lenet.json``):
    one metric against one cost, chosen in two dropdowns."""
    return _explorer(frontier_definition(report, x=x, metric=metric))


def seed_explorer(report: Report):
    """A seed selector over a report's table: the mean ± std over seeds, or any single seed's numbers (one
    seed of several can rank methods differently from their mean)."""
    return _explorer(seed_definition(report))


def lab_explorer(*, toy_epochs: int = 300) -> tuple[widgets.Tab, dict]:
    """Every explorer in one tabbed page, on the committed results (no data download, no training except the
    toy's few seconds): masks, costs, calibration, OOD, shift, the live toy, the alpha and width sweeps, ensemble
    size, the frontier and the seeds. Returns ``(tab, updates)``: ``updates[title](**params)`` is that tab's
    ``update``, so a test moves a slider without a browser. An instructor projects it with ``make explorer``
    (Voila); ``make site`` is the same tabs as a static page, with no kernel."""
    made = {TITLES[name]: _explorer(definition) for name, definition in lab_definitions(toy_epochs=toy_epochs).items()}
    tab = widgets.Tab(children=[widget for widget, _ in made.values()])
    for index, title in enumerate(made):
        tab.set_title(index, title)  # ipywidgets 7.7 and 8 both have set_title
    tab.add_class("pe-lab-explorer")
    return tab, {title: update for title, (_, update) in made.items()}
