"""Notebook 07's checker: the loss of torch-uncertainty's tutorial over member-major logits."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .checking import Check, raised, refuse_library, with_answer

__all__ = ["TUTORIAL_SETTINGS", "check_tutorial_loss"]


# (M, B, K): M from 2 to 5, B != M, K different from both, so no layout or reduction mistake can cancel
TUTORIAL_SETTINGS = ((4, 6, 5), (2, 5, 3), (3, 4, 7), (5, 2, 4))


def check_tutorial_loss(your_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_loss(logits, labels)`` for torch-uncertainty's layout: ``logits`` ``(M*B, K)`` member-major
    (rows ``[mB, (m+1)B)`` are member m's), ``labels`` ``(B,)``; the tutorial's loss is the cross-entropy averaged
    over all ``M*B`` rows. Tried with M = 4, 2, 3 and 5 members and batches of other sizes than M."""
    refused = refuse_library(your_loss, "the loss", frozenset({"member_loss"}))
    if refused is not None:
        return refused
    generator = torch.Generator().manual_seed(0)
    for members, batch, classes in TUTORIAL_SETTINGS:
        logits = torch.randn(members * batch, classes, generator=generator) * 2
        labels = torch.randperm(classes, generator=generator)[:batch] if batch <= classes else \
            torch.randint(0, classes, (batch,), generator=generator)
        rows = labels.repeat(members)
        expected = F.cross_entropy(logits, rows)
        where = f"M={members}, B={batch}, K={classes} (logits ({members * batch}, {classes}), labels ({batch},))"
        try:
            got = your_loss(logits.clone(), labels.clone())
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            if "batch_size" in str(error) and members != 4:  # cross_entropy's rows vs targets: a fixed repeat
                return with_answer(Check(False, f"for {where} your labels do not match the {members * batch} rows: "
                                                "repeat them M times, M read from the shapes, not a fixed number"),
                                   f"{expected.item():.5f}", reveal)
            return raised(where, error)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            return Check(False, f"for {where} return the loss as a scalar tensor, got "
                                f"{getattr(got, 'shape', type(got).__name__)}")
        got = got.reshape(()).to(expected.dtype)
        if torch.allclose(got, expected, atol=1e-5):
            continue
        mistakes = [
            (F.cross_entropy(logits, labels.repeat_interleave(members)),
             "the rows are member-major (all of member 0's batch, then member 1's...): your labels are in "
             "another order than the rows they should match"),
            (F.cross_entropy(logits.view(members, batch, classes).transpose(0, 1).reshape(-1, classes), rows),
             "you reordered the rows batch-major ((m b) -> (b m)) but repeated the labels member-major: rows and "
             "labels must follow the same order"),
            (F.cross_entropy(logits, rows, reduction="sum"),
             "the tutorial averages over the rows (nn.CrossEntropyLoss's default), it does not sum them"),
            (F.cross_entropy(logits, rows) * members,
             "that is pe-lab's convention (the sum over members of each member's mean); the tutorial takes the mean "
             "over members, M times smaller"),
            (F.cross_entropy(logits.softmax(-1), rows),
             "cross_entropy takes the logits and applies log-softmax itself: do not softmax them first"),
            (F.nll_loss(logits, rows), "nll_loss expects log-probabilities: cross_entropy takes the logits"),
            (F.cross_entropy(logits[:batch], labels), "that is member 0's loss alone; every row of every member "
                                                      "counts"),
        ]
        for value, reason in mistakes:
            if torch.allclose(got, value, atol=1e-5):
                return with_answer(Check(False, f"for {where}: {reason}."), f"{expected.item():.5f}", reveal)
        return with_answer(Check(False, f"for {where} that is not the tutorial's loss: a cross-entropy between the "
                                        "(M*B, K) logits and the labels of every row."), f"{expected.item():.5f}",
                           reveal)
    return Check(True, "cross-entropy over the M*B member-major rows, labels repeated member by member, for "
                       "M = 2 to 5.")
