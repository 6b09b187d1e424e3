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


def test_a_write_through_a_file_or_under_a_name_too_long_says_why(tmp_path):
    import pytest

    from pe_lab.config import WriteError, atomic_save

    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match=r"cannot write .*file/r.json: a part of the path is a file, not a folder"):
        atomic_save("{}", tmp_path / "file" / "r.json")
    with pytest.raises(WriteError, match="the name is too long for the file system; nothing was left half-written"):
        atomic_save("{}", tmp_path / ("r" * 300 + ".json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_cache_folder_that_cannot_be_made_is_a_write_error_naming_it(monkeypatch):
    import pytest

    from pe_lab.config import WriteError, cache_dir

    monkeypatch.setenv("PE_LAB_CACHE", "/proc/pe-lab-cache-cannot-exist/x")
    with pytest.raises(WriteError, match="cannot write /proc/pe-lab-cache-cannot-exist/x"):
        cache_dir()
