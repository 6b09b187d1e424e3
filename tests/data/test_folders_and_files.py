"""How the data layer lists and opens folders and files: ImageFolder's images (subfolders too), only regular files
opened (a named pipe never blocks a loader), every operating-system or library error re-raised as one line naming
the path and what was being done, and class-folder names compared as text (NFC), not as bytes.
"""

from __future__ import annotations

import os
import signal
import unicodedata
import warnings

import numpy as np
import pytest
import torch
from helpers import image_folder
from PIL import Image

from pe_lab.data.benchmarks import load_cifar10c, load_texture_folder
from pe_lab.data.images import DataError, load_cifar10, load_image_folder
from pe_lab.data.streaming import FolderSet, choose_mode

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


@pytest.fixture(autouse=True)
def no_hang():
    """A test that would block (a named pipe opened for reading) fails after 60 s instead of hanging the suite."""
    def stop(*_):
        raise TimeoutError("blocked: a loader opened something that never answers")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _png(path, value=0, size=32):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


def test_images_in_subfolders_of_a_class_folder_count_as_in_torchvisions_image_folder(tmp_path):
    from torchvision.datasets import ImageFolder

    for relative, value in [("cat/a.png", 1), ("cat/more/b.png", 2), ("cat/more/deeper/c.png", 3),
                            ("cat/more-x/d.png", 4), ("dog/e.png", 5), ("dog/z/f.png", 6), ("bird/g.png", 7)]:
        _png(tmp_path / "f" / relative, value)
    ours = load_image_folder(tmp_path / "f")
    theirs = ImageFolder(str(tmp_path / "f"))
    assert len(ours) == len(theirs) == 7
    assert ours.classes == tuple(theirs.classes)
    assert ours.labels.tolist() == [label for _, label in theirs.samples]
    assert ours.images[:, 0, 0, 0].tolist() == [int(np.asarray(Image.open(p))[0, 0, 0]) for p, _ in theirs.samples]
    streamed = FolderSet(tmp_path / "f", image_size=32)
    assert [str(p) for p in streamed.files] == [p for p, _ in theirs.samples]


def test_hidden_subfolders_of_a_class_folder_and_a_link_back_up_the_tree_add_nothing(tmp_path):
    image_folder(tmp_path / "f", ("cat", "dog"))
    _png(tmp_path / "f" / "cat" / ".ipynb_checkpoints" / "x.png")
    os.symlink(tmp_path / "f" / "dog", tmp_path / "f" / "dog" / "loop")  # a link to itself: visited once
    assert len(load_image_folder(tmp_path / "f")) == 4


def test_a_named_pipe_in_a_class_folder_is_skipped_with_a_warning_not_opened(tmp_path):
    image_folder(tmp_path / "f", ("cat", "dog"))
    os.mkfifo(tmp_path / "f" / "cat" / "x.png")
    with pytest.warns(UserWarning, match="1 entries that are not regular files"):
        assert len(load_image_folder(tmp_path / "f")) == 4


def test_a_named_pipe_in_a_texture_folder_does_not_hang_it(tmp_path):
    (tmp_path / "tex" / "a").mkdir(parents=True)
    os.mkfifo(tmp_path / "tex" / "a" / "x.jpg")
    with pytest.warns(UserWarning, match="not regular files"), pytest.raises(DataError, match="holds no images"):
        load_texture_folder(tmp_path / "tex")
    _png(tmp_path / "tex" / "a" / "y.png", size=40)
    with pytest.warns(UserWarning, match="not regular files"):
        assert len(load_texture_folder(tmp_path / "tex")) == 1


def test_named_pipes_where_cifar_files_are_expected_are_refused_not_read(tmp_path):
    (tmp_path / "c10c").mkdir()
    np.save(tmp_path / "c10c" / "labels.npy", np.zeros(50_000, dtype=np.int64))
    os.mkfifo(tmp_path / "c10c" / "fog.npy")
    from pe_lab.data.benchmarks import cifar10c_corruptions

    with pytest.raises(DataError, match="has labels.npy but no <corruption>.npy"):
        cifar10c_corruptions(tmp_path / "c10c")
    (tmp_path / "batches" / "cifar-10-batches-py").mkdir(parents=True)
    os.mkfifo(tmp_path / "batches" / "cifar-10-batches-py" / "test_batch")
    with pytest.raises(DataError, match="test_batch is not a regular file"):
        load_cifar10("test", tmp_path / "batches", download=False)


def test_a_damaged_cifar_batch_file_is_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"\x80\x04 not a pickle")
    with pytest.raises(DataError, match=r"cannot read the CIFAR-10 batch file .*test_batch"):
        load_cifar10("test", tmp_path, download=False)


def test_an_unreadable_class_folder_is_one_line_naming_it(tmp_path, monkeypatch):
    image_folder(tmp_path / "f", ("cat", "dog"))
    real = os.scandir
    locked = str(tmp_path / "f" / "dog")

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DataError, match=r"cannot list the folder .*f/dog: Permission denied"):
        load_image_folder(tmp_path / "f")
    with pytest.raises(DataError, match=r"cannot list the folder .*f/dog: Permission denied"):
        FolderSet(tmp_path / "f")


def test_an_unreadable_subfolder_inside_a_class_is_not_silently_dropped(tmp_path, monkeypatch):
    image_folder(tmp_path / "f", ("cat", "dog"))
    _png(tmp_path / "f" / "dog" / "more" / "x.png")
    real, locked = os.scandir, str(tmp_path / "f" / "dog" / "more")
    monkeypatch.setattr(os, "scandir", lambda path=".": (_ for _ in ()).throw(PermissionError(13, "Permission denied",
                                                                                            locked))
                        if os.fspath(path) == locked else real(path))
    with pytest.raises(DataError, match=r"dog/more: Permission denied"):
        load_image_folder(tmp_path / "f")


