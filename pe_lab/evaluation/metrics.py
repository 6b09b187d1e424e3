"""Uncertainty metrics: pure functions of probabilities, labels and scores (tensors in, numbers out).

Conventions:

* ``probs`` is the ensemble's predictive distribution ``(N, K)``; ``member_probs`` is ``(N, M, K)`` and
  ``probs = member_probs.mean(1)``.
* An OOD *score* is an uncertainty: higher means "more likely out-of-distribution". OOD samples are the
  positive class for AUROC / AUPR, as in the Packed-Ensembles paper; FPR95 is the fraction of
  in-distribution samples flagged when 95 % of the OOD samples are caught.

Hand-written formulas (ECE, Brier, FPR95) are checked against torchmetrics in the tests; where torchmetrics
has the metric (ECE, AUROC, AUPR, ROC), it computes it here.

Every entry reads its probabilities through ``_probabilities``, which checks them and hands back float64: pe-lab
stores member predictions as float16, whose sums stop growing at 2048 (a reliability diagram of 50,000 images
would count 49,984 of them, and an ECE of 0.1 would read 0.0). Scores returned per sample are float32 at least.
"""

from __future__ import annotations

import math

import torch
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_average_precision,
    binary_roc,
    multiclass_calibration_error,
)

from ..validate import check_choice, check_int, check_number, check_probabilities, check_scores

__all__ = [
    "OOD_CRITERIA", "accuracy", "brier_score", "calibration_direction", "diversity", "ece", "ece_by_hand", "entropy",
    "evaluate_predictions", "first_members", "fpr_at_tpr", "mutual_information", "nll", "ood_metrics", "ood_score",
    "reliability_data", "variation_ratio", "with_temperature"]

_EPS = 1e-12


def _probabilities(probs: torch.Tensor, labels: torch.Tensor | None = None, name: str = "probs", *,
                   dims: int = 2) -> torch.Tensor:
    """The one gate of every metric: ``probs`` checked (probability vectors over K >= 2 classes, ``labels`` class
    indices that fit them) and returned as float64, so that no sum is taken in float16 or bfloat16."""
    check_probabilities(name, probs, dims=dims)
    if probs.shape[-1] < 2:
        raise ValueError(f"{name} has K={probs.shape[-1]} class; calibration, likelihood and uncertainty need at "
                         "least 2 classes (a one-class probability is always 1)")
    if labels is not None:
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be a torch.Tensor (N,) of class indices, got {type(labels).__name__}")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"labels must be integer class indices (e.g. torch.long), got {labels.dtype}; "
                            "round or argmax them first")
        if labels.shape != (probs.shape[0],):
            raise ValueError(f"labels must be ({probs.shape[0]},) to match {name}, got {tuple(labels.shape)}")
        if labels.min() < 0 or labels.max() >= probs.shape[-1]:
            raise ValueError(f"labels must lie in [0, {probs.shape[-1]}), got range "
                             f"[{int(labels.min())}, {int(labels.max())}]")
    return probs.double()


def _bin_dtype(probs) -> torch.dtype:
    """The precision confidence bins are drawn in: the probabilities' own, float32 at least."""
    return torch.promote_types(probs.dtype, torch.float32) if isinstance(probs, torch.Tensor) else torch.float32


