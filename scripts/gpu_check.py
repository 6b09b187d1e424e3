"""One-shot GPU check: correctness on the device, the cost benchmark, and the H100 preset, as JSON with provenance.

Made for a GPU machine that receives only this checkout (at most 64 MiB: no ../shared) and has torch,
torchvision, einops, tqdm and torchmetrics but maybe no pytest, plotly or jupyter. Two steps:

    make gpu-pack                                  # here: pack CIFAR-10 + SVHN into .gpu-data/ (ignored, ~25 MiB)
    python scripts/gpu_check.py --out "$OUT"       # there: about 5 minutes on one H100 before the last two
                                                   # benches (bf16, torch.compile), which a time limit may cut

It writes into ``--out``: ``gpu-check.json`` (every check with its numbers, the machine, torch, the commit;
rewritten after each step), ``bench-resnet18-b128.json``, ``bench-resnet18-b512.json``, ``experiment-h100.json``
(with its stored predictions), then ``bench-resnet18-b128-bf16.json`` and ``bench-resnet18-b128-compile.json``.
``--smoke`` runs the same code path on tiny settings (CPU is fine): the test suite uses it so
that this script cannot rot between the rare runs on a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a bare checkout: no pip install needed

from pe_lab.cli import bench, experiment  # noqa: E402
from pe_lab.config import atomic_save, set_seed  # noqa: E402
from pe_lab.data.datapack import unpack  # noqa: E402
from pe_lab.data.images import synthetic_dataset  # noqa: E402
from pe_lab.evaluation.prediction import predict_member_probs  # noqa: E402
from pe_lab.methods.packed import unpack as unpack_members  # noqa: E402
from pe_lab.methods.registry import build  # noqa: E402
from pe_lab.nn.layers import PackedConv2d  # noqa: E402
from pe_lab.nn.masks import to_dense  # noqa: E402
from pe_lab.results.provenance import provenance  # noqa: E402
from pe_lab.runtime import get_device  # noqa: E402
from pe_lab.training.loop import fit  # noqa: E402

DEFAULT_PACK = ROOT / ".gpu-data" / "cifar10-svhn.pack"


def _check_equivalence(device: torch.device) -> dict:
    """Grouped conv == masked dense conv, and a PE == its unpacked members, on the device (fp32 and AMP)."""
    set_seed(0)
    layer = PackedConv2d(32, 64, 3, alpha=2, num_estimators=4, gamma=2, padding=1).to(device)
    x = torch.randn(8, 64, 16, 16, device=device)
    with torch.no_grad():
        conv_difference = (to_dense(layer)(x) - layer(x)).abs().max().item()
    pe = build("resnet20", "packed", alpha=2, num_estimators=4, gamma=1).to(device).eval()
    members = [m.to(device).eval() for m in unpack_members(pe)]
    images = torch.randn(16, 3, 32, 32, device=device)
    with torch.no_grad():
        fp32 = (pe(images) - torch.cat([m(images) for m in members], 1)).abs().max().item()
        with torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16):
            amp = (pe(images).float() - torch.cat([m(images) for m in members], 1).float()).abs().max().item()
    return {"grouped_vs_masked_dense_fp32": conv_difference, "pe_vs_members_fp32": fp32, "pe_vs_members_amp": amp,
            "ok": conv_difference < 1e-3 and fp32 < 1e-3 and amp < 5e-2}


def _check_training(device: torch.device, workdir: Path) -> dict:
    """A short AMP run on the device: finite loss, a checkpoint that resumes, predictions that are probabilities."""
    set_seed(0)
    train, test = synthetic_dataset(32, 10), synthetic_dataset(8, 10, split="test")
    model = build("lenet", "packed", alpha=2, num_estimators=2)
    history = fit(model, train, test, epochs=2, batch_size=32, schedule="cosine", device=device, progress=False,
                  checkpoint=workdir / "check.pt")
    resumed = fit(build("lenet", "packed", alpha=2, num_estimators=2), train, test, epochs=2, batch_size=32,
                  schedule="cosine", device=device, progress=False, checkpoint=workdir / "check.pt", resume=True)
    probs = predict_member_probs(model, test, device=device)
    finite = all(v == v for v in history.train_loss)
    return {"train_loss": history.train_loss, "test_accuracy": history.test_accuracy,
            "resume_reproduces_history": resumed.to_dict() == history.to_dict(),
            "probabilities_sum_to_one": bool(torch.allclose(probs.sum(-1), torch.ones(probs.shape[:2]), atol=1e-3)),
            "ok": finite and resumed.to_dict() == history.to_dict()}


def _check_lightning(device: torch.device) -> dict:
    """The Lightning engine on the device (one process): the same weights as ``fit`` on full batches in fp32, and
    a finite AMP run. Skipped (recorded as such) where Lightning is not installed."""
    try:
        from pe_lab.training.lightning import fit_lightning
    except ImportError as error:
        return {"skipped": str(error), "ok": True}
    train = synthetic_dataset(3, 10)
    recipe = dict(epochs=2, batch_size=30, lr=0.05, schedule="cosine", augment=False, device=device, progress=False)
    set_seed(0)
    by_fit = build("lenet", "deep", num_estimators=2)
    by_lightning = build("lenet", "deep", num_estimators=2)
    by_lightning.load_state_dict(by_fit.state_dict())
    fit(by_fit, train, train, amp=False, **recipe)
    fit_lightning(by_lightning, train, train, amp=False, **recipe)
    ours, theirs = by_fit.state_dict(), by_lightning.state_dict()
    difference = max((ours[k].float() - theirs[k].float()).abs().max().item() for k in ours)
    amp_history = fit_lightning(build("lenet", "packed", alpha=2, num_estimators=2), train, train, **recipe)
    finite = all(v == v for v in amp_history.train_loss)
    return {"fit_vs_lightning_max_weight_difference": difference, "amp_train_loss": amp_history.train_loss,
            "ok": difference < 1e-4 and finite}


def _run_step(name: str, function, record: dict, out: Path | None = None) -> None:
    """Run one step, record its result or error; with ``out``, write the record so far (a run cut short by a
    time limit still leaves every finished step)."""
    started = time.perf_counter()
    print(f"[gpu-check] {name} ...", flush=True)
    try:
        record[name] = {"result": function(), "seconds": round(time.perf_counter() - started, 1)}
    except Exception as error:  # noqa: BLE001 - a failed step is recorded and the next one still runs
        record[name] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-4000:],
                        "seconds": round(time.perf_counter() - started, 1)}
    print(f"[gpu-check] {name}: {json.dumps(record[name], default=str)[:400]}", flush=True)
    if out is not None:
        atomic_save(json.dumps(record, indent=1, default=str), out / "gpu-check.json")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON results (e.g. $OUT)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="data pack made by `make gpu-pack`")
    p.add_argument("--smoke", action="store_true", help="tiny settings: checks that this script runs")
    args = p.parse_args(argv)
    try:
        device = get_device(args.device)
    except (ValueError, TypeError) as error:
        p.error(str(error))  # exit 2, one line: this script is for a machine that has the device
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="pe-lab-gpu-check-"))
    record: dict = {"provenance": provenance(
        "python scripts/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:]), device,
        cuda=torch.version.cuda, smoke=args.smoke)}
    started = time.perf_counter()
    _run_step("equivalence_on_device", lambda: _check_equivalence(device), record, args.out)
    _run_step("training_on_device", lambda: _check_training(device, workdir), record, args.out)
    _run_step("lightning_on_device", lambda: _check_lightning(device), record, args.out)
    model, batches, repeats = ("lenet", (8,), "1") if args.smoke else ("resnet18", (128, 512), "10")
    for batch in batches:
        _run_step(f"bench_b{batch}", lambda b=batch: bench.main(
            ["--model", model, "--batch", str(b), "--device", str(device), "--repeats", repeats,
             "--warmup", "1" if args.smoke else "3", "--out", str(args.out / f"bench-{model}-b{b}.json")])["table"],
            record, args.out)
    if args.smoke:
        data_args = ["--synthetic", "--train-per-class", "16", "--epochs", "1", "--batch-size", "16",
                     "--model", "lenet",
                     "--methods", "single,packed"]
    else:
        data_root = workdir / "data"
        _run_step("unpack_data", lambda: unpack(args.pack, data_root), record, args.out)
        data_args = ["--preset", "h100", "--data", str(data_root), "--offline"]
    _run_step("experiment", lambda: experiment.format_table(experiment.main(
        [*data_args, "--device", str(device), "--seeds", "0", "--no-progress", "--save-predictions", "--restart",
         "--out", str(args.out / "experiment-h100.json"), "--runs-dir", str(workdir / "runs")])), record, args.out)
    # Last, so that the numbers above are safe if time runs out: bf16 and torch.compile, measured before either
    # becomes a training default (the rule), at the first batch size.
    first = batches[0]
    for flag, extra, contenders in (("bf16", ["--amp-dtype", "bfloat16"], "single,packed,deep_loop"),
                                    ("compile", ["--compile", "eager" if args.smoke else "inductor"],
                                     "single,packed")):
        _run_step(f"bench_b{first}_{flag}", lambda e=extra, c=contenders, f=flag: bench.main(
            ["--model", model, "--batch", str(first), "--device", str(device), "--repeats", repeats,
             "--warmup", "2" if args.smoke else "5", "--contenders", c, *e,
             "--out", str(args.out / f"bench-{model}-b{first}-{f}.json")])["table"], record, args.out)
    record["total_seconds"] = round(time.perf_counter() - started, 1)
    steps = [step for key, step in record.items() if isinstance(step, dict) and key != "provenance"]
    record["ok"] = all("error" not in step and not (isinstance(step.get("result"), dict)
                                                    and step["result"].get("ok") is False) for step in steps)
    atomic_save(json.dumps(record, indent=1, default=str), args.out / "gpu-check.json")
    print(f"[gpu-check] done in {record['total_seconds']} s, ok={record['ok']}; wrote {args.out}", flush=True)
    return record


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
