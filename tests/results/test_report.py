"""Reports' generated prose and tables: every comparison through ``compare`` (paired where the seeds match,
"better" only when the 95 % interval excludes zero, the seeds always said), collapsed runs flagged; and the
committed results still load through ``pe_lab``'s top-level names."""

import dataclasses

import pytest

from pe_lab import describe, format_table, load_committed, summarise, verdict
from pe_lab.results.records import DataRecord, Provenance, Report, Run, Statistics, Sweep, SweepRow

_PROVENANCE = Provenance(command="test", hardware="h", torch="t", git_commit="c", date="d", seeds=(0, 1, 2),
                         data=DataRecord(num_train=10, num_test=10, train="tr", test="t", ood=None, num_ood=0,
                                         synthetic=False))


def _spec(kind, **spec):
    return {"name": "lenet", "kind": kind, "num_classes": 10, "num_estimators": 4, "alpha": 2, "gamma": 1,
            "width": 1.0, "options": {}, **spec}


def _run(method, seed, accuracy, nll=1.0, ece=0.05, kind=None, **spec):
    return Run(method=method, seed=seed, params=1, train_seconds=1.0, test_images_per_second=1.0, history={},
               spec=_spec(kind or method, **spec), metrics={"accuracy": accuracy, "nll": nll, "ece": ece, "brier": 0.5})


def _report(runs):
    """A report of ``runs`` with their summary, taken back through its reader (so it is one a file could hold)."""
    return Report.from_json(Report(_PROVENANCE, runs, summarise(runs)).to_json(), "the test report")


def test_verdict_pairs_by_seed_and_says_better_only_when_the_interval_excludes_zero():
    single = {0: 0.60, 1: 0.70, 2: 0.80}
    ensemble = {0: 0.611, 1: 0.709, 2: 0.812}  # a steady +1 point that the seeds' spread hides from Welch
    said = verdict(ensemble, single, "DE(4)", "Single")
    assert said.startswith("DE(4) is better than Single, +1.1 points (95 % CI +") and "paired t, 3 seeds" in said
    welch = verdict(ensemble, {1: 0.70, 2: 0.80, 3: 0.60}, "DE(4)", "Single")  # other seeds: nothing to pair
    assert welch.startswith("DE(4) and Single are not distinguishable with 3 seeds") and "Welch t" in welch
    summaries = verdict(Statistics(0.774, 0.015, 3), Statistics(0.753, 0.016, 3), "PE", "Single")
    assert summaries.startswith("PE and Single are not distinguishable with 3 seeds, +2.1 points (95 % CI -")
    one = verdict({0: 0.70}, {0: 0.90, 1: 0.91}, "A", "B")
    assert one == "A and B are not distinguishable with 1 and 2 seeds, -20.5 points (one seed: no test, 1 and 2 seeds)"
    with pytest.raises(TypeError, match=r"the first side must be \{seed: value\} or a Statistics"):
        verdict({"mean": 0.774, "std": 0.015, "n": 3}, Statistics(0.753, 0.016, 3), "PE", "Single")


def test_verdict_reads_nll_ece_brier_and_fpr95_as_lower_is_better():
    low, high = {0: 0.60, 1: 0.62, 2: 0.61}, {0: 0.70, 1: 0.73, 2: 0.71}
    assert verdict(low, high, "DE", "PE", key="nll").startswith("DE is better than PE, -0.103 (95 % CI")
    assert verdict(low, high, "DE", "PE", key="accuracy").startswith("DE is worse than PE, -10.3 points")
    assert verdict(low, high, "DE", "PE", key="fpr95").startswith("DE is better than PE, -10.3 points")
    from pe_lab.results.comparisons import higher_is_better

    assert [higher_is_better(k) for k in ("accuracy", "auroc", "aupr", "nll", "ece", "brier", "fpr95")] == \
        [True, True, True, False, False, False, False]
    with pytest.raises(ValueError, match="no reading for metric 'loss'"):
        higher_is_better("loss")


def test_describe_says_when_the_pe_is_below_the_single_and_when_nothing_separates():
    runs = [_run("single", s, a, nll=n) for s, a, n in ((0, 0.69, 0.90), (1, 0.68, 0.95), (2, 0.70, 0.91))]
    runs += [_run("packed", s, a, nll=n) for s, a, n in ((0, 0.63, 0.93), (1, 0.62, 0.90), (2, 0.645, 0.94))]
    text = describe(_report(runs))
    assert ("**PE(2,4,1)** against the Single: accuracy 63.2% vs 69.0%: PE(2,4,1) is worse than Single, -5.8 points "
            "(95 % CI -6.6 to -5.1, paired t, 3 seeds); NLL 0.923 vs 0.920: PE(2,4,1) and Single are not "
            "distinguishable with 3 seeds, +0.003") in text
    assert "Single 69.0%, then PE(2,4,1) 63.2% (Single is better than PE(2,4,1), +5.8 points" in text
    assert "beyond one standard" not in text and "within noise" not in text


