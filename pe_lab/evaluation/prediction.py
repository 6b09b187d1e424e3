"""What a trained ensemble predicts: every member's softmax ``(N, M, K)``, the ensemble's mean ``(N, K)``, and
the accuracy / NLL / ECE of that mean. The one place where a model meets test data (``fit``'s per-epoch
evaluation, the reports, the shift evaluation and the explorers all call it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.images import Batches, ImageSet
from ..methods.registry import batch_functions
from ..runtime import resolve_runtime
from ..validate import check_number
from .metrics import accuracy, ece, nll

__all__ = ["evaluate", "predict_member_probs", "predict_proba", "prediction_scores"]


@torch.no_grad()
def predict_member_probs(model: nn.Module, data, *, batch_size: int = 500,
                         device: str | torch.device = "auto", channels_last: bool | None = None) -> torch.Tensor:
    """Softmax probabilities of every member, ``(N, M, K)`` on the CPU, in eval mode. ``data``: an ``ImageSet``
    (in memory) or a ``pe_lab.data.streaming.FolderSet`` (read from disk)."""
    runtime = resolve_runtime(device, None, channels_last)  # fp16 autocast on CUDA
    device, channels_last = runtime.device, runtime.channels_last
    model = model.to(device).eval()
    if isinstance(data, ImageSet):
        batches = Batches(data.to(device), batch_size, channels_last=channels_last)
    else:  # a streamed folder (pe_lab.data.streaming.FolderSet): read by DataLoader workers, batch by batch
        batches = data.batches(batch_size, device=device, channels_last=channels_last)
    _, test_batch = batch_functions(model)
    out = []
    for images, _ in batches:
        with runtime.autocast():
            out.append(model(test_batch(images)).float().softmax(-1).cpu())
    return torch.cat(out)


def prediction_scores(probs: torch.Tensor, labels: torch.Tensor, num_bins: int = 15) -> dict[str, float]:
    """Accuracy, NLL and ECE (``num_bins`` bins) of a predictive distribution ``(N, K)``: the three numbers every
    shift, toy and quick evaluation reports of an ensemble's averaged prediction."""
    return {"accuracy": accuracy(probs, labels), "nll": nll(probs, labels), "ece": ece(probs, labels, num_bins)}


def evaluate(model: nn.Module, data: ImageSet, **kwargs) -> dict[str, float]:
    """Accuracy, NLL and ECE of the ensemble's averaged prediction on ``data``."""
    return prediction_scores(predict_member_probs(model, data, **kwargs).mean(1), data.labels.cpu())


def predict_proba(model: nn.Module, x: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """The ensemble's predictive distribution ``(B, K)``: the mean over members of softmax(logits).

    >>> from pe_lab.methods import build
    >>> p = predict_proba(build("lenet", "packed").eval(), torch.zeros(2, 3, 32, 32))
    >>> p.shape, torch.allclose(p.sum(-1), torch.ones(2))
    (torch.Size([2, 10]), True)
    """
    temperature = check_number("temperature", temperature, positive=True)  # 0 gives NaN, < 0 inverts the ranking
    logits = model(x)
    if logits.dim() != 3:
        raise ValueError(f"models must return logits (B, M, K), got {tuple(logits.shape)}")
    return F.softmax(logits / temperature, dim=-1).mean(dim=1)
