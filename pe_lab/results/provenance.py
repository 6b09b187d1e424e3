"""Where a number came from: one record (command, machine, versions, commit, date) for every command line.

Every pe-lab command (``experiment``, ``bench``, ``shift``, ``sweep``, ``scripts/gpu_check.py``) builds its
provenance here, so a result always says how to reproduce it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
from pathlib import Path

import torch

from ..config import atomic_save
from ..data.images import dataset_name

__all__ = ["DATA_FLAGS", "FILE_FLAGS", "git_commit", "hardware", "provenance", "recorded_command", "recorded_value",
           "shown_command", "todays_command", "without_paths", "write_json"]


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


# The options whose value is where data lies on the machine that runs the command, and those that name its files.
DATA_FLAGS = ("--data", "--train-folder", "--test-folder", "--ood-folder", "--texture-folder", "--cifar10c")
FILE_FLAGS = ("--out", "--report", "--runs-dir", "--dir", "--out-dir", "--results")


def recorded_value(flag: str, value: str) -> str:
    """A path option's value as a record keeps it: a data root as ``$PE_LAB_DATA`` (which pe-lab reads for it), a
    data folder by its last two parts, a file inside the working folder as given, any other file by its name."""
    if flag == "--data":
        return "$PE_LAB_DATA"
    if flag in DATA_FLAGS:
        return dataset_name(f"image folder {value}").removeprefix("image folder ")
    path = Path(value)
    return value if not path.is_absolute() and ".." not in path.parts else path.name


def recorded_command(program: str, words: list[str]) -> str:
    """The command line a record keeps: ``program`` and its words, each path option's value as ``recorded_value``
    gives it, so that no record holds a path of the machine that made it.

    >>> recorded_command("pe-lab experiment", ["--data", "/home/me/data", "--test-folder=/x/cifar10-jpeg/test"])
    'pe-lab experiment --data $PE_LAB_DATA --test-folder=cifar10-jpeg/test'
    """
    recorded, after = [], None
    for word in words:
        flag, equals, value = word.partition("=")
        if after is not None:
            recorded.append(recorded_value(after, word))
            after = None
        elif flag in DATA_FLAGS + FILE_FLAGS and equals:
            recorded.append(f"{flag}={recorded_value(flag, value)}")
        else:
            recorded.append(word)
            after = word if word in DATA_FLAGS + FILE_FLAGS else None
    return " ".join([program, *recorded])


# The modules commands were run as before the one entry point ``pe-lab COMMAND``, and the command each is today.
_OLD_ENTRIES = {"python -m pe_lab.experiment": "experiment", "python -m pe_lab.bench": "bench",
                "python -m pe_lab.shift": "shift", "python -m pe_lab.sweep": "sweep",
                "python -m pe_lab.cli.tutorial": "tutorial", "python -m pe_lab.cli.experiment": "experiment"}


def todays_command(recorded: str) -> str:
    """A recorded command as it is typed today: a run made before the one entry point ``pe-lab COMMAND`` recorded
    the module it ran (``python -m pe_lab.experiment ...``); the flags are the same.

    >>> todays_command("python -m pe_lab.cli.tutorial --version 2024-02")
    'pe-lab tutorial --version 2024-02'
    """
    for old, command in _OLD_ENTRIES.items():
        if recorded == old or recorded.startswith(old + " "):
            return f"pe-lab {command}{recorded[len(old):]}"
    return recorded


def shown_command(recorded: str) -> str:
    """A recorded command as a student types it today, followed by what was recorded where that differs."""
    today = todays_command(recorded)
    return today if today == recorded else f"{today}   (recorded as: {recorded})"


def without_paths(record, key: str = ""):
    """``record`` (JSON-like) with every path of this machine replaced by a name: data sets by ``dataset_name``,
    command lines by ``recorded_command``, files (``checkpoint``, ``written_as``) by their name, the data root
    (``PE_LAB_DATA``) by the variable."""
    if isinstance(record, dict):
        return {k: without_paths(v, k) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [without_paths(v, key) for v in record]
    if not isinstance(record, str):
        return record
    if record.startswith("image folder "):
        return dataset_name(record)
    if key in ("command", "point_command"):
        program, *words = shlex.split(record) or [""]
        return recorded_command(program, words)
    if key in ("checkpoint", "written_as", "file"):
        return Path(record).name
    if key == "PE_LAB_DATA":
        return "$PE_LAB_DATA"
    return record
