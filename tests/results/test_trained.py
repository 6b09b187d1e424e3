"""Trained models exported from an experiment's training checkpoints and loaded back: model state only (float32),
rebuilt from its spec, read with ``weights_only=True``, with the run's provenance; a missing file says which
file and what there is."""

import importlib.util
from pathlib import Path

import pytest
import torch

from pe_lab.cli.experiment import main as experiment
from pe_lab.methods.packed import unpack
from pe_lab.results.records import read_report
from pe_lab.results.trained import TrainedCheckpointError, export_checkpoints, load_trained, trained_test_set
from pe_lab.training.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A LeNet Single and PE(2, 2, 1) each trained for one step (10 synthetic images, batch 10)."""
    folder = tmp_path_factory.mktemp("trained")
    experiment(["--synthetic", "--train-per-class", "1", "--epochs", "1", "--seeds", "0",
                "--batch-size", "10", "--model", "lenet", "--alpha", "2", "--num-estimators", "2",
                "--methods", "single,packed", "--schedule", "cosine", "--no-ood", "--no-progress", "--out", str(folder / "tiny.json"),
                "--runs-dir", str(folder / "runs")])
    return folder


def test_an_exported_model_loads_with_weights_only_and_carries_its_run(trained_run, tmp_path):
    written = export_checkpoints(trained_run / "tiny.json", trained_run / "runs", "tiny", tmp_path)
    assert sorted(p.name for p in written) == ["tiny-packed-seed0.pt", "tiny-single-seed0.pt"]
    stored = torch.load(tmp_path / "tiny-packed-seed0.pt", weights_only=True)
    assert set(stored) == {"spec", "model", "provenance"}  # no optimiser, schedule or history
    assert all(t.dtype == torch.float32 for t in stored["model"].values() if t.is_floating_point())

    net, record = load_trained("tiny", "packed", 0, folder=tmp_path)
    source = load_checkpoint(next((trained_run / "runs").glob("tiny-*-packed-seed0.pt")))
    for key, value in source["model"].items():
        assert torch.equal(net.state_dict()[key], value), key
    assert not net.training and net(torch.zeros(3, 3, 32, 32)).shape == (3, 2, 10)
    assert len(unpack(net)) == 2

    run = read_report(trained_run / "tiny.json").run("packed", 0)
    assert record["metrics"] == {key: run.metrics[key] for key in ("accuracy", "nll", "ece")}
    assert record["recipe"]["epochs"] == 1 and record["recipe"]["batch_size"] == 10
    assert record["data"]["train"]["digest"] and record["data"]["test"]["count"] == 100
    assert record["report"]["file"] == "tiny-report.json" and record["report"]["git_commit"]
    # the report beside them, written back unchanged
    # the copy is the report, with no path of this machine: its runs name their checkpoints by file name
    original, copy = read_report(trained_run / "tiny.json"), read_report(tmp_path / "tiny-report.json")
    assert [r.replace(checkpoint=None) for r in copy.runs] == [r.replace(checkpoint=None) for r in original.runs]
    assert [r.checkpoint for r in copy.runs] == [Path(r.checkpoint).name for r in original.runs]
    assert copy.summary == original.summary and copy.identity == original.identity
    assert record["exported"]["git_commit"] and record["file"].endswith("tiny-packed-seed0.pt")


def test_a_missing_model_names_the_file_and_what_is_there(trained_run, tmp_path):
    export_checkpoints(trained_run / "tiny.json", trained_run / "runs", "tiny", tmp_path)
    with pytest.raises(TrainedCheckpointError) as info:
        load_trained("tiny", "deep", 0, folder=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "tiny-deep-seed0.pt") in message
    assert "tiny-packed-seed0, tiny-single-seed0" in message and "export_checkpoints.py" in message
    with pytest.raises(TrainedCheckpointError, match="available: none"):
        load_trained("lenet", "packed", 0, folder=tmp_path / "empty")


def test_a_checkpoint_a_later_run_wrote_over_is_refused(trained_run, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for path in (trained_run / "runs").glob("*.pt"):
        state = load_checkpoint(path)
        state["epoch"] += 1  # another file than the one the report recorded
        torch.save(state, runs / path.name)
    with pytest.raises(TrainedCheckpointError, match="SHA-256 differs"):
        export_checkpoints(trained_run / "tiny.json", runs, "tiny", tmp_path / "out")


def test_the_export_script_writes_into_the_folder_it_is_given(trained_run, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("export_checkpoints", ROOT / "scripts" / "export_checkpoints.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    written = script.main(["--report", str(trained_run / "tiny.json"), "--runs-dir", str(trained_run / "runs"),
                           "--name", "tiny", "--out-dir", str(tmp_path)])
    assert len(written) == 2 and "tiny-single-seed0.pt" in capsys.readouterr().out
    assert load_trained("tiny", "single", 0, folder=tmp_path)[1]["exported"]["command"].startswith(
        "python scripts/export_checkpoints.py --report")


def test_without_cifar10_the_evaluation_images_are_synthetic_and_say_so(monkeypatch):
    monkeypatch.setenv("PE_LAB_OFFLINE", "1")
    with pytest.warns(UserWarning, match="SYNTHETIC"):
        images = trained_test_set(quick=True, per_class=3)
    assert "synthetic" in images.source and len(images) == 30


def test_the_committed_models_load_stay_small_and_match_their_report():
    from pe_lab.results.trained import available_trained, trained_dir

    committed = available_trained()
    wanted = {f"{model}-{method}-seed0" for model in ("lenet", "resnet20") for method in ("single", "deep", "packed")}
    assert wanted <= set(committed), sorted(wanted - set(committed))
    # small enough to ship in the repository: a ResNet-20 DE(4) is 1.09 M float32 parameters, 4.4 MB
    assert sum((trained_dir() / f"{stem}.pt").stat().st_size for stem in committed) < 10e6
    for stem in committed:
        model, method, seed = stem.rsplit("-", 2)
        assert (trained_dir() / f"{stem}.pt").stat().st_size < 5e6, stem
        net, record = load_trained(model, method, int(seed.removeprefix("seed")))
        run = read_report(trained_dir() / record["report"]["file"]).run(method, record["seed"])
        assert record["metrics"]["accuracy"] == run.metrics["accuracy"] and net.spec.to_dict() == run.spec


def test_every_committed_model_is_tabled_with_its_parameters_against_its_single():
    from pe_lab import available_trained, load_all_trained, trained_table

    trained = load_all_trained()
    assert [f"{t.model}-{t.method}-seed{t.seed}" for t in trained] != [] and len(trained) == len(available_trained())
    table = trained_table(trained).splitlines()
    rows = [line for line in table if line.startswith("| ") and not line.startswith("| Model")]
    assert len(rows) == len(trained)
    for t, row in zip(trained, rows, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0] == t.model and cells[6] == f"{100 * t.record['metrics']['accuracy']:.1f} %"
        if t.method == "deep":  # a DE of M Singles has M times the Single's parameters
            assert cells[4] == f"{t.net.spec.num_estimators:.2f}"
