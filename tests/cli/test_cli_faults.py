"""Command lines under faults a careless or unlucky user meets: the wrong checkpoint, empty selections, folders
that are files, names too long, values out of range, outputs that cannot be written. Each is refused with one line
naming the rule or the path, before any training, and nothing half-written is left."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import image_folder

from pe_lab.cli import bench, experiment, shift, solutions, sweep
from pe_lab.config import assets_dir

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA

TINY = ["--train-per-class", "4", "--test-per-class", "2", "--epochs", "1", "--methods", "single", "--model", "lenet",
        "--no-eta", "--no-progress", "--seeds", "0", "--schedule", "cosine", "--batch-size", "8", "--offline"]


def _exit(capsys, main, argv, code):
    """``main(argv)`` must exit ``code`` with one line on stderr and no traceback; returns that stderr."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == code, err
    assert "Traceback" not in err, err
    return err


@pytest.fixture
def data_root(tmp_path):
    """A CIFAR-10-shaped image tree (train, test) and an SVHN-shaped one, 4 and 2 images per class."""
    root = tmp_path / "data"
    image_folder(root / "cifar10-jpeg" / "train", per_class=4)
    image_folder(root / "cifar10-jpeg" / "test", per_class=2)
    image_folder(root / "svhn-test", classes=[str(d) for d in range(10)], per_class=1)
    return root


# ---------------------------------------------------------------------------------------- shift's checkpoint

def _shift_argv(report, data_root):
    return ["--report", str(report), "--data", str(data_root), "--test-per-class", "1", "--textures", "10",
            "--corruptions", "gaussian_noise", "--severities", "1", "--out", str(report.with_suffix(".shift.json"))]


def test_shift_refuses_a_checkpoint_a_later_run_wrote_at_the_same_path(tmp_path, data_root, capsys):
    out, runs = tmp_path / "r.json", tmp_path / "runs"
    common = [*TINY, "--data", str(data_root), "--out", str(out), "--runs-dir", str(runs)]
    experiment.main(common)
    copy = tmp_path / "copy.json"
    shutil.copy(out, copy)
    shift.main(_shift_argv(out, data_root))  # the report's own checkpoint: scored
    assert "warning" not in capsys.readouterr().err  # tested on the full test set as the runs were: no false alarm
    experiment.main([*common, "--epochs", "2", "--lr", "0.05", "--restart"])
    capsys.readouterr()
    err = _exit(capsys, shift.main, _shift_argv(copy, data_root), 1)
    assert "is not the one the single seed 0 run of" in err and "copy.json" in err and "sha256" in err
    assert not copy.with_suffix(".shift.json").exists()
    # a report written before runs recorded the digest: the checkpoint's recipe and epoch are compared instead
    old = json.loads(copy.read_text())
    for run in old["runs"]:
        del run["checkpoint_sha256"], run["checkpoint_epoch"]
    copy.write_text(json.dumps(old))
    err = _exit(capsys, shift.main, _shift_argv(copy, data_root), 1)
    assert "was made with other settings than the single seed 0 run" in err and "recipe.epochs: 2 -> 1" in err


def test_the_test_set_warning_is_said_only_for_another_test_set():
    from pe_lab.experiments.shift import source_kind

    assert source_kind("image folder /x/cifar10-jpeg/test (subset: 100 per class)") == "image folder cifar10-jpeg/test"
    assert source_kind("image folder ../d/cifar10-jpeg/test") == "image folder cifar10-jpeg/test"
    assert source_kind("image folder /x/cifar10-c/test") != "image folder cifar10-jpeg/test"


# ---------------------------------------------------------------------------------------- sweep collect

def test_sweep_collect_of_off_grid_points_only_writes_nothing(tmp_path, capsys):
    folder, out = tmp_path / "points", tmp_path / "results"
    folder.mkdir()
    out.mkdir()
    for name in ("lenet-w2-single-seed7.json", "lenet-w3-packed-a2-seed0.json"):
        shutil.copy(assets_dir() / "results" / "tutorial_lenet.json", folder / name)
    err = _exit(capsys, sweep.main, ["collect", "--dir", str(folder), "--out", str(out)], 1)
    assert "no finished grid point" in err and "lenet-w2-single-seed7.json" in err and "nothing was written" in err
    assert list(out.iterdir()) == []