def test_describe_does_not_call_notebook_04s_ood_gap_a_win():
    report, _ = load_committed("cifar10_resnet20")
    ood = next(line for line in describe(report).splitlines() if line.startswith("* **OOD AUROC (msp)**"))
    assert "PE(2,4,1) 77.4%, then Single 75.3%" in ood
    assert "PE(2,4,1) and Single are not distinguishable with 3 seeds, +2.1 points (95 % CI -5.4 to +9.6, paired t" in ood


def test_the_results_table_gives_each_method_its_difference_from_the_single_with_an_interval():
    runs = [_run("single", s, a) for s, a in ((0, 0.69), (1, 0.68), (2, 0.70))]
    runs += [_run("packed", s, a) for s, a in ((0, 0.63), (1, 0.62), (2, 0.645))]
    runs += [_run("deep", s, a) for s, a in ((0, 0.70), (1, 0.67), (2, 0.71))]
    table = format_table(_report(runs))
    head, _, single, packed, deep = table.splitlines()[:5]
    assert head.startswith("| Method | Acc | Acc − Single (95 % CI) | NLL |")
    assert single.startswith("| Single | 69.0 ± 1.0 | — |")
    assert packed.startswith("| PE(2,4,1) | 63.2 ± 1.3 | -5.8 (-6.6 to -5.1) * |")
    assert deep.startswith("| DE(4) | 69.3 ± 2.1 | +0.3 (") and " * |" not in deep
    assert "± is the standard deviation over seeds, not a test" in table
    assert "Acc − Single" not in format_table(_report(runs[:3]))  # a Single alone: nothing to compare


def test_describe_flags_a_run_at_chance_and_does_not_rank_its_calibration():
    runs = [_run("single", s, 0.6, ece=0.03) for s in (0, 1)] + [_run("deep", s, 0.65, ece=0.04) for s in (0, 1)]
    runs += [_run("mimo", 0, 0.10, ece=0.001), _run("mimo", 1, 0.45, ece=0.02)]
    text = describe(_report(runs))
    assert "MIMO(4,0.6,2) collapsed to chance** on seed(s) 0" in text
    ece_line = next(line for line in text.splitlines() if line.startswith("* **ECE**"))
    assert "MIMO" not in ece_line


def test_committed_results_load_through_the_face():
    report, predictions = load_committed("lenet_converged")
    assert set(predictions) == {"single", "deep", "packed"} and report.summary["packed"]["accuracy"].n == 3
    assert summarise(report.runs, report.summary["packed"].ood_criterion) == report.summary  # as it was written
    assert predictions["packed"]["test"].shape[1:] == (4, 10)
    with pytest.raises(FileNotFoundError, match="no results at"):
        load_committed("nothing_here")


def test_a_notebooks_visible_settings_are_what_the_gpu_preset_trains():
    """Notebook 04 on a GPU trains the t4 preset with every setting it shows, and the preset's own values else."""
    from pe_lab import preset

    shown = dict(model="resnet20", alpha=4, num_estimators=4, gamma=1, epochs=3, label_smoothing=0.0, lr=0.1)
    experiment = preset("t4", **shown)
    trained = {**experiment.models.identity(), **experiment.recipe.to_dict()}
    assert {k: trained[k] for k in shown} == shown
    assert preset("t4").recipe.label_smoothing == 0.1  # the preset's own value when not shown
    with pytest.raises(ValueError, match="unknown preset"):
        preset("a100")


def _sweep_row(method, width, accuracy, n=1, label=None, params=None, member_width=None, spread=0.01):
    """A sweep row with per-seed runs (seeds 0..n-1) around ``accuracy``; ``spread`` sets how far seeds differ."""
    offsets = {1: (0.0,), 2: (-0.5, 0.5), 3: (-1.0, 0.2, 0.8)}[n]
    values = [accuracy + spread * o for o in offsets]
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    params = params or int(1000 * width) + len(method) * 100_000
    runs = tuple(Run(method=method, seed=s, spec=_spec(method), params=params, train_seconds=1.0, history={},
                     metrics={"accuracy": v, "nll": 1 - v, "ece": 0.05, "brier": 0.5}) for s, v in enumerate(values))
    return SweepRow(label=label or f"{method} x{width:g}", method=method, width=width, alpha=2.0,
                    member_width=member_width or width, params=params, flops_per_image=1e6, seeds=tuple(range(n)),
                    summary={"accuracy": Statistics(mean, std, n), "nll": Statistics(1 - mean, std, n),
                             "train_seconds": Statistics(1.0, 0.0, n)}, cpu_seconds=1.0, runs=runs)


