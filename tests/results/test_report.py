"""Reports' generated prose: every ranking a reader would draw, one rule for 'within noise', collapsed runs
flagged; and the committed results still load through the face."""

import pytest

from pe_lab import describe, load_committed, summarise, verdict


def _run(method, seed, accuracy, nll=1.0, ece=0.05, kind=None, **spec):
    return {"method": method, "seed": seed, "params": 1, "train_seconds": 1.0, "test_images_per_second": 1.0,
            "spec": {"name": "lenet", "kind": kind or method, "num_classes": 10, "num_estimators": 4, "alpha": 2,
                     "gamma": 1, "width": 1.0, "options": {}, **spec},
            "metrics": {"accuracy": accuracy, "nll": nll, "ece": ece, "brier": 0.5}}


def _report(runs):
    return {"runs": runs, "summary": summarise(runs), "provenance": {
        "data": {"synthetic": False, "num_train": 10}, "hardware": "h"}}


def test_verdict_uses_one_rule_and_refuses_to_judge_a_single_seed():
    assert verdict({"mean": 0.70, "std": 0.01, "n": 3}, {"mean": 0.72, "std": 0.01, "n": 3}) == \
        "beyond one standard deviation"
    assert verdict({"mean": 0.70, "std": 0.02, "n": 3}, {"mean": 0.72, "std": 0.01, "n": 3}) == "within noise"
    assert verdict({"mean": 0.70, "std": 0.0, "n": 1}, {"mean": 0.90, "std": 0.01, "n": 3}).startswith("one seed")


def test_describe_says_when_the_pe_is_below_the_single():
    runs = [_run("single", s, a) for s, a in ((0, 0.69), (1, 0.68), (2, 0.70))]
    runs += [_run("packed", s, a, nll=1.1) for s, a in ((0, 0.63), (1, 0.62), (2, 0.64))]
    text = describe(_report(runs))
    assert "**PE(2,4,1)**: accuracy worse than the Single (63.0% vs 69.0%, beyond one standard deviation)" in text
    assert "Single 69.0%, then PE(2,4,1) 63.0%" in text


def test_describe_flags_a_run_at_chance_and_does_not_rank_its_calibration():
    runs = [_run("single", s, 0.6, ece=0.03) for s in (0, 1)] + [_run("deep", s, 0.65, ece=0.04) for s in (0, 1)]
    runs += [_run("mimo", 0, 0.10, ece=0.001), _run("mimo", 1, 0.45, ece=0.02)]
    text = describe(_report(runs))
    assert "MIMO(4,0.6,2) collapsed to chance** on seed(s) 0" in text
    ece_line = next(line for line in text.splitlines() if line.startswith("* **ECE**"))
    assert "MIMO" not in ece_line


def test_committed_results_load_through_the_face():
    report, predictions = load_committed("lenet_converged")
    assert set(predictions) == {"single", "deep", "packed"} and report["summary"]["packed"]["accuracy"]["n"] == 3
    assert predictions["packed"]["test"].shape[1:] == (4, 10)
    with pytest.raises(FileNotFoundError, match="no results at"):
        load_committed("nothing_here")


def test_a_notebooks_visible_settings_are_what_the_gpu_preset_trains():
    """Notebook 04 on a GPU ran the t4 preset's 20 epochs with label smoothing and alpha 2 whatever it showed."""
    from pe_lab import experiment_argv
    from pe_lab.cli.experiment import parse_args

    shown = dict(model="resnet20", alpha=4, num_estimators=4, gamma=1, epochs=3, label_smoothing=0.0, lr=0.1)
    args = parse_args(experiment_argv("t4", **shown))
    assert {k: getattr(args, k) for k in shown} == shown
    assert parse_args(experiment_argv("t4")).label_smoothing == 0.1  # the preset's own value when not shown
    with pytest.raises(ValueError, match="unknown preset"):
        experiment_argv("a100")


