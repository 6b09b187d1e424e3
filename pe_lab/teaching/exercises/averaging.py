"""Notebook 04's checkers: the ensemble's average of its members' probabilities, and logits on which averaging
logits and averaging probabilities disagree."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .checking import Check, raised, refuse_library, with_answer

__all__ = ["ENSEMBLE_SETTINGS", "check_ensemble_average", "check_rules_differ"]


def check_rules_differ(your_logits, *, reveal: bool | None = None) -> Check:
    """Check logits ``(B, M, K)`` for which the two averaging rules predict a *different* class for some image:
    the mean of the members' softmaxes (the ensemble's prediction) and the softmax of the mean logits. Each rule's
    winner must be clear (a tie decided by argmax's order is not a prediction)."""
    answer = "e.g. [[[10, 0, 0], [0, 12, 11]]]: one member sure of class 0, the other torn between 1 and 2"
    try:
        logits = torch.as_tensor(your_logits, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return Check(False, f"expected numbers shaped (B, M, K), got {type(your_logits).__name__}")
    if logits.dim() != 3 or logits.shape[1] < 2 or logits.shape[2] < 2:
        return Check(False, f"expected logits shaped (B, M, K) with at least 2 members and 2 classes, got "
                            f"{tuple(logits.shape)}")
    if not torch.isfinite(logits).all():
        return Check(False, "logits are finite numbers (no inf or NaN): large ones such as 20 are enough")
    mean_of_softmax = logits.softmax(-1).mean(1)
    mean_logits = logits.mean(1)
    differ, tied, both_tied = False, False, False
    for image in range(logits.shape[0]):
        clear = []
        for scores in (mean_of_softmax[image], mean_logits[image]):
            top2 = scores.topk(2).values
            clear.append(bool(top2[0] - top2[1] > 1e-9 * max(1.0, abs(float(top2[0])))))
        both_tied = both_tied or not any(clear)
        if mean_of_softmax[image].argmax() != mean_logits[image].argmax():
            if all(clear):
                differ = True
            else:
                tied = True
    if differ:
        return Check(True, "the two rules disagree here: averaging logits is not averaging predictions.")
    if both_tied:
        return with_answer(Check(False, "neither rule has a clear winner here: both rules tie between two classes "
                                        "(the members' logits mirror each other), so neither makes a prediction; "
                                        "break the symmetry so that each rule has a clear winner."), answer, reveal)
    if tied:
        hint = ("the rules differ only where one of them has a tie, which argmax breaks by its order: make each "
                "rule's winner clear")
    elif bool((logits.argmax(-1) == logits.argmax(-1)[:, :1]).all()):
        hint = "every member agrees on the top class, so both rules do too: make the members disagree"
    else:
        hint = ("the members disagree, but both rules still pick the same class: the softmax saturates, so make one "
                "member very sure of one class and another member split its large logits between two others")
    return with_answer(Check(False, f"both rules predict the same class for every image: {hint}."), answer, reveal)


# (B, M, K) with B, M and K all different, so that a reduction over the wrong dimension changes the shape
ENSEMBLE_SETTINGS = ((5, 3, 4), (7, 2, 3), (3, 5, 10))


def check_ensemble_average(your_predict_proba: Callable[[torch.Tensor], torch.Tensor], *,
                           reveal: bool | None = None) -> Check:
    """Check a function mapping logits ``(B, M, K)`` to the ensemble's probabilities ``(B, K)`` (a tensor of any
    float dtype, or a NumPy array), on three ensembles of 2, 3 and 5 members with B, M and K all different."""
    answer = "logits.softmax(-1).mean(1)"
    refused = refuse_library(your_predict_proba, "the ensemble's average",
                             frozenset({"predict_proba", "predict_member_probs"}))
    if refused is not None:
        return refused
    generator = torch.Generator().manual_seed(0)
    for batch, members, classes in ENSEMBLE_SETTINGS:
        logits = torch.randn(batch, members, classes, generator=generator, dtype=torch.float64) * 3
        expected = logits.softmax(-1).mean(1)
        where = f"B={batch} images, M={members} members, K={classes} classes"
        try:
            got = your_predict_proba(logits.float())
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return raised(where, error)
        if type(got).__module__ == "numpy":
            got = torch.as_tensor(got)
        if isinstance(got, torch.Tensor) and got.is_floating_point():
            got = got.to(expected.dtype)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(getattr(got, "shape", ())) or type(got).__name__
            hint = {(members, classes): " You averaged over dim 0, which holds the images.",
                    (batch, members): " You reduced dim -1, which holds the K classes.",
                    (batch, members, classes): " Average over the members.",
                    (classes, batch): " Yours is (K, B): transposed; one row per image."}.get(shape, "") if isinstance(
                        shape, tuple) else ""
            return Check(False, f"for {where} expected a tensor of shape (B, K) = {tuple(expected.shape)}, got "
                                f"{shape}.{hint}")
        if torch.allclose(got, expected, atol=1e-5):
            continue
        mistakes = [
            (logits.mean(1).softmax(-1), "you averaged the members' logits before the softmax; the ensemble "
                                         "averages what each member predicts"),
            (logits.softmax(1).mean(1), "your softmax runs over the members, not over the classes: which "
                                        "dimension holds K?"),
            (logits.softmax(0).mean(1), "your softmax runs over the images (dim 0): which dimension holds K?"),
            (logits.softmax(-1).sum(1), "the sum over members adds up to M, not 1: the ensemble averages"),
            (logits.softmax(-1).sum(1) / 4, "you divided by 4, the M of the notebook's example: read M from the "
                                            "logits' shape (dim 1)"),
            (logits[:, 0].softmax(-1), "that is member 0 alone; the ensemble averages all M members"),
            (expected.log(), "those are log-probabilities; return the probabilities"),
            (F.one_hot(logits.argmax(-1), classes).double().mean(1), "those are the members' votes (hard "
                                                                     "labels); average their probabilities"),
        ]
        for value, reason in mistakes:
            if torch.allclose(got, value, atol=1e-5):
                return with_answer(Check(False, f"for {where}: {reason}."), answer, reveal)
        b, k = divmod(int((got - expected).abs().argmax()), expected.shape[1])
        return with_answer(Check(False, f"for {where} entry ({b}, {k}) is {got[b, k]:.4f}, which is not the "
                                        f"members' average probability of class {k}."), answer, reveal)
    return Check(True, "the mean over members of each member's probabilities, for 2, 3 and 5 members.")
