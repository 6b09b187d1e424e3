"""Where a number came from: one record (command, machine, versions, commit, date) for every command line.

Every pe-lab command (``experiment``, ``bench``, ``shift``, ``sweep``, ``scripts/gpu_check.py``) builds its
provenance here, so a result always says how to reproduce it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from ..config import atomic_save

__all__ = ["git_commit", "hardware", "provenance", "write_json"]


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+uncommitted-changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def hardware(device: torch.device) -> str:
    """A one-line description of the machine that produced a number."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def provenance(command: str, device: torch.device, **extra) -> dict:
    """The record every result carries: ``command``, device, hardware, torch, Python, git commit, UTC date, and
    whatever the command adds (data, seeds)."""
    return {"command": command, "device": str(device), "hardware": hardware(device), "torch": torch.__version__,
            "python": platform.python_version(), "git_commit": git_commit(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **extra}


def write_json(obj: dict, path: str | os.PathLike) -> None:
    """``obj`` as indented JSON at ``path``, atomically (a crash leaves the old file or the new one)."""
    atomic_save(json.dumps(obj, indent=1), Path(path))