def test_sweep_collect_refuses_a_damaged_collected_sweep_naming_its_field(tmp_path, capsys):
    folder, out = tmp_path / "points", tmp_path / "results"
    folder.mkdir()
    out.mkdir()
    shutil.copy(assets_dir() / "results" / "tutorial_lenet.json", folder / "lenet-w2-single-seed0.json")
    damaged = json.loads((assets_dir() / "results" / "sweep_alpha_lenet.json").read_text())
    del damaged["rows"][0]["runs"][0]["metrics"]["accuracy"]
    (out / "sweep_alpha_lenet.json").write_text(json.dumps(damaged))
    err = _exit(capsys, sweep.main, ["collect", "--dir", str(folder), "--out", str(out)], 1)
    assert r"rows[0].runs[0].metrics.accuracy is missing" in err
    assert sorted(p.name for p in out.iterdir()) == ["sweep_alpha_lenet.json"]


# ---------------------------------------------------------------------------------------- solutions

def _notebooks(tmp_path):
    source = tmp_path / "nb"
    source.mkdir()
    shutil.copy(assets_dir().parent / "notebooks" / "02_masks.ipynb", source)
    return source


@pytest.mark.parametrize("folder", ["no-such-folder", "a-file", "empty"])
def test_solutions_fill_refuses_a_notebooks_folder_without_notebooks(tmp_path, capsys, folder):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty").mkdir()
    err = _exit(capsys, solutions.main, ["fill", "--notebooks", str(tmp_path / folder), "--out",
                                         str(tmp_path / "out")], 1)
    assert folder in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("out", ["nb", "nb/instructor", "nb/./"])
def test_solutions_fill_refuses_to_write_into_the_student_notebooks(tmp_path, capsys, out):
    source = _notebooks(tmp_path)
    before = (source / "02_masks.ipynb").read_bytes()
    err = _exit(capsys, solutions.main, ["fill", "--notebooks", str(source), "--out", str(tmp_path / out)], 1)
    assert "--notebooks folder" in err
    assert (source / "02_masks.ipynb").read_bytes() == before
    assert sorted(p.name for p in source.iterdir()) == ["02_masks.ipynb"]


def test_solutions_fill_refuses_a_notebook_that_is_already_filled(tmp_path, capsys):
    source = _notebooks(tmp_path)
    solutions.main(["fill", "--notebooks", str(source), "--out", str(tmp_path / "filled")])
    ids = [c["id"] for c in json.loads((tmp_path / "filled" / "02_masks.ipynb").read_text())["cells"]]
    assert len(ids) == len(set(ids))
    err = _exit(capsys, solutions.main, ["fill", "--notebooks", str(tmp_path / "filled"), "--out",
                                         str(tmp_path / "twice")], 1)
    assert "already has a Solutions section" in err and not (tmp_path / "twice").exists()


@pytest.mark.parametrize("only", ["", " ", ",", "lenet_5_epochs,lenet_5_epochs", "nope"])
def test_solutions_run_refuses_an_empty_or_bad_selection_before_training(tmp_path, capsys, monkeypatch, only):
    monkeypatch.setattr(solutions, "run_exercises", lambda *a, **k: pytest.fail("trained"))
    _exit(capsys, solutions.main, ["run", "--data", str(tmp_path), "--only", only, "--out", str(tmp_path / "o")], 1)


# ---------------------------------------------------------------------------------------- operating-system errors