def _sweep_row(method, width, accuracy, n=1, label=None, params=None, member_width=None):
    stat = {"mean": accuracy, "std": 0.01 if n > 1 else 0.0, "n": n}
    return {"method": method, "width": width, "alpha": 2.0, "label": label or f"{method} x{width:g}",
            "summary": {"accuracy": stat, "nll": {**stat, "mean": 1 - accuracy}},
            "params": params or int(1000 * width) + len(method) * 100_000, "member_width": member_width or width}


def test_the_width_sentences_say_what_is_missing_and_how_much_the_single_still_gains():
    from pe_lab.results.report import describe_sweeps, load_sweep

    width = {"rows": [_sweep_row("single", 1, 0.60, 3), _sweep_row("packed", 1, 0.55, 3), _sweep_row("deep", 1, 0.65, 3),
                      _sweep_row("single", 2, 0.70), _sweep_row("single", 4, 0.72)]}
    lines = describe_sweeps(load_sweep("alpha"), width).splitlines()
    assert "* Width sweep, base width 2: only single x2 measured so far (no PE(2,4,1) there)." in lines
    assert next(line for line in lines if "each doubling" in line) == ("* The Single's accuracy from each doubling of its width: +10.0 points from x1 to x2, "
                         "+2.0 points from x2 to x4 (seeds per width: 3, 1, 1).")
    assert any(line.startswith("* Width sweep, base width 1 (packed x1") and "-10.0" in line for line in lines)


def test_equal_parameter_sentences_group_by_budget_and_name_the_winner():
    from pe_lab.results.report import describe_sweeps, load_sweep

    def row(method, width, accuracy, params, member_width):
        return _sweep_row(method, width, accuracy, 3, params=params, member_width=member_width)

    def sentences(rows):
        lines = describe_sweeps(load_sweep("alpha"), {"rows": rows}).splitlines()
        return [line for line in lines if line.startswith("* At equal parameters")]

    rows = [row("single", 2, 0.72, 245_000, 2), row("deep", 1, 0.70, 248_000, 1), row("packed", 2, 0.69, 248_000, 1),
            row("single", 8, 0.79, 3_880_000, 8), row("deep", 4, 0.80, 3_900_000, 4),
            row("single", 4, 0.77, 970_000, 4), row("packed", 4, 0.76, 1_100_000, 2)]  # 13 % apart: no budget
    lines = sentences(rows)
    assert len(lines) == 2  # the 0.97 M Single and the 1.1 M PE are not one budget
    assert lines[0].startswith("* At equal parameters (about 0.24 M): single x2 72.0%, deep x1 70.0%, packed x2 69.0%")
    assert "best spent on one network here (deep x1 against single x2: -2.0" in lines[0]
    assert "packed x2 is deep x1's networks packed into one" in lines[0]
    assert "best spent on an ensemble here (deep x4 against single x8: +1.0" in lines[1]
    assert "packed into one" not in lines[1]  # no PE at that budget
    assert sentences([row("deep", 1, 0.7, 248_000, 1), row("packed", 2, 0.69, 248_000, 1)]) == []  # no Single


def test_the_de_lead_over_the_pe_is_called_shrinking_only_when_it_shrinks_at_every_doubling():
    from pe_lab.results.report import describe_sweeps, load_sweep

    def lead_line(pe_accuracies):
        rows = [row for w, pe in zip((1, 2, 4), pe_accuracies, strict=True)
                for row in (_sweep_row("deep", w, 0.80), _sweep_row("packed", w, pe))]
        lines = describe_sweeps(load_sweep("alpha"), {"rows": rows}).splitlines()
        return next(line for line in lines if "lead over PE(2,4,1)" in line)

    assert lead_line((0.70, 0.75, 0.78)) == ("* The DE's accuracy lead over PE(2,4,1) is 10.0, 5.0, 2.0 points at "
                                            "base widths 1, 2, 4: it shrinks at every doubling as members widen.")
    assert lead_line((0.70, 0.75, 0.74)).endswith("does not shrink at every doubling.")
    assert lead_line((0.70, 0.70, 0.78)).endswith("does not shrink at every doubling.")  # flat is not shrinking
