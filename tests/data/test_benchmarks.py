"""The official CIFAR-10-C layout and a DTD-like texture folder, on tiny files the tests write in that exact
layout (no download): loaders, refusals of the wrong layout, and the shift CLI using both."""

import numpy as np
import pytest
import torch
from PIL import Image

from pe_lab.data.benchmarks import CIFAR10C_PER_SEVERITY, cifar10c_corruptions, load_cifar10c, load_texture_folder
from pe_lab.data.images import DataError


@pytest.fixture
def cifar10c(tmp_path, monkeypatch):
    """Two corruptions in the published layout, with the per-severity block size shrunk to 20 images (the
    layout is the same: 5 blocks of the test set in order, labels repeated per block)."""
    monkeypatch.setattr("pe_lab.data.benchmarks.CIFAR10C_PER_SEVERITY", 20)
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(20) % 10, 5).astype(np.uint8)
    np.save(tmp_path / "labels.npy", labels)
    for name in ("fog", "snow"):
        images = np.stack([np.full((20, 32, 32, 3), 40 * s, dtype=np.uint8) for s in range(1, 6)]).reshape(100, 32, 32, 3)
        images[:, 0, 0, 0] = rng.integers(0, 255, 100)
        np.save(tmp_path / f"{name}.npy", images)
    return tmp_path


def test_cifar10c_severity_blocks_are_read_in_the_published_order(cifar10c):
    assert CIFAR10C_PER_SEVERITY == 10_000  # the real layout's block; the fixture shrinks it
    assert cifar10c_corruptions(cifar10c) == ["fog", "snow"]
    for severity in (1, 3, 5):
        data = load_cifar10c(cifar10c, "fog", severity)
        assert data.images.shape == (20, 3, 32, 32) and data.images.dtype == torch.uint8
        assert int(data.images[0, 1, 5, 5]) == 40 * severity  # block s-1, channels first
        assert data.labels.tolist() == [i % 10 for i in range(20)] and "official" in data.source


def test_the_wrong_layout_and_pickled_arrays_are_refused(cifar10c, tmp_path):
    with pytest.raises(ValueError, match="severity must be 1 to 5"):
        load_cifar10c(cifar10c, "fog", 6)
    with pytest.raises(ValueError, match="unknown CIFAR-10-C corruption 'rain'"):
        load_cifar10c(cifar10c, "rain", 1)
    np.save(cifar10c / "fog.npy", np.zeros((100, 32, 32), dtype=np.uint8))
    with pytest.raises(DataError, match="not the published uint8"):
        load_cifar10c(cifar10c, "fog", 1)
    np.save(cifar10c / "snow.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="cannot read .* as a plain .npy array"):
        load_cifar10c(cifar10c, "snow", 1)
    with pytest.raises(DataError, match="no labels.npy"):
        cifar10c_corruptions(tmp_path / "elsewhere")


def test_a_texture_folder_of_any_sizes_becomes_square_32px_images(tmp_path):
    for cls, size in (("banded", (64, 40)), ("dotted", (50, 90))):
        (tmp_path / "images" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", size, (10 * i, 100, 200)).save(tmp_path / "images" / cls / f"{i}.jpg")
    textures = load_texture_folder(tmp_path / "images")
    assert textures.images.shape == (6, 3, 32, 32) and "texture folder" in textures.source
    assert load_texture_folder(tmp_path / "images", limit=2).images.shape[0] == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_texture_folder(tmp_path / "empty")


def test_official_shift_metrics_score_a_model_per_corruption_and_severity(cifar10c):
    from pe_lab.evaluation.shift import official_shift_metrics
    from pe_lab.methods.registry import build

    model = build("lenet", "packed").eval()
    results = official_shift_metrics(model, cifar10c, severities=(1, 5), per_class=1)
    assert set(results) == {"fog", "snow"} and set(results["fog"]) == {1, 5}
    assert 0 <= results["snow"][5]["accuracy"] <= 1 and results["fog"][1]["nll"] > 0


def _texture_folder(root):
    (root / "images" / "banded").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (40, 40), (60 * i, 10, 200)).save(root / "images" / "banded" / f"{i}.png")
    return root / "images"


def test_the_experiment_cli_evaluates_the_official_files_beside_the_generated_ones(cifar10c, tmp_path):
    import json

    from pe_lab.cli.experiment import main

    out = tmp_path / "report.json"
    textures = _texture_folder(tmp_path / "dtd")
    main(["--synthetic", "--methods", "packed", "--seeds", "0", "--epochs", "1", "--train-per-class", "6",
          "--test-per-class", "3", "--batch-size", "16", "--schedule", "cosine", "--no-eta", "--no-progress", "--shift",
          "--shift-per-class",
          "1", "--cifar10c", str(cifar10c), "--texture-folder", str(textures), "--out", str(out),
          "--runs-dir", str(tmp_path / "runs")])
    report = json.loads(out.read_text())
    shift = report["runs"][0]["shift"]
    assert set(shift["cifar10c"]) == {"fog", "snow"} and set(shift["cifar10c"]["fog"]) == {"1", "2", "3", "4", "5"}
    assert "texture folder" in shift["textures_source"] and "official CIFAR-10-C" in shift["note"]
    assert report["identity"]["evaluation"]["cifar10c"] == str(cifar10c)  # part of the run's identity when set


def test_benchmark_options_need_shift_and_a_real_layout(cifar10c, tmp_path, capsys):
    from pe_lab.cli.experiment import main

    base = ["--synthetic", "--methods", "packed", "--seeds", "0", "--out", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as stop:
        main([*base, "--cifar10c", str(cifar10c)])
    assert stop.value.code == 2 and "--cifar10c is evaluated with the corruption sets: set shift=True (--shift)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--shift", "--cifar10c", str(tmp_path / "nowhere")])
    assert "no labels.npy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--shift", "--texture-folder", str(tmp_path / "nowhere")])
    assert "is not a folder" in capsys.readouterr().err
