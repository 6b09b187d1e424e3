"""The Lightning engine: the same training as ``fit``, several processes that match one, rank 0 alone writing,
checkpoints that either engine resumes, streamed image folders, and the refusals that come before any data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

pytest.importorskip("lightning")

from pe_lab.cli import experiment  # noqa: E402
from pe_lab.data.images import synthetic_dataset
from pe_lab.data.streaming import FolderSet, SeededItems, ShardedEpochSampler, choose_mode
from pe_lab.methods.registry import build
from pe_lab.training.checkpoint import RunMismatch, load_checkpoint
from pe_lab.training.engine_choice import LightningMissing, check_engine, global_rank, require_lightning
from pe_lab.training.lightning import fit_lightning
from pe_lab.training.loop import fit

ROOT = Path(__file__).resolve().parents[2]
QUIET = dict(progress=False, device="cpu")


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------------------ refusals

def test_missing_lightning_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)
    with pytest.raises(LightningMissing, match=r"pip install 'pe-lab\[lightning\]'"):
        require_lightning()


def _cli_refusal(monkeypatch, capsys, *args) -> str:
    """Run the CLI with ``args``; it must exit before any data is read, and return its error message."""
    from pe_lab.experiments import run

    monkeypatch.setattr(run, "load_data", lambda *args: pytest.fail("data was read before the refusal"))
    with pytest.raises(SystemExit) as stop:
        experiment.main(["--synthetic", "--model", "lenet", "--epochs", "1", "--seeds", "0", "--device", "cpu",
                         *args])
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("args,rule", [
    (["--engine", "lightning", "--devices", "4096"], "more CPU cores than this machine has"),
    (["--engine", "lightning", "--devices", "0"], "devices must be an integer >= 1"),
    (["--engine", "lightning", "--strategy", "fsdp"], "a Lightning strategy that pe-lab's engine does not run"),
    (["--engine", "lightning", "--strategy", "horovod"], "unknown --strategy 'horovod'"),
    (["--engine", "lightning", "--devices", "2"], "need a data-parallel strategy"),
    (["--engine", "lightning", "--devices", "2", "--strategy", "ddp", "--batch-size", "33"], "divisible by --devices x --num-nodes = 2"),
    (["--engine", "lightning", "--num-nodes", "0"], "--num-nodes must be an integer >= 1"),
    (["--engine", "lightning", "--num-nodes", "2"], "need a data-parallel strategy"),
    (["--engine", "pe-lab", "--devices", "2", "--strategy", "ddp"], "use --engine lightning"),
    (["--data-mode", "stream", "--train-folder", "a", "--test-folder", "b"], "only the Lightning engine"),
    (["--train-folder", "a"], "go together"),
    (["--engine", "lightning", "--num-workers", "-1"], "num-workers must be an integer >= 0"),
])
def test_engine_options_are_refused_before_any_data_is_read(monkeypatch, capsys, args, rule):
    assert rule in _cli_refusal(monkeypatch, capsys, *args)


def test_missing_lightning_is_refused_before_any_data_is_read(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)
    assert "pip install 'pe-lab[lightning]'" in _cli_refusal(monkeypatch, capsys, "--engine", "lightning")


def test_check_engine_accepts_what_can_run_and_refuses_its_neighbours():
    assert check_engine("pe-lab") is None
    assert check_engine("lightning", devices=2, strategy="ddp", batch_size=64) is None
    assert check_engine("lightning", devices=1) is None
    with pytest.raises(ValueError, match="divisible"):  # the same call one step off: must be refused
        check_engine("lightning", devices=2, strategy="ddp", batch_size=63)
    with pytest.raises(ValueError):
        check_engine("lightning", devices=2)  # no data-parallel strategy


@pytest.mark.parametrize("env,first", [({}, True), ({"RANK": "0"}, True), ({"RANK": "3"}, False),
                                       ({"LOCAL_RANK": "1"}, False), ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, True),
                                       ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
                                       ({"SLURM_PROCID": "2", "SLURM_NTASKS": "4"}, False),
                                       ({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}, True),
                                       ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}, True)])
def test_global_rank_is_zero_only_for_the_first_process(monkeypatch, env, first):
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "SLURM_NTASKS", "JSM_NAMESPACE_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert (global_rank() == 0) is first  # only zero-or-not is promised: rank 0 alone writes


# ------------------------------------------------------------------------------------ data and sampling

def _global_batches(size: int, batch: int, world: int, epoch: int = 0, unit: int = 0, offset: int = 0):
    per_rank = []
    for rank in range(world):
        sampler = ShardedEpochSampler(size, batch, num_replicas=world, rank=rank, seed=5, unit=unit,
                                      epoch_offset=offset)
        sampler.set_epoch(epoch)
        keys = list(sampler)
        per_rank.append([keys[i:i + batch] for i in range(0, len(keys), batch)])
    return [sorted(sum((ranks[step] for ranks in per_rank), [])) for step in range(len(per_rank[0]))]


def test_n_processes_see_the_global_batches_of_one():
    one = _global_batches(100, 24, 1)
    assert _global_batches(100, 12, 2) == one
    assert _global_batches(100, 6, 4) == one
    assert len(one) == 4  # 100 // 24: the incomplete last batch is dropped, as fit does
    flat = sum(one, [])
    assert len(set(flat)) == len(flat)  # no image twice in an epoch
    # the classic mistakes: the same order every epoch, or for every member, or a resume that restarts the order
    assert _global_batches(100, 24, 1, epoch=1) != one
    assert _global_batches(100, 24, 1, unit=1) != one
    assert _global_batches(100, 24, 1, epoch=1) == _global_batches(100, 24, 1, epoch=0, offset=1)
    assert all(key // 100 == 1 for key in sum(_global_batches(100, 24, 1, epoch=1), []))  # keys carry the epoch


def test_an_images_augmentation_depends_on_the_image_not_on_who_reads_it():
    data = synthetic_dataset(4, 3)
    items = SeededItems(data, seed=1)
    first, again = items[7], SeededItems(data, seed=1)[7]
    assert torch.equal(first[0], again[0]) and first[1] == again[1]
    assert not torch.equal(items[7][0], items[len(data) + 7][0]) or not torch.equal(items[7][0], items[2 * 12 + 7][0])
    sampler = ShardedEpochSampler(len(data), 4, seed=1)
    by_main = [b for b, _ in torch.utils.data.DataLoader(items, batch_size=4, sampler=sampler)]
    by_workers = [b for b, _ in torch.utils.data.DataLoader(items, batch_size=4, sampler=sampler, num_workers=2)]
    assert all(torch.equal(a, b) for a, b in zip(by_main, by_workers, strict=True))
    plain = SeededItems(data, train=False)
    assert torch.equal(plain[3][0], data.images[3])  # test items are not augmented


def _image_folder(root: Path, sizes: list[tuple[int, int]], classes=("cat", "dog"), seed: int = 0) -> Path:
    from PIL import Image

    generator = torch.Generator().manual_seed(seed)
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for index, (width, height) in enumerate(sizes):
            pixels = torch.randint(0, 60, (height, width, 3), generator=generator, dtype=torch.uint8)
            pixels[..., label % 3] += 150  # a colour per class (of the first three): learnable
            Image.fromarray(pixels.numpy()).save(root / name / f"{index:03d}.png")
    return root


def test_the_data_mode_follows_size_and_shape(tmp_path):
    uniform = _image_folder(tmp_path / "uniform", [(40, 40)] * 3)
    mixed = _image_folder(tmp_path / "mixed", [(40, 48), (64, 64), (50, 30)])
    assert choose_mode(uniform) == "memory"
    assert choose_mode(mixed) == "stream"  # the in-memory path needs one size
    assert choose_mode(uniform, limit=1000) == "stream"  # 6 x 40 x 40 x 3 bytes exceed the limit
    assert choose_mode(mixed, "memory") == "memory"  # a flag decides


def test_a_streamed_folder_gives_imagenet_crops_in_file_order(tmp_path):
    folder = FolderSet(_image_folder(tmp_path / "f", [(40, 48), (64, 64), (50, 30)]), image_size=32)
    assert folder.classes == ("cat", "dog") and folder.labels.tolist() == [0, 0, 0, 1, 1, 1]
    train = SeededItems(folder, train=True, seed=0)
    assert train[0][0].shape == (3, 32, 32) and train[0][0].dtype == torch.uint8
    assert torch.equal(train[4][0], SeededItems(folder, seed=0)[4][0])
    images, labels = next(iter(folder.batches(6)))
    assert images.shape == (6, 3, 32, 32) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    fingerprint = folder.fingerprint()
    (tmp_path / "f" / "cat" / "000.png").write_bytes((tmp_path / "f" / "cat" / "001.png").read_bytes())
    assert FolderSet(tmp_path / "f", image_size=32).fingerprint() != fingerprint  # a replaced image is seen


def test_the_cifar10_data_module_finds_cifar10_and_svhn_folders(tmp_path, monkeypatch):
    from pe_lab.data.images import CIFAR10_CLASSES
    from pe_lab.training.lightning import EnsembleDataModule

    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))
    for split in ("train", "test"):
        _image_folder(tmp_path / "cifar10-jpeg" / split, [(32, 32)] * 2, classes=CIFAR10_CLASSES)
    _image_folder(tmp_path / "svhn-test", [(32, 32)], classes=tuple(str(d) for d in range(10)))
    data = EnsembleDataModule.cifar10(tmp_path, download=False, batch_size=8, units=2)
    assert (len(data.train_set), len(data.test_set), len(data.ood_set)) == (20, 20, 10)
    loaders = data.train_dataloader()
    assert len(loaders) == 2  # one per DE member: their own shuffles
    first, second = (next(iter(loader))[1] for loader in loaders)
    assert first.shape == (8,) and not torch.equal(first, second)
    test, ood = data.predict_dataloader()
    assert next(iter(test))[1].tolist() == data.test_set.labels[:8].tolist()  # in order
    assert sum(len(labels) for _, labels in ood) == 10
    normalised = data.on_after_batch_transfer(next(iter(loaders[0])))
    assert normalised[0][0].dtype == torch.float32 and abs(normalised[0][0].mean().item()) < 3


# ------------------------------------------------------------------------------ the same training as fit

def _recipe(**overrides) -> dict:
    # One full batch per epoch and no augmentation: the order of images cannot matter, so both engines must
    # compute the same steps (up to floating-point summation order).
    return dict(epochs=2, batch_size=30, lr=0.05, schedule="cosine", augment=False, seed=0, **QUIET) | overrides


@pytest.mark.parametrize("method", ["single", "packed", "deep"])
def test_lightning_trains_as_fit_does(method, tmp_path):
    train = synthetic_dataset(3, 10)
    torch.manual_seed(0)
    by_fit = build("lenet", method, num_estimators=2)
    by_lightning = build("lenet", method, num_estimators=2)
    by_lightning.load_state_dict(by_fit.state_dict())
    history_fit = fit(by_fit, train, train, **_recipe())
    history_lightning = fit_lightning(by_lightning, train, train, **_recipe())
    assert _max_difference(_weights(by_fit), _weights(by_lightning)) < 1e-5
    assert history_lightning.train_loss == pytest.approx(history_fit.train_loss, rel=1e-5)
    assert history_lightning.test_accuracy == pytest.approx(history_fit.test_accuracy)
    # and the comparison can fail: the same start with another learning rate ends elsewhere
    torch.manual_seed(0)
    other = build("lenet", method, num_estimators=2)
    fit_lightning(other, train, None, **_recipe(lr=0.02))
    assert _max_difference(_weights(by_fit), _weights(other)) > 1e-3


class _Stop(RuntimeError):
    """Raised by a patched checkpoint writer: the run dies after its first epoch."""


def _die_after_first_checkpoint(monkeypatch, module) -> None:
    real = module.atomic_save  # both engines write through config.atomic_save

    def save_then_die(obj, path):
        real(obj, path)
        raise _Stop("killed after epoch 1")

    monkeypatch.setattr(module, "atomic_save", save_then_die)


@pytest.mark.parametrize("first,second", [("pe-lab", "lightning"), ("lightning", "pe-lab")])
def test_a_checkpoint_of_one_engine_is_resumed_by_the_other(first, second, tmp_path, monkeypatch):
    import pe_lab.training.lightning as lightning_engine
    import pe_lab.training.loop as train_module

    engines = {"pe-lab": (fit, train_module), "lightning": (fit_lightning, lightning_engine)}
    train = synthetic_dataset(3, 10)
    torch.manual_seed(0)
    start = _weights(build("lenet", "deep", num_estimators=2))

    def model():
        net = build("lenet", "deep", num_estimators=2)
        net.load_state_dict(start)
        return net

    straight = model()
    fit(straight, train, train, **_recipe(epochs=3))
    path = tmp_path / "run.pt"
    with monkeypatch.context() as patch:
        _die_after_first_checkpoint(patch, engines[first][1])
        with pytest.raises(_Stop):
            engines[first][0](model(), train, train, checkpoint=path, **_recipe(epochs=3))
    assert load_checkpoint(path)["epoch"] == 1
    resumed = model()
    history = engines[second][0](resumed, train, train, checkpoint=path, resume=True, **_recipe(epochs=3))
    assert len(history.train_loss) == 3
    # momentum buffers and the schedule came across: the same weights as three epochs in one go
    assert _max_difference(_weights(straight), _weights(resumed)) < 1e-5
    trained_by = load_checkpoint(path)["trained_by"]
    assert [(t["engine"], t["from_epoch"]) for t in trained_by] == [(first, 0), (second, 1)]
    with pytest.raises(RunMismatch, match="lr: 0.05 -> 0.1"):
        engines[first][0](model(), train, train, checkpoint=path, resume=True, **_recipe(epochs=3, lr=0.1))


# ---------------------------------------------------------------------------- several processes (gloo)

WRITE_AUDIT = textwrap.dedent("""
    import os, sys
    _log = os.environ.get("PE_LAB_WRITE_LOG")
    if _log:
        _fd = os.open(os.path.join(_log, f"{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(_fd, f"start\\t{os.environ.get('LOCAL_RANK', '-')}\\n".encode())
        _writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

        def _hook(event, args):
            try:
                path = None
                if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
                    mode, flags = args[1], args[2] or 0
                    if (isinstance(mode, str) and any(c in mode for c in "wax+")) or flags & _writes:
                        path = args[0]
                elif event == "os.rename":  # (src, dst, src_dir_fd, dst_dir_fd): the file that appears
                    path = args[1]
                elif event in ("os.remove", "os.mkdir"):
                    path = args[0]
                if path is not None:
                    os.write(_fd, f"write\\t{os.fsdecode(path)}\\n".encode())
            except Exception:  # an audit hook must never break the program it watches
                pass
        sys.addaudithook(_hook)

        def _at_exit():  # registered first, so it runs after every other exit handler
            distributed = sys.modules.get("torch.distributed")
            alive = distributed is not None and distributed.is_available() and distributed.is_initialized()
            os.write(_fd, f"exit\\t{'process group alive' if alive else 'clean'}\\n".encode())
        import atexit
        atexit.register(_at_exit)
""")


def _run_cli(tmp_path: Path, name: str, *args: str, audit: Path | None = None,
             launcher: tuple[str, ...] = (sys.executable, "-m")) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore", PE_LAB_CACHE=str(tmp_path / "cache"))
    if audit is not None:
        (tmp_path / "site").mkdir(exist_ok=True)
        (tmp_path / "site" / "sitecustomize.py").write_text(WRITE_AUDIT)
        audit.mkdir()
        env.update(PE_LAB_WRITE_LOG=str(audit),
                   PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")]))
    command = [*launcher, "pe_lab", "experiment", "--out", str(tmp_path / name / "report.json"),
               "--runs-dir", str(tmp_path / name / "runs"), "--device", "cpu", "--no-progress", "--no-eta",
               "--seeds", "0", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """The same LeNet runs (PE and DE, synthetic data) on one process with batch 40 and on two with 20 each."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    common = ["--engine", "lightning", "--synthetic", "--train-per-class", "16", "--model", "lenet",
              "--methods", "packed,deep", "--num-estimators", "2", "--epochs", "2", "--batch-size", "40",
              "--schedule", "cosine"]
    _run_cli(tmp_path, "one", *common)
    _run_cli(tmp_path, "two", *common, "--devices", "2", "--strategy", "ddp", audit=tmp_path / "audit-two")
    # torchrun starts both processes itself; Lightning sees its environment and launches nothing
    torchrun = (str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node", "2", "-m")
    _run_cli(tmp_path, "torchrun", *common, "--devices", "2", "--strategy", "ddp", audit=tmp_path / "audit-torchrun",
             launcher=torchrun)
    return tmp_path


@pytest.mark.parametrize("launch", ["two", "torchrun"])
@pytest.mark.parametrize("method", ["packed", "deep"])
def test_two_gloo_processes_match_one_process_with_the_same_global_batch(ddp_runs, method, launch):
    one = load_checkpoint(next((ddp_runs / "one" / "runs").glob(f"*-{method}-seed0.pt")))
    two = load_checkpoint(next((ddp_runs / launch / "runs").glob(f"*-{method}-seed0.pt")))
    # Stated tolerance: float32 sums in another order (two half-batch means averaged by the all-reduce).
    assert _max_difference(one["model"], two["model"]) < 1e-4
    assert two["history"]["train_loss"] == pytest.approx(one["history"]["train_loss"], rel=1e-4)
    assert two["trained_by"] == [{"engine": "lightning", "processes": 2, "strategy": "ddp", "from_epoch": 0}]
    start = build("lenet", method, num_estimators=2).state_dict()  # and it trained: weights moved
    assert _max_difference(start, two["model"]) > 1e-2
    report = json.loads((ddp_runs / launch / "report.json").read_text())
    run = next(r for r in report["runs"] if r["method"] == method)
    reference = next(r for r in json.loads((ddp_runs / "one" / "report.json").read_text())["runs"]
                     if r["method"] == method)
    assert run["engine"] == {"name": "lightning", "processes": 2, "strategy": "ddp"}
    assert run["trained_by"] == two["trained_by"]
    assert run["metrics"]["accuracy"] == pytest.approx(reference["metrics"]["accuracy"], abs=0.011)


@pytest.mark.parametrize("launch", ["two", "torchrun"])
def test_only_rank_zero_writes_files(ddp_runs, launch):
    logs = {}
    for log in (ddp_runs / f"audit-{launch}").glob("*.log"):
        lines = [line.split("\t", 1) for line in log.read_text().splitlines()]
        logs[log.stem] = {"rank": lines[0][1], "writes": [path for kind, path in lines if kind == "write"]}
    workers = [entry for entry in logs.values() if entry["rank"] == "1"]
    # rank 0 is the command itself under Lightning's launcher (no LOCAL_RANK), torchrun's LOCAL_RANK 0 under it
    main = [entry for entry in logs.values() if entry["rank"] == ("0" if launch == "torchrun" else "-")]
    assert len(workers) == 1 and len(main) == 1  # the audit saw both processes
    out = str(ddp_runs / launch)
    assert any(path.startswith(out) for path in main[0]["writes"])  # the audit sees rank 0's writes
    # Nothing of the run (report, checkpoints, data cache, logs in the working directory) comes from rank 1;
    # libraries' own caches (matplotlib's config, torch's temp folders) are not the run's files.
    ours = (str(ddp_runs), str(ROOT))
    assert [path for path in workers[0]["writes"] if path.startswith(ours)] == []


@pytest.mark.parametrize("launch", ["two", "torchrun"])
def test_every_process_destroys_its_process_group_before_it_exits(ddp_runs, launch):
    # A gloo process group left alive at interpreter shutdown can abort the process (SIGABRT, "terminate called
    # without an active exception"): it did once on CI. Racy as a crash, certain as a state at exit.
    ends = [log.read_text().splitlines()[-1] for log in (ddp_runs / f"audit-{launch}").glob("*.log")]
    # two training processes, plus torchrun's own agent process when torchrun launches them
    assert ends == ["exit\tclean"] * (3 if launch == "torchrun" else 2)


def test_the_report_says_which_engine_trained_a_run_it_found_finished(tmp_path):
    common = ["--synthetic", "--train-per-class", "8", "--model", "lenet", "--methods", "single", "--epochs", "1",
              "--batch-size", "20", "--schedule", "cosine"]
    _run_cli(tmp_path, "run", *common)  # pe-lab trains it
    report = tmp_path / "run" / "report.json"
    pe_lab_run = json.loads(report.read_text())["runs"][0]
    assert pe_lab_run["trained_by"] == [{"engine": "pe-lab", "processes": 1, "from_epoch": 0}]
    report.unlink()  # the same command on the other engine finds the checkpoint finished and trains nothing
    _run_cli(tmp_path, "run", *common, "--engine", "lightning")
    run = json.loads(report.read_text())["runs"][0]
    assert run["engine"]["name"] == "lightning"  # the command's engine ...
    assert run["trained_by"] == pe_lab_run["trained_by"]  # ... and the one that trained it
    assert run["metrics"] == pe_lab_run["metrics"]


# ------------------------------------------------------------------- streamed folders, ImageNet ResNet-50

def test_imagenet_resnet50_trains_end_to_end_on_a_streamed_folder(tmp_path):
    sizes = [(72, 64), (64, 80), (96, 96), (70, 70)]
    _image_folder(tmp_path / "data" / "train", sizes)
    _image_folder(tmp_path / "data" / "val", sizes[:2], seed=1)
    _image_folder(tmp_path / "data" / "ood", sizes[:2], classes=("x", "y"), seed=2)
    done = _run_cli(tmp_path, "imagenet", "--engine", "lightning", "--model", "resnet50_imagenet",
                    "--train-folder", str(tmp_path / "data" / "train"), "--test-folder", str(tmp_path / "data" / "val"),
                    "--ood-folder", str(tmp_path / "data" / "ood"), "--image-size", "64", "--num-workers", "2",
                    "--methods", "single,packed,deep", "--num-estimators", "2", "--alpha", "2", "--epochs", "1",
                    "--batch-size", "4", "--schedule", "cosine")
    report = json.loads((tmp_path / "imagenet" / "report.json").read_text())
    assert [r["method"] for r in report["runs"]] == ["single", "packed", "deep"]
    assert "streamed, 64x64 crops" in report["provenance"]["data"]["train"]
    assert report["provenance"]["data"]["num_train"] == 8 and report["provenance"]["data"]["num_test"] == 4
    assert report["identity"]["data"]["data_mode"] == "auto"  # chosen: the images differ in size
    for run in report["runs"]:
        assert 0 <= run["metrics"]["accuracy"] <= 1 and "ood" in run["metrics"]
    assert "| Single |" in done.stdout


def test_a_streamed_folder_is_refused_by_the_single_process_engine(tmp_path):
    _image_folder(tmp_path / "train", [(40, 48), (64, 64)])
    _image_folder(tmp_path / "val", [(40, 48)])
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-m", "pe_lab", "experiment", "--train-folder", str(tmp_path / "train"),
                           "--test-folder", str(tmp_path / "val"), "--model", "resnet50_imagenet", "--epochs", "1",
                           "--seeds", "0", "--out", str(tmp_path / "r.json"), "--device", "cpu", "--no-eta"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "only the Lightning engine reads" in done.stderr and "--engine lightning" in done.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("engine", ["pe-lab", "lightning"])
def test_the_eta_covers_the_runs_still_to_do_and_says_what_it_timed(tmp_path, engine):
    common = ["--synthetic", "--train-per-class", "8", "--model", "lenet", "--methods", "single,packed",
              "--epochs", "1", "--batch-size", "20", "--schedule", "cosine", "--engine", engine]
    command = [sys.executable, "-m", "pe_lab", "experiment", "--out", str(tmp_path / "report.json"), "--runs-dir",
               str(tmp_path / "runs"), "--device", "cpu", "--no-progress", "--seeds", "0", *common]
    env = dict(os.environ, PYTHONWARNINGS="ignore", PE_LAB_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    eta = json.loads((tmp_path / "report.json").read_text())["eta"]
    assert eta["runs"] == {"single": 1, "packed": 1} and set(eta["seconds_per_epoch"]) == {"single", "packed"}
    assert eta["total_seconds"] == pytest.approx(sum(eta["seconds_per_epoch"].values()))
    assert "ETA (training only" in done.stdout
    assert ("a guide for the lightning engine" in done.stdout) == (engine == "lightning")
    # resumed with one seed more: only the new seed's runs are estimated
    again = subprocess.run([*command[:command.index("--seeds") + 1], "0,1", *common, "--resume"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "report.json").read_text())["eta"]["runs"] == {"single": 1, "packed": 1}


def test_sigterm_during_lightning_training_exits_143_and_says_how_to_resume(tmp_path):
    """A preempted SLURM job (SIGTERM) exited 0 with no report: it must never look finished."""
    import signal
    import time

    env = dict(os.environ, PYTHONWARNINGS="ignore", PE_LAB_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "pe_lab", "experiment", "--engine", "lightning", "--synthetic",
               "--train-per-class", "40", "--test-per-class", "2", "--model", "lenet", "--methods", "single",
               "--epochs", "400", "--batch-size", "40", "--schedule", "cosine", "--seeds", "0", "--device", "cpu",
               "--no-progress", "--no-eta", "--out", str(tmp_path / "report.json"), "--runs-dir", str(tmp_path / "runs")]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "runs").glob("*.pt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # wait for the first epoch's checkpoint: the run is training
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 143, out[-2000:] + err[-2000:]
    assert "stopped by SIGTERM" in err and "run the same command again to resume" in err and "Traceback" not in err
    assert not (tmp_path / "report.json").exists()
    assert load_checkpoint(next((tmp_path / "runs").glob("*.pt")))["epoch"] >= 1
