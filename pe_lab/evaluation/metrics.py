"""Uncertainty metrics: pure functions of probabilities, labels and scores (tensors in, numbers out).

Conventions:

* ``probs`` is the ensemble's predictive distribution ``(N, K)``; ``member_probs`` is ``(N, M, K)`` and
  ``probs = member_probs.mean(1)``.
* An OOD *score* is an uncertainty: higher means "more likely out-of-distribution". OOD samples are the
  positive class for AUROC / AUPR, as in the Packed-Ensembles paper; FPR95 is the fraction of
  in-distribution samples flagged when 95 % of the OOD samples are caught.

Hand-written formulas (ECE, Brier, FPR95) are checked against torchmetrics in the tests; where torchmetrics
has the metric (ECE, AUROC, AUPR, ROC), it computes it here (the OOD ones in ``detection``).

``METRICS``, ``OOD_METRICS`` and ``OOD_CRITERIA`` are the tables every report, summary, table and figure reads:
adding a metric or an OOD criterion is one entry in one of them.

Every entry reads its probabilities through ``_probabilities``, which checks them and hands back float64: pe-lab
stores member predictions as float16, whose sums stop growing at 2048 (a reliability diagram of 50,000 images
would count 49,984 of them, and an ECE of 0.1 would read 0.0). Scores returned per sample are float32 at least.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from ..validate import check_choice, check_int, check_number, check_probabilities
from .detection import aupr, auroc, fpr95, fpr_at_tpr, ranked_targets

__all__ = [
    "METRICS", "OOD_CRITERIA", "OOD_METRICS", "Metric", "OodCriterion", "accuracy", "brier_score",
    "calibration_direction", "criteria_for", "diversity", "ece", "ece_by_hand", "entropy", "evaluate_predictions",
    "first_members", "fpr_at_tpr", "metric", "mutual_information", "nll", "ood_metrics", "ood_score",
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
    """Expected calibration error written out: ``sum_b |S_b|/N * |acc(S_b) - conf(S_b)|``.

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


def _msp_score(member_probs: torch.Tensor) -> torch.Tensor:
    return 1 - member_probs.mean(1).max(1).values


def _entropy_score(member_probs: torch.Tensor) -> torch.Tensor:
    return entropy(member_probs.mean(1))


@dataclass(frozen=True)
class OodCriterion:
    """One way to score how out-of-distribution an image looks: ``score(member_probs)`` maps checked float64
    member probabilities ``(N, M, K)`` to ``(N,)``, higher = more OOD; ``needs_members``: the score is 0 for one
    member (a Single), so it is not scored there."""

    score: Callable[[torch.Tensor], torch.Tensor]
    description: str
    needs_members: bool = False


# Every OOD criterion, by name: adding one is one entry here (reports, tables and explorers read this table).
OOD_CRITERIA: dict[str, OodCriterion] = {
    "msp": OodCriterion(_msp_score, "1 - maximum softmax probability of the ensemble"),
    "entropy": OodCriterion(_entropy_score, "entropy of the ensemble's predictive distribution"),
    "mutual_information": OodCriterion(mutual_information, "mutual information between prediction and member "
                                       "(0 for a Single)", needs_members=True),
    "variation_ratio": OodCriterion(variation_ratio, "member disagreement (0 for a Single)", needs_members=True),
}


def criteria_for(members: int) -> tuple[str, ...]:
    """The OOD criteria worth scoring for a model of ``members`` members: all of them, less those that are 0 for
    one member.

    >>> criteria_for(1)
    ('msp', 'entropy')
    """
    return tuple(name for name, c in OOD_CRITERIA.items() if members > 1 or not c.needs_members)


def ood_score(member_probs: torch.Tensor, criterion: str = "msp") -> torch.Tensor:
    """Uncertainty score per sample (higher = more OOD) from member probabilities ``(N, M, K)``, by the
    ``OOD_CRITERIA`` entry ``criterion``."""
    check_choice("OOD criterion", criterion, OOD_CRITERIA)
    wide = _probabilities(member_probs, name="member_probs", dims=3)
    return _scores(OOD_CRITERIA[criterion].score(wide), member_probs)


def _without_bins(function: Callable[[torch.Tensor, torch.Tensor], float]) -> Callable[..., float]:
    return lambda probs, labels, num_bins: function(probs, labels)


