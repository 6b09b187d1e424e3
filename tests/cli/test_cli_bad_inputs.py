"""Bad command lines: every argument checked before any data is read, with the rule named."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import cli_argv, cli_error

from pe_lab.data.images import DataError

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


@pytest.mark.parametrize("argv,message", [
    (["--seeds", "0,0"], "--seeds lists 0 more than once"),
    (["--methods", "packed,packed"], "--methods lists packed more than once"),
    (["--seeds", "a,b"], "--seeds must be comma-separated integers, got 'a,b'"),
    (["--methods", ""], "--methods names no method"),
    (["--methods", "bagging"], "unknown method 'bagging'"),
    (["--num-bins", "0"], "--num-bins must be an integer >= 1"),
    (["--batch-size", "0"], "--batch-size must be an integer >= 1"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--epochs", "0"], "--epochs must be an integer >= 1"),
    (["--label-smoothing", "1"], "--label-smoothing must be <= 0.999"),
    (["--model", "vgg"], "unknown --model 'vgg'"),
    (["--alpha", "inf"], "alpha must be a finite number"),
    (["--resume", "--restart"], "choose one"),
])
def test_cli_arguments_are_checked_before_any_data_is_read(tmp_path, capsys, argv, message):
    # --data points nowhere: reaching the loader would fail with "does not exist" instead of this message.
    full = ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.json"), "--no-progress", *argv]
    err = cli_error(capsys, full)
    assert message in err
    assert not (tmp_path / "r.json").exists()


def test_bench_rejects_an_empty_batch_before_building_anything(capsys, tmp_path):
    from pe_lab.cli import bench

    with pytest.raises(SystemExit) as info:
        bench.main(["--model", "lenet", "--batch", "0", "--out", str(tmp_path / "b.json")])
    assert info.value.code == 2 and "--batch must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("args,rule", [(["--compile", "tensorrt-ish"], "unknown --compile backend 'tensorrt-ish'"),
                                       (["--amp-dtype", "float8"], "invalid choice: 'float8'")])
def test_bench_rejects_an_unknown_compile_backend_or_amp_dtype(capsys, tmp_path, args, rule):
    from pe_lab.cli import bench

    with pytest.raises(SystemExit) as info:
        bench.main(["--model", "lenet", "--batch", "4", *args, "--out", str(tmp_path / "b.json")])
    assert info.value.code == 2 and rule in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_bench_reports_a_failing_contender_in_its_row(tmp_path, monkeypatch):
    from pe_lab.cli import bench
    from pe_lab.results import cost

    real = cost._step_functions

    def broken(kind, *args, **kwargs):
        if kind == "deep_vmap":
            raise RuntimeError("NYI: querying is_contiguous inside of vmap for memory_format other than "
                               "torch.contiguous_format")
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(cost, "_step_functions", broken)
    result = bench.main(["--model", "lenet", "--batch", "4", "--repeats", "1", "--warmup", "0",
                         "--contenders", "single,deep_vmap,packed", "--out", str(tmp_path / "b.json")])
    rows = {c["name"]: c for c in result["costs"]}
    assert rows["deep_vmap"]["error"].startswith("RuntimeError: NYI") and rows["deep_vmap"]["train_step_ms"] is None
    assert rows["single"]["error"] is None and rows["packed"]["train_step_ms"] > 0
    assert "failed on this device: RuntimeError: NYI" in result["table"]
    assert "PE/Single" in result["table"]
    json.loads((tmp_path / "b.json").read_text())  # valid JSON, no NaN


@pytest.mark.parametrize("change,rule", [
    (["--batch-size", "512"], "the training set has 160 images, fewer than batch_size=512"),
    (["--batch-size", "80", "--schedule", "onecycle"], "the one-cycle schedule needs at least 10 steps"),
])
def test_a_recipe_that_does_not_fit_the_data_is_a_named_error_not_a_traceback(tmp_path, capsys, change, rule):
    # Known only once the data is loaded, so not a usage error (exit 2) but a named failure (exit 1).
    message = cli_error(capsys, cli_argv(tmp_path, *change), code=1)
    assert rule in message and "Traceback" not in message
    assert not (tmp_path / "r.json").exists()


def test_test_images_of_another_size_are_refused_and_a_test_set_equal_to_train_is_said(tmp_path):
    from pe_lab.data.images import ImageSet
    from pe_lab.experiments.data import check_splits

    train = ImageSet(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]), ("a", "b"), "train")
    smaller = ImageSet(torch.zeros(4, 3, 28, 28, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]), ("a", "b"), "test")
    with pytest.raises(DataError, match="test images are \\(3, 28, 28\\) but training images \\(3, 32, 32\\)"):
        check_splits(train, smaller)
    with pytest.warns(UserWarning, match="identical to the training set"):
        check_splits(train, ImageSet(train.images.clone(), train.labels.clone(), ("a", "b"), "copy"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other = train.images.clone()
        other[0, 0, 0, 0] = 1
        check_splits(train, ImageSet(other, train.labels, ("a", "b"), "test"))  # one pixel differs: no warning
