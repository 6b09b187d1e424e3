"""``pe_lab.runtime``: the device, AMP and channels_last settings resolved in one place, for every caller."""

from __future__ import annotations

import pytest
import torch

from pe_lab import runtime
from pe_lab.runtime import Runtime, resolve_runtime


def test_on_the_cpu_amp_is_off_even_when_asked_and_channels_last_is_on_unless_refused():
    assert resolve_runtime("cpu") == Runtime(torch.device("cpu"), amp=False, channels_last=True)
    assert resolve_runtime("cpu", amp=True, channels_last=False) == Runtime(torch.device("cpu"), False, False)


def test_on_cuda_amp_is_on_unless_refused(monkeypatch):
    """Resolution only (nothing runs on the device), so it is checked on any machine."""
    monkeypatch.setattr(runtime, "get_device", lambda device: torch.device("cuda"))
    assert resolve_runtime("cuda").amp and resolve_runtime("cuda").cuda
    assert not resolve_runtime("cuda", amp=False).amp


def test_a_bad_device_is_named():
    with pytest.raises(ValueError, match="is not a device"):
        resolve_runtime("gpu0")


def test_place_puts_a_model_in_the_memory_format_its_batches_arrive_in():
    conv = torch.nn.Conv2d(3, 8, 3)
    placed = resolve_runtime("cpu").place(conv)
    assert placed.weight.is_contiguous(memory_format=torch.channels_last)
    plain = resolve_runtime("cpu", channels_last=False).place(torch.nn.Conv2d(3, 8, 3))
    assert not plain.weight.is_contiguous(memory_format=torch.channels_last)
