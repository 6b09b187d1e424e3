"""Figures: masks, rearranges, learning curves, confusion matrices, reliability diagrams, OOD plots, costs.

Every function returns a figure (matplotlib ``Figure`` or plain ``plotly.graph_objects.Figure``) and never
shows it: the caller (a notebook cell or an explorer's ``Output``) decides. Plain plotly figures, not
``FigureWidget``, because FigureWidget is unreliable on Colab.
"""

from __future__ import annotations

from .predictions import (
                          confusion_matrix_figure,
                          diversity_figure,
                          learning_curves,
                          ood_curves,
                          ood_histogram,
                          prediction_grid,
                          reliability_diagram,
                          results_figure,
                          shift_figure,
)
from .structure import cost_figure, mask_figure, rearrange_figure, sharing_figure
from .style import MEMBER_COLOURS
from .sweeps import frontier_figure, sweep_figure, toy_figure, width_figure

__all__ = [
    "MEMBER_COLOURS", "confusion_matrix_figure", "cost_figure", "diversity_figure", "learning_curves", "mask_figure",
    "ood_curves", "ood_histogram", "prediction_grid", "rearrange_figure", "reliability_diagram", "results_figure",
    "sharing_figure", "shift_figure", "toy_figure", "sweep_figure", "width_figure", "frontier_figure"]
