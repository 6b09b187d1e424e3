"""A NotebookClient that does not stall on ipywidgets-heavy notebooks.

nbclient 0.10-0.11 waits for a cell's ``execute_reply`` with one long ``get_msg(timeout=cell_timeout)``.
After widget traffic (tqdm progress bars, Output widgets), that wait can miss a reply that has already
arrived and sit out the whole timeout (jupyter/nbclient#312). Polling in short slices sees it at once.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic

from nbclient import NotebookClient


class PollingNotebookClient(NotebookClient):
    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        deadline = None if timeout is None else monotonic() + timeout
        channel = self.kc.shell_channel
        original_get_msg = channel.get_msg

        async def get_msg_in_slices(timeout=None):
            while True:
                left = None if deadline is None else deadline - monotonic()
                if left is not None and left <= 0:
                    raise Empty
                try:
                    return await original_get_msg(timeout=0.5 if left is None else min(0.5, left))
                except Empty:
                    continue

        channel.get_msg = get_msg_in_slices
        try:
            return await super()._async_poll_for_reply(msg_id, cell, timeout, task_poll_output_msg,
                                                       task_poll_kernel_alive)
        finally:
            channel.get_msg = original_get_msg


def execute_measured(nb, folder, where: int | None = None) -> tuple[float, int, float]:
    """Execute ``nb`` in place (working directory ``folder``) with one measuring cell run at index ``where``
    (default: after the last cell) and removed afterwards. Returns ``(seconds until that cell, the kernel's peak
    resident memory in KiB then, seconds in all)``. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss
    across exec, so the kernel would report the process it was forked from. A generous per-cell limit catches a
    hung kernel; the times are benchmark numbers, never assertions."""
    import time

    import nbformat

    where = len(nb.cells) if where is None else where
    nb.cells.insert(where, nbformat.v4.new_code_cell(
        "import time as _t; print(_t.time(), next(line.split()[1] for line in open('/proc/self/status') "
        "if line.startswith('VmHWM')))"))
    started = time.time()
    PollingNotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    total = time.time() - started
    reached, peak_kib = "".join(o.get("text", "") for o in nb.cells[where].outputs).split()
    nb.cells.pop(where)
    return float(reached) - started, int(peak_kib), total
