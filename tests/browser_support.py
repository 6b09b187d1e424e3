"""What the browser tests share: the Chromium they drive, a free local port, and waiting for a local server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_served(url: str, server: subprocess.Popen, timeout_s: float, log: Path | None = None) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or ``timeout_s`` passes."""
    deadline = time.time() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError as error:
            if time.time() > deadline or server.poll() is not None:
                tail = log.read_text()[-3000:] if log is not None and log.exists() else "(no log)"
                raise AssertionError(f"{url} was not served:\n{tail}") from error
            time.sleep(0.3)


def stop_group(process: subprocess.Popen, grace_s: float = 20) -> None:
    """Stop ``process`` (started with ``start_new_session=True``) and everything in its process group: SIGTERM, then
    SIGKILL to whatever is left after ``grace_s``. A server that ``make`` started can outlive ``make`` itself, so
    waiting for ``make`` alone would leave it running after the test."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.time() + grace_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)  # reap the leader: a zombie still counts as a member of its group
    while time.time() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
