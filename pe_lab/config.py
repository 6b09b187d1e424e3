"""Run-wide settings: the ``PE_LAB_*`` environment switches, quick mode, seeding, the data root and cache, and
atomic writes. Where and how a model runs (device, AMP, channels_last) is ``pe_lab.runtime``.

Nothing here imports a plotting or widget library, so every module may use it.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import random
from pathlib import Path

import numpy as np
import torch

QUICK_ENV = "PE_LAB_QUICK"
DATA_ENV = "PE_LAB_DATA"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def env_flag(name: str, default: bool = False) -> bool:
    """The one reader of every ``PE_LAB_*`` switch, with one rule: 1/true/yes/on is on, 0/false/no/off (or empty)
    is off, unset is ``default``, anything else is a ``ValueError`` naming the variable (``PE_LAB_OFFLINE=false``
    once meant *offline*).

    >>> os.environ["PE_LAB_X"] = "off"; env_flag("PE_LAB_X", default=True)
    False
    >>> os.environ["PE_LAB_X"] = "Yes"; env_flag("PE_LAB_X")
    True
    >>> del os.environ["PE_LAB_X"]
    """
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"${name}={value!r} is neither on (1, true, yes, on) nor off (0, false, no, off)")


def env_value(name: str, default: str | None = None) -> str | None:
    """A ``PE_LAB_*`` setting's text (a path, a number), or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_number(name: str, default: float, *, unit: str = "") -> float:
    """The one reader of numeric ``PE_LAB_*`` settings: a finite number > 0, or ``default`` when unset or empty;
    anything else is a ``ValueError`` naming the variable and the rule (``abc``, ``-1``, ``0``, ``inf``).

    >>> os.environ["PE_LAB_X"] = "1.5"; env_number("PE_LAB_X", 2.0)
    1.5
    >>> os.environ["PE_LAB_X"] = "-1"; env_number("PE_LAB_X", 2.0, unit="GiB")
    Traceback (most recent call last):
    ...
    ValueError: $PE_LAB_X='-1' must be a number > 0 (GiB)
    >>> del os.environ["PE_LAB_X"]
    """
    text = env_value(name)
    if text is None:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"${name}={text!r} must be a number > 0" + (f" ({unit})" if unit else ""))
    return value


def is_quick(default: bool = False) -> bool:
    """True when quick mode is on (env ``PE_LAB_QUICK=1``): less data, fewer epochs.

    >>> os.environ[QUICK_ENV] = "1"; is_quick()
    True
    >>> del os.environ[QUICK_ENV]; is_quick()
    False
    """
    return env_flag(QUICK_ENV, default)


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated. Returns nothing, so that a
    notebook cell ending in ``set_seed(0)`` prints nothing.

    >>> set_seed(3); a = torch.rand(1); set_seed(3); bool(torch.equal(a, torch.rand(1)))
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def data_root(root: str | os.PathLike | None = None) -> Path | None:
    """The folder to look for data in: the argument, else ``$PE_LAB_DATA``, else None."""
    if root is not None:
        return Path(root).expanduser()
    env = env_value(DATA_ENV)
    return Path(env).expanduser() if env else None


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` (or, for a ``str``, a text write) to a temporary file, then ``os.replace``: a crash
    leaves the old file or the new one, never half of one (POSIX and Windows alike)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, str):
            tmp.write_text(obj)
        else:
            torch.save(obj, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # torch.save reports a full disk as a RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # never leave half a file behind
        raise WriteError(path, error) from error


class WriteError(OSError):
    """A result, report or checkpoint that could not be written; says why in words (disk full, read-only)."""

    def __init__(self, path: Path, error: BaseException) -> None:
        code = getattr(error, "errno", None)
        text = str(error)
        why = ("the disk is full" if code == errno.ENOSPC or "No space left" in text else
               "the file system is read-only" if code == errno.EROFS or "Read-only" in text else
               "permission denied" if code in (errno.EACCES, errno.EPERM) else
               "a part of the path is a file, not a folder" if code in (errno.ENOTDIR, errno.EEXIST) else
               "the name is too long for the file system" if code == errno.ENAMETOOLONG else
               "it is a folder" if code == errno.EISDIR or _is_dir(path) else text)
        super().__init__(code or errno.EIO, f"cannot write {path}: {why}; nothing was left half-written")

    def __str__(self) -> str:
        return self.strerror


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long to even ask about
        return False


def assets_dir() -> Path:
    """The repository's ``assets/`` folder: committed figures and results of real runs."""
    return Path(__file__).resolve().parent.parent / "assets"


def cache_dir() -> Path:
    """Where decoded datasets are cached (``$PE_LAB_CACHE`` or ``~/.cache/pe_lab``)."""
    path = Path(env_value("PE_LAB_CACHE") or Path.home() / ".cache" / "pe_lab").expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"the data cache {path} (from $PE_LAB_CACHE or the default) is a file, not a folder; "
                                 "point PE_LAB_CACHE at a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only HOME: a WriteError the data cache turns into a warning
        raise WriteError(path, error) from error
    return path