@dataclass(frozen=True)
class Metric:
    """One reported number. ``function``: ``(probs (N, K), labels (N,), num_bins) -> float`` for a metric of the
    predictive distribution (``METRICS``), ``(in_scores, out_scores) -> float`` for one of OOD detection
    (``OOD_METRICS``); ``label`` heads its table column, ``name`` says it in prose and figure titles;
    ``higher_is_better``; ``scale`` (100: a rate shown in percent, differences in points) and ``digits`` as
    tables show it."""

    function: Callable[..., float]
    label: str
    name: str
    higher_is_better: bool
    scale: float = 1
    digits: int = 3


# Every number a run reports, by name, in table order: adding a metric is one entry here (``evaluate_predictions``,
# the report's tables, summaries, prose and figures read these tables).
METRICS: dict[str, Metric] = {
    "accuracy": Metric(_without_bins(accuracy), "Acc", "accuracy", True, 100, 1),
    "nll": Metric(_without_bins(nll), "NLL", "NLL", False),
    "ece": Metric(ece, "ECE", "ECE", False),
    "brier": Metric(_without_bins(brier_score), "Brier", "Brier score", False),
}
OOD_METRICS: dict[str, Metric] = {
    "auroc": Metric(auroc, "AUROC", "AUROC", True, 100, 1),
    "aupr": Metric(aupr, "AUPR", "AUPR", True, 100, 1),
    "fpr95": Metric(fpr95, "FPR95", "FPR95", False, 100, 1),
}


def metric(key: str) -> Metric:
    """The ``METRICS`` or ``OOD_METRICS`` entry ``key``, or a ``ValueError`` naming the known ones."""
    found = {**METRICS, **OOD_METRICS}
    check_choice("metric", key, found)
    return found[key]


def ood_metrics(in_scores: torch.Tensor, out_scores: torch.Tensor) -> dict[str, float]:
    """Every ``OOD_METRICS`` entry (AUROC, AUPR with OOD positive, FPR95) of separating ``out_scores`` from
    ``in_scores``.

    >>> ood_metrics(torch.tensor([0., .1, .2]), torch.tensor([.8, .9]))
    {'auroc': 1.0, 'aupr': 1.0, 'fpr95': 0.0}
    """
    ranked_targets(in_scores, out_scores)  # checks both before any entry runs
    return {key: entry.function(in_scores, out_scores) for key, entry in OOD_METRICS.items()}


def evaluate_predictions(member_probs: torch.Tensor, labels: torch.Tensor, ood_member_probs: torch.Tensor | None = None,
                         *, num_bins: int = 15, criteria: tuple[str, ...] | None = None) -> dict:
    """Every ``METRICS`` entry of the ensemble's prediction from member probabilities ``(N, M, K)`` and, given OOD
    ones, ``ood_metrics`` by each of ``criteria`` (default: every ``OOD_CRITERIA`` entry).

    Both must be probabilities from the same model: same members ``M`` and classes ``K``.
    """
    member_probs = _probabilities(member_probs, name="member_probs", dims=3)
    if ood_member_probs is not None:
        ood_member_probs = _probabilities(ood_member_probs, name="ood_member_probs", dims=3)
        if ood_member_probs.shape[1:] != member_probs.shape[1:]:
            raise ValueError(f"ood_member_probs (N, M, K) = {tuple(ood_member_probs.shape)} must have the same "
                             f"members and classes as member_probs {tuple(member_probs.shape)}")
    criteria = tuple(OOD_CRITERIA) if criteria is None else criteria
    for criterion in criteria:
        check_choice("OOD criterion", criterion, OOD_CRITERIA)
    num_bins = check_int("num_bins", num_bins, minimum=1)
    probs = member_probs.mean(1)
    _probabilities(probs, labels)  # the labels checked once, before any entry runs
    report = {key: entry.function(probs, labels, num_bins) for key, entry in METRICS.items()}
    report.update(num_bins=num_bins, num_test=int(labels.numel()))
    if ood_member_probs is not None:
        report["ood"] = {}
        for criterion in criteria:
            in_scores, out_scores = ood_score(member_probs, criterion), ood_score(ood_member_probs, criterion)
            if math.isclose(float(torch.cat([in_scores, out_scores]).std()), 0.0):
                continue  # MI / disagreement of a single network: a constant, no ranking to score
            report["ood"][criterion] = ood_metrics(in_scores, out_scores)
        report["num_ood"] = int(ood_member_probs.shape[0])
    return report
