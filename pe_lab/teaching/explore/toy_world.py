"""The toy world's explorer: a Single, DE(M) and PE(alpha, M, gamma) MLP trained on 2-D data for each state, their
decision regions, confidence, entropy and mutual information maps, and their held-out numbers.

The kernel explorer trains every state it is asked for; the static site precomputes the grid below (``site`` of
each control), the values a class uses: three data sets, noise 0.15/0.3, hidden width 8/16/32, alpha 1/2/4 and
M 2/4/8 (162 states), at 400 points, gamma 1, the lab's 300 Adam steps and seed 0."""

from __future__ import annotations

import html

from .state import Definition, Drawn, dropdown, float_slider, int_slider, message_html

SITE_GRID = {"kind": ("moons", "spirals", "blobs"), "noise": (0.15, 0.3), "hidden": (8, 16, 32),
             "alpha": (1.0, 2.0, 4.0), "num_estimators": (2, 4, 8)}


def toy_table(numbers: dict) -> str:
    """The held-out numbers of each trained model as an HTML table."""
    rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{100 * n['accuracy']:.1f}</td><td>{n['nll']:.3f}</td>"
                   f"<td>{n['ece']:.3f}</td><td>{n['mi_test']:.3f}</td><td>{n['mi_ood']:.3f}</td>"
                   f"<td>{n['params']}</td></tr>" for label, n in numbers.items())
    return ("<table><tr><th>model</th><th>test acc (%)</th><th>NLL</th><th>ECE</th><th>mean MI, test</th>"
            f"<th>mean MI, OOD ring</th><th>params</th></tr>{rows}</table>")


def toy_definition(kind: str = "moons", *, num_points: int = 400, noise: float = 0.15, hidden: int = 16,
                   num_estimators: int = 4, alpha: float = 2, gamma: int = 1, epochs: int = 300, seed: int = 0,
                   grid_steps: int = 70, compare=None) -> Definition:
    """The toy explorer's controls and drawing. ``compare``: the function that trains and measures a state
    (``pe_lab.teaching.toy.toy_compare`` unless given: the site passes a cached one)."""
    from ..toy import DATASETS, toy_compare
    from ..viz import toy_figure

    compare = compare or toy_compare

    def draw(**params) -> Drawn:
        try:
            comparison = compare(**params, grid_steps=grid_steps)
        except ValueError as error:  # a divisibility rule of the packed layers: say it instead of a figure
            return Drawn([], message_html(str(error), error=True), {"figure": None, "numbers": {},
                                                                    "error": str(error)})
        numbers = {label: r.metrics for label, r in comparison["results"].items()}
        figure = toy_figure(comparison)
        return Drawn([figure], toy_table(numbers), {"figure": figure, "numbers": numbers})

    controls = {
        "kind": dropdown("kind", "data", list(DATASETS), kind, site=SITE_GRID["kind"]),
        "noise": float_slider("noise", "noise", noise, 0.0, 0.5, 0.05,
                              site=sorted({*SITE_GRID["noise"], float(noise)})),
        "num_points": int_slider("num_points", "points", num_points, 100, 1000, 100, site=(num_points,)),
        "hidden": int_slider("hidden", "hidden width", hidden, 4, 64, 4, site=sorted({*SITE_GRID["hidden"], hidden})),
        "num_estimators": int_slider("num_estimators", "M (num_estimators)", num_estimators, 1, 8,
                                     site=sorted({*SITE_GRID["num_estimators"], num_estimators})),
        "alpha": float_slider("alpha", "alpha", alpha, 1, 4, 0.5, site=sorted({*SITE_GRID["alpha"], float(alpha)})),
        "gamma": int_slider("gamma", "gamma", gamma, 1, 4, site=(gamma,)),
        "epochs": int_slider("epochs", "epochs (Adam steps)", epochs, 100, 1500, 100, site=(epochs,)),
        "seed": int_slider("seed", "seed", seed, 0, 9, site=(seed,)),
    }
    note = (f"Trained ahead of time for every combination of the values these sliders offer; {num_points} points, "
            f"gamma {gamma}, {epochs} Adam steps and seed {seed} are fixed here. Any other value trains live in the "
            "kernel explorer (make explorer, or notebook 08).")
    return Definition(controls, draw, "pe-toy-explorer", "pe-toy-numbers", split=4, note=note)
