"""Generated distribution shift (in the style of CIFAR-10-C) and synthetic far-OOD textures."""

import json
from pathlib import Path

import pytest
import torch

from pe_lab.cli.shift import main
from pe_lab.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, shifted, synthetic_textures
from pe_lab.data.images import synthetic_dataset
from pe_lab.evaluation.shift import shift_metrics


@pytest.fixture(scope="module")
def images():
    return synthetic_textures(20, seed=3).images  # smooth, varied images: every corruption visibly changes them


def test_there_are_at_least_ten_distinct_corruptions_of_five_severities(images):
    assert len(CORRUPTIONS) >= 10 and SEVERITIES == (1, 2, 3, 4, 5)
    # every corruption is its own transformation: no two give the same images at the same severity
    outputs = {name: corrupt(images, name, 3) for name in CORRUPTIONS}
    names = list(outputs)
    assert all(not torch.equal(outputs[a], outputs[b]) for i, a in enumerate(names) for b in names[i + 1:])


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_corruption_is_seeded_keeps_the_format_and_grows_with_severity(images, name):
    outputs = [corrupt(images, name, s) for s in SEVERITIES]
    for out in outputs:
        assert out.shape == images.shape and out.dtype == torch.uint8
    assert torch.equal(corrupt(images, name, 3), outputs[2])                       # same call, same images
    distance = [(out.float() - images.float()).abs().mean().item() for out in outputs]
    assert distance[0] > 0 and distance[-1] > distance[0], distance                   # severity 5 drifts further


def test_bad_corruption_or_severity_lists_the_choices(images):
    with pytest.raises(ValueError, match="unknown corruption 'snow'; valid choices: gaussian_noise"):
        corrupt(images, "snow", 1)
    with pytest.raises(ValueError, match="unknown severity 6; valid choices: 1, 2, 3, 4, 5"):
        corrupt(images, "fog", 6)
    with pytest.raises(ValueError, match="images must be uint8"):
        corrupt(images.float(), "fog", 1)


def test_shifted_sets_say_what_they_are():
    data = shifted(synthetic_dataset(2, 2), "contrast", 2)
    assert "in the style of CIFAR-10-C" in data.source and "contrast severity 2" in data.source
    textures = synthetic_textures(25)
    assert "not DTD" in textures.source and set(textures.labels.tolist()) == {0, 1, 2, 3, 4}


def test_shift_metrics_of_a_model():
    from pe_lab.methods.registry import build

    model = build("lenet", "packed", num_estimators=2).eval()
    result = shift_metrics(model, synthetic_dataset(4, 10, split="test"), corruptions=("fog", "pixelate"),
                           severities=(1, 5))
    assert set(result) == {"fog", "pixelate"} and set(result["fog"]) == {0, 1, 5}
    assert set(result["fog"][5]) == {"accuracy", "nll", "ece"}


def test_shift_cli_names_a_method_without_runs(tmp_path, capsys):
    # A real report (validated on read): its methods are single, deep and packed.
    committed = Path(__file__).resolve().parents[2] / "assets" / "results" / "tutorial_lenet.json"
    (tmp_path / "r.json").write_text(committed.read_text())
    with pytest.raises(SystemExit):
        main(["--report", str(tmp_path / "r.json"), "--methods", "mimo"])
    assert "unknown method (runs of seed 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--report", str(tmp_path / "r.json"), "--corruptions", "snow"])
    assert "unknown corruption 'snow'" in capsys.readouterr().err


def test_experiment_cli_records_shift_and_textures(tmp_path):
    from pe_lab.cli.experiment import main as experiment_main

    report = experiment_main(["--synthetic", "--train-per-class", "16", "--epochs", "1", "--batch-size", "16",
                              "--model", "lenet", "--methods", "packed", "--seeds", "0", "--no-progress", "--no-eta",
                              "--shift", "--shift-per-class", "2", "--out", str(tmp_path / "r.json"),
                              "--runs-dir", str(tmp_path / "runs")])
    shift = report.runs[0].shift
    assert set(shift["corruptions"]) == set(CORRUPTIONS) and set(shift["corruptions"]["fog"]) == {0, 1, 2, 3, 4, 5}
    assert set(shift["textures"]) == {"msp", "entropy", "mutual_information"}
    stored = json.loads((tmp_path / "r.json").read_text())
    assert "shift" in stored["runs"][0]


def test_shift_refuses_a_report_trained_on_synthetic_data_and_reads_recorded_checkpoints(tmp_path, capsys):
    """It scored a synthetic model on CIFAR and wrote the JSON without a word."""
    from pe_lab.cli.experiment import main as experiment_main

    report = experiment_main(["--synthetic", "--train-per-class", "8", "--epochs", "1", "--batch-size", "8",
                              "--model", "lenet", "--methods", "single", "--seeds", "0", "--no-progress", "--no-eta",
                              "--schedule", "cosine", "--out", str(tmp_path / "r.json"),
                              "--runs-dir", str(tmp_path / "runs")])
    recorded = report.runs[0].checkpoint
    assert recorded.startswith(str(tmp_path / "runs")) and torch.load(recorded, weights_only=True)["epoch"] == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["--report", str(tmp_path / "r.json"), "--data", str(tmp_path)])
    error = capsys.readouterr().err
    assert stop.value.code == 1 and "trained on synthetic data" in error and "Traceback" not in error
    assert not (tmp_path / "r-shift.json").exists()