def _sweep(rows):
    """A sweep of ``rows`` (the committed alpha sweep's provenance and recipe), taken back through its reader."""
    from pe_lab.results.sweeps import load_sweep

    made = dataclasses.replace(load_sweep("alpha"), rows=tuple(rows))
    return Sweep.from_json(made.to_json(), "the test sweep")


def _sweep_lines(width_rows):
    from pe_lab.results.prose import describe_sweeps
    from pe_lab.results.sweeps import load_sweep

    return describe_sweeps(load_sweep("alpha"), _sweep(width_rows)).splitlines()


def test_the_width_sentences_say_what_is_missing_and_how_much_the_single_still_gains():
    width = [_sweep_row("single", 1, 0.60, 3), _sweep_row("packed", 1, 0.55, 3, spread=0.02),
             _sweep_row("deep", 1, 0.65, 3), _sweep_row("single", 2, 0.70), _sweep_row("single", 4, 0.72, 2)]
    lines = _sweep_lines(width)
    assert "* Width sweep, base width 2: only single x2 measured so far (no packed ensemble there)." in lines
    gains = next(line for line in lines if "each doubling" in line)
    assert gains == ("* The Single's accuracy from each doubling of its width: single x2 and single x1 are not "
                     "distinguishable with 1 and 3 seeds, +10.0 points (one seed: no test, 1 and 3 seeds); "
                     "single x4 and single x2 are not distinguishable with 2 and 1 seeds, +2.0 points (one seed: no "
                     "test, 2 and 1 seeds).")
    base = next(line for line in lines if line.startswith("* Width sweep, base width 1 (packed x1"))
    assert "packed x1 is worse than deep x1, -10.0 points (95 % CI" in base and "paired t, 3 seeds" in base


def test_equal_parameter_sentences_group_by_budget_and_name_the_winner_only_when_it_separates():
    def row(method, width, accuracy, params, member_width, n=3, spread=0.01):
        return _sweep_row(method, width, accuracy, n, params=params, member_width=member_width, spread=spread)

    def sentences(rows):
        return [line for line in _sweep_lines(rows) if line.startswith("* At equal parameters")]

    rows = [row("single", 2, 0.72, 245_000, 2), row("deep", 1, 0.70, 248_000, 1, spread=0.012),
            row("packed", 2, 0.69, 248_000, 1, spread=0.015),
            row("single", 8, 0.79, 3_880_000, 8), row("deep", 4, 0.80, 3_900_000, 4, spread=0.008),
            row("single", 4, 0.77, 970_000, 4), row("packed", 4, 0.76, 1_100_000, 2)]  # 13 % apart: no budget
    lines = sentences(rows)
    assert len(lines) == 2  # the 0.97 M Single and the 1.1 M PE are not one budget
    assert lines[0].startswith("* At equal parameters (about 0.24 M): single x2 72.0%, deep x1 70.0%, packed x2 69.0%")
    assert "the width is best spent on one network here (deep x1 is worse than single x2, -2.0 points" in lines[0]
    assert "packed x2 is deep x1's networks packed into one (members 1x LeNet each)" in lines[0]
    assert "best spent on an ensemble here (deep x4 is better than single x8, +1.0 points" in lines[1]
    assert "packed into one" not in lines[1]  # no PE at that budget
    assert sentences([row("deep", 1, 0.7, 248_000, 1), row("packed", 2, 0.69, 248_000, 1)]) == []  # no Single
    # notebook 08's 3.9 M budget: 79.9 +- 0.15 over 3 seeds against 79.4 +- 0.43 over 2 is no win for either
    close = sentences([row("deep", 4, 0.799, 3_900_000, 4, spread=0.0015), row("single", 8, 0.794, 3_880_000, 8, n=2,
                                                                                 spread=0.006)])
    assert close[0].split("; ", 1)[1].startswith(
        "neither one network nor an ensemble is shown the better use of the width (deep x4 and single x8 are not "
        "distinguishable with 3 and 2 seeds, +0.5 points (95 % CI -")


