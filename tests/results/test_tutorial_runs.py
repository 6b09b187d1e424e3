"""The tutorial's loop, its measurements and its report reader."""

import dataclasses
import json

import pytest
import torch

from pe_lab.data.images import synthetic_dataset
from pe_lab.results import tutorial as tut


@pytest.fixture(scope="module")
def tiny_report():
    train, test = synthetic_dataset(8, split="train"), synthetic_dataset(4, split="test")
    recipe = dataclasses.replace(tut.TUTORIALS["2024-02"], batch_size=16, epochs=1)
    runs, probs = [], {}
    for network in ("packed-seed-head", "packed-class-head"):
        for seed in (0, 1):
            run, p = tut.run_tutorial(network, recipe, seed, train, test, synthetic_dataset(4, split="test"))
            runs.append(run)
            probs[network, seed] = p
    return {"provenance": {"seeds": [0, 1]}, "recipe": dataclasses.asdict(recipe), "runs": runs}, probs, test


def test_the_seed_head_puts_mass_on_classes_that_never_occur(tiny_report):
    report, probs, _ = tiny_report
    by_network = tut.runs_by_network(report)
    seed_head, class_head = by_network["packed-seed-head"][0], by_network["packed-class-head"][0]
    assert seed_head["metrics"]["logits_per_member"] == 40 and class_head["metrics"]["logits_per_member"] == 10
    assert seed_head["metrics"]["impossible_mass"] > 0.1  # 30 of 40 outputs, barely trained
    assert class_head["metrics"]["impossible_mass"] == 0.0
    assert probs["packed-seed-head", 0].shape[1:] == (4, 40)


def test_impossible_mass_is_the_ensembles_probability_beyond_the_classes():
    member_probs = torch.zeros(2, 2, 4)
    member_probs[:, 0, 0] = 1.0            # member 0: all on class 0
    member_probs[:, 1, 3] = 1.0            # member 1: all on output 3, a class that never occurs (K = 2)
    assert tut.impossible_mass(member_probs, num_classes=2) == pytest.approx(0.5)


def test_the_same_seed_gives_the_shared_layers_the_same_start():
    torch.manual_seed(3)
    a = tut.tutorial_network("packed", head="seed")
    torch.manual_seed(3)
    b = tut.tutorial_network("packed", head="classes")
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert torch.equal(a.classifier[3].weight, b.classifier[3].weight)


def test_table_and_comparison_are_generated_with_their_seeds(tiny_report):
    report, _, _ = tiny_report
    table = tut.tutorial_table(report)
    assert table.count("\n") == 3 and "| 0,1 |" in table
    sentences = tut.compare_networks(report, "packed-seed-head", "packed-class-head")
    assert "paired t, 2 seeds" in sentences or "2 seeds" in sentences
    with pytest.raises(ValueError, match="no seed has both"):
        tut.compare_networks(report, "packed-seed-head", "deep")


def test_prediction_differences_count_who_is_right():
    labels = torch.tensor([0, 1, 1])
    first = torch.tensor([[[0.9, 0.1]], [[0.9, 0.1]], [[0.1, 0.9]]])   # predicts 0, 0, 1
    second = torch.tensor([[[0.9, 0.1]], [[0.1, 0.9]], [[0.9, 0.1]]])  # predicts 0, 1, 0
    assert tut.prediction_differences(first, second, labels) == {
        "images": 3, "differ": 2, "differ_share": 2 / 3, "first_right": 1, "second_right": 1}
    with pytest.raises(ValueError, match="same 3 images"):
        tut.prediction_differences(first[:2], second, labels)


def test_a_hand_edited_report_is_refused_naming_the_file_and_the_field(tmp_path, monkeypatch, tiny_report):
    report, _, _ = tiny_report
    broken = json.loads(json.dumps(report))
    del broken["runs"][1]["metrics"]["nll"]
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "tutorial_2024-02.json").write_text(json.dumps(broken))
    monkeypatch.setattr("pe_lab.config.assets_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"tutorial_2024-02\.json: runs\[1\]\.metrics\.nll is missing"):
        tut.load_tutorial("2024-02")
    with pytest.raises(ValueError, match="version must be one of"):
        tut.load_tutorial("2023")


def test_a_non_finite_loss_stops_training_naming_the_step():
    train = synthetic_dataset(2, split="train")
    recipe = dataclasses.replace(tut.TUTORIALS["2025-03"], lr=1e30, epochs=3, batch_size=4)
    with pytest.raises(FloatingPointError, match="epoch"):
        tut.run_tutorial("single", recipe, 0, train, train, None)
