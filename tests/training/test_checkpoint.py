"""A run's identity, checkpoints and --resume: a checkpoint or report of other settings is refused naming the
difference; garbage checkpoints are named."""

from __future__ import annotations

import pytest
import torch
from helpers import cli_argv, cli_error

from pe_lab.cli.experiment import main
from pe_lab.data.images import synthetic_dataset
from pe_lab.experiments.spec import checkpoint_path
from pe_lab.methods.registry import build
from pe_lab.training.checkpoint import CheckpointError, RunMismatch, first_difference
from pe_lab.training.loop import fit

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


@pytest.mark.parametrize("change,difference", [
    (["--lr", "0.05"], "lr: 0.1 -> 0.05"),
    (["--label-smoothing", "0.1"], "label_smoothing: 0.0 -> 0.1"),
    (["--epochs", "2"], "epochs: 1 -> 2"),
    (["--batch-size", "8"], "batch_size: 16 -> 8"),
])
def test_a_checkpoint_of_other_settings_is_refused_naming_the_difference(tmp_path, capsys, change, difference):
    main(cli_argv(tmp_path))
    argv = cli_argv(tmp_path)
    flag = change[0]
    at = argv.index(flag) if flag in argv else None
    if at is None:
        argv += change
    else:
        argv[at + 1] = change[1]
    message = cli_error(capsys, argv, code=1)
    assert "was made by a run with other settings" in message and difference in message and "--restart" in message


def test_another_data_subset_is_another_run(tmp_path, capsys):
    main(cli_argv(tmp_path))
    argv = cli_argv(tmp_path)
    argv[argv.index("--train-per-class") + 1] = "20"
    message = cli_error(capsys, argv, code=1)
    assert "train.count: 160 -> 200" in message


def test_restart_trains_afresh_and_same_settings_resume(tmp_path, capsys):
    first = main(cli_argv(tmp_path))
    again = main(cli_argv(tmp_path))  # same settings: the checkpoint is the same run, reused
    assert again.runs[0].metrics == first.runs[0].metrics
    changed = main(cli_argv(tmp_path, "--lr", "0.05", "--restart"))
    assert changed.identity["recipe"]["lr"] == 0.05
    assert changed.runs[0].history["train_loss"] != first.runs[0].history["train_loss"]


def test_the_same_out_name_in_another_folder_has_its_own_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    assert checkpoint_path(tmp_path / "a/r.json", runs, "packed", 0) != checkpoint_path(tmp_path / "b/r.json", runs,
                                                                                      "packed", 0)


def test_resume_refuses_runs_of_another_configuration(tmp_path, capsys):
    main(cli_argv(tmp_path))
    message = cli_error(capsys, cli_argv(tmp_path, "--resume", "--alpha", "4"), code=1)
    assert "resume: the runs in" in message and "alpha: 2.0 -> 4.0" in message


def test_resume_keeps_runs_of_the_same_configuration(tmp_path):
    main(cli_argv(tmp_path))
    report = main(cli_argv(tmp_path, "--resume"))
    assert len(report.runs) == 1


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
