"""The data pack that carries CIFAR-10 / SVHN to a GPU machine: bit-exact round trip, shared JPEG headers."""

import numpy as np
import pytest
from PIL import Image

from pe_lab.datapack import main, pack, unpack


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


def test_a_corrupted_pack_is_refused(tmp_path):
    _tree(tmp_path / "src", ".jpg")
    out = tmp_path / "p.pack"
    pack({"cifar10-jpeg": tmp_path / "src"}, out)
    import pickle

    blob = pickle.loads(out.read_bytes())
    name, index, body = blob["entries"][0]
    blob["entries"][0] = (name, index, body[:-1] + bytes([body[-1] ^ 1]))
    out.write_bytes(pickle.dumps(blob))
    with pytest.raises(ValueError, match="do not match the digest"):
        unpack(out, tmp_path / "dest")
    (tmp_path / "other.pack").write_bytes(pickle.dumps({"format": "zip"}))
    with pytest.raises(ValueError, match="is not a 'pe-lab datapack 1' file"):
        unpack(tmp_path / "other.pack", tmp_path / "dest")


def test_cli_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        main(["pack", str(tmp_path / "nowhere"), str(tmp_path / "p.pack")])
