"""Data that does not fit in memory: image folders read from disk by DataLoader workers, batch by batch.

CIFAR-10 is decoded once and held on the device (``pe_lab.data``): right for a classroom, wrong for ImageNet
(1.28 M images of varying size). ``FolderSet`` is the other path: a torchvision ``ImageFolder``-style tree
(``<root>/<class>/<image>``) that is only listed up front and decoded by workers, with the standard ImageNet
transforms (train: ``RandomResizedCrop`` + horizontal flip; test: resize to 256/224 of the crop, centre crop).
``choose_mode`` picks memory or streaming from the data's decoded size.

Every random choice is a function of ``(seed, unit, epoch, index)`` and nothing else, so an image gets the same
crop whichever worker or process reads it: a run on N processes sees exactly the global batches of a run on one
(``ShardedEpochSampler``: global batch k is the same slice of the epoch's permutation; each rank takes its part).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..config import env_number
from ..validate import check_choice, check_int, check_number
from .images import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    DataError,
    ImageSet,
    crop_and_flip,
    dataset_name,
    decode_image,
    labelled_files,
    normalize,
    reading,
)

__all__ = [
    "DEFAULT_MEMORY_LIMIT_GB", "FolderSet", "IMAGENET_MEAN", "IMAGENET_STD", "SeededItems", "ShardedEpochSampler",
    "choose_mode", "decoded_bytes", "memory_limit_bytes", "normalization", "normalize", "sample_seed"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Above this many GiB decoded, ``choose_mode("auto")`` streams: a T4 has 15 GiB, Binder 2 GiB of RAM.
DEFAULT_MEMORY_LIMIT_GB = 2.0
MEMORY_LIMIT_ENV = "PE_LAB_MEMORY_LIMIT_GB"


def memory_limit_bytes() -> int:
    """The decoded size above which ``choose_mode("auto")`` streams: ``$PE_LAB_MEMORY_LIMIT_GB`` GiB (read when
    asked, so a bad value is an error naming the variable where it is used, not at import), default 2."""
    return int(env_number(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT_GB, unit="GiB of decoded images") * 2**30)


def sample_seed(seed: int, unit: int, epoch: int, index: int) -> int:
    """The seed of one image's augmentation: the same on every worker and process (a 63-bit hash)."""
    digest = hashlib.blake2b(f"{seed},{unit},{epoch},{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class FolderSet:
    """An image folder (``<root>/<class>/<image>``) listed but not decoded: the streaming twin of ``ImageSet``.

    ``image_size`` is the side of the square crops the network sees (224 for ImageNet). ``classes`` fixes the
    class order (default: sorted folder names, as torchvision's ``ImageFolder``). ``labels`` is ``(N,)``.
    """

    def __init__(self, root: str | os.PathLike, *, image_size: int = 224, classes: tuple[str, ...] | None = None,
                 num_workers: int = 0) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"image folder {self.root} does not exist or is not a folder")
        self.image_size = check_int("image_size", image_size, minimum=8)
        self.num_workers = check_int("num_workers", num_workers, minimum=0)
        files, labels, self.classes = labelled_files(self.root, None if classes is None else tuple(classes))
        self.files = files
        self.labels = torch.tensor(labels, dtype=torch.int64)
        self.source = f"image folder {self.root} (streamed, {self.image_size}x{self.image_size} crops)"
        self.synthetic = False
        self.mean, self.std = IMAGENET_MEAN, IMAGENET_STD

    def __len__(self) -> int:
        return len(self.files)

    def fingerprint(self) -> dict:
        """Source, size and a digest of every file's name, size and modification time (nothing is decoded)."""
        digest = hashlib.blake2b(digest_size=12)
        for file, label in zip(self.files, self.labels.tolist(), strict=True):
            with reading("read", file):
                stat = file.stat()
            relative = os.fsencode(file.relative_to(self.root))  # a name that is not UTF-8 is still its bytes
            digest.update(f"{label}:".encode() + relative + f":{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        return {"source": dataset_name(self.source), "count": len(self), "digest": digest.hexdigest()}

    def transform(self, train: bool, augment: bool):
        """The standard ImageNet transforms on uint8 tensors: train ``RandomResizedCrop`` + flip, else resize to
        ``image_size * 256 / 224`` and centre crop."""
        from torchvision.transforms import v2

        if train and augment:
            return v2.Compose([v2.RandomResizedCrop(self.image_size, antialias=True), v2.RandomHorizontalFlip()])
        return v2.Compose([v2.Resize(round(self.image_size * 256 / 224), antialias=True),
                           v2.CenterCrop(self.image_size)])

    def batches(self, batch_size: int, *, device: torch.device | str = "cpu",
                channels_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised test batches ``(B, 3, S, S)`` in file order (no augmentation), read by the workers."""
        loader = DataLoader(SeededItems(self, train=False), batch_size=batch_size, num_workers=self.num_workers,
                            pin_memory=torch.device(device).type == "cuda")
        for images, labels in loader:
            images = normalize(images.to(device, non_blocking=True), self.mean, self.std)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, labels.to(device)


def decoded_bytes(folder: str | os.PathLike | FolderSet, probe: int = 32) -> tuple[int, bool]:
    """Estimated bytes of ``folder``'s images decoded to uint8, from ``probe`` images spread over it, and whether
    those all had one size (the in-memory path needs one size). A ``FolderSet`` is not listed again."""
    set_ = folder if isinstance(folder, FolderSet) else FolderSet(folder)
    step = max(1, len(set_) // probe)
    shapes = [tuple(decode_image(f).shape) for f in set_.files[::step][:probe]]
    mean_bytes = sum(c * h * w for c, h, w in shapes) / len(shapes)
    return int(mean_bytes * len(set_)), len(set(shapes)) == 1


def choose_mode(folder: str | os.PathLike | FolderSet, mode: str = "auto", limit: int | None = None) -> str:
    """``"memory"`` or ``"stream"`` for an image folder: ``mode`` if it names one, else streaming when the
    decoded images would exceed ``limit`` bytes (``$PE_LAB_MEMORY_LIMIT_GB``, default 2 GiB) or differ in size."""
    check_choice("data mode", mode, ("auto", "memory", "stream"))
    if mode != "auto":
        return mode
    limit = memory_limit_bytes() if limit is None else check_number("limit", limit, positive=True)
    size, uniform = decoded_bytes(folder)
    return "memory" if uniform and size <= limit else "stream"


def normalization(data: ImageSet | FolderSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(mean, std)`` per channel for ``data``'s images: ImageNet's for a streamed folder, CIFAR-10's (as
    ``data.Batches`` uses) for images in memory."""
    return (data.mean, data.std) if isinstance(data, FolderSet) else (CIFAR10_MEAN, CIFAR10_STD)


class SeededItems(Dataset):
    """Items ``key -> (uint8 image (3, S, S), label)`` where ``key = epoch * N + index`` (from
    ``ShardedEpochSampler``): the augmentation is drawn from ``sample_seed(seed, unit, epoch, index)``.

    In-memory data (``ImageSet``) gets the CIFAR recipe (``crop_and_flip``: zero padding 4, random crop, flip), as
    ``Batches`` does; a ``FolderSet`` gets the ImageNet transforms.
    """

    def __init__(self, data: ImageSet | FolderSet, *, train: bool = True, augment: bool = True, seed: int = 0,
                 unit: int = 0) -> None:
        self.data, self.train, self.augment, self.seed, self.unit = data, train, augment, seed, unit
        self.streamed = isinstance(data, FolderSet)
        self._transform = data.transform(train, augment) if self.streamed else None
        self.images = None if self.streamed else data.images.cpu()
        self.labels = data.labels.cpu()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = divmod(int(key), len(self.labels))
        generator = torch.Generator().manual_seed(sample_seed(self.seed, self.unit, epoch, index))
        if self.streamed:
            image = decode_image(self.data.files[index])
            # torchvision's transforms draw from the global generator: fork it so that the draw is this image's.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
                image = self._transform(image)
        else:
            image = self.images[index]
            if self.train and self.augment:
                image = crop_and_flip(image[None], generator)[0]
        return image, self.labels[index]


class ShardedEpochSampler(Sampler[int]):
    """Keys ``epoch * N + index`` for one process's share of each epoch.

    The epoch's order is a permutation drawn from ``(seed, unit, epoch)``; global batch k is its k-th slice of
    ``batch_size * num_replicas`` indices, and rank r takes the r-th part of that slice. So one process with
    batch ``batch_size * num_replicas`` sees the same global batches. The last incomplete global batch is dropped
    (as ``fit`` does). ``set_epoch`` is called by Lightning before each epoch; ``epoch_offset`` is the number of
    epochs done before a resume.
    """

    def __init__(self, size: int, batch_size: int, *, num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 unit: int = 0, shuffle: bool = True, epoch_offset: int = 0) -> None:
        self.size, self.batch_size = size, check_int("batch_size", batch_size, minimum=1)
        self.num_replicas, self.rank = num_replicas, rank
        self.seed, self.unit, self.shuffle, self.epoch_offset, self.epoch = seed, unit, shuffle, epoch_offset, 0
        self.steps = size // (batch_size * num_replicas)
        if self.steps < 1:
            raise ValueError(f"{size} images make no global batch of {batch_size} x {num_replicas} processes")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps * self.batch_size

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch + self.epoch_offset
        if self.shuffle:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.unit, epoch, -1))
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        share = order[:self.steps * self.batch_size * self.num_replicas].view(self.steps, self.num_replicas, -1)
        yield from (share[:, self.rank].reshape(-1) + epoch * self.size).tolist()
