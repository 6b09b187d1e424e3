"""Data sources, batches, the trainer (checkpoints, resume, divergence) and the experiment CLI, on tiny data."""

import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from pe_lab.cli.experiment import main
from pe_lab.data.images import CIFAR10_CLASSES, Batches, ImageSet, load_cifar10, load_svhn, subset, synthetic_dataset
from pe_lab.evaluation.prediction import evaluate, predict_member_probs
from pe_lab.methods.registry import build
from pe_lab.results.tables import format_table
from pe_lab.training.loop import fit
from pe_lab.training.step import TrainingDiverged

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def _write_image_folder(root, classes, per_class=3, size=32):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / c / f"{i:04d}.png")


def test_image_folder_tree_is_found_and_decoded(tmp_path):
    _write_image_folder(tmp_path / "cifar10-jpeg" / "test", CIFAR10_CLASSES, per_class=2)
    data = load_cifar10("test", tmp_path, download=False)
    assert data.images.shape == (20, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels.bincount().tolist() == [2] * 10
    first = np.asarray(Image.open(tmp_path / "cifar10-jpeg" / "test" / "airplane" / "0000.png"))
    assert torch.equal(data.images[0], torch.from_numpy(first.copy()).permute(2, 0, 1))
    again = load_cifar10("test", tmp_path, download=False)  # second time from the cache
    assert torch.equal(again.images, data.images)


def test_svhn_folder_and_env_var(tmp_path, monkeypatch):
    _write_image_folder(tmp_path / "svhn-test", [str(d) for d in range(10)], per_class=1)
    monkeypatch.setenv("PE_LAB_DATA", str(tmp_path))
    data = load_svhn(download=False)
    assert len(data) == 10 and data.labels.tolist() == list(range(10))


def test_torchvision_pickle_format(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batch = {"data": rng.integers(0, 255, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 9]}
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump(batch, handle)
    data = load_cifar10("test", tmp_path, download=False)
    assert data.labels.tolist() == [0, 1, 2, 9]
    assert torch.equal(data.images[1].flatten(), torch.from_numpy(batch["data"][1]))


def test_mismatched_class_folders_and_missing_data_are_clear_errors(tmp_path):
    _write_image_folder(tmp_path / "test", ["cat", "dog"], per_class=1)
    with pytest.raises(ValueError, match=r"class folders in .* do not match: missing \['airplane'.*unexpected \[\]"):
        load_cifar10("test", tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10("test", tmp_path / "nowhere", download=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_svhn(empty, download=False)
    message = str(info.value)
    assert "Ways to get data" in message and "PE_LAB_DATA" in message and "synthetic_dataset" in message
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_cifar10("val", tmp_path)


def test_image_set_validation():
    with pytest.raises(ValueError, match="images must be uint8"):
        ImageSet(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.long), ("a", "b"), "x")
    with pytest.raises(ValueError, match="is empty"):
        ImageSet(torch.zeros(0, 3, 4, 4, dtype=torch.uint8), torch.zeros(0, dtype=torch.long), ("a",), "x")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        ImageSet(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), torch.tensor([2]), ("a", "b"), "x")


def test_subset_is_balanced_and_labelled():
    data = synthetic_dataset(20, 5)
    small = subset(data, 3)
    assert small.labels.bincount().tolist() == [3] * 5 and "subset" in small.source and small.synthetic


def test_batches_normalise_and_augment_by_translation_and_flip():
    data = synthetic_dataset(8, 2)
    plain = next(iter(Batches(data, 16)))[0]
    mean = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
    std = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, (data.images.float() / 255 - mean) / std)
    batches = Batches(data, 16, augment=True, generator=torch.Generator().manual_seed(3))
    augmented = next(iter(batches))[0] * std + mean
    padded = torch.nn.functional.pad(data.images.float() / 255, (4, 4, 4, 4))
    for i in range(16):  # every augmented image is a 32x32 window of the padded image, maybe flipped
        found = any(torch.allclose(window, augmented[i], atol=1e-5)
                    for dy in range(9) for dx in range(9)
                    for window in (padded[i, :, dy:dy + 32, dx:dx + 32], padded[i, :, dy:dy + 32, dx:dx + 32].flip(-1)))
        assert found
    assert len(Batches(data, 5)) == 4 and len(Batches(data, 5, drop_last=True)) == 3


def test_fit_learns_synthetic_data_for_every_kind():
    train, test = synthetic_dataset(40, 4), synthetic_dataset(10, 4, split="test")
    for kind in ("single", "deep", "packed"):
        torch.manual_seed(0)
        model = build("lenet", kind, num_classes=4, alpha=2, num_estimators=2)
        history = fit(model, train, test, epochs=4, batch_size=32, lr=0.05, progress=False)
        assert len(history.test_accuracy) == 4
        assert history.test_accuracy[-1] > 0.6, (kind, history.test_accuracy)
        assert evaluate(model, test)["accuracy"] == pytest.approx(history.test_accuracy[-1])
        assert predict_member_probs(model, test).shape == (40, 1 if kind == "single" else 2, 4)


def test_de_members_see_their_own_order_and_pe_members_the_same_batch():
    train = synthetic_dataset(16, 2)
    deep = build("lenet", "deep", num_classes=2, num_estimators=2)
    first_batches = []
    for member in deep.members:
        member.register_forward_hook(lambda mod, inputs, out: first_batches.append(inputs[0].clone())
                                     if len(first_batches) < 2 and mod.training else None)
    fit(deep, train, epochs=1, batch_size=8, schedule="cosine", progress=False)
    assert len(first_batches) == 2 and not torch.equal(first_batches[0], first_batches[1])


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path):
    train = synthetic_dataset(12, 2)  # 24 images, batch 4: 6 steps per epoch
    torch.manual_seed(0)
    straight = build("lenet", "packed", num_classes=2, alpha=2, num_estimators=2)
    initial = {k: v.clone() for k, v in straight.state_dict().items()}
    fit(straight, train, epochs=2, batch_size=4, progress=False, checkpoint=tmp_path / "a.pt")
    # Interrupted: one epoch of a 2-epoch run (same schedule), then resume from the checkpoint.
    resumed = build("lenet", "packed", num_classes=2, alpha=2, num_estimators=2)
    resumed.load_state_dict(initial)
    path = tmp_path / "b.pt"
    _stop_after_epochs(resumed, train, path, stop_after=1)
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 1
    fresh = build("lenet", "packed", num_classes=2, alpha=2, num_estimators=2)
    history = fit(fresh, train, epochs=2, batch_size=4, progress=False, checkpoint=path, resume=True)
    assert len(history.train_loss) == 2
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob("*.tmp*"))  # atomic writes leave no temporary files behind


