"""Packaging: a plain (non-editable) wheel of pe-lab holds every module, imports outside the checkout and runs
a command. The wheel is installed with --target beside the test environment's torch (no second torch)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_installs_imports_every_module_and_runs_a_command(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("pe_lab-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # every module of every subpackage (nested packages too): a wheel that ships only the top level fails here
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "pe_lab").rglob("*.py")}
    modules = sorted(".".join(Path(p).relative_to("pe_lab").with_suffix("").parts).removesuffix(".__init__")
                     for p in sources if p != "pe_lab/__init__.py")
    assert {"nn", "methods.packed", "training.loop", "cli.experiment", "data.images"} <= set(modules)
    shipped = {str(p.relative_to(target)) for p in (target / "pe_lab").rglob("*.py")}
    assert sources <= shipped, sorted(sources - shipped)
    script = ("import importlib, pe_lab; "
              f"assert pe_lab.__file__.startswith({str(target)!r}), pe_lab.__file__; "
              f"[importlib.import_module('pe_lab.' + m) for m in {modules!r}]; "
              "print(pe_lab.build('lenet', 'packed')(__import__('torch').zeros(1, 3, 32, 32)).shape)")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0 and "torch.Size([1, 4, 10])" in ran.stdout, ran.stderr[-3000:]
    command = subprocess.run([sys.executable, "-m", "pe_lab", "experiment", "--help"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert command.returncode == 0 and "--width" in command.stdout, command.stderr[-3000:]
    # a command that measures something from outside the checkout (methods, nn, results and cli at work)
    bench = subprocess.run([sys.executable, "-m", "pe_lab", "bench", "--model", "lenet", "--batch", "4", "--repeats",
                            "1", "--warmup", "0", "--contenders", "single,packed", "--out", str(tmp_path / "b.json")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert bench.returncode == 0 and (tmp_path / "b.json").exists(), bench.stderr[-3000:]
    # the explorer site's page files ship with the package (``make site`` copies them from there)
    assets = target / "pe_lab" / "teaching" / "site_assets"
    assert {"index.html", "site.js", "site.css"} <= {p.name for p in assets.iterdir()}, list(assets.iterdir())
