"""The Python API under the command lines: an ``Experiment`` of typed parts, checked as it is made; the command line
and the Python call train the same runs (same identity, same numbers); presets are records."""

from __future__ import annotations

import json

import pytest

from pe_lab import DataSpec, Experiment, ModelSettings, Outputs, preset, run_experiment
from pe_lab.cli.experiment import main
from pe_lab.training.recipe import Recipe

TINY = dict(model="lenet", methods=("single", "packed"), synthetic=True, train_per_class=4, test_per_class=2,
            epochs=1, batch_size=8, schedule="cosine", seeds=(0,), eta=False, progress=False)
TINY_ARGV = ["--model", "lenet", "--methods", "single,packed", "--synthetic", "--train-per-class", "4",
             "--test-per-class", "2", "--epochs", "1", "--batch-size", "8", "--schedule", "cosine", "--seeds", "0",
             "--no-eta", "--no-progress"]


def test_the_command_line_and_the_python_call_train_the_same_runs(tmp_path):
    by_call = run_experiment(preset("quick", **TINY, out=str(tmp_path / "api.json"), runs_dir=str(tmp_path / "a")))
    by_flags = main([*TINY_ARGV, "--out", str(tmp_path / "cli.json"), "--runs-dir", str(tmp_path / "c")])
    assert by_call.identity == by_flags.identity
    for a, b in zip(by_call.runs, by_flags.runs, strict=True):
        assert (a.method, a.seed) == (b.method, b.seed)
        assert a.metrics["accuracy"] == b.metrics["accuracy"] and a.metrics["nll"] == b.metrics["nll"]
    written = json.loads((tmp_path / "api.json").read_text())
    assert written["provenance"]["command"].startswith("pe_lab.run_experiment(Experiment(")
    assert json.loads((tmp_path / "cli.json").read_text())["provenance"]["command"].startswith("pe-lab experiment ")


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda: ModelSettings(model="vgg"), ValueError, "unknown model 'vgg'"),
    (lambda: ModelSettings(methods=("packed", "packed")), ValueError, "methods lists packed more than once"),
    (lambda: ModelSettings(methods=()), ValueError, "methods names no method"),
    (lambda: ModelSettings(options={"rho": 2.0}), ValueError, "rho must be <= 1"),
    (lambda: ModelSettings(options={"temperature": 2.0}), ValueError, "unknown method option 'temperature'"),
    (lambda: DataSpec(train_folder="a"), ValueError, "train_folder and test_folder go together"),
    (lambda: DataSpec(mode="disk"), ValueError, "unknown data mode 'disk'"),
    (lambda: Outputs(resume=True, restart=True), ValueError, "choose one"),
    (lambda: Outputs(out=" "), ValueError, "out is empty"),
    (lambda: Experiment(recipe=Recipe(epochs=1), seeds=(0, 0)), ValueError, "seeds lists 0 more than once"),
    (lambda: Experiment(recipe={"epochs": 1}), TypeError, "recipe must be a pe_lab Recipe"),
    (lambda: preset("quick", learning_rate=0.1), TypeError, "an Experiment has no setting 'learning_rate'"),
    (lambda: preset("a100"), ValueError, "unknown preset 'a100'"),
])
def test_a_bad_setting_is_refused_when_the_record_is_made_naming_the_rule(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_replace_reaches_the_one_part_that_holds_a_setting_and_a_methods_own_option():
    experiment = preset("lenet", epochs=3, alpha=4, out="runs/x.json", rho=0.0, seeds=(1,))
    assert experiment.recipe.epochs == 3 and experiment.models.alpha == 4 and experiment.outputs.out == "runs/x.json"
    assert experiment.models.options["rho"] == 0.0 and experiment.seeds == (1,)
    assert preset("lenet").models.options["rho"] != 0.0  # the preset itself is unchanged
