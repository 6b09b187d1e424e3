"""The data pack that carries CIFAR-10 / SVHN to a GPU machine: bit-exact round trip, shared JPEG headers."""

import numpy as np
import pytest
from PIL import Image

from pe_lab.cli.datapack import main
from pe_lab.data.datapack import PackError, pack, unpack


def _tree(root, suffix, count=3):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / cls / f"{i:05d}{suffix}",
                                                                                   quality=75)
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "x.jpg").write_bytes(b"litter")
    return root


def test_round_trip_is_bit_exact_and_headers_are_shared(tmp_path):
    jpegs = _tree(tmp_path / "src" / "cifar10-jpeg" / "train", ".jpg")
    _tree(tmp_path / "src" / "svhn-test", ".png", count=5)
    out = tmp_path / "p.pack"
    counts = pack({"cifar10-jpeg": tmp_path / "src" / "cifar10-jpeg", "svhn-test": tmp_path / "src" / "svhn-test"},
                  out, limits={"svhn-test": 4})
    assert counts == {"cifar10-jpeg": 6, "svhn-test": 4}
    total = sum(p.stat().st_size for p in jpegs.rglob("*.jpg") if ".ipynb" not in str(p))
    assert unpack(out, tmp_path / "dest") == counts
    for original in jpegs.rglob("*.jpg"):
        if ".ipynb" in str(original):
            continue
        copy = tmp_path / "dest" / "cifar10-jpeg" / original.relative_to(tmp_path / "src" / "cifar10-jpeg")
        assert copy.read_bytes() == original.read_bytes()
    assert not (tmp_path / "dest" / "cifar10-jpeg" / "train" / ".ipynb_checkpoints").exists()
    kept = sorted(p.name for p in (tmp_path / "dest" / "svhn-test").rglob("*.png"))
    assert len(kept) == 4 and kept == sorted(kept)
    jpeg_only = tmp_path / "jpeg.pack"
    pack({"cifar10-jpeg": tmp_path / "src" / "cifar10-jpeg"}, jpeg_only)
    assert jpeg_only.stat().st_size < total - 5 * 500  # six JPEGs, one shared header of ~600 bytes stored once


def _packed(tmp_path):
    _tree(tmp_path / "src", ".jpg")
    out = tmp_path / "p.pack"
    pack({"cifar10-jpeg": tmp_path / "src"}, out)
    return out


def test_a_damaged_pack_names_its_first_bad_entry_and_writes_nothing(tmp_path):
    out = _packed(tmp_path)
    good = tmp_path / "dest" / "cifar10-jpeg" / "cat" / "00000.jpg"
    unpack(out, tmp_path / "dest")
    before = good.read_bytes()
    raw = bytearray(out.read_bytes())
    raw[-700] ^= 1  # a byte in the body of one file (the headers come last)
    out.write_bytes(bytes(raw))
    with pytest.raises(PackError, match="entry cifar10-jpeg/.* is damaged.*nothing was written"):
        unpack(out, tmp_path / "dest")
    assert good.read_bytes() == before  # the good file was not overwritten with corrupt bytes
    assert not list((tmp_path / "dest").rglob("*.tmp"))


def test_truncated_other_version_and_not_a_pack_are_refused_by_name(tmp_path):
    out = _packed(tmp_path)
    raw = out.read_bytes()
    (tmp_path / "short.pack").write_bytes(raw[:-10])
    with pytest.raises(PackError, match="truncated"):
        unpack(tmp_path / "short.pack", tmp_path / "dest")
    (tmp_path / "tiny.pack").write_bytes(raw[:20])
    with pytest.raises(PackError, match="truncated"):
        unpack(tmp_path / "tiny.pack", tmp_path / "dest")
    (tmp_path / "v3.pack").write_bytes(_with_index(raw, lambda index: index.update(format="pe-lab datapack 3")))
    with pytest.raises(PackError, match="index format 'pe-lab datapack 3'"):
        unpack(tmp_path / "v3.pack", tmp_path / "dest")
    (tmp_path / "zip.pack").write_bytes(b"PK\x03\x04 not a pack")
    with pytest.raises(PackError, match="is not a 'pe-lab datapack 2' file"):
        unpack(tmp_path / "zip.pack", tmp_path / "dest")


def test_a_crafted_pickle_pack_cannot_run_code(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))  # what a malicious pack would do on pickle.loads

    (tmp_path / "evil.pack").write_bytes(pickle.dumps({"format": "pe-lab datapack 1", "x": Exploit()}))
    with pytest.raises(PackError, match="pickle, which can run code"):
        unpack(tmp_path / "evil.pack", tmp_path / "dest")
    assert not marker.exists()


def _with_index(raw: bytes, change) -> bytes:
    """The pack ``raw`` with its index edited by ``change(index)`` (as a crafted file would be)."""
    import json
    import struct
    import zlib

    magic_end = raw.index(b"\n") + 1
    (length,) = struct.unpack("<Q", raw[magic_end:magic_end + 8])
    index = json.loads(zlib.decompress(raw[magic_end + 8:magic_end + 8 + length]))
    change(index)
    new = zlib.compress(json.dumps(index).encode())
    return raw[:magic_end] + struct.pack("<Q", len(new)) + new + raw[magic_end + 8 + length:]


def test_an_entry_that_escapes_the_destination_is_refused(tmp_path):
    out = _packed(tmp_path)
    (tmp_path / "escape.pack").write_bytes(
        _with_index(out.read_bytes(), lambda index: index["entries"][0].__setitem__(0, "../../escaped.jpg")))
    with pytest.raises(PackError, match="outside the destination"):
        unpack(tmp_path / "escape.pack", tmp_path / "dest")
    assert not (tmp_path / "escaped.jpg").exists()


@pytest.mark.parametrize("svhn", ["-1", "0", "x"])
def test_svhn_count_below_one_is_a_usage_error(tmp_path, svhn, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["pack", str(tmp_path), str(tmp_path / "p.pack"), "--svhn", svhn])
    assert stop.value.code == 2 and "must be an integer >= 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        pack({"svhn-test": tmp_path}, tmp_path / "p.pack", limits={"svhn-test": int(svhn) if svhn != "x" else -1})


def test_cli_names_a_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["pack", str(tmp_path / "nowhere"), str(tmp_path / "p.pack")])
    error = capsys.readouterr().err
    assert stop.value.code == 1 and "is not a folder" in error and "Traceback" not in error
