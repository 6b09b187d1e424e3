"""Batches for training and evaluation: per-channel normalisation, the CIFAR augmentation (``crop_and_flip``) and
``Batches``, which serves normalised, augmented float batches with tensor ops only, on whatever device the images
live on."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import torch

from .imageset import ImageSet

__all__ = ["Batches", "CIFAR10_MEAN", "CIFAR10_STD", "crop_and_flip", "normalize"]


CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


@functools.lru_cache(maxsize=16)
def _scaled_statistics(mean: tuple[float, ...], std: tuple[float, ...],
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, len(mean), 1, 1)
    return (torch.tensor(mean, device=device).view(shape) * 255, torch.tensor(std, device=device).view(shape) * 255)


def normalize(images: torch.Tensor, mean: tuple[float, ...] = CIFAR10_MEAN,
              std: tuple[float, ...] = CIFAR10_STD) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` -> float, normalised per channel, on the batch's device. The constants are built once
    per device, not copied to it for every batch (a per-step host-to-device copy on a GPU)."""
    mean_t, std_t = _scaled_statistics(tuple(mean), tuple(std), images.device)
    return (images.float() - mean_t) / std_t


def crop_and_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """The CIFAR augmentation of images ``(N, C, H, W)``, the one every engine uses: each image is a random
    ``H x W`` crop of itself zero-padded by ``pad`` on every side, flipped left-right with probability 1/2.
    The draws come from ``generator`` (a CPU one) in a fixed order, all offsets then all flips, so a batch of one
    image draws what one image alone draws; the crop runs on ``images``' device."""
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(images.device)
    rows = (torch.arange(height, device=images.device)[None, :] + offsets[0, :, None])  # (N, H)
    cols = (torch.arange(width, device=images.device)[None, :] + offsets[1, :, None])   # (N, W)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch_index = torch.arange(n, device=images.device)[:, None, None]
    pixels_last = padded.permute(0, 2, 3, 1)                                       # (N, H+2pad, W+2pad, C)
    return pixels_last[batch_index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


class Batches:
    """Normalised float batches ``(B, 3, H, W)`` with labels ``(B,)`` from an ``ImageSet``.

    ``augment=True`` applies the CIFAR recipe on whole batches (``crop_and_flip``): random crop with zero padding 4
    and a random horizontal flip. ``generator`` fixes the shuffle and the augmentation (a DE member passes
    its own, so members see their own orders). Everything runs on ``data``'s device.
    """

    def __init__(self, data: ImageSet, batch_size: int, *, shuffle: bool = False, augment: bool = False,
                 generator: torch.Generator | None = None, drop_last: bool = False, channels_last: bool = False,
                 mean: tuple[float, ...] = CIFAR10_MEAN, std: tuple[float, ...] = CIFAR10_STD) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.data, self.batch_size = data, batch_size
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.generator = generator or torch.Generator().manual_seed(0)
        self.channels_last = channels_last
        self.mean, self.std = tuple(mean), tuple(std)

    def __len__(self) -> int:
        n = len(self.data)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.data)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.data.images.device)
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                break
            images = self.data.images[index]
            if self.augment:
                images = crop_and_flip(images, self.generator)
            images = normalize(images, self.mean, self.std)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, self.data.labels[index]