def test_the_de_lead_over_the_pe_is_called_shrinking_only_when_every_doubling_separates():
    def lead_line(pe_accuracies, pe_spreads=(0.02, 0.025, 0.015)):
        rows = [row for w, pe, spread in zip((1, 2, 4), pe_accuracies, pe_spreads, strict=True)
                for row in (_sweep_row("deep", w, 0.80, 3), _sweep_row("packed", w, pe, 3, spread=spread))]
        return next(line for line in _sweep_lines(rows) if "lead over the PE of the same base width" in line)

    steady = lead_line((0.70, 0.75, 0.78))
    assert steady.startswith("* The DE's accuracy lead over the PE of the same base width is 10.0, 5.0, 2.0 points "
                             "at base widths 1, 2, 4: from 1 to 2 it shrinks, -5.0 points (95 % CI")
    assert steady.endswith("it shrinks at every doubling as members widen.")
    assert lead_line((0.70, 0.75, 0.74)).endswith("it is not shown to shrink at every doubling with these seeds.")
    assert "from 2 to 4 it grows, +1.0 points" in lead_line((0.70, 0.75, 0.74), (0.02, 0.025, 0.022))
    noisy = lead_line((0.70, 0.75, 0.7505), (0.02, 0.03, -0.03))  # a 0.05-point change, seeds 3 points apart
    assert "from 2 to 4 it does not change distinguishably with 3 seeds" in noisy
    assert noisy.endswith("it is not shown to shrink at every doubling with these seeds.")


def test_the_gap_vs_doubling_sentence_reads_its_rows_and_compares_the_two_gaps():
    from pe_lab.results.prose import describe_gap_vs_doubling

    rows = [_sweep_row("single", 1, 0.60, 3, label="One", member_width=1),
            _sweep_row("single", 2, 0.70, 3, label="One wide", member_width=2, spread=0.015),
            _sweep_row("packed", 2, 0.62, 3, label="Packed-A", member_width=1, spread=0.02),
            _sweep_row("deep", 2, 0.71, 3, label="Deep-B", member_width=2, spread=0.012)]
    (line,) = describe_gap_vs_doubling(_sweep(rows)).splitlines()
    assert line.startswith("* Base width 2: Deep-B's accuracy lead over Packed-A (members 2x vs 1x) +9.0 points (95 % "
                           "CI ")
    assert "beside the Single's gain from the same doubling (One to One wide) +10.0 points (95 % CI" in line
    assert "lead minus gain: the lead and the gain are not distinguishable with 3 seeds, -1.0 points (95 % CI" in line
    assert describe_gap_vs_doubling(_sweep(rows[1:])) == ""  # no Single at the PE's member width: no sentence


def test_the_committed_width_sweep_sets_the_de_lead_beside_the_single_doubling_gain():
    """The width sweep read by hand: 6.7 vs 6.6, 3.7 vs 5.4, 1.8 vs 1.7."""
    import re

    from pe_lab.results.prose import describe_gap_vs_doubling
    from pe_lab.results.sweeps import load_sweep

    lines = describe_gap_vs_doubling(load_sweep("width")).splitlines()
    pairs = [re.search(r"vs [\d.]+x\) ([+-][\d.]+) points.*same doubling \(.*?\) ([+-][\d.]+) points", line).groups()
             for line in lines]
    assert pairs == [("+6.7", "+6.6"), ("+3.7", "+5.4"), ("+1.8", "+1.7")]
    assert all("not distinguishable" in line or "not compared" in line or "no test" in line for line in lines)
    assert "(one seed: no test, 1 seed)" in lines[2] and "Welch t, 2 and 3 seeds" in lines[2]


def test_the_sweep_table_gives_each_row_its_difference_from_the_single_of_its_width():
    from pe_lab.results.sweeps import load_sweep
    from pe_lab.results.tables import sweep_table

    table = sweep_table(load_sweep("width")).splitlines()
    assert "| Acc (%) | Acc − Single of its width (95 % CI) |" in table[0]
    row = {line.split(" | ")[0].lstrip("| "): line for line in table[2:14]}
    assert "| 69.4 ± 0.6 | -3.0 (-8.2 to +2.3) |" in row["PE(2,4,1) x2"]  # no star: the interval holds zero
    assert "| 79.9 ± 0.1 | +2.2 (+2.0 to +2.5) * |" in row["DE(4) x4"]
    assert "| 79.7 ± n/a | +0.3 (no test) |" in row["PE(2,4,1) x8"] and "| 65.7 ± 1.7 | — |" in row["Single"]