def test_a_file_name_that_is_not_utf8_is_read_like_any_other(tmp_path):
    image_folder(tmp_path / "f", ("cat", "dog"))
    name = os.fsdecode(b"\xff\xfe-image.png")
    _png(tmp_path / "f" / "cat" / name, 9)
    data = load_image_folder(tmp_path / "f")
    assert len(data) == 5
    assert len(load_image_folder(tmp_path / "f")) == 5  # the cached decode is found again
    assert len(FolderSet(tmp_path / "f", image_size=32).fingerprint()["digest"]) == 24


def test_a_decompression_bomb_is_named_by_file(tmp_path, monkeypatch):
    from PIL import Image as pil

    image_folder(tmp_path / "f", ("cat", "dog"))
    monkeypatch.setattr(pil, "MAX_IMAGE_PIXELS", 100)  # 32 x 32 = 1024 pixels: over twice the limit, a "bomb"
    with pytest.raises(DataError, match=r"cannot decode image .*cat/0000.png: .*decompression bomb.*MAX_IMAGE_PIXELS"):
        load_image_folder(tmp_path / "f")


def test_a_class_folder_in_nfd_matches_its_name_in_nfc(tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    image_folder(tmp_path / "train", (nfc, "tea"))
    image_folder(tmp_path / "test", (nfd, "tea"))
    train = load_image_folder(tmp_path / "train")
    test = load_image_folder(tmp_path / "test", train.classes)
    assert test.classes == train.classes and len(test) == 4
    assert FolderSet(tmp_path / "test", classes=train.classes).classes == train.classes
    assert load_image_folder(tmp_path / "test").classes == (nfc, "tea")  # names are reported in NFC


def test_a_class_folder_missing_for_real_is_still_named(tmp_path):
    image_folder(tmp_path / "test", ("café", "tea"))
    with pytest.raises(DataError, match=r"missing \['milk'\], unexpected \['café'\]"):
        load_image_folder(tmp_path / "test", ("milk", "tea"))


def test_the_same_name_in_nfc_and_nfd_side_by_side_is_refused(tmp_path):
    image_folder(tmp_path / "f", (unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café"), "tea"))
    with pytest.raises(DataError, match="same text in two Unicode forms"):
        load_image_folder(tmp_path / "f")


def test_class_folders_that_differ_only_in_case_are_named_in_a_warning(tmp_path):
    image_folder(tmp_path / "f", ("cat", "Cat", "dog"))
    with pytest.warns(UserWarning, match=r"class folders 'Cat' and 'cat' differ only in case; they are 2 classes"):
        data = load_image_folder(tmp_path / "f")
    assert data.classes == ("Cat", "cat", "dog")


def test_cifar10c_labels_out_of_range_or_fractional_name_the_file(tmp_path):
    root = tmp_path / "c10c"
    root.mkdir()
    np.save(root / "fog.npy", np.zeros((50_000, 32, 32, 3), dtype=np.uint8))
    labels = np.arange(50_000) % 10
    labels[10_003] = 10
    np.save(root / "labels.npy", labels)
    assert len(load_cifar10c(root, "fog", 1)) == 10_000  # severity 1 is clean
    with pytest.raises(DataError, match=r"labels.npy: 1 label\(s\) of severity 2 lie outside .* row 10003: 10"):
        load_cifar10c(root, "fog", 2)
    np.save(root / "labels.npy", (np.arange(50_000) % 10) + 0.5)
    with pytest.raises(DataError, match=r"labels.npy holds float64 values"):
        load_cifar10c(root, "fog", 3)


def test_every_image_set_error_names_its_source():
    from pe_lab.data.images import ImageSet

    with pytest.raises(ValueError, match=r"my source: labels must lie in \[0, 2\) .* got range \[0, 5\]"):
        ImageSet(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 5]), ("a", "b"), "my source")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "inf", "nan"])
def test_a_bad_memory_limit_names_the_variable_and_the_rule(tmp_path, monkeypatch, value):
    image_folder(tmp_path / "f", ("cat", "dog"))
    monkeypatch.setenv("PE_LAB_MEMORY_LIMIT_GB", value)
    with pytest.raises(ValueError, match=r"\$PE_LAB_MEMORY_LIMIT_GB='.*' must be a number > 0 \(GiB"):
        choose_mode(FolderSet(tmp_path / "f"))
    with pytest.raises(ValueError, match="limit must be > 0"):
        choose_mode(FolderSet(tmp_path / "f"), limit=-1)


def test_a_read_only_home_decodes_without_a_cache_and_says_so(tmp_path, monkeypatch):
    image_folder(tmp_path / "f", ("cat", "dog"))
    monkeypatch.setenv("PE_LAB_CACHE", "/proc/pe-lab-cache-cannot-exist")
    with pytest.warns(UserWarning, match=r"cannot write /proc/pe-lab-cache-cannot-exist.*decoded without a cache"):
        assert len(load_image_folder(tmp_path / "f")) == 4


def test_a_folder_path_through_a_file_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        load_image_folder(tmp_path / "file" / "images")
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        load_texture_folder(tmp_path / "file" / "images")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="is not a CIFAR-10-C folder"):
            load_cifar10c(tmp_path / "file" / "c10c", "fog", 1)
