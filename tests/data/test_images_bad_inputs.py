"""Bad image folders and the decoded-data cache: each is a named error, never a silent wrong result."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import image_folder
from PIL import Image

from pe_lab.data.images import CIFAR10_CLASSES, DataError, load_cifar10

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_the_cache_sees_images_added_or_replaced_inside_a_class_folder(tmp_path):
    root = image_folder(tmp_path / "test")
    first = load_cifar10("test", tmp_path, download=False)
    assert len(first) == 20
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(root / "cat" / "9999.png")
    assert len(load_cifar10("test", tmp_path, download=False)) == 21
    replaced = root / "dog" / "0000.png"
    Image.fromarray(np.full((32, 32, 3), 7, dtype=np.uint8)).save(replaced)
    data = load_cifar10("test", tmp_path, download=False)
    index = [i for i, label in enumerate(data.labels.tolist()) if label == CIFAR10_CLASSES.index("dog")][0]
    assert int(data.images[index].float().mean()) == 7


def test_a_text_file_named_jpg_is_a_named_error(tmp_path):
    root = image_folder(tmp_path / "test")
    (root / "cat" / "notes.jpg").write_text("this is not an image")
    with pytest.raises(DataError, match=r"cannot decode image .*cat/notes.jpg.*Replace or delete"):
        load_cifar10("test", tmp_path, download=False)


def test_a_truncated_png_is_a_named_error(tmp_path):
    root = image_folder(tmp_path / "test")
    image = root / "bird" / "0001.png"
    image.write_bytes(image.read_bytes()[:60])
    with pytest.raises(DataError, match=r"cannot decode image .*bird/0001.png"):
        load_cifar10("test", tmp_path, download=False)


def test_an_image_of_another_size_is_named(tmp_path):
    root = image_folder(tmp_path / "test")
    Image.fromarray(np.zeros((28, 30, 3), dtype=np.uint8)).save(root / "ship" / "odd.png")
    with pytest.raises(DataError, match=r"1 image\(s\) under .* differ from the 32x32.*ship/odd.png is 30x28"):
        load_cifar10("test", tmp_path, download=False)


def test_hidden_folders_are_not_classes(tmp_path):
    root = image_folder(tmp_path / "test")
    (root / ".ipynb_checkpoints").mkdir()
    (root / "cat" / ".hidden.png").write_text("litter")
    assert len(load_cifar10("test", tmp_path, download=False)) == 20


def test_an_emptied_class_folder_is_named(tmp_path):
    root = image_folder(tmp_path / "test")
    for image in (root / "frog").iterdir():
        image.unlink()
    with pytest.raises(DataError, match=r"class folder .*frog has no images"):
        load_cifar10("test", tmp_path, download=False)


def test_a_cache_path_that_is_a_file_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "cachefile"
    blocker.write_text("x")
    monkeypatch.setenv("PE_LAB_CACHE", str(blocker))
    image_folder(tmp_path / "test")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder; point PE_LAB_CACHE at a folder"):
        load_cifar10("test", tmp_path, download=False)


def test_a_one_class_folder_is_refused_before_any_decoding(tmp_path):
    from pe_lab.data.images import load_image_folder

    (tmp_path / "cat").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "cat" / "0.png")
    with pytest.raises(DataError, match="has one class folder \\(cat\\); a classifier needs at least two"):
        load_image_folder(tmp_path)
