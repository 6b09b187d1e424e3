"""``pe_lab.config``'s writes: a path that cannot be written is an error naming it and why, and leaves nothing
half-written."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


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
