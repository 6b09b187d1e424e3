"""The one-shot GPU check runs end to end (on tiny settings, on the CPU here), and its CUDA checks pass where a
GPU exists (marked `cuda`, skipped without one)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_run_writes_every_result_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))
    record = _script().main(["--smoke", "--device", "cpu", "--out", str(tmp_path / "out")])
    assert record["ok"], json.dumps(record, default=str)[:3000]
    stored = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    assert stored["provenance"]["smoke"] is True and stored["provenance"]["git_commit"]
    assert stored["equivalence_on_device"]["result"]["ok"] and stored["training_on_device"]["result"]["ok"]
    lightning = stored["lightning_on_device"]["result"]
    assert lightning["ok"] and ("skipped" in lightning or lightning["fit_vs_lightning_max_weight_difference"] < 1e-4)
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"gpu-check.json", "bench-lenet-b8.json",
                                                              "experiment-h100.json", "bench-lenet-b8-bf16.json",
                                                              "bench-lenet-b8-compile.json"}
    compiled = json.loads((tmp_path / "out" / "bench-lenet-b8-compile.json").read_text())
    assert compiled["config"]["compile"] == "eager" and len(compiled["costs"]) == 2


def test_a_failing_step_is_recorded_and_the_rest_still_run(tmp_path, monkeypatch):
    module = _script()
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))

    def broken(device):
        raise RuntimeError("simulated CUDA error")

    monkeypatch.setattr(module, "_check_equivalence", broken)
    record = module.main(["--smoke", "--device", "cpu", "--out", str(tmp_path / "out")])
    assert not record["ok"]
    assert record["equivalence_on_device"]["error"] == "RuntimeError: simulated CUDA error"
    assert "result" in record["experiment"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_equivalences_and_training_hold_on_cuda(tmp_path):
    module = _script()
    device = torch.device("cuda")
    assert module._check_equivalence(device)["ok"]
    assert module._check_training(device, tmp_path)["ok"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_bench_on_cuda_reports_every_contender(tmp_path):
    from pe_lab.cli import bench

    result = bench.main(["--model", "resnet20", "--batch", "64", "--device", "cuda", "--repeats", "2",
                         "--out", str(tmp_path / "b.json")])
    assert all(c["error"] is None for c in result["costs"]), result["table"]
