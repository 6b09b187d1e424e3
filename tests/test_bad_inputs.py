"""Issue 9: every bad input or fault a careful user tried gets a named error or the correct result.

Each test feeds the bad input and asserts the error names the rule it broke (or that the result is right).
The README's "Bad inputs" table lists these cases.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from pe_lab.cli.experiment import main, parser
from pe_lab.data.images import CIFAR10_CLASSES, DataError, load_cifar10, synthetic_dataset
from pe_lab.evaluation.metrics import (
    accuracy,
    ece,
    ece_by_hand,
    evaluate_predictions,
    fpr_at_tpr,
    nll,
    ood_metrics,
    ood_score,
)
from pe_lab.methods.registry import build
from pe_lab.nn.layers import PackedConv2d, PackedLinear, logits_by_member, members_to_packed, packed_to_members
from pe_lab.nn.masks import from_dense, to_dense
from pe_lab.results.report import checkpoint_path, load_predictions, read_report, report_lock
from pe_lab.training.checkpoint import CheckpointError, RunMismatch, first_difference
from pe_lab.training.loop import fit


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PE_LAB_DATA", raising=False)


def _image_folder(root, classes=CIFAR10_CLASSES, per_class=2, size=32):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / c / f"{i:04d}.png")
    return root


def _cli(tmp_path, *extra, out="r.json", epochs="1"):
    """A tiny real experiment: LeNet on synthetic data, about a second per run."""
    return ["--synthetic", "--train-per-class", "16", "--epochs", epochs, "--seeds", "0", "--batch-size", "16",
            "--model", "lenet", "--alpha", "2", "--num-estimators", "2", "--methods", "packed", "--no-ood",
            "--out", str(tmp_path / out), "--runs-dir", str(tmp_path / "runs"), "--no-progress", *extra]


def _cli_error(capsys, argv, code=2) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == code
    return capsys.readouterr().err


# --------------------------------------------------------------- 1-2: a run's identity, checkpoints, --resume

@pytest.mark.parametrize("change,difference", [
    (["--lr", "0.05"], "lr: 0.1 -> 0.05"),
    (["--label-smoothing", "0.1"], "label_smoothing: 0.0 -> 0.1"),
    (["--epochs", "2"], "epochs: 1 -> 2"),
    (["--batch-size", "8"], "batch_size: 16 -> 8"),
])
def test_a_checkpoint_of_other_settings_is_refused_naming_the_difference(tmp_path, capsys, change, difference):
    main(_cli(tmp_path))
    argv = _cli(tmp_path)
    flag = change[0]
    at = argv.index(flag) if flag in argv else None
    if at is None:
        argv += change
    else:
        argv[at + 1] = change[1]
    message = _cli_error(capsys, argv, code=1)
    assert "was made by a run with other settings" in message and difference in message and "--restart" in message


def test_another_data_subset_is_another_run(tmp_path, capsys):
    main(_cli(tmp_path))
    argv = _cli(tmp_path)
    argv[argv.index("--train-per-class") + 1] = "20"
    message = _cli_error(capsys, argv, code=1)
    assert "train.count: 160 -> 200" in message


def test_restart_trains_afresh_and_same_settings_resume(tmp_path, capsys):
    first = main(_cli(tmp_path))
    again = main(_cli(tmp_path))  # same settings: the checkpoint is the same run, reused
    assert again["runs"][0]["metrics"] == first["runs"][0]["metrics"]
    changed = main(_cli(tmp_path, "--lr", "0.05", "--restart"))
    assert changed["identity"]["recipe"]["lr"] == 0.05
    assert changed["runs"][0]["history"]["train_loss"] != first["runs"][0]["history"]["train_loss"]


def test_the_same_out_name_in_another_folder_has_its_own_checkpoint(tmp_path):
    args_a = parser().parse_args(_cli(tmp_path, out="a/r.json"))
    args_b = parser().parse_args(_cli(tmp_path, out="b/r.json"))
    assert checkpoint_path(args_a, "packed", 0) != checkpoint_path(args_b, "packed", 0)


def test_resume_refuses_runs_of_another_configuration(tmp_path, capsys):
    main(_cli(tmp_path))
    message = _cli_error(capsys, _cli(tmp_path, "--resume", "--alpha", "4"), code=1)
    assert "--resume: the runs in" in message and "alpha: 2.0 -> 4.0" in message


def test_resume_keeps_runs_of_the_same_configuration(tmp_path):
    main(_cli(tmp_path))
    report = main(_cli(tmp_path, "--resume"))
    assert len(report["runs"]) == 1


def test_first_difference_finds_nested_and_missing_keys():
    assert first_difference({"a": 1}, {"a": 1}) is None
    assert first_difference({"a": {"b": 1}}, {"a": {"b": 2}}) == "a.b: 1 -> 2"
    assert first_difference({"a": 1}, {"a": 1, "c": 3}) == "c: '<absent>' -> 3"


def test_fit_identity_is_checked_for_library_users_too(tmp_path):
    train = synthetic_dataset(8, 2)
    path = tmp_path / "c.pt"
    fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, schedule="cosine", progress=False,
        checkpoint=path)
    with pytest.raises(RunMismatch, match=r"lr: 0.1 -> 0.2"):
        fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, lr=0.2, schedule="cosine",
            progress=False, checkpoint=path, resume=True)
    other_data = synthetic_dataset(8, 2, seed=5)
    with pytest.raises(RunMismatch, match=r"train.digest"):
        fit(build("lenet", "single", num_classes=2), other_data, epochs=1, batch_size=4, schedule="cosine",
            progress=False, checkpoint=path, resume=True)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated"])
def test_a_garbage_checkpoint_is_named(tmp_path, content):
    path = tmp_path / "c.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"checkpoint .*c.pt cannot be read.*--restart"):
        fit(build("lenet", "single", num_classes=2), synthetic_dataset(8, 2), epochs=1, batch_size=4,
            schedule="cosine", progress=False, checkpoint=path, resume=True)


def test_a_truncated_checkpoint_is_named_and_restart_replaces_it(tmp_path):
    train = synthetic_dataset(8, 2)
    path = tmp_path / "c.pt"
    fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, schedule="cosine", progress=False,
        checkpoint=path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError):
        fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, schedule="cosine",
            progress=False, checkpoint=path, resume=True)
    fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, schedule="cosine", progress=False,
        checkpoint=path, resume=True, restart=True)
    assert torch.load(path, weights_only=True)["epoch"] == 1


def test_a_checkpoint_of_another_kind_of_file_is_named(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a pe-lab training checkpoint"):
        fit(build("lenet", "single", num_classes=2), synthetic_dataset(8, 2), epochs=1, batch_size=4,
            schedule="cosine", progress=False, checkpoint=path, resume=True)


# --------------------------------------------------------------------------------- 3: the decoded-data cache

def test_the_cache_sees_images_added_or_replaced_inside_a_class_folder(tmp_path):
    root = _image_folder(tmp_path / "test")
    first = load_cifar10("test", tmp_path, download=False)
    assert len(first) == 20
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(root / "cat" / "9999.png")
    assert len(load_cifar10("test", tmp_path, download=False)) == 21
    replaced = root / "dog" / "0000.png"
    Image.fromarray(np.full((32, 32, 3), 7, dtype=np.uint8)).save(replaced)
    data = load_cifar10("test", tmp_path, download=False)
    index = [i for i, label in enumerate(data.labels.tolist()) if label == CIFAR10_CLASSES.index("dog")][0]
    assert int(data.images[index].float().mean()) == 7


def test_a_text_file_named_jpg_is_a_named_error(tmp_path):
    root = _image_folder(tmp_path / "test")
    (root / "cat" / "notes.jpg").write_text("this is not an image")
    with pytest.raises(DataError, match=r"cannot decode image .*cat/notes.jpg.*Replace or delete"):
        load_cifar10("test", tmp_path, download=False)


def test_a_truncated_png_is_a_named_error(tmp_path):
    root = _image_folder(tmp_path / "test")
    image = root / "bird" / "0001.png"
    image.write_bytes(image.read_bytes()[:60])
    with pytest.raises(DataError, match=r"cannot decode image .*bird/0001.png"):
        load_cifar10("test", tmp_path, download=False)


def test_an_image_of_another_size_is_named(tmp_path):
    root = _image_folder(tmp_path / "test")
    Image.fromarray(np.zeros((28, 30, 3), dtype=np.uint8)).save(root / "ship" / "odd.png")
    with pytest.raises(DataError, match=r"1 image\(s\) under .* differ from the 32x32.*ship/odd.png is 30x28"):
        load_cifar10("test", tmp_path, download=False)


def test_hidden_folders_are_not_classes(tmp_path):
    root = _image_folder(tmp_path / "test")
    (root / ".ipynb_checkpoints").mkdir()
    (root / "cat" / ".hidden.png").write_text("litter")
    assert len(load_cifar10("test", tmp_path, download=False)) == 20


def test_an_emptied_class_folder_is_named(tmp_path):
    root = _image_folder(tmp_path / "test")
    for image in (root / "frog").iterdir():
        image.unlink()
    with pytest.raises(DataError, match=r"class folder .*frog has no images"):
        load_cifar10("test", tmp_path, download=False)


def test_a_cache_path_that_is_a_file_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "cachefile"
    blocker.write_text("x")
    monkeypatch.setenv("PE_LAB_CACHE", str(blocker))
    _image_folder(tmp_path / "test")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder; point PE_LAB_CACHE at a folder"):
        load_cifar10("test", tmp_path, download=False)


# ------------------------------------------------------------------------------ 4: duplicates, CLI arguments

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
    err = _cli_error(capsys, full)
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


# ------------------------------------------------------------------------------------- 5: metrics' inputs

def _probs(n=40, k=10, seed=0):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed)).softmax(-1)


def test_a_nan_probability_is_refused_by_every_metric():
    probs, labels = _probs(), torch.arange(40) % 10
    probs[3, 2] = float("nan")
    for metric in (accuracy, nll, ece, ece_by_hand):
        with pytest.raises(ValueError, match=r"probs has non-finite values \(NaN or inf\) in 1 of 40 samples"):
            metric(probs, labels)


def test_logits_passed_as_probabilities_are_refused():
    logits, labels = torch.randn(40, 10), torch.arange(40) % 10
    for metric in (ece, ece_by_hand, nll, accuracy):
        with pytest.raises(ValueError, match=r"logits passed instead of softmax outputs\?"):
            metric(logits, labels)
    positive = logits.exp()  # in range only when tiny, but never summing to 1
    with pytest.raises(ValueError, match="must sum to 1 over the K classes"):
        ece(positive / positive.sum() * 3, labels)


def test_a_nan_ood_score_is_refused():
    with pytest.raises(ValueError, match=r"out_scores has 1 non-finite scores"):
        ood_metrics(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.9, float("nan")]))


def test_ood_probabilities_with_other_classes_are_refused():
    member = _probs(30, 10).reshape(10, 3, 10)
    ood = _probs(20, 5).reshape(10, 2, 5)
    with pytest.raises(ValueError, match=r"same members and classes"):
        evaluate_predictions(member, torch.arange(10) % 10, ood)


def test_fpr_at_an_impossible_tpr_is_refused():
    with pytest.raises(ValueError, match="tpr must be <= 1, got tpr=1.5"):
        fpr_at_tpr(torch.tensor([0.1, 0.2]), torch.tensor([0.8]), tpr=1.5)


def test_ood_score_checks_criterion_and_probabilities():
    with pytest.raises(ValueError, match="unknown OOD criterion 'energy'"):
        ood_score(_probs(6, 10).reshape(3, 2, 10), "energy")
    with pytest.raises(ValueError, match=r"member_probs must be \(N, M, K\)"):
        ood_score(_probs(6, 10))


def test_float16_stored_predictions_still_pass():
    probs = _probs(500, 10).half().float()
    assert 0 <= ece(probs, torch.arange(500) % 10) <= 1


# ------------------------------------------------------------------------------------------ 6: from_dense

def test_from_dense_refuses_nan_outside_the_mask():
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, padding=1)
    dense = to_dense(layer)
    with torch.no_grad():
        dense.weight[0, -1, 0, 0] = float("nan")  # member 0's output, member 1's input: outside the mask
    with pytest.raises(ValueError, match=r"dense weight has 1 non-finite entries"):
        from_dense(dense, like=layer)


@pytest.mark.parametrize("attr,value", [("stride", (2, 2)), ("padding", (0, 0)), ("dilation", (2, 2))])
def test_from_dense_refuses_another_geometry(attr, value):
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, padding=1)
    dense = to_dense(layer)
    setattr(dense, attr, value)
    with pytest.raises(ValueError, match=rf"dense has {attr}=.* but like has {attr}="):
        from_dense(dense, like=layer)


def test_from_dense_refuses_another_kind_of_layer_or_bias():
    linear = PackedLinear(4, 4, alpha=1, num_estimators=2)
    with pytest.raises(TypeError, match="dense must be an nn.Linear"):
        from_dense(nn.Conv2d(4, 4, 1), like=linear)
    with pytest.raises(ValueError, match="dense has no bias but like has one"):
        from_dense(nn.Linear(4, 4, bias=False), like=linear)


# ---------------------------------------------------------------------------- 8: two runs, one --out at once

def test_a_second_run_on_the_same_out_is_refused_while_the_first_writes(tmp_path, capsys):
    out = tmp_path / "r.json"
    with report_lock(out):
        message = _cli_error(capsys, _cli(tmp_path), code=1)
    assert "is being written by another run (pid" in message
    main(_cli(tmp_path))  # once the first run is done, the lock is free again
    assert read_report(out)["runs"]


# ------------------------------------------------------------------------- poor today: reports and results

def test_a_garbage_report_is_named(tmp_path, capsys):
    (tmp_path / "r.json").write_text("{ not json")
    message = _cli_error(capsys, _cli(tmp_path, "--resume"), code=1)
    assert "report" in message and "r.json cannot be read as JSON" in message


def test_garbage_stored_predictions_are_named(tmp_path):
    path = tmp_path / "p.pt"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"stored predictions .*p.pt cannot be read"):
        load_predictions(path)


# ------------------------------------------------------------------------------ poor today: layer arguments

@pytest.mark.parametrize("make,error,message", [
    (lambda: PackedConv2d(4, 4, 3, alpha=float("inf"), num_estimators=2), ValueError, "alpha must be a finite"),
    (lambda: PackedConv2d(4, 4, 3, alpha="2", num_estimators=2), TypeError, "alpha must be a number, got '2'"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=True), TypeError, "num_estimators must be an integer, got True"),
    (lambda: PackedConv2d(4, 4, 0, alpha=1, num_estimators=2), ValueError, "kernel_size must be an integer >= 1"),
    (lambda: PackedConv2d(4, 4, -1, alpha=1, num_estimators=2), ValueError, "kernel_size must be an integer >= 1"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, stride=0), ValueError, "stride must be an integer >= 1"),
    (lambda: packed_to_members(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: members_to_packed(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: logits_by_member(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: build("lenet", "packed", num_estimators=True), TypeError, "num_estimators must be an integer"),
])
def test_layer_arguments_get_named_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_numpy_integers_are_integers():
    layer = PackedConv2d(np.int64(4), np.int64(4), 3, alpha=np.float32(2), num_estimators=np.int64(2),
                         gamma=np.int32(1))
    assert (layer.num_estimators, layer.groups) == (2, 2) and type(layer.num_estimators) is int
    model = build("lenet", "packed", alpha=np.float64(2), num_estimators=np.int64(2))
    json.dumps(model.spec.to_dict())  # plain Python numbers in the spec


def test_float64_input_is_a_named_error():
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2)
    with pytest.raises(TypeError, match="has torch.float32 weights but got a torch.float64 input"):
        layer(torch.zeros(1, 4, 5, 5, dtype=torch.float64))
    model = build("lenet", "single")
    with pytest.raises(TypeError, match="torch.float64 input"):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
    assert model.double()(torch.zeros(1, 3, 32, 32, dtype=torch.float64)).shape == (1, 1, 10)


# ------------------------------------------------------------------------------ poor today: explorers

def test_explorer_update_refuses_values_its_widgets_would_clamp():
    from pe_lab.teaching.explorers import mask_explorer, ood_explorer

    _, update = mask_explorer()
    with pytest.raises(ValueError, match=r"num_estimators=0 is outside this explorer's range \[1, "):
        update(num_estimators=0)
    with pytest.raises(ValueError, match="alpha=1.25 is not on the slider's grid"):
        update(alpha=1.25)
    with pytest.raises(ValueError, match="gamma must be an integer"):
        update(gamma=1.5)
    member = _probs(40, 10).reshape(20, 2, 10)
    _, update_ood = ood_explorer({"PE": (member, member.flip(0))})
    with pytest.raises(ValueError, match=r"criterion='energy' is not one of \['msp'"):
        update_ood(criterion="energy")


# ---------------------------------------------------------------------- older torch (Colab images lag behind)

def test_grad_scaler_falls_back_to_torch_cuda_amp(monkeypatch):
    from pe_lab.config import grad_scaler

    assert grad_scaler(False).is_enabled() is False
    monkeypatch.delattr(torch.amp, "GradScaler")  # torch < 2.3 has no torch.amp.GradScaler
    scaler = grad_scaler(False)
    assert type(scaler).__module__.startswith("torch.cuda.amp") and scaler.is_enabled() is False


def test_autocast_query_works_without_the_device_argument(monkeypatch):
    from pe_lab.nn import layers

    def old_is_autocast_enabled(*args):  # torch < 2.4 takes no device argument
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments")
        return False

    monkeypatch.setattr(torch, "is_autocast_enabled", old_is_autocast_enabled)
    assert layers._autocast_on("cuda") is False
    assert layers._autocast_on("cpu") is torch.is_autocast_cpu_enabled()


@pytest.mark.parametrize("change,rule", [
    (["--batch-size", "512"], "the training set has 160 images, fewer than batch_size=512"),
    (["--batch-size", "80", "--schedule", "onecycle"], "the one-cycle schedule needs at least 10 steps"),
])
def test_a_recipe_that_does_not_fit_the_data_is_a_named_error_not_a_traceback(tmp_path, capsys, change, rule):
    # Known only once the data is loaded, so not a usage error (exit 2) but a named failure (exit 1).
    message = _cli_error(capsys, _cli(tmp_path, *change), code=1)
    assert rule in message and "Traceback" not in message
    assert not (tmp_path / "r.json").exists()


# ------------------------------------------------------------ round two: library functions name the rule

def test_uint8_images_fed_to_a_model_advise_normalising():
    with pytest.raises(TypeError, match="got torch.uint8 images; .* scale and normalise them first"):
        build("lenet", "single")(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_integer_labels_of_any_width_are_accepted_by_nll_and_brier(dtype):
    from pe_lab.evaluation.metrics import brier_score

    probs, labels = torch.tensor([[0.25, 0.75], [0.9, 0.1]]), torch.tensor([1, 0])
    assert nll(probs, labels.to(dtype)) == pytest.approx(nll(probs, labels))
    assert brier_score(probs, labels.to(dtype)) == pytest.approx(brier_score(probs, labels))


@pytest.mark.parametrize("labels,message", [(torch.tensor([1.0, 0.0]), "integer class indices"),
                                            (torch.tensor([True, False]), "integer class indices"),
                                            ([1, 0], "must be a torch.Tensor")])
def test_float_bool_or_list_labels_name_the_rule(labels, message):
    with pytest.raises(TypeError, match=message):
        nll(torch.tensor([[0.25, 0.75], [0.9, 0.1]]), labels)


def test_pack_keeps_its_members_dtype():
    from pe_lab.methods.packed import pack

    members = [build("lenet", "single").double().eval() for _ in range(2)]
    packed = pack(members).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    assert next(packed.parameters()).dtype == torch.float64
    assert torch.allclose(packed(x), torch.cat([m(x) for m in members], 1), atol=1e-12)
    with pytest.raises(TypeError, match="members of one dtype"):
        pack([build("lenet", "single"), build("lenet", "single").double()])


def test_a_one_class_folder_is_refused_before_any_decoding(tmp_path):
    from pe_lab.data.images import load_image_folder

    (tmp_path / "cat").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "cat" / "0.png")
    with pytest.raises(DataError, match="has one class folder \\(cat\\); a classifier needs at least two"):
        load_image_folder(tmp_path)


def test_test_images_of_another_size_are_refused_and_a_test_set_equal_to_train_is_said(tmp_path):
    from pe_lab.cli.experiment import check_splits
    from pe_lab.data.images import ImageSet

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
