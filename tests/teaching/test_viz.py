"""Every figure of ``pe_lab.teaching.viz``: returned (never shown), with the panels and traces it promises, and
drawn from the data it is given (one line, bar or trace per method, not a fixed picture)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pe_lab.config import assets_dir  # noqa: E402
from pe_lab.evaluation.metrics import diversity  # noqa: E402
from pe_lab.nn.masks import member_mask  # noqa: E402
from pe_lab.results.report_files import load_committed, load_results  # noqa: E402
from pe_lab.results.sweeps import load_sweep  # noqa: E402
from pe_lab.teaching import viz  # noqa: E402
from pe_lab.teaching.toy import toy_compare  # noqa: E402

CLASSES = tuple("abcdefghij")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def member_probs():
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(40, 4, 10, generator=generator).softmax(-1)
    labels = torch.randint(0, 10, (40,), generator=generator)
    return probs, labels


def _axes_with_data(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.has_data()]


def test_mask_figure_draws_one_heatmap_and_colours_every_member():
    from pe_lab.nn.layers import PackedConv2d

    layer = PackedConv2d(4, 8, 3, alpha=2, num_estimators=4, gamma=1)
    fig = viz.mask_figure([member_mask(layer, m) for m in range(4)], title="t")
    assert isinstance(fig, Figure) and len(_axes_with_data(fig)) == 1 and fig.axes[0].get_title() == "t"
    colours = {tuple(c) for c in fig.axes[0].images[0].get_array().reshape(-1, 4).tolist()}
    assert len(colours) == 5  # four members' colours and the white of the zeros


def test_rearrange_figure_labels_every_entry_in_both_layouts():
    fig = viz.rearrange_figure(batch=2, num_estimators=3, channels=2)
    assert len(fig.axes) == 2 and all(len(ax.texts) == 2 * 3 * 2 for ax in fig.axes)


def test_learning_curves_have_four_panels_and_one_line_per_method():
    history = {"train_loss": [2.0, 1.5], "test_accuracy": [0.3, 0.4], "test_nll": [1.9, 1.6], "test_ece": [0.1, 0.08]}
    fig = viz.learning_curves({"Single": history, "PE(2,4,1)": history, "DE(4)": history})
    assert len(fig.axes) == 4 and all(len(ax.lines) == 3 for ax in fig.axes)


def test_confusion_matrix_rows_sum_to_one(member_probs):
    probs, labels = member_probs
    fig = viz.confusion_matrix_figure(probs.mean(1), labels, CLASSES, title="PE")
    matrix = fig.axes[0].images[0].get_array()
    present = torch.bincount(labels, minlength=10) > 0
    assert torch.allclose(torch.as_tensor(matrix.sum(1))[present].float(), torch.ones(int(present.sum())), atol=1e-6)


def test_prediction_grid_shows_each_image_once(member_probs):
    probs, labels = member_probs
    images = torch.randint(0, 255, (8, 3, 32, 32), dtype=torch.uint8)
    fig = viz.prediction_grid(images, labels[:8], probs[:8], CLASSES, columns=4)
    assert sum(len(ax.images) for ax in fig.axes) == 8


@pytest.mark.parametrize("scale", [1.5, 3.0])
def test_sharing_figure_has_one_panel_per_method(scale):
    from pe_lab.methods import METHODS

    fig = viz.sharing_figure(4, 8, scale=scale)
    # every method but the Single (one network: nothing to share)
    assert len(_axes_with_data(fig)) == len(METHODS) - 1
    assert fig.axes[0].get_title().startswith("Deep Ensemble: 4 separate layers")


def test_shift_figure_draws_one_line_per_method_and_marks_the_severity():
    results = {label: {"fog": {str(s): {"accuracy": 0.9 - 0.1 * s, "nll": 0.3 + s, "ece": 0.01 * s}
                                for s in range(6)}} for label in ("Single", "PE(2,4,1)")}
    fig = viz.shift_figure(results, "fog", 3)
    curves = [ax for ax in fig.axes if len(ax.lines) >= 2]
    assert len(curves) == 3 and all(ax.lines[0].get_xdata().tolist() == list(range(6)) for ax in curves)


def test_diversity_figure_has_a_bar_per_method(member_probs):
    probs, labels = member_probs
    fig = viz.diversity_figure({"PE": diversity(probs, labels), "DE": diversity(probs.flip(1), labels)})
    assert len(fig.axes[0].patches) == 2


def test_reliability_diagram_is_a_plain_plotly_figure_with_a_column_per_model(member_probs):
    probs, labels = member_probs
    fig = viz.reliability_diagram({"PE": (probs.mean(1), labels), "Single": (probs[:, 0], labels)}, num_bins=5)
    assert type(fig) is go.Figure  # not a FigureWidget (unreliable on Colab)
    assert {trace.xaxis for trace in fig.data} >= {"x", "x2"} and len(fig.data) >= 4


def test_ood_histogram_and_curves(member_probs):
    probs, _ = member_probs
    fig = viz.ood_histogram(probs, probs.flip(-1), criterion="entropy", name="PE")
    assert type(fig) is go.Figure and len(fig.data) == 2 and "AUROC" in fig.layout.title.text
    curves = viz.ood_curves({"PE": (torch.rand(20), torch.rand(20) + 0.5), "DE": (torch.rand(20), torch.rand(20))})
    assert len(curves.data) == 2 * 2 + 1  # ROC and precision-recall for each model, and the chance diagonal


def test_cost_figure_has_one_panel_per_key_and_a_bar_per_contender():
    rows = {"Single": {"params": 1e6, "flops": 2e8}, "PE": {"params": 1.1e6, "flops": 3e8}, "DE": {"params": 4e6,
                                                                                                    "flops": 8e8}}
    fig = viz.cost_figure(rows)
    assert len(fig.axes) == 2 and all(len(ax.patches) == 3 for ax in fig.axes)


def test_results_figure_reads_a_committed_report():
    report, _ = load_committed("cifar10_resnet20")
    fig = viz.results_figure(report, keys=("accuracy", "nll"))
    assert len(fig.axes) == 2 and all(len(ax.patches) == len(report.summary) for ax in fig.axes)


def test_toy_figure_has_a_row_per_model_and_four_maps():
    comparison = toy_compare("moons", num_points=60, hidden=8, epochs=5, grid_steps=12)
    fig = viz.toy_figure(comparison)
    assert len(_axes_with_data(fig)) == 4 * len(comparison["results"])


def test_sweep_and_width_figures_read_the_committed_sweeps():
    alpha = load_sweep("alpha")
    fig = viz.sweep_figure(alpha, highlight=4)
    assert len(_axes_with_data(fig)) == 4
    width = load_sweep("width")
    fig = viz.width_figure(width)
    assert len(_axes_with_data(fig)) == 12  # four metrics against base width, four gaps, four against parameters


def test_frontier_figure_has_a_point_per_method():
    report, _ = load_results(assets_dir() / "results" / "rivals_lenet.json")
    fig = viz.frontier_figure(report, x="params")
    methods = report.methods
    assert len(fig.axes) == 2 and all(len(ax.lines) + len(ax.collections) >= len(methods) for ax in fig.axes)
