"""The one error boundary of every command line for operating-system errors.

An ``OSError`` that reaches a command's ``main`` (a read-only home with no data cache yet, a name too long for the
file system, a folder where a file is, a folder that cannot be written) becomes one line on stderr,
``pe-lab <command>: cannot <what was being done> <path>: <reason>``, and exit status 2, never a traceback.
``doing(what, path)`` around a step says what was being done; an error raised outside any ``doing`` is named by
the path the operating system reports. Writes go through ``pe_lab.config.atomic_save`` (a temporary file, then
``os.replace``), so a failed command leaves no half-written output.
"""

from __future__ import annotations

import functools
import sys

from ..config import WriteError
from ..files import ActionFailed, doing, probe_writable, reason

__all__ = ["ActionFailed", "command", "doing", "one_line", "probe_writable"]


def one_line(command: str, error: OSError) -> str:
    """The line a command prints for an operating-system error: ``pe-lab <command>: cannot ... : <reason>``."""
    if isinstance(error, ActionFailed | WriteError):
        text = str(error)
    else:
        where = error.filename if error.filename is not None else "a file"
        text = f"cannot access {where}: {reason(error)}"
    return f"pe-lab {command}: {text}"


def command(name: str):
    """Decorate a command's ``main``: an ``OSError`` that escapes it is printed as ``one_line`` and the process
    exits 2. Every other exception passes (the command names its own errors)."""
    def wrap(main):
        @functools.wraps(main)
        def guarded(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except OSError as error:
                print(one_line(name, error), file=sys.stderr)
                raise SystemExit(2) from None
        return guarded
    return wrap


