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
