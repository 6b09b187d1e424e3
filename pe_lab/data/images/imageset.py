"""An ``ImageSet``: images ``(N, 3, H, W)`` uint8 in memory, their labels and classes, and where they came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import torch

from ...validate import check_int

__all__ = ["ImageSet", "dataset_name", "subset"]


@dataclass
class ImageSet:
    """Images ``(N, 3, H, W)`` uint8 and labels ``(N,)`` int64, with where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        # Every message names the source: the file or folder the bad images or labels came from.
        if self.images.dim() != 4 or self.images.shape[1] != 3 or self.images.dtype != torch.uint8:
            raise ValueError(f"{self.source}: images must be uint8 (N, 3, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.source}: labels must be ({self.images.shape[0]},), got {tuple(self.labels.shape)}")
        if self.images.shape[0] == 0:
            raise ValueError(f"the data set from {self.source} is empty")
        if self.labels.is_floating_point() or self.labels.dtype == torch.bool:
            raise ValueError(f"{self.source}: labels must be integer class indices, got {self.labels.dtype}")
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise ValueError(f"{self.source}: labels must lie in [0, {len(self.classes)}) for classes {self.classes}, "
                             f"got range [{int(self.labels.min())}, {int(self.labels.max())}]")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def synthetic(self) -> bool:
        return self.source.startswith("synthetic")

    def to(self, device: torch.device | str) -> ImageSet:
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))


_FOLDER = re.compile(r"^image folder (?P<path>.+?)(?P<rest>(?: \([^()]*\))*)$")


# Folders that hold data sets rather than name one: ``data/svhn-test`` is named ``svhn-test``.
_DATA_ROOTS = {"data", "<data>", "datasets", "shared", ".", ".."}


def dataset_name(source: str) -> str:
    """What a record calls a data set: its ``source`` with a folder's path cut to its last two parts (one where the
    part above is only a data root such as ``data``), which name the data wherever it lies (a record never holds a
    path of the machine that made it).

    >>> dataset_name("image folder /home/me/data/cifar10-jpeg/test (subset: 100 per class)")
    'image folder cifar10-jpeg/test (subset: 100 per class)'
    >>> dataset_name("image folder ../shared/data/svhn-test")
    'image folder svhn-test'
    >>> dataset_name("synthetic")
    'synthetic'
    """
    found = _FOLDER.match(str(source))
    if found is None:
        return str(source)
    parts = found["path"].replace("\\", "/").rstrip("/").split("/")
    named = parts[-1:] if len(parts) < 2 or parts[-2].lower() in _DATA_ROOTS else parts[-2:]
    return f"image folder {'/'.join(named)}{found['rest']}"


def subset(data: ImageSet, per_class: int, seed: int = 0) -> ImageSet:
    """The first ``per_class`` images of each class after a seeded shuffle (balanced quick runs)."""
    per_class = check_int("per_class", per_class, minimum=1)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    labels = data.labels[order.to(data.labels.device)].cpu()
    keep = torch.cat([order[labels == c][:per_class] for c in range(len(data.classes))]).sort().values
    keep = keep.to(data.images.device)
    return replace(data, images=data.images[keep], labels=data.labels[keep],
                   source=f"{data.source} (subset: {per_class} per class)")