def _stop_after_epochs(model, train, path, stop_after):
    """Run fit for 2 epochs but kill it (an exception) once `stop_after` epochs have been checkpointed."""
    import pe_lab.training.loop as train_module

    original = train_module.atomic_save
    calls = []

    def save_then_maybe_stop(state, target):
        original(state, target)
        calls.append(1)
        if len(calls) >= stop_after:
            raise KeyboardInterrupt

    train_module.atomic_save = save_then_maybe_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            fit(model, train, epochs=2, batch_size=4, progress=False, checkpoint=path)
    finally:
        train_module.atomic_save = original


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    train = synthetic_dataset(8, 2)
    fit(build("lenet", "single", num_classes=2), train, epochs=1, batch_size=4, schedule="cosine", progress=False,
        checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="checkpoint .* is for"):
        fit(build("lenet", "packed", num_classes=2, alpha=2, num_estimators=2), train, epochs=2, batch_size=4,
            schedule="cosine", progress=False, checkpoint=tmp_path / "c.pt", resume=True)


def test_nan_loss_stops_with_a_clear_message_and_keeps_last_good_checkpoint(tmp_path):
    train = synthetic_dataset(8, 2)
    model = build("lenet", "single", num_classes=2)
    calls = {"n": 0}

    def poison(module, inputs, output):
        calls["n"] += 1
        return output * float("nan") if calls["n"] > 2 else output  # epoch 1 has 2 steps

    model.register_forward_hook(poison)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match=r"loss became non-finite \(NaN or inf\) at epoch 2, step 1; the last good checkpoint is .*run.pt \(epoch 1\)"):
        fit(model, train, epochs=3, batch_size=8, schedule="cosine", progress=False, checkpoint=path)
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