def _one_line(err: str, command: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pe-lab {command}: cannot ") or "error:" in lines[0], err
    return lines[0]


def test_sweep_run_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    line = _one_line(_exit(capsys, sweep.main, ["run", "--data", str(tmp_path), "--dir", str(tmp_path / "f")], 2),
                     "sweep")
    assert line == f"pe-lab sweep: cannot create the sweep folder {tmp_path / 'f'}: a file is in the way " \
                   "(a folder was expected)"
    err = _exit(capsys, sweep.main, ["collect", "--dir", str(tmp_path / "f"), "--out", str(tmp_path / "o")], 1)
    assert "is a file" in err


@pytest.mark.parametrize("where", ["name", "folder"])
def test_an_out_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys, where):
    long = "x" * 300
    out = tmp_path / (f"{long}.json" if where == "name" else f"{long}/r.json")
    err = _exit(capsys, experiment.main, ["--synthetic", *TINY, "--out", str(out), "--runs-dir",
                                          str(tmp_path / "runs")], 2)
    assert "too long" in err and len([line for line in err.splitlines() if "error" in line or "cannot" in line]) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("runs_dir", ["a-file/sub", "a-file"])
def test_a_runs_dir_that_cannot_be_made_is_refused_before_training(tmp_path, capsys, runs_dir):
    (tmp_path / "a-file").write_text("x")
    err = _exit(capsys, experiment.main, ["--synthetic", *TINY, "--out", str(tmp_path / "r.json"), "--runs-dir",
                                          str(tmp_path / runs_dir)], 2)
    assert "--runs-dir" in err and "is a file, not a folder" in err
    assert not (tmp_path / "r.json").exists()


def test_a_read_only_runs_dir_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    (tmp_path / "ro").mkdir()
    real = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and "ro" in str(dir):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    err = _exit(capsys, experiment.main, ["--synthetic", *TINY, "--out", str(tmp_path / "r.json"), "--runs-dir",
                                          str(tmp_path / "ro")], 2)
    assert "--runs-dir" in err and "read-only" in err and not (tmp_path / "r.json").exists()


