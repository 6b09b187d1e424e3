"""File-system errors in words: ``doing(what, path)`` names what was being done to which path in any ``OSError``
raised inside it (``cannot <what> <path>: <reason>``), and ``probe_writable`` finds out before any work whether files
can be created in a folder. Command lines print these as one line; the Python API raises them."""

from __future__ import annotations

import contextlib
import errno
import os

from .config import WriteError

__all__ = ["ActionFailed", "doing", "probe_writable", "reason"]

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file is in the way (a folder was expected)",
    errno.ENOENT: "no such file or folder",
    errno.ELOOP: "too many symbolic links",
}


def reason(error: OSError) -> str:
    """An operating-system error's cause in words."""
    return _REASONS.get(error.errno, error.strerror or str(error) or type(error).__name__)


class ActionFailed(OSError):
    """An ``OSError`` raised while doing ``what`` to ``path`` (``doing``), with the first's errno and cause."""

    def __init__(self, what: str, path, error: OSError) -> None:
        super().__init__(error.errno, reason(error))
        self.what, self.path, self.cause = what, error.filename or path, error

    def __str__(self) -> str:
        return f"cannot {self.what} {self.path}: {reason(self.cause)}"


@contextlib.contextmanager
def doing(what: str, path):
    """Name what the block does to ``path`` in any ``OSError`` it raises (``cannot <what> <path>: <reason>``);
    an error already named (``ActionFailed``, ``WriteError``, or one pe-lab raised with its own words and no errno)
    passes as it is."""
    try:
        yield
    except (ActionFailed, WriteError):
        raise
    except OSError as error:
        if error.errno is None:  # raised by pe-lab with its own message (a missing data set): already named
            raise
        raise ActionFailed(what, path, error) from error


def probe_writable(option: str, folder) -> str | None:
    """Why files cannot be created in ``folder`` (or, if it does not exist yet, in the nearest folder above it, where
    it would be made), or None when they can: found by creating and removing a file there, which also catches a
    read-only file system and works for root, whom permission bits do not stop."""
    import tempfile
    from pathlib import Path

    folder, existing = Path(folder), None
    try:
        if folder.exists() and not folder.is_dir():
            return f"{option} {folder} is a file, not a folder"
        existing = next((q for q in (folder, *folder.absolute().parents) if q.exists()), None)
        if existing is None:
            return None
        if not existing.is_dir():
            return f"{option} {folder} cannot be made: {existing} is a file, not a folder"
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        return f"{option} {folder} cannot be written: {reason(error)}" + (
            f" ({existing})" if existing is not None and existing != folder else "")
    if not os.access(existing, os.W_OK | os.X_OK):  # pragma: no cover - reached only without root
        return f"{option} {folder} cannot be written: permission denied"
    return None
