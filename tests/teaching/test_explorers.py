"""Explorers' update functions (headless), checkers, and the figures they draw."""

import matplotlib

matplotlib.use("Agg")

import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from pe_lab.evaluation.metrics import ece_by_hand
from pe_lab.teaching.explorers import calibration_explorer, cost_explorer, mask_explorer, ood_explorer


def _image(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)  # the explorer closed the pyplot window; render it again offscreen
    canvas.draw()
    return bytes(canvas.buffer_rgba())


def test_mask_explorer_redraws_and_counts():
    widget, update = mask_explorer(6, 6)
    first = update(num_estimators=2, alpha=2, gamma=1)
    assert first["params"] == 12 * 12 * 9 // 2 and first["groups"] == 2
    second = update(num_estimators=3, alpha=2, gamma=2)
    assert second["params"] == 12 * 12 * 9 // 6 and second["groups"] == 6
    assert _image(first["figure"]) != _image(second["figure"])
    counts = [c for c in widget.children if "pe-param-count" in c._dom_classes][0]
    assert "params: 216 packed weights" in counts.value
    sliders = widget.children[0].children
    assert [s.value for s in sliders] == [3, 2.0, 2]  # the widgets follow update()
    bad = update(num_estimators=4, alpha=1, gamma=1)
    assert bad["figure"] is None and "not divisible by num_estimators*gamma=4" in bad["error"]
    assert "not divisible" in counts.value
    with pytest.raises(TypeError, match="unknown parameters"):
        update(beta=2)


def test_mask_explorer_slider_drives_update():
    widget, update = mask_explorer(4, 4, kind="linear")
    counts = [c for c in widget.children if "pe-param-count" in c._dom_classes][0]
    before = counts.value
    widget.children[0].children[0].value = 4  # a student drags M to 4
    assert counts.value != before and "params: 16 packed weights" in counts.value


def test_cost_explorer_reports_params_and_flops():
    _, update = cost_explorer("lenet")
    result = update(num_estimators=4, alpha=2, gamma=1)
    rows = result["rows"]
    assert rows["DE(4)"]["params"] == 4 * rows["Single"]["params"]
    # LeNet's first conv (dense over the image, alpha x wider) dominates its FLOPs, so less than 4x here.
    assert rows["PE(2,4,1)"]["flops"] < rows["DE(4)"]["flops"] / 2
    same = update(num_estimators=2, alpha=2, gamma=1)["rows"]   # alpha = M: a PE costs what a DE costs
    assert same["PE(2,2,1)"]["params"] == same["DE(2)"]["params"]
    assert "error" in update(num_estimators=4, alpha=1, gamma=1)


def _predictions(seed=0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (300,), generator=generator)
    single = (torch.randn(300, 1, 10, generator=generator) * 3).softmax(-1)
    packed = (torch.randn(300, 4, 10, generator=generator) * 2).softmax(-1)
    return labels, single, packed


def test_calibration_explorer_bins_and_models():
    labels, single, packed = _predictions()
    _, update = calibration_explorer({"Single": (single, labels), "PE": (packed, labels)})
    ten = update(num_bins=10)
    assert ten["ece"]["PE"] == pytest.approx(ece_by_hand(packed.mean(1), labels, 10), abs=1e-6)
    assert isinstance(ten["figure"], go.Figure) and not isinstance(ten["figure"], go.FigureWidget)
    five = update(num_bins=5, models=("PE",))
    assert set(five["ece"]) == {"PE"} and five["figure"].to_json() != ten["figure"].to_json()
    assert update(models=())["figure"] is None


def test_ood_explorer_criteria():
    labels, single, packed = _predictions()
    _, out_single, out_packed = _predictions(1)
    _, update = ood_explorer({"Single": (single, out_single), "PE": (packed, out_packed)})
    msp = update(criterion="msp", model="PE")
    assert set(msp["metrics"]) == {"Single", "PE"} and 0 <= msp["metrics"]["PE"]["auroc"] <= 1
    mi = update(criterion="mutual_information", model="Single")
    assert set(mi["metrics"]) == {"PE"} and mi["histogram"] is None and mi["curves"] is not None


def test_shift_explorer_follows_corruption_and_severity():
    from pe_lab.data.corruptions import synthetic_textures
    from pe_lab.data.images import synthetic_dataset
    from pe_lab.evaluation.shift import shift_metrics
    from pe_lab.methods.registry import build
    from pe_lab.teaching.explorers import shift_explorer

    data = synthetic_dataset(3, 10, split="test")
    results = {label: shift_metrics(build("lenet", method, num_estimators=2).eval(), data, corruptions=("fog", "contrast"))
               for label, method in (("Single", "single"), ("PE", "packed"))}
    _, update = shift_explorer(results, synthetic_textures(2).images)
    fog = update(corruption="fog", severity=5)
    assert set(fog["numbers"]) == {"Single", "PE"} and fog["numbers"]["PE"] == results["PE"]["fog"][5]
    clean = update(severity=0)
    assert clean["numbers"]["Single"] == results["Single"]["fog"][0]
    assert len(clean["figure"].axes) == 4
    with pytest.raises(ValueError, match="severity=6 is outside this explorer's range"):
        update(severity=6)
    with pytest.raises(ValueError, match="corruption='snow' is not one of"):
        update(corruption="snow")


def test_ood_explorer_refuses_in_and_ood_probabilities_of_different_models():
    member_in = torch.softmax(torch.randn(20, 4, 10), -1)
    with pytest.raises(ValueError, match="must have the same members M and classes K"):
        ood_explorer({"PE": (member_in, torch.softmax(torch.randn(20, 4, 5), -1))})
    with pytest.raises(ValueError, match="must have the same members M and classes K"):
        ood_explorer({"PE": (member_in, torch.softmax(torch.randn(20, 2, 10), -1))})
    with pytest.raises(ValueError, match="probabilities"):
        ood_explorer({"PE": (member_in, torch.randn(20, 4, 10))})  # logits


def test_the_standalone_explorer_opens_on_committed_results_and_every_tab_redraws():
    from pe_lab.teaching.explorers import lab_explorer

    tab, updates = lab_explorer(toy_epochs=50)
    assert len(tab.children) == len(updates) == 11
    assert [tab.get_title(i) for i in range(len(updates))] == list(updates)
    assert updates["Masks"](num_estimators=3)["groups"] == 3
    shown = updates["Alpha sweep"](alpha=4.0)
    assert any(label.startswith("PE(4,4,1)") for label in shown["numbers"])
    assert all(0 < stats["accuracy"].mean < 1 and stats["accuracy"].n >= 1 for stats in shown["numbers"].values())
    assert updates["Ensemble size"](n=2)["numbers"]
    assert set(updates["Width sweep"](width=4.0, compare="params")["numbers"]) == {"Single x8", "DE(4) x4",
                                                                                  "PE(2,4,1) x8"}
    assert updates["Toy (trains live)"](hidden=16, alpha=2.0)["figure"] is not None
    assert updates["Seeds"](seed=1)["numbers"]  # one seed of the six methods' report


def test_a_summary_over_seeds_shows_its_spread_and_one_seed_its_value_alone():
    from pe_lab.results.records import Statistics
    from pe_lab.teaching.explore.state import mean_pm

    assert mean_pm(Statistics(0.8123, 0.0107, 3), 100, 1) == "81.2 ± 1.1"
    assert mean_pm(Statistics(0.25, 0.0, 1)) == "0.250"  # one seed: no fake ± 0
