"""The sweeps end to end on tiny synthetic data: points run, resume/skip, collect, and the explorers and
figures that read the collected JSON."""

import json
import shutil

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from pe_lab.evaluation.metrics import accuracy, first_members
from pe_lab.experiments.sweep import ALPHA_WIDTH, Point, collect_sweep, collected_points, grid, run_sweep
from pe_lab.results.records import read_sweep
from pe_lab.teaching.explorers import (
    alpha_explorer,
    ensemble_size_explorer,
    frontier_explorer,
    seed_explorer,
    width_explorer,
)
from pe_lab.teaching.viz import sweep_figure, width_figure

TINY = {"synthetic": True, "epochs": 1, "train_per_class": 6, "test_per_class": 3, "eta": False, "batch_size": 16}


def test_grid_runs_every_point_once_seed_0_first_and_alpha_equal_m_included():
    points = grid()
    assert len(points) == len(set(points))
    assert all(p.seed == 0 for p in points[:12])
    assert Point("packed", ALPHA_WIDTH, 0, 4) in points and Point("deep", 8.0, 2) in points
    assert {p.alpha for p in points if p.method == "packed" and p.width == ALPHA_WIDTH} == {1, 2, 3, 4}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    points = [Point("single", ALPHA_WIDTH, 0), Point("deep", ALPHA_WIDTH, 0),
              *(Point("packed", ALPHA_WIDTH, s, a) for s in (0, 1) for a in (1, 4)),
              Point("single", 1.0, 0), Point("packed", 1.0, 0), Point("deep", 1.0, 0)]
    run_sweep(folder, None, points, TINY)
    out = tmp_path_factory.mktemp("assets")
    return folder, collect_sweep(folder, out), points


def test_points_resume_and_finished_points_are_skipped(swept):
    folder, _, points = swept
    stamp = {p: (folder / f"{p.name}.json").stat().st_mtime_ns for p in points}
    run_sweep(folder, None, points, TINY)  # all done: nothing is retrained or rewritten
    assert stamp == {p: (folder / f"{p.name}.json").stat().st_mtime_ns for p in points}
    assert float((folder / f"{points[0].name}.cpu").read_text()) > 0


def test_collect_writes_both_sweeps_with_provenance_seeds_and_costs(swept):
    _, written, _ = swept
    alpha = json.loads(written["alpha"].read_text())
    rows = {r["label"]: r for r in alpha["rows"]}
    assert set(rows) == {"Single x2", "DE(4) x2", "PE(1,4,1) x2", "PE(4,4,1) x2"}
    assert rows["PE(1,4,1) x2"]["seeds"] == [0, 1] and rows["PE(1,4,1) x2"]["summary"]["accuracy"]["n"] == 2
    assert rows["PE(4,4,1) x2"]["member_width"] == ALPHA_WIDTH and rows["PE(1,4,1) x2"]["member_width"] == 0.5
    # alpha = M: the DE's parameters and FLOPs in one network
    assert rows["PE(4,4,1) x2"]["params"] == rows["DE(4) x2"]["params"]
    assert rows["PE(4,4,1) x2"]["flops_per_image"] == rows["DE(4) x2"]["flops_per_image"]
    assert alpha["provenance"]["data"]["synthetic"] and alpha["recipe"]["epochs"] == 1
    assert alpha["cpu_seconds"] > 0 and alpha["train_seconds"] > 0
    assert (written["alpha"].parent / "sweep" / "lenet-w2-packed-a4-seed0-predictions.pt").exists()
    width = json.loads(written["width"].read_text())
    # PE(2,4,1) at width 2 was not run here: the width sweep shows what was run, nothing else
    assert {(r["method"], r["width"]) for r in width["rows"]} == {("single", 1.0), ("packed", 1.0), ("deep", 1.0),
                                                                 ("single", 2.0), ("deep", 2.0)}


def test_sweep_figures_and_the_alpha_explorer(swept):
    _, written, _ = swept
    alpha = read_sweep(written["alpha"])
    figure = sweep_figure(alpha, x="params", highlight=4)
    assert len(figure.axes) == 4 and "SYNTHETIC" in figure._suptitle.get_text()
    assert len(width_figure(read_sweep(written["width"])).axes) == 12
    widget, update = alpha_explorer(alpha)
    shown = update(alpha=1.0, x="flops_per_image")
    assert set(shown["numbers"]) == {"Single x2", "DE(4) x2", "PE(1,4,1) x2"}
    legend = [t.get_text() for t in update(alpha=4.0)["figure"].axes[0].get_legend().get_texts()]
    assert "alpha = M: the DE's architecture in one network" in legend
    with pytest.raises(ValueError, match="outside this explorer's range"):
        update(alpha=5.0)


