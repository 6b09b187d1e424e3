"""A command line's flags, mapped once: every flag sets one field of the ``Experiment``, and the report identity
holds everything that changes a run's numbers (and nothing that only says where to write)."""

from __future__ import annotations

import pytest

from pe_lab.cli.experiment import FLAGS, experiment_from_args, parse_args, parser
from pe_lab.data.images import synthetic_splits
from pe_lab.experiments.presets import PRESETS, preset
from pe_lab.training.recipe import Recipe


def test_every_flag_sets_exactly_one_field_and_a_preset_round_trips_through_the_flags():
    targets = [(part, name) for part, name, *_ in FLAGS.values()]
    assert len(targets) == len(set(targets)), "two flags set one field"
    for name in PRESETS:
        assert experiment_from_args(parse_args(["--preset", name])).replace(command="") == preset(name)


def test_the_recipe_of_a_command_line_and_the_report_identity():
    args = parse_args(["--synthetic", "--epochs", "3", "--lr", "0.05", "--no-nesterov", "--no-augment",
                       "--member-loss", "mean"])
    experiment = experiment_from_args(args)
    assert experiment.recipe == Recipe(epochs=3, batch_size=args.batch_size, lr=0.05, nesterov=False,
                                       momentum=args.momentum, weight_decay=args.weight_decay,
                                       schedule=args.schedule, label_smoothing=args.label_smoothing,
                                       augment=False, member_reduction="mean")
    train, test, ood = synthetic_splits(2, 1)
    identity = experiment.identity(train, test, ood)
    assert set(identity) == {"recipe", "model", "data", "evaluation", "engine", "pe_lab"}
    assert "seed" not in identity["recipe"] and identity["data"]["train"]["digest"]
    assert identity["data"]["ood"]["count"] == len(ood)
    assert experiment.replace(num_bins=10).identity(train, test, ood)["evaluation"]["num_bins"] == 10
    # where to write is not part of what a run is
    assert experiment.replace(out="elsewhere.json", runs_dir="x").identity(train, test, ood) == identity


def test_a_flag_the_experiment_does_not_know_is_refused_when_the_parser_is_built(monkeypatch):
    monkeypatch.delitem(FLAGS, "num_bins")
    with pytest.raises(KeyError, match="num_bins"):
        parser()
