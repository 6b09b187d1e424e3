"""A command line's options, sorted once: every option is in one identity section or is run control, and a
report of the flat layout (``config``) resumes only when it recorded the same run."""

from __future__ import annotations

import json

import pytest

from pe_lab.cli.experiment import main, parse_args, parser
from pe_lab.cli.identity import RUN_CONTROL, SECTIONS, matches_flat_config, recipe_of, report_identity
from pe_lab.data.images import synthetic_splits
from pe_lab.training.recipe import Recipe


def test_every_option_is_in_exactly_one_section_or_run_control():
    options = [a.dest for a in parser()._actions if a.dest != "help"]
    placed = [o for section in SECTIONS.values() for o in section] + list(RUN_CONTROL)
    assert sorted(placed) == sorted(set(placed)), "an option is in two places"
    assert set(options) == set(placed), f"unplaced: {set(options) - set(placed)}; gone: {set(placed) - set(options)}"


def test_the_recipe_of_a_command_line_and_the_report_identity():
    args = parse_args(["--synthetic", "--epochs", "3", "--lr", "0.05", "--no-nesterov", "--no-augment",
                       "--member-loss", "mean"])
    assert recipe_of(args, seed=2) == Recipe(epochs=3, batch_size=args.batch_size, lr=0.05, nesterov=False,
                                             momentum=args.momentum, weight_decay=args.weight_decay,
                                             schedule=args.schedule, label_smoothing=args.label_smoothing,
                                             augment=False, member_reduction="mean", seed=2)
    train, test, ood = synthetic_splits(2, 1)
    identity = report_identity(args, train, test, ood)
    assert set(identity) == {*SECTIONS, "pe_lab"} and "seed" not in identity["recipe"]
    assert identity["data"]["train"]["digest"] and identity["data"]["ood"]["count"] == len(ood)
    other = report_identity(parse_args(["--synthetic", "--epochs", "3", "--lr", "0.05", "--no-nesterov",
                                        "--no-augment", "--member-loss", "mean", "--num-bins", "10"]), train, test, ood)
    assert other["evaluation"]["num_bins"] == 10 and other != identity


def test_a_flat_config_report_resumes_when_it_is_the_same_run_and_is_refused_otherwise(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["--synthetic", "--methods", "single", "--seeds", "0", "--epochs", "1", "--train-per-class", "4",
            "--test-per-class", "2", "--batch-size", "8", "--schedule", "cosine", "--no-eta", "--no-progress",
            "--out", str(out), "--runs-dir", str(tmp_path / "runs")]
    main(argv)
    report = json.loads(out.read_text())
    args = parse_args(argv)
    flat = {k: v for k, v in vars(args).items() if k not in RUN_CONTROL}  # (--data is run control: a path)
    flat.update(pe_lab=report["identity"]["pe_lab"],
                data={k: [report["provenance"]["data"][k], report["provenance"]["data"][f"num_{k}"]]
                      for k in ("train", "test", "ood")})
    old = {k: v for k, v in report.items() if k != "identity"}
    out.write_text(json.dumps({**old, "config": flat}))
    resumed = main([*argv, "--methods", "single,packed", "--resume"])  # the old runs kept, one added, rewritten
    assert [r["method"] for r in resumed["runs"]] == ["single", "packed"] and "identity" in json.loads(out.read_text())
    out.write_text(json.dumps({**old, "config": {**flat, "lr": 0.5}}))
    with pytest.raises(SystemExit):
        main([*argv, "--resume"])
    assert "lr: 0.5 -> " in capsys.readouterr().err
    train, test, ood = synthetic_splits(4, 2)
    assert matches_flat_config({**flat, "data": None}, args, train, test, ood).startswith("data:")
