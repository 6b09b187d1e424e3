"""The CIFAR augmentation (``crop_and_flip``): what it does to an image, and that both engines draw it alike."""

import torch

from pe_lab.data.images import Batches, crop_and_flip, normalize, synthetic_dataset
from pe_lab.data.streaming import SeededItems, sample_seed


def _windows(image: torch.Tensor, pad: int = 4) -> list[torch.Tensor]:
    """Every crop of ``image`` zero-padded by ``pad``, and its mirror image."""
    _, height, width = image.shape
    padded = torch.nn.functional.pad(image, (pad, pad, pad, pad))
    crops = [padded[:, r:r + height, c:c + width] for r in range(2 * pad + 1) for c in range(2 * pad + 1)]
    return crops + [crop.flip(-1) for crop in crops]


def test_every_augmented_image_is_a_shifted_crop_of_itself_maybe_mirrored_and_both_happen():
    images = torch.randint(1, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = crop_and_flip(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert all(any(torch.equal(o, w) for w in _windows(i)) for o, i in zip(out, images, strict=True))
    unchanged = sum(torch.equal(o, i) for o, i in zip(out, images, strict=True))
    mirrored = sum(torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True))
    assert unchanged < 64 and 0 < mirrored < 64


def test_both_engines_augment_through_the_same_draws():
    """A Lightning item is ``crop_and_flip`` of its image with the item's own generator, and ``Batches`` (the pe-lab
    loop) is ``crop_and_flip`` of the batch with the batch's generator: one augmentation, one set of draws."""
    data = synthetic_dataset(2, 3)
    seed, unit, epoch, index = 1, 0, 0, 5
    item, _ = SeededItems(data, seed=seed, unit=unit)[epoch * len(data) + index]
    drawn = sample_seed(seed, unit, epoch, index)
    assert torch.equal(item, crop_and_flip(data.images[index:index + 1], torch.Generator().manual_seed(drawn))[0])
    (batch, _), = Batches(data, len(data), augment=True, generator=torch.Generator().manual_seed(drawn))
    assert torch.equal(batch, normalize(crop_and_flip(data.images, torch.Generator().manual_seed(drawn))))
