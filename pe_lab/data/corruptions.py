"""Distribution shift in the style of CIFAR-10-C, offline: eleven corruptions at five severities, and procedural
textures as a far-OOD set. ``corrupt(images, name, severity)`` maps uint8 images ``(N, 3, H, W)`` to uint8
images of the same shape; each corruption is seeded, so a result can be pinned."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..validate import check_choice, check_int
from .images import ImageSet

__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt", "shifted", "synthetic_textures"]


SEVERITIES = (1, 2, 3, 4, 5)


def _float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255


def _uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    weight = kernel.to(x).expand(channels, 1, *kernel.shape)
    pad = (kernel.shape[1] // 2, kernel.shape[1] // 2, kernel.shape[0] // 2, kernel.shape[0] // 2)
    return F.conv2d(F.pad(x, pad, mode="reflect"), weight, groups=channels)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
    line = torch.exp(-grid ** 2 / (2 * sigma ** 2))
    kernel = line[:, None] * line[None, :]
    return kernel / kernel.sum()


def _gaussian_noise(x, level, g):
    return x + torch.randn(x.shape, generator=g) * (0.04, 0.06, 0.08, 0.09, 0.10)[level]


def _shot_noise(x, level, g):
    rate = (500, 250, 100, 75, 50)[level]
    return torch.poisson(x * rate, generator=g) / rate


def _impulse_noise(x, level, g):
    amount = (0.01, 0.02, 0.03, 0.05, 0.07)[level]
    u = torch.rand(x.shape, generator=g)
    return torch.where(u < amount / 2, 0.0, torch.where(u > 1 - amount / 2, 1.0, x))


def _gaussian_blur(x, level, g):
    return _blur(x, _gaussian_kernel((0.4, 0.6, 0.7, 0.8, 1.0)[level]))


def _motion_blur(x, level, g):
    length = (3, 5, 5, 7, 9)[level]
    kernel = torch.zeros(length, length)
    kernel[length // 2] = 1.0 / length           # horizontal streak
    return _blur(x, kernel)


def _contrast(x, level, g):
    factor = (0.75, 0.5, 0.4, 0.3, 0.15)[level]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor + mean


def _brightness(x, level, g):
    return x + (0.05, 0.1, 0.15, 0.2, 0.3)[level]


def _saturate(x, level, g):
    factor = (0.3, 0.1, 2.0, 5.0, 20.0)[level]   # CIFAR-10-C's saturate also desaturates at low severities
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    return grey + (x - grey) * factor


def _pixelate(x, level, g):
    size = x.shape[-1]
    small = max(1, round(size * (0.95, 0.9, 0.85, 0.75, 0.65)[level]))
    return F.interpolate(F.interpolate(x, size=small, mode="area"), size=x.shape[-2:], mode="nearest")


def _jpeg(x, level, g):
    import io

    import numpy as np
    from PIL import Image

    quality = (80, 65, 58, 50, 40)[level]
    out = []
    for image in _uint8(x):
        buffer = io.BytesIO()
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        out.append(torch.from_numpy(np.array(Image.open(buffer).convert("RGB"))).permute(2, 0, 1))
    return _float(torch.stack(out))


def _fog(x, level, g):
    strength = (0.2, 0.3, 0.4, 0.5, 0.6)[level]
    coarse = torch.rand(x.shape[0], 1, 4, 4, generator=g)
    haze = F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    return x * (1 - strength) + haze * strength


CORRUPTIONS = {
    "gaussian_noise": _gaussian_noise, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur, "motion_blur": _motion_blur, "contrast": _contrast,
    "brightness": _brightness, "saturate": _saturate, "pixelate": _pixelate, "jpeg_compression": _jpeg,
    "fog": _fog,
}


def corrupt(images: torch.Tensor, name: str, severity: int, *, seed: int = 0) -> torch.Tensor:
    """``images`` ``(N, 3, H, W)`` uint8 under corruption ``name`` at ``severity`` (1-5), uint8 out. Seeded:
    the same call gives the same images.

    >>> x = torch.full((2, 3, 8, 8), 128, dtype=torch.uint8)
    >>> corrupt(x, "brightness", 5).float().mean().item() > 128
    True
    """
    check_choice("corruption", name, CORRUPTIONS)
    check_choice("severity", severity, SEVERITIES)
    if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.dim() == 4):
        raise ValueError(f"images must be uint8 (N, 3, H, W), got {getattr(images, 'dtype', type(images))} "
                         f"{tuple(getattr(images, 'shape', ()))}")
    generator = torch.Generator().manual_seed(seed * 1000 + list(CORRUPTIONS).index(name) * 10 + severity)
    return _uint8(CORRUPTIONS[name](_float(images.cpu()), severity - 1, generator))


def shifted(data: ImageSet, name: str, severity: int, *, seed: int = 0) -> ImageSet:
    """``data`` with its images corrupted; the source names the corruption and says *in the style of*."""
    images = corrupt(data.images, name, severity, seed=seed)
    return ImageSet(images, data.labels.cpu(), data.classes,
                    f"{data.source}, {name} severity {severity} (in the style of CIFAR-10-C, generated by pe-lab)")


def synthetic_textures(count: int = 1000, *, size: int = 32, seed: int = 0) -> ImageSet:
    """``count`` procedural texture images (five kinds, random colours, scales and angles) as a far-OOD set.
    Labels are the texture kind (0-4); ``source`` says it is synthetic and not DTD.

    >>> textures = synthetic_textures(10)
    >>> textures.images.shape, textures.source.startswith("synthetic textures")
    (torch.Size([10, 3, 32, 32]), True)
    """
    count = check_int("count", count, minimum=1)
    generator = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                          indexing="ij")
    images, labels = [], []
    for index in range(count):
        kind = index % 5
        angle = torch.rand(1, generator=generator).item() * math.pi
        period = 3 + torch.rand(1, generator=generator).item() * 9
        u = x * math.cos(angle) + y * math.sin(angle)
        v = -x * math.sin(angle) + y * math.cos(angle)
        if kind == 0:        # stripes
            pattern = (torch.sin(2 * math.pi * u / period) > 0).float()
        elif kind == 1:      # checkerboard
            pattern = ((torch.floor(u / period) + torch.floor(v / period)) % 2).float()
        elif kind == 2:      # smooth grating
            pattern = 0.5 + 0.5 * torch.sin(2 * math.pi * u / period)
        elif kind == 3:      # dots
            radius = ((u % period) - period / 2) ** 2 + ((v % period) - period / 2) ** 2
            pattern = (radius < (period / 3.5) ** 2).float()
        else:                # smooth noise
            coarse = torch.rand(1, 1, 5, 5, generator=generator)
            pattern = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0, 0].clamp(0, 1)
        colours = torch.rand(2, 3, 1, 1, generator=generator)
        image = colours[0] * pattern + colours[1] * (1 - pattern)
        images.append(image)
        labels.append(kind)
    return ImageSet(_uint8(torch.stack(images)), torch.tensor(labels), ("stripes", "checkerboard", "grating", "dots",
                                                                         "smooth noise"),
                    "synthetic textures (procedural, generated by pe-lab; not DTD)")