def _scores(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sample results in the caller's precision, float32 at least (float64 in, float64 out)."""
    return values.to(torch.promote_types(like.dtype, torch.float32))


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose arg-max class is the label.

    >>> accuracy(torch.tensor([[.9, .1], [.2, .8]]), torch.tensor([0, 0]))
    0.5
    """
    probs = _probabilities(probs, labels)
    return (probs.argmax(1) == labels).double().mean().item()


def nll(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Negative log-likelihood of the labels, ``-mean log p(y|x)`` (natural log).

    >>> round(nll(torch.tensor([[.5, .5]]), torch.tensor([1])), 4)
    0.6931
    """
    probs = _probabilities(probs, labels)
    return -probs.gather(1, labels.long()[:, None]).clamp_min(_EPS).log().mean().item()  # int32 labels too


def brier_score(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Multiclass Brier score ``mean_i sum_k (p_ik - 1[y_i = k])^2`` (0 best, 2 worst).

    >>> round(brier_score(torch.tensor([[.75, .25]]), torch.tensor([0])), 4)
    0.125
    """
    probs = _probabilities(probs, labels)
    one_hot = torch.nn.functional.one_hot(labels.long(), probs.shape[1]).to(probs)
    return (probs - one_hot).pow(2).sum(1).mean().item()


def reliability_data(probs: torch.Tensor, labels: torch.Tensor, num_bins: int = 15) -> dict[str, torch.Tensor]:
    """Per-bin data of a reliability diagram, equal-width confidence bins on ``[0, 1]``.

    Returns ``edges (num_bins+1,)``, and per bin ``confidence``, ``accuracy`` (NaN where empty), ``count``, all
    float64. A confidence ``c`` falls in bin ``b`` iff ``edges[b] < c <= edges[b+1]``, the edges taken in the
    precision of ``probs`` (float32 at least, as torchmetrics takes them), so that a confidence written as 0.6
    falls in the bin that ends at 0.6; the sums are float64.
    """
    edge_dtype = _bin_dtype(probs)
    probs = _probabilities(probs, labels)
    num_bins = check_int("num_bins", num_bins, minimum=1)
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).double()
    edges = torch.linspace(0, 1, num_bins + 1, dtype=edge_dtype).double()  # exact: float32 -> float64
    index = (torch.bucketize(confidence, edges, right=False) - 1).clamp(0, num_bins - 1)
    count = torch.bincount(index, minlength=num_bins).double()
    conf_sum = torch.zeros(num_bins, dtype=torch.float64).index_add_(0, index, confidence)
    acc_sum = torch.zeros(num_bins, dtype=torch.float64).index_add_(0, index, correct)
    safe = count.clamp_min(1)
    empty = count == 0
    return {
        "edges": edges,
        "confidence": torch.where(empty, torch.nan, conf_sum / safe),
        "accuracy": torch.where(empty, torch.nan, acc_sum / safe),
        "count": count,
    }


def calibration_direction(probs: torch.Tensor, labels: torch.Tensor, num_bins: int = 15) -> dict[str, float]:
    """Where the miscalibration lies: how many non-empty bins (and what share of samples) are over-confident
    (accuracy < confidence) or under-confident (accuracy > confidence).

    >>> calibration_direction(torch.tensor([[.9, .1], [.9, .1]]), torch.tensor([0, 1]), num_bins=10)
    {'over_bins': 1, 'under_bins': 0, 'filled_bins': 1, 'share_over': 1.0, 'share_under': 0.0}
    """
    data = reliability_data(probs, labels, num_bins)
    filled = data["count"] > 0
    gap = (data["accuracy"] - data["confidence"])[filled]
    count = data["count"][filled]
    return {"over_bins": int((gap < 0).sum()), "under_bins": int((gap > 0).sum()), "filled_bins": int(filled.sum()),
            "share_over": (count[gap < 0].sum() / count.sum()).item(),
            "share_under": (count[gap > 0].sum() / count.sum()).item()}


def ece_by_hand(probs: torch.Tensor, labels: torch.Tensor, num_bins: int = 15) -> float:
    """Expected calibration error written out: ``sum_b |B_b|/N * |acc(B_b) - conf(B_b)|``.

    This is the formula the notebooks teach; ``ece`` (torchmetrics) is what reports use. Tests check
    that both agree.
    """
    data = reliability_data(probs, labels, num_bins)
    weights = data["count"] / data["count"].sum()
    gaps = (data["accuracy"] - data["confidence"]).abs().nan_to_num(0.0)
    return (weights * gaps).sum().item()


def ece(probs: torch.Tensor, labels: torch.Tensor, num_bins: int = 15) -> float:
    """Expected calibration error (L1, equal-width bins) by torchmetrics, on the probabilities in float32 at
    least (torchmetrics itself sums its bins in float32: at 50,000 images its result can differ from
    ``ece_by_hand``, summed in float64, in the fourth decimal).

    >>> round(ece(torch.tensor([[.9, .1], [.9, .1]]), torch.tensor([0, 1]), num_bins=10), 4)
    0.4
    """
    edge_dtype = _bin_dtype(probs)
    probs = _probabilities(probs, labels)
    num_bins = check_int("num_bins", num_bins, minimum=1)
    return multiclass_calibration_error(probs.to(edge_dtype), labels, num_classes=probs.shape[1], n_bins=num_bins,
                                        norm="l1").item()


def with_temperature(member_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature scaling from stored probabilities: ``softmax(log p_m / T)`` for each member, ``(N, M, K)``.

    Exactly ``softmax(z_m / T)`` for the logits ``z_m`` behind ``p_m``, because ``log p_m`` differs from ``z_m``
    by a constant per sample, which the softmax ignores. ``T > 1`` softens, ``T < 1`` sharpens. Computed in float64
    from ``log p_m - max_k log p_m`` (the same constant-per-sample freedom), so the largest class enters as 0 and a
    tiny ``T`` gives the one-hot limit (ties share it) instead of ``-inf / -inf`` = NaN; returned in the input's
    precision, float32 at least.

    >>> p = torch.tensor([[[0.7, 0.2, 0.1]]])
    >>> torch.allclose(with_temperature(p, 1.0), p)
    True
    """
    probs = _probabilities(member_probs, name="member_probs", dims=3)
    temperature = check_number("temperature", temperature, positive=True)
    log_probs = probs.clamp_min(_EPS).log()
    shifted = log_probs - log_probs.amax(-1, keepdim=True)            # <= 0, exactly 0 at the largest class
    return _scores((shifted / temperature).softmax(-1), member_probs)


def diversity(member_probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Why an ensemble helps, in numbers: each member's accuracy, the ensemble's, the **ensemble gain**
    (ensemble accuracy minus the mean member accuracy) and the mean **pairwise disagreement** (the share of
    images on which two members predict different classes). ``member_probs`` ``(N, M, K)``.

    >>> p = torch.tensor([[[.9, .1], [.2, .8]], [[.8, .2], [.7, .3]]])
    >>> d = diversity(p, torch.tensor([0, 0]))
    >>> d["member_accuracy"], d["ensemble_accuracy"], d["disagreement"]
    ([1.0, 0.5], 1.0, 0.5)
    """
    member_probs = _probabilities(member_probs, name="member_probs", dims=3)
    _probabilities(member_probs[:, 0], labels, "member_probs[:, 0]")
    votes = member_probs.argmax(-1)                                              # (N, M)
    member_accuracy = (votes == labels[:, None]).double().mean(0).tolist()
    ensemble = accuracy(member_probs.mean(1), labels)
    members = member_probs.shape[1]
    pairs = [(votes[:, a] != votes[:, b]).double().mean().item() for a in range(members) for b in range(a + 1, members)]
    return {"member_accuracy": member_accuracy, "ensemble_accuracy": ensemble,
            "mean_member_accuracy": sum(member_accuracy) / members,
            "ensemble_gain": ensemble - sum(member_accuracy) / members,
            "disagreement": sum(pairs) / len(pairs) if pairs else 0.0}


def first_members(member_probs: torch.Tensor, labels: torch.Tensor, k: int, num_bins: int = 15) -> dict[str, float]:
    """Accuracy, NLL, ECE and mean mutual information of the ensemble of the first ``k`` members of
    ``member_probs`` ``(N, M, K)``: how the ensemble improves as members are added.

    >>> p = torch.tensor([[[.9, .1], [.2, .8]], [[.8, .2], [.7, .3]]])
    >>> first_members(p, torch.tensor([0, 0]), 1)["accuracy"], first_members(p, torch.tensor([0, 0]), 2)["accuracy"]
    (1.0, 1.0)
    """
    member_probs = _probabilities(member_probs, name="member_probs", dims=3)
    k = check_int("k", k, minimum=1)
    if k > member_probs.shape[1]:
        raise ValueError(f"k={k} is more than the {member_probs.shape[1]} members stored")
    chosen = member_probs[:, :k]
    probs = chosen.mean(1)
    return {"accuracy": accuracy(probs, labels), "nll": nll(probs, labels), "ece": ece(probs, labels, num_bins),
            "mutual_information": mutual_information(chosen).mean().item()}


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) along the last dim: ``(..., K) -> (...)``.

    >>> round(entropy(torch.tensor([.5, .5])).item(), 4)
    0.6931
    """
    if not isinstance(probs, torch.Tensor) or probs.dim() == 0:
        raise TypeError(f"probs must be a torch.Tensor (..., K) of probabilities, got {type(probs).__name__}"
                        + (" of 0 dimensions" if isinstance(probs, torch.Tensor) else ""))
    # logits would give negative "entropies"
    wide = _probabilities(probs.reshape(-1, probs.shape[-1])).reshape(probs.shape)
    return _scores(-(wide * wide.clamp_min(_EPS).log()).sum(-1), probs)


def mutual_information(member_probs: torch.Tensor) -> torch.Tensor:
    """Epistemic part of the uncertainty: ``H[mean_m p_m] - mean_m H[p_m]``, ``(N, M, K) -> (N,)``.

    >>> p = torch.tensor([[[1., 0.], [0., 1.]]])          # two members that fully disagree
    >>> round(mutual_information(p).item(), 4)
    0.6931
    """
    wide = _probabilities(member_probs, name="member_probs", dims=3)
    return _scores((entropy(wide.mean(1)) - entropy(wide).mean(1)).clamp_min(0), member_probs)


def variation_ratio(member_probs: torch.Tensor) -> torch.Tensor:
    """Member disagreement: ``1 - (members voting for the modal class) / M``, ``(N, M, K) -> (N,)``.

    >>> p = torch.tensor([[[.9, .1], [.8, .2], [.3, .7], [.6, .4]]])
    >>> variation_ratio(p)
    tensor([0.2500])
    """
    wide = _probabilities(member_probs, name="member_probs", dims=3)
    votes = wide.argmax(-1)                                           # (N, M)
    counts = torch.nn.functional.one_hot(votes, wide.shape[-1]).sum(1)  # (N, K)
    return _scores(1 - counts.max(1).values.double() / wide.shape[1], member_probs)


OOD_CRITERIA = {
    "msp": "1 - maximum softmax probability of the ensemble",
    "entropy": "entropy of the ensemble's predictive distribution",
    "mutual_information": "mutual information between prediction and member (0 for a Single)",
    "variation_ratio": "member disagreement (0 for a Single)",
}


def ood_score(member_probs: torch.Tensor, criterion: str = "msp") -> torch.Tensor:
    """Uncertainty score per sample (higher = more OOD) from member probabilities ``(N, M, K)``."""
    check_choice("OOD criterion", criterion, OOD_CRITERIA)
    wide = _probabilities(member_probs, name="member_probs", dims=3)
    probs = wide.mean(1)
    if criterion == "msp":
        return _scores(1 - probs.max(1).values, member_probs)
    if criterion == "entropy":
        return _scores(entropy(probs), member_probs)
    if criterion == "mutual_information":
        return _scores(mutual_information(wide), member_probs)
    if criterion == "variation_ratio":
        return _scores(variation_ratio(wide), member_probs)
    raise ValueError(f"unknown OOD criterion {criterion!r}; valid choices: {', '.join(OOD_CRITERIA)}")


def fpr_at_tpr(in_scores: torch.Tensor, out_scores: torch.Tensor, tpr: float = 0.95) -> float:
    """False-positive rate on in-distribution samples at the first threshold whose TPR on OOD is >= tpr."""
    tpr = check_number("tpr", tpr, minimum=0, maximum=1)
    scores, targets = _ood_targets(in_scores, out_scores)
    fpr, tpr_curve, _ = binary_roc(scores, targets)
    return fpr[torch.searchsorted(tpr_curve, torch.tensor(tpr, dtype=tpr_curve.dtype))].item()


def _ood_targets(in_scores: torch.Tensor, out_scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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


def ood_metrics(in_scores: torch.Tensor, out_scores: torch.Tensor) -> dict[str, float]:
    """AUROC, AUPR (OOD positive) and FPR95 of separating ``out_scores`` from ``in_scores``.

    >>> ood_metrics(torch.tensor([0., .1, .2]), torch.tensor([.8, .9]))
    {'auroc': 1.0, 'aupr': 1.0, 'fpr95': 0.0}
    """
    scores, targets = _ood_targets(in_scores, out_scores)
    return {
        "auroc": binary_auroc(scores, targets).item(),
        "aupr": binary_average_precision(scores, targets).item(),
        "fpr95": fpr_at_tpr(in_scores, out_scores, 0.95),
    }


def evaluate_predictions(member_probs: torch.Tensor, labels: torch.Tensor, ood_member_probs: torch.Tensor | None = None,
                         *, num_bins: int = 15, criteria: tuple[str, ...] = tuple(OOD_CRITERIA)) -> dict:
    """All the report's numbers from member probabilities ``(N, M, K)`` (and OOD ones, if given).

    Both must be probabilities from the same model: same members ``M`` and classes ``K``.
    """
    member_probs = _probabilities(member_probs, name="member_probs", dims=3)
    if ood_member_probs is not None:
        ood_member_probs = _probabilities(ood_member_probs, name="ood_member_probs", dims=3)
        if ood_member_probs.shape[1:] != member_probs.shape[1:]:
            raise ValueError(f"ood_member_probs (N, M, K) = {tuple(ood_member_probs.shape)} must have the same "
                             f"members and classes as member_probs {tuple(member_probs.shape)}")
    for criterion in criteria:
        check_choice("OOD criterion", criterion, OOD_CRITERIA)
    probs = member_probs.mean(1)
    report = {"accuracy": accuracy(probs, labels), "nll": nll(probs, labels),
              "ece": ece(probs, labels, num_bins), "brier": brier_score(probs, labels),
              "num_bins": num_bins, "num_test": int(labels.numel())}
    if ood_member_probs is not None:
        report["ood"] = {}
        for criterion in criteria:
            in_scores, out_scores = ood_score(member_probs, criterion), ood_score(ood_member_probs, criterion)
            if math.isclose(float(torch.cat([in_scores, out_scores]).std()), 0.0):
                continue  # MI / disagreement of a single network: a constant, no ranking to score
            report["ood"][criterion] = ood_metrics(in_scores, out_scores)
        report["num_ood"] = int(ood_member_probs.shape[0])
    return report
