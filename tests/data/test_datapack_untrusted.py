"""A data pack is untrusted input: a bomb in its index, headers reused to fill a disk, a named pipe, paths through a
file, a write that fails half-way. Each is refused with the limit or the path named, in bounded memory, and leaves
no half-unpacked destination.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from pe_lab.cli.datapack import main
from pe_lab.data import datapack
from pe_lab.data.datapack import INDEX_LIMIT, PackError, pack, unpack

MAGIC = b"PE-LAB-DATAPACK 2\n"


@pytest.fixture(autouse=True)
def no_hang():
    def stop(*_):
        raise TimeoutError("blocked: the pack was opened although it never answers")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _packed(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "src" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "src" / cls / f"{i}.jpg")
    out = tmp_path / "p.pack"
    pack({"cifar10-jpeg": tmp_path / "src"}, out)
    return out


def _bomb(path, inflated_mib):
    """A pack whose index is ``inflated_mib`` MiB of zeros: a few hundred KiB on disk."""
    squeeze = zlib.compressobj(9)
    chunk = bytes(2**20)
    index = b"".join(squeeze.compress(chunk) for _ in range(inflated_mib)) + squeeze.flush()
    path.write_bytes(MAGIC + struct.pack("<Q", len(index)) + index)
    return path


def test_an_index_bomb_is_refused_naming_the_limit_in_bounded_memory(tmp_path):
    bomb = _bomb(tmp_path / "bomb.pack", 4 * INDEX_LIMIT // 2**20)  # inflates to 4x the limit
    assert bomb.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(PackError, match=rf"index inflates past the {INDEX_LIMIT // 2**20} MiB limit"):
            unpack(bomb, tmp_path / "dest")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < INDEX_LIMIT + 16 * 2**20  # never the whole inflated index
    assert not (tmp_path / "dest").exists()


def test_the_cli_refuses_a_bomb_in_one_line(tmp_path, capsys):
    bomb = _bomb(tmp_path / "bomb.pack", INDEX_LIMIT // 2**20 + 1)
    with pytest.raises(SystemExit) as stop:
        main(["unpack", str(bomb), str(tmp_path / "dest")])
    error = capsys.readouterr().err
    assert stop.value.code == 1 and "limit" in error and "Traceback" not in error


def _edited(raw: bytes, change) -> bytes:
    start = len(MAGIC) + 8
    (length,) = struct.unpack("<Q", raw[len(MAGIC):start])
    index = json.loads(zlib.decompress(raw[start:start + length]))
    change(index)
    new = zlib.compress(json.dumps(index).encode())
    return MAGIC + struct.pack("<Q", len(new)) + new + raw[start + length:]


def test_headers_reused_past_the_free_space_are_refused_before_writing(tmp_path, monkeypatch):
    out = _packed(tmp_path)

    def amplify(index):  # 100,000 more entries of 0 body bytes, each re-using the ~600-byte JPEG header
        index["entries"] += [[f"cifar10-jpeg/x/{i}.jpg", 0, 0, 0] for i in range(100_000)]

    crafted = tmp_path / "amplified.pack"
    crafted.write_bytes(_edited(out.read_bytes(), amplify))
    monkeypatch.setattr(datapack, "_free_bytes", lambda folder: 10 * 2**20)
    with pytest.raises(PackError, match=r"would write \d+\.\d MiB under .*dest, where 10.0 MiB are free; refused"):
        unpack(crafted, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("edit", [
    lambda index: index["entries"][0].__setitem__(2, -5),              # a negative length
    lambda index: index["entries"][0].__setitem__(1, 7),               # a header that does not exist
    lambda index: index["headers"][0].__setitem__(1, 10**12),          # a header span past the data
    lambda index: index.__setitem__("entries", "everything"),          # not a list
    lambda index: index["entries"][0].__setitem__(2, 10**9),           # an entry past the data
])
def test_an_index_that_does_not_fit_its_data_is_refused_before_reading_it(tmp_path, edit):
    out = _packed(tmp_path)
    crafted = tmp_path / "crafted.pack"
    crafted.write_bytes(_edited(out.read_bytes(), edit))
    with pytest.raises(PackError, match=r"crafted.pack: its index is damaged"):
        unpack(crafted, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_write_that_fails_half_way_leaves_no_half_unpacked_destination(tmp_path, monkeypatch):
    import pathlib

    out = _packed(tmp_path)
    real, written = pathlib.Path.write_bytes, []

    def full_disk(self, data):
        if written:
            raise OSError(28, "No space left on device", str(self))
        written.append(self)
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match=r"cannot write .*dest: the disk is full; nothing was left half-written"):
        unpack(out, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src", "p.pack"] or set(p.name for p in tmp_path.iterdir()) == {
        "src", "p.pack"}  # no staging folder left either


def test_unpacking_over_an_existing_folder_keeps_its_other_files(tmp_path):
    out = _packed(tmp_path)
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "mine.txt").write_text("keep")
    assert unpack(out, tmp_path / "dest") == {"cifar10-jpeg": 6}
    assert (tmp_path / "dest" / "mine.txt").read_text() == "keep"
    assert len(list((tmp_path / "dest" / "cifar10-jpeg").rglob("*.jpg"))) == 6
    assert {p.name for p in tmp_path.iterdir()} == {"src", "p.pack", "dest"}


def test_a_named_pipe_given_as_the_pack_is_refused_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.pack")
    with pytest.raises(ValueError, match="pipe.pack is not a regular file"):
        unpack(tmp_path / "pipe.pack", tmp_path / "dest")


@pytest.mark.parametrize("command", ["pack", "unpack"])
def test_paths_through_a_file_are_one_line_naming_the_path(tmp_path, capsys, command):
    out = _packed(tmp_path)
    (tmp_path / "file").write_text("x")
    (tmp_path / "data" / "cifar10-jpeg").mkdir(parents=True)
    (tmp_path / "src").rename(tmp_path / "data" / "cifar10-jpeg" / "train")
    (tmp_path / "data" / "svhn-test" / "1").mkdir(parents=True)
    (tmp_path / "data" / "svhn-test" / "1" / "a.png").write_bytes(b"png")
    argv = (["pack", str(tmp_path / "data"), str(tmp_path / "file" / "p.pack")] if command == "pack"
            else ["unpack", str(out), str(tmp_path / "file" / "dest")])
    with pytest.raises(SystemExit) as stop:
        main(argv)
    error = capsys.readouterr().err
    assert stop.value.code == 1 and "Traceback" not in error
    assert "cannot write" in error and str(tmp_path / "file") in error and "not a folder" in error


def test_a_missing_or_unreadable_pack_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["unpack", str(tmp_path / "nothing.pack"), str(tmp_path / "dest")])
    error = capsys.readouterr().err
    assert stop.value.code == 1 and "nothing.pack: No such file or directory" in error