def test_the_width_explorer_lines_up_base_widths_and_equal_parameters_and_names_what_is_missing(swept):
    _, written, _ = swept
    width = read_sweep(written["width"])  # Single, PE, DE at x1; Single, DE at x2
    widget, update = width_explorer(width)
    same = update(width=1.0, compare="base")
    assert set(same["numbers"]) == {"Single", "PE(2,4,1)", "DE(4)"} and same["missing"] == []
    # equal parameters: DE(4) at w beside the Single and PE(2,4,1) at 2w (PE x2 was not run)
    budget = update(width=1.0, compare="params")
    assert set(budget["numbers"]) == {"DE(4)", "Single x2"} and budget["missing"] == ["PE(2,4,1) x2"]
    assert budget["numbers"]["DE(4)"] == width.row("DE(4)").summary
    circled = [line for ax in budget["figure"].axes for line in ax.lines if line.get_markerfacecolor() == "none"]
    assert len(circled) == 2 * 2 * 4  # two rows, in the top and bottom panels of four metrics
    assert "PE(2,4,1) x2" in widget.children[1].value  # the table says what is missing
    with pytest.raises(ValueError, match="is not one of"):
        update(width=4.0)  # not in this sweep
    with pytest.raises(ValueError, match="is not one of"):
        update(compare="flops")


def test_first_members_grows_the_ensemble_one_member_at_a_time():
    torch.manual_seed(0)
    member_probs = torch.rand(50, 4, 3).softmax(-1)
    labels = torch.randint(0, 3, (50,))
    assert first_members(member_probs, labels, 1)["accuracy"] == accuracy(member_probs[:, 0], labels)
    assert first_members(member_probs, labels, 1)["mutual_information"] == 0
    assert first_members(member_probs, labels, 4)["accuracy"] == accuracy(member_probs.mean(1), labels)
    with pytest.raises(ValueError, match="k=5 is more than the 4 members"):
        first_members(member_probs, labels, 5)


def test_ensemble_size_frontier_and_seed_explorers_on_a_report(swept):
    folder, _, _ = swept
    from pe_lab.results.predictions import load_predictions
    from pe_lab.results.records import read_report

    stored = load_predictions(folder / "lenet-w2-deep-seed0-predictions-deep-seed0.pt")
    widget, update = ensemble_size_explorer({"DE": (stored["test"], stored["test_labels"])})
    one, four = update(n=1)["numbers"]["DE"], update(n=4)["numbers"]["DE"]
    assert one["mutual_information"] == 0 and four["mutual_information"] > 0
    assert four["accuracy"] == pytest.approx(accuracy(stored["test"].mean(1), stored["test_labels"]))
    report = read_report(folder / "lenet-w2-deep-seed0.json")
    _, frontier = frontier_explorer(report)
    assert len(frontier(x="flops_per_image", metric="nll")["figure"].axes) == 1
    _, seeds = seed_explorer(read_report(folder / "lenet-w2-packed-a1-seed1.json"))
    assert seeds(seed=1)["numbers"]["PE(1,4,1) x2"]["accuracy"] == \
        read_report(folder / "lenet-w2-packed-a1-seed1.json").runs[0].metrics["accuracy"]


def test_a_new_worker_folder_skips_collected_points_and_collect_merges_seeds(swept, tmp_path):
    _, written, _ = swept
    out = tmp_path / "assets"  # a copy: the other tests read the fixture's files
    shutil.copytree(written["alpha"].parent, out)
    done = collected_points(out)
    assert Point("packed", ALPHA_WIDTH, 1, 1) in done and Point("packed", ALPHA_WIDTH, 2, 1) not in done
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    new = [Point("packed", ALPHA_WIDTH, 1, 1), Point("packed", ALPHA_WIDTH, 2, 1)]
    run_sweep(fresh, None, new, TINY, done=done)
    assert not (fresh / f"{new[0].name}.json").exists()  # already collected: not trained again
    assert (fresh / f"{new[1].name}.json").exists()
    before = {r["label"]: r for r in json.loads((out / "sweep_alpha_lenet.json").read_text())["rows"]}
    width_before = (out / "sweep_width_lenet.json").read_bytes()
    collected_now = collect_sweep(fresh, out)
    # the fresh folder holds no point of the width sweep: its JSON is not rewritten (nor its provenance)
    assert "width" not in collected_now and (out / "sweep_width_lenet.json").read_bytes() == width_before
    merged_path = collected_now["alpha"]
    merged = json.loads(merged_path.read_text())
    rows = {r["label"]: r for r in merged["rows"]}
    # the fresh folder held one point, yet no collected row or seed is dropped
    assert set(rows) == set(before)
    assert rows["PE(1,4,1) x2"]["seeds"] == [0, 1, 2] and rows["PE(1,4,1) x2"]["summary"]["accuracy"]["n"] == 3
    assert rows["PE(1,4,1) x2"]["cpu_seconds"] > before["PE(1,4,1) x2"]["cpu_seconds"]
    assert rows["Single x2"]["runs"] == before["Single x2"]["runs"]
    assert "merged_with" in merged["provenance"]
