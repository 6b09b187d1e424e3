"""The static explorer site without a browser: a small grid drawn into site data, and the rules that read a link
(state in the fragment; an unknown tab, an off-grid value or garbage falls back to the default, with a message)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from pe_lab.teaching.explore.layers import mask_definition  # noqa: E402
from pe_lab.teaching.explore.predictions import calibration_definition  # noqa: E402
from pe_lab.teaching.explore.site import control_manifest, draw_tab, thin  # noqa: E402
from pe_lab.teaching.explore.state import fragment, parse_fragment, state_key, token  # noqa: E402
from pe_lab.teaching.explore.toy_world import toy_definition  # noqa: E402


def _calibration():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (60,), generator=generator)
    probs = {name: (torch.randn(60, m, 3, generator=generator) * 2).softmax(-1) for name, m in
             (("Single", 1), ("PE(2,4,1)", 4))}
    return calibration_definition({n: (p, labels) for n, p in probs.items()}, num_bins=10)


@pytest.fixture(scope="module")
def tabs():
    return {"masks": mask_definition(4, 4, kind="linear"), "calibration": _calibration()}


def test_a_small_grid_is_drawn_into_site_data_with_every_state_and_its_figures(tabs, tmp_path):
    definition = thin(tabs["masks"])
    assert all(len(c.site_values()) == 2 and c.default in c.site_values() for c in definition.controls.values())
    data = draw_tab("masks", definition, tmp_path / "masks")
    keys = {state_key(definition.controls, s) for s in definition.site_states()}
    assert set(data["states"]) == keys and len(keys) == 8
    default = data["states"][state_key(definition.controls, definition.default_state())]
    assert "params: " in default["summary"] and default["figures"][0]["type"] == "image"
    for entry in data["states"].values():  # a state breaking a rule shows its message, never an empty view
        assert entry["figures"] or "not a valid PE" in entry["summary"]
        for figure in entry["figures"]:
            assert (tmp_path / "masks" / figure["src"]).stat().st_size > 1000
    plotly = draw_tab("calibration", thin(tabs["calibration"]), tmp_path / "calibration")
    drawn = [f for e in plotly["states"].values() for f in e["figures"]]
    assert drawn and all(f["type"] == "plotly" for f in drawn)
    text = (tmp_path / "calibration" / drawn[0]["src"]).read_text()
    assert text.startswith("PeSite.figureLoaded(") and json.loads(text[text.index("{"):text.rindex(")")])["data"]


def test_a_link_round_trips_every_state_of_the_grid(tabs):
    for name, definition in tabs.items():
        for state in definition.site_states():
            assert parse_fragment(fragment(name, definition.controls, state), tabs, "masks") == (name, state, [])


def test_a_selection_of_several_is_written_with_tildes_and_none_is_empty(tabs):
    controls = tabs["calibration"].controls
    assert token(("Single", "PE(2,4,1)")) == "Single~PE(2,4,1)"
    assert state_key(controls, {"num_bins": 10, "models": ("PE(2,4,1)",)}) == "num_bins=10&models=PE(2%2C4%2C1)"
    _, state, problems = parse_fragment("#tab=calibration&models=", tabs, "masks")
    assert state["models"] == () and not problems
    assert [v["token"] for v in control_manifest(tabs["calibration"])[1]["values"]] == [
        "", "Single", "PE(2,4,1)", "Single~PE(2,4,1)"]


@pytest.mark.parametrize("link,tab,problem", [
    ("", "masks", None),
    ("#tab=nope", "masks", "there is no tab 'nope': showing 'masks'"),
    ("#tab=masks&alpha=1.25", "masks", "alpha=1.25 is not one of this page's values (1, 1.5, 2, 2.5, 3, 3.5, 4)"),
    ("#tab=masks&alpha=banana", "masks", "alpha=banana is not one of"),
    ("#tab=masks&beta=2", "masks", "'beta' is not a setting of 'masks': ignored"),
    ("#tab=calibration&num_bins=%zz", "calibration", "could not read 'num_bins=%zz': ignored"),
    ("#tab=calibration&num_bins=%E0", "calibration", "could not read 'num_bins=%E0': ignored"),
    ("#tab=calibration&&&justtext", "calibration", "could not read 'justtext' (no '='): ignored"),
    ("#%%%<script>==", "masks", "could not read '%%%<script>==': ignored"),
])
def test_a_bad_link_falls_back_to_the_default_and_says_so(tabs, link, tab, problem):
    shown, state, problems = parse_fragment(link, tabs, "masks")
    assert shown == tab and state == tabs[tab].default_state()
    assert (problems == []) if problem is None else any(p.startswith(problem) for p in problems), problems


def test_one_good_setting_survives_beside_a_bad_one(tabs):
    _, state, problems = parse_fragment("tab=masks&num_estimators=3&gamma=9", tabs, "masks")
    assert state == {**tabs["masks"].default_state(), "num_estimators": 3}
    assert problems == ["gamma=9 is not one of this page's values (1, 2, 3, 4): showing gamma=1"]


def test_the_toy_site_grid_lies_on_the_kernel_sliders_and_holds_a_class_example():
    definition = toy_definition("spirals", hidden=8, alpha=1)
    for control in definition.controls.values():
        for value in control.site_values():
            control.check(value)  # every precomputed value is one the kernel explorer allows
    grid = {n: len(c.site_values()) for n, c in definition.controls.items() if len(c.site_values()) > 1}
    assert grid == {"kind": 3, "noise": 2, "hidden": 3, "num_estimators": 3, "alpha": 3}
    _, state, problems = parse_fragment("tab=toy&kind=spirals&hidden=8&alpha=1&num_estimators=4",
                                        {"toy": definition}, "toy")
    assert not problems and (state["kind"], state["hidden"], state["alpha"], state["num_estimators"]) == (
        "spirals", 8, 1.0, 4)


def test_the_kernel_checks_refuse_what_the_widgets_would_clamp(tabs):
    controls = tabs["masks"].controls
    with pytest.raises(ValueError, match=r"num_estimators=0 is outside this explorer's range \[1, 6\]"):
        controls["num_estimators"].check(0)
    with pytest.raises(ValueError, match="alpha=1.25 is not on the slider's grid"):
        controls["alpha"].check(1.25)
    with pytest.raises(ValueError, match="must be a selection of"):
        tabs["calibration"].controls["models"].check(("DE(4)",))
