"""``pe_lab.config`` on older torch (Colab images lag behind).

(Moved from ``tests/test_bad_inputs.py``, issue 9's cases, beside the module each checks.)
"""

from __future__ import annotations

import torch
from helpers import private_cache  # noqa: F401  (private_cache: autouse)


def test_grad_scaler_falls_back_to_torch_cuda_amp(monkeypatch):
    from pe_lab.config import grad_scaler

    assert grad_scaler(False).is_enabled() is False
    monkeypatch.delattr(torch.amp, "GradScaler")  # torch < 2.3 has no torch.amp.GradScaler
    scaler = grad_scaler(False)
    assert type(scaler).__module__.startswith("torch.cuda.amp") and scaler.is_enabled() is False


def test_autocast_query_works_without_the_device_argument(monkeypatch):
    from pe_lab.nn import layers

    def old_is_autocast_enabled(*args):  # torch < 2.4 takes no device argument
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments")
        return False

    monkeypatch.setattr(torch, "is_autocast_enabled", old_is_autocast_enabled)
    assert layers._autocast_on("cuda") is False
    assert layers._autocast_on("cpu") is torch.is_autocast_cpu_enabled()
