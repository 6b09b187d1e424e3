"""What a run stores beside its report: the first seed's member probabilities (``-predictions-<method>-seed<s>.pt``)
and a few test images (``-samples.pt``), written with ``atomic_save`` and read back with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import assets_dir, atomic_save
from .records import ReportError

__all__ = ["load_committed_samples", "load_predictions", "pick_sample_images", "save_predictions", "save_sample_images"]


def save_predictions(path: Path, member_probs: torch.Tensor, labels: torch.Tensor, ood_probs: torch.Tensor | None,
                     classes: tuple[str, ...]) -> None:
    """Store member probabilities (float16) so that notebooks can plot real results without training."""
    atomic_save({"test": member_probs.half(), "test_labels": labels.cpu(),
                 "ood": ood_probs.half() if ood_probs is not None else None, "classes": list(classes)}, path)


def _load_stored(path: Path, what: str, keys: tuple[str, ...]) -> dict:
    """A dict of tensors written by this module, loaded with ``weights_only=True``; ``ReportError`` names the
    file when it is unreadable or lacks one of ``keys``."""
    try:
        stored = torch.load(path, weights_only=True)
    except Exception as error:  # truncated or not a torch file
        raise ReportError(f"stored {what} {path} cannot be read ({type(error).__name__}); restore the file "
                          "(git checkout) or rerun the experiment with --save-predictions") from error
    if not isinstance(stored, dict) or any(stored.get(key) is None for key in keys):
        raise ReportError(f"{path} is not a pe-lab {what} file (needs {', '.join(keys)})")
    return stored


def load_predictions(path: Path) -> dict:
    """Inverse of ``save_predictions`` (``weights_only=True``); probabilities come back as float32."""
    stored = _load_stored(path, "predictions", ("test", "test_labels", "classes"))
    test, labels, ood = stored["test"], stored["test_labels"], stored.get("ood")
    if not (isinstance(test, torch.Tensor) and test.dim() == 3 and test.is_floating_point()):
        raise ReportError(f"{path}: test must be member probabilities (N, M, K), got "
                          f"{tuple(test.shape) if isinstance(test, torch.Tensor) else type(test).__name__}")
    if not (isinstance(labels, torch.Tensor) and labels.shape == test.shape[:1]):
        raise ReportError(f"{path}: test_labels must be {test.shape[0]} labels, one per test image")
    if ood is not None and not (isinstance(ood, torch.Tensor) and ood.dim() == 3 and ood.shape[1:] == test.shape[1:]):
        raise ReportError(f"{path}: ood must be member probabilities (N, {test.shape[1]}, {test.shape[2]}) like test")
    if len(stored["classes"]) != test.shape[2]:
        raise ReportError(f"{path}: classes names {len(stored['classes'])} classes but test has {test.shape[2]}")
    stored["test"] = test.float()
    if ood is not None:
        stored["ood"] = ood.float()
    return stored


def pick_sample_images(member_probs: torch.Tensor, count: int = 8, seed: int = 0) -> torch.Tensor:
    """Indices of ``count`` test images for a prediction grid, by a seeded random pick: half on which the
    members disagree (their arg-max differs), half on which they agree. ``member_probs`` ``(N, M, K)``."""
    order = torch.randperm(member_probs.shape[0], generator=torch.Generator().manual_seed(seed))
    votes = member_probs[order].argmax(-1)
    disagree = order[(votes != votes[:, :1]).any(1)]
    agree = order[(votes == votes[:, :1]).all(1)]
    half = count // 2
    chosen = torch.cat([disagree[:half], agree[:count - min(half, len(disagree))]])
    return chosen[:count]


def save_sample_images(path: Path, images: torch.Tensor, index: torch.Tensor) -> None:
    """Store the few test images a notebook draws (uint8), so that it need not read the whole test set."""
    atomic_save({"index": index.cpu(), "images": images[index.to(images.device)].cpu()}, path)


def load_committed_samples(name: str = "cifar10_resnet20", which: str = "samples") -> dict | None:
    """Test images stored beside committed predictions (``index``, ``images`` uint8), or None:
    ``which="samples"`` the grid's seeded pick, ``"first-images"`` the first test images."""
    path = assets_dir() / "results" / f"{name}-{which}.pt"
    if not path.exists():
        return None
    return _load_stored(path, "sample images", ("index", "images"))