@pytest.mark.parametrize("member", [0, 1])
def test_a_diverging_de_member_is_named_member_0_included(member):
    """stop_if_diverged promised to name the member and never named member 0 (``if unit``)."""
    train = synthetic_dataset(8, 2)
    model = build("lenet", "deep", num_estimators=2, num_classes=2)
    model.members[member].register_forward_hook(lambda module, inputs, output: output * float("nan"))
    with pytest.raises(TrainingDiverged, match=f"at epoch 1, step 1 of member {member};"):
        fit(model, train, epochs=1, batch_size=8, schedule="cosine", progress=False)
    single = build("lenet", "single", num_classes=2)
    single.register_forward_hook(lambda module, inputs, output: output * float("nan"))
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 1; "):  # one unit: no member to name
        fit(single, train, epochs=1, batch_size=8, schedule="cosine", progress=False)


def test_fit_rejects_bad_arguments():
    train = synthetic_dataset(4, 2)
    model = build("lenet", "single", num_classes=2)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        fit(model, train, epochs=0)
    with pytest.raises(ValueError, match="fewer than batch_size=128"):
        fit(model, train, epochs=1)
    with pytest.raises(ValueError, match="one-cycle schedule needs at least 10 steps"):
        fit(model, train, epochs=1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        fit(model, train, epochs=1, batch_size=4, schedule="step", progress=False)


def test_experiment_cli_writes_json_with_provenance(tmp_path, capsys):
    out = tmp_path / "r.json"
    report = main(["--synthetic", "--train-per-class", "16", "--epochs", "1", "--seeds", "0,1", "--batch-size", "16",
                   "--model", "lenet", "--alpha", "2", "--num-estimators", "2", "--methods", "single,packed",
                   "--out", str(out), "--runs-dir", str(tmp_path / "runs"), "--no-progress", "--save-predictions"])
    stored = json.loads(out.read_text())
    assert stored["provenance"]["data"]["synthetic"] is True
    for key in ("command", "hardware", "torch", "git_commit", "seeds", "date"):
        assert key in stored["provenance"]
    assert {(r["method"], r["seed"]) for r in stored["runs"]} == {(m, s) for m in ("single", "packed") for s in (0, 1)}
    assert stored["summary"]["packed"]["accuracy"]["n"] == 2
    table = capsys.readouterr().out
    assert "| PE(2,2,1) |" in table and "Synthetic data: not CIFAR-10" in table
    assert format_table(report) in table
    predictions = torch.load(tmp_path / "r-predictions-packed-seed0.pt", weights_only=True)
    assert predictions["test"].shape[1:] == (2, 10)
    from pe_lab.teaching.viz import results_figure

    figure = results_figure(report)
    assert len(figure.axes) == 6 and "SYNTHETIC" in figure._suptitle.get_text()


def test_experiment_cli_rejects_bad_configuration(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--synthetic", "--model", "resnet20", "--num-estimators", "4", "--gamma", "3", "--out", str(tmp_path / "x.json")])
    assert info.value.code == 2
    assert "is not divisible by num_estimators*gamma=12" in capsys.readouterr().err


def test_resume_with_a_new_seed_keeps_the_finished_seeds(tmp_path):
    """--resume --seeds 2 over seeds 0 and 1 left only seed 2: finished runs are kept, as documented."""
    common = ["--synthetic", "--train-per-class", "8", "--test-per-class", "4", "--epochs", "1", "--batch-size", "8",
              "--model", "lenet", "--methods", "single", "--out", str(tmp_path / "r.json"), "--runs-dir",
              str(tmp_path / "runs"), "--no-progress", "--no-eta", "--resume"]
    main([*common, "--seeds", "0,1"])
    first = json.loads((tmp_path / "r.json").read_text())
    report = main([*common, "--seeds", "2"])
    assert sorted(r.seed for r in report.runs) == [0, 1, 2]
    assert report.summary["single"]["accuracy"].n == 3 and report.provenance.seeds == (0, 1, 2)
    kept = {r.seed: r.metrics for r in report.runs}
    assert kept[0] == next(r["metrics"] for r in first["runs"] if r["seed"] == 0)  # kept, not retrained
