"""How well a score separates out-of-distribution samples from in-distribution ones: AUROC, AUPR and FPR95 of two
score sets (OOD samples are the positive class, as in the Packed-Ensembles paper), by torchmetrics on ranks.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.classification import binary_auroc, binary_average_precision, binary_roc

from ..validate import check_number, check_scores

__all__ = ["aupr", "auroc", "fpr95", "fpr_at_tpr", "ranked_targets"]


def fpr_at_tpr(in_scores: torch.Tensor, out_scores: torch.Tensor, tpr: float = 0.95) -> float:
    """False-positive rate on in-distribution samples at the first threshold whose TPR on OOD is >= tpr."""
    tpr = check_number("tpr", tpr, minimum=0, maximum=1)
    scores, targets = ranked_targets(in_scores, out_scores)
    fpr, tpr_curve, _ = binary_roc(scores, targets)
    return fpr[torch.searchsorted(tpr_curve, torch.tensor(tpr, dtype=tpr_curve.dtype))].item()


def ranked_targets(in_scores: torch.Tensor, out_scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both score sets checked, concatenated and replaced by their ranks in ``[0, 1]``, and the targets (1: OOD)."""
    check_scores("in_scores", in_scores)
    check_scores("out_scores", out_scores)
    scores = torch.cat([in_scores, out_scores]).double()
    # torchmetrics passes scores outside [0, 1] through a sigmoid, which saturates (energies, logits, distances
    # above ~37 would all tie at 1.0): rank them instead. Only the order matters to AUROC, AUPR and FPR95,
    # and equal scores keep equal ranks, so ties count as ties.
    distinct, rank = torch.unique(scores, return_inverse=True)
    scores = rank.double() / max(len(distinct) - 1, 1)
    targets = torch.cat([torch.zeros(in_scores.numel()), torch.ones(out_scores.numel())]).long()
    return scores, targets


def auroc(in_scores: torch.Tensor, out_scores: torch.Tensor) -> float:
    """Area under the ROC curve of flagging ``out_scores`` (OOD positive) above ``in_scores``."""
    return binary_auroc(*ranked_targets(in_scores, out_scores)).item()


def aupr(in_scores: torch.Tensor, out_scores: torch.Tensor) -> float:
    """Area under the precision-recall curve (average precision), OOD positive."""
    return binary_average_precision(*ranked_targets(in_scores, out_scores)).item()


def fpr95(in_scores: torch.Tensor, out_scores: torch.Tensor) -> float:
    """The share of in-distribution samples flagged when 95 % of the OOD samples are caught."""
    return fpr_at_tpr(in_scores, out_scores, 0.95)