def test_a_write_that_fails_mid_run_is_one_line_exit_2_and_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    import errno

    import pe_lab.config as config

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(config.torch, "save", full_disk)
    err = _exit(capsys, experiment.main, ["--synthetic", *TINY, "--out", str(tmp_path / "r.json"), "--runs-dir",
                                          str(tmp_path / "runs")], 2)
    assert _one_line(err, "experiment").startswith("pe-lab experiment: cannot write") and "disk is full" in err
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_a_home_that_cannot_hold_the_data_cache_is_not_a_traceback(tmp_path, capsys, monkeypatch, data_root):
    (tmp_path / "a-file").write_text("x")
    monkeypatch.delenv("PE_LAB_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "a-file" / "home"))
    try:
        experiment.main([*TINY, "--data", str(data_root), "--out", str(tmp_path / "r.json"), "--runs-dir",
                         str(tmp_path / "runs")])
    except SystemExit as stop:  # refused: one line naming the path
        err = capsys.readouterr().err
        assert stop.code == 2 and "Traceback" not in err
        _one_line(err, "experiment")
    else:  # the cache is optional: a warning, and the run goes on
        assert json.loads((tmp_path / "r.json").read_text())["runs"]


def test_bench_and_solutions_name_an_unwritable_out_before_the_work(tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    err = _exit(capsys, bench.main, ["--model", "lenet", "--out", str(tmp_path / "a-file" / "b.json")], 2)
    assert "is a file, not a folder" in err
    source = _notebooks(tmp_path)
    err = _exit(capsys, solutions.main, ["fill", "--notebooks", str(source), "--out", str(tmp_path / "a-file" / "o")],
                2)
    assert _one_line(err, "solutions").startswith("pe-lab solutions: cannot")


# ---------------------------------------------------------------------------------------- values out of range

@pytest.mark.parametrize(("argv", "rule"), [
    (["--lr", "1e300"], "--lr must be <= 10"),
    (["--lr=-inf"], "--lr must be a finite number"),
    (["--width", "1e9"], "--width must be <= 64"),
    (["--alpha", "nan"], "--alpha must be a finite number"),
    (["--num-estimators", "2.5"], "--num-estimators must be an integer"),
    (["--gamma", "0"], "--gamma must be an integer >= 1"),
    (["--epochs", "1e3"], "--epochs must be an integer"),
    (["--batch-size", "99999999999"], "--batch-size must be an integer <= "),
    (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
    (["--momentum=-0.1"], "--momentum must be >= 0"),
    (["--rho", "2"], "--rho must be <= 1"),
    (["--scale", "0.5"], "--scale must be >= 1"),
    (["--num-bins", "1e9"], "--num-bins must be an integer"),
    (["--image-size", "100000"], "--image-size must be an integer <= 4096"),
    (["--seeds", "100000000000000000"], "--seeds must be integers in [0, 2147483647]"),
    (["--seeds", "1e17"], "--seeds must be comma-separated integers"),
    (["--train-per-class=-3"], "--train-per-class must be an integer >= 1"),
])
def test_experiment_values_out_of_range_are_refused_before_any_data(tmp_path, capsys, argv, rule):
    err = _exit(capsys, experiment.main, ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.json"),
                                          "--runs-dir", str(tmp_path / "runs"), "--no-progress", *argv], 2)
    assert rule in err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "runs").exists()


def test_an_experiment_built_in_code_meets_the_same_rules():
    from pe_lab.experiments.presets import preset

    with pytest.raises(ValueError, match="lr must be a finite number"):
        preset("quick", lr=float("inf"))
    with pytest.raises(TypeError, match="num_estimators must be an integer"):
        preset("quick", num_estimators=2.5)
    with pytest.raises(TypeError, match="an Experiment has no setting 'learning_rate'"):
        preset("quick", learning_rate=0.1)


@pytest.mark.parametrize(("argv", "rule"), [
    (["--textures", "0"], "--textures must be an integer >= 1"),
    (["--textures", "1e9"], "--textures must be an integer"),
    (["--test-per-class=-1"], "--test-per-class must be an integer >= 1"),
    (["--seed", "1.5"], "--seed must be an integer"),
    (["--seed", "99999999999999999"], "--seed must be an integer <= 2147483647"),
    (["--severities", ""], "--corruptions and --severities must each name at least one"),
    (["--methods", ","], "--methods names no method"),
])
def test_shift_values_out_of_range_are_refused(tmp_path, capsys, argv, rule):
    report = tmp_path / "r.json"
    shutil.copy(assets_dir() / "results" / "tutorial_lenet.json", report)
    err = _exit(capsys, shift.main, ["--report", str(report), *argv], 2)
    assert rule in err


@pytest.mark.parametrize(("argv", "rule"), [
    (["--alpha", "inf"], "--alpha must be a finite number"),
    (["--repeats", "0"], "--repeats must be an integer >= 1"),
    (["--gamma", "1.5"], "--gamma must be an integer"),
    (["--batch", "1e12"], "--batch must be an integer"),
])
def test_bench_values_out_of_range_are_refused(tmp_path, capsys, argv, rule):
    err = _exit(capsys, bench.main, ["--model", "lenet", "--out", str(tmp_path / "b.json"), *argv], 2)
    assert rule in err and not (tmp_path / "b.json").exists()


# ---------------------------------------------------------------------------------------- refused before training

def test_an_ood_folder_of_another_image_size_is_refused_before_training(tmp_path, capsys):
    train = image_folder(tmp_path / "train", per_class=4)
    test = image_folder(tmp_path / "test", per_class=2)
    ood = image_folder(tmp_path / "ood", classes=["a", "b"], per_class=2, size=28)
    argv = ["--train-folder", str(train), "--test-folder", str(test), "--ood-folder", str(ood), "--data-mode",
            "memory", *TINY[4:], "--out", str(tmp_path / "r.json"), "--runs-dir", str(tmp_path / "runs")]
    err = _exit(capsys, experiment.main, argv, 1)
    assert "OOD images are (3, 28, 28) but training images (3, 32, 32)" in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("same", ["test", "train", "test/."])
def test_the_test_or_train_folder_given_as_the_ood_folder_is_refused(tmp_path, capsys, same):
    image_folder(tmp_path / "train", per_class=4)
    image_folder(tmp_path / "test", per_class=2)
    argv = ["--train-folder", str(tmp_path / "train"), "--test-folder", str(tmp_path / "test"), "--ood-folder",
            str(tmp_path / same), *TINY[4:], "--out", str(tmp_path / "r.json"), "--runs-dir", str(tmp_path / "runs")]
    err = _exit(capsys, experiment.main, argv, 2)
    assert "--ood-folder" in err and "out-of-distribution images must come from another data set" in err
