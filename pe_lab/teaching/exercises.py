"""Checkers for the notebooks' exercises: each says "right", or *what* is wrong and why, never the answer.

A checker returns a ``Check`` (truthy when right) whose text is meant to be read by a student. Each one
recognises the classic wrong answers of its exercise and names the mistake. Instructors pass
``reveal=True`` (or set ``PE_LAB_INSTRUCTOR=1``) to see the expected answer in the message as well.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..config import env_flag
from ..evaluation.metrics import ece
from ..evaluation.prediction import predict_proba
from ..nn.layers import PackedConv2d
from ..nn.masks import layer_mask, member_mask

__all__ = [
    "Check", "INSTRUCTOR_ENV", "calibration_test_set", "check_ece", "check_ensemble_average", "check_grouped_index",
    "check_mask", "check_member_channels", "check_member_weight", "check_pe_params", "check_readers",
    "check_rules_differ", "check_tutorial_loss",
    "ece_with_true_class_confidence"]


INSTRUCTOR_ENV = "PE_LAB_INSTRUCTOR"


def _revealing(reveal: bool | None) -> bool:
    if reveal is not None:
        return reveal
    return env_flag(INSTRUCTOR_ENV)


def _with_answer(check: Check, answer: str, reveal: bool | None) -> Check:
    if check.ok or not _revealing(reveal):
        return check
    return Check(False, f"{check.message} [instructor: the answer is {answer}]")


@dataclass
class Check:
    """The verdict of a checker; ``bool(check)`` is whether the answer is right."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("Right! " if self.ok else "Not yet. ") + self.message

    def _repr_pretty_(self, printer, cycle) -> None:  # how IPython shows it at the end of a cell
        printer.text(repr(self))


def check_mask(your_mask, *, in_channels: int, out_channels: int, num_estimators: int, gamma: int = 1,
               alpha: float = 1, member: int | None = None, reveal: bool | None = None) -> Check:
    """Check a hand-written ``mask^j`` ``(alpha*out_channels, alpha*in_channels)`` of a hidden layer, or with
    ``member=m`` the member's own ``mask_m^j`` (only member m's output rows are kept).

    >>> check_mask(torch.eye(2), in_channels=2, out_channels=2, num_estimators=2)
    Right! mask^j for C_in=2, C_out=2, M=2, gamma=1, alpha=1: 2 groups of 1x1.
    """
    layer = PackedConv2d(in_channels, out_channels, 1, alpha=alpha, num_estimators=num_estimators, gamma=gamma)
    full = layer_mask(layer)[..., 0, 0]
    expected = full if member is None else member_mask(layer, member)[..., 0, 0]
    name = "mask^j" if member is None else f"mask_{member}^j"
    check = _check_mask(your_mask, expected, full, layer, name, member)
    if check.ok:
        return Check(True, f"{name} for C_in={in_channels}, C_out={out_channels}, M={num_estimators}, "
                           f"gamma={gamma}, alpha={alpha:g}: {layer.groups} groups of "
                           f"{full.shape[0] // layer.groups}x{full.shape[1] // layer.groups}.")
    return _with_answer(check, f"\n{expected.int()}", reveal)


def _check_mask(your_mask, expected, full, layer, name, member) -> Check:
    try:
        mask = torch.as_tensor(your_mask).float()
    except (TypeError, ValueError, RuntimeError):
        return Check(False, f"{name} must be a 0/1 matrix (a tensor or nested lists), got {type(your_mask).__name__}")
    if mask.shape != expected.shape:
        hint = ""
        if mask.shape == (expected.shape[0] // layer.alpha, expected.shape[1] // layer.alpha) or \
                (mask.dim() == 2 and mask.shape[0] * layer.alpha == expected.shape[0]):
            hint = " Did you forget to widen by alpha?"
        return Check(False, f"your mask has shape {tuple(mask.shape)}; {name} has one row per output channel "
                            f"and one column per input channel of the packed layer (alpha*C_out, alpha*C_in).{hint}")
    if not torch.all((mask == 0) | (mask == 1)):
        return Check(False, f"{name} holds only 0s and 1s (a connection is there or not).")
    if torch.equal(mask, expected):
        return Check(True, "")
    if member is not None and torch.equal(mask, full):
        return Check(False, f"that is the whole layer's mask^j; {name} keeps only member {member}'s output rows "
                            "(the rows of every other member are 0).")
    groups = layer.groups
    rows_per, cols_per = full.shape[0] // groups, full.shape[1] // groups
    if torch.equal(mask, torch.eye(*expected.shape)) and not torch.equal(expected, torch.eye(*expected.shape)):
        return Check(False, f"the identity connects each channel to itself only; in a grouped layer every output "
                            f"channel reads all the {cols_per} input channels of its group.")
    wrong = (mask != expected).nonzero()
    k, col = (int(v) for v in wrong[0])
    why = (f"output channel k={k} is in group floor(k/{rows_per})={k // rows_per} and input channel l={col} in "
           f"group floor(l/{cols_per})={col // cols_per}")
    if member is not None and k // (full.shape[0] // layer.num_estimators) != member:
        rule = f"row k={k} belongs to another member than m={member}, so all of it is 0"
    else:
        rule = "the entry is 1 iff the groups are equal"
    return Check(False, f"entry (k={k}, l={col}) is wrong: {why}; {rule}. ({len(wrong)} wrong entries in all.)")


def check_grouped_index(your_index: Callable[[int, int, int, int, int], int], *, reveal: bool | None = None) -> Check:
    """Check ``your_index(c, k, c_in, c_out, groups)``: the input channel that output channel ``c`` reads as
    its ``k``-th input in a grouped convolution (``k`` in ``[0, c_in/groups)``). The message names the mistake
    (which group, or the offset inside it) without giving the formula; ``reveal=True`` (or instructor mode) does."""
    answer = "k + (c // (c_out // groups)) * (c_in // groups)"
    for groups in (1, 2, 3, 4):
        for c_in, c_out in ((groups * 2, groups * 3), (groups * 3, groups)):
            for c in range(c_out):
                for k in range(c_in // groups):
                    expected = k + (c // (c_out // groups)) * (c_in // groups)
                    got = your_index(c, k, c_in, c_out, groups)
                    if isinstance(got, bool) or not isinstance(got, numbers.Integral | float) or got != expected:
                        if isinstance(got, numbers.Real) and not isinstance(got, bool) and got - k == c:
                            hint = "you used the output channel's own index as the group's start"
                        elif isinstance(got, numbers.Real) and not isinstance(got, bool) and (got - k) % (
                                c_in // groups) == 0:
                            hint = "the offset inside the group is right; the group's first input channel is not"
                        else:
                            hint = "find the group of output channel c first, then where that group's inputs start"
                        check = Check(False, f"for c={c}, k={k}, C_in={c_in}, C_out={c_out}, groups={groups} your "
                                             f"index {got!r} is not the channel it reads: {hint}.")
                        return _with_answer(check, answer, reveal)
    return Check(True, "your index matches the grouped convolution on every case tried.")


def check_pe_params(your_count: int, *, in_channels: int, out_channels: int, kernel_size: int, alpha: float,
                    num_estimators: int, gamma: int = 1, reveal: bool | None = None) -> Check:
    """Check the number of weights (no bias) of a hidden packed conv layer. The message names the mistake
    (a classic wrong formula) without giving the number."""
    if isinstance(your_count, bool) or not isinstance(your_count, numbers.Integral):
        return Check(False, f"give the count as an integer (e.g. 1234), not {type(your_count).__name__} "
                            f"{your_count!r}")
    layer = PackedConv2d(in_channels, out_channels, kernel_size, alpha=alpha, num_estimators=num_estimators,
                         gamma=gamma, bias=False)
    expected = layer.weight.numel()
    if your_count == expected:
        return Check(True, f"{expected} = (alpha*C_in)*(alpha*C_out)*k^2/(M*gamma).")
    dense = in_channels * out_channels * kernel_size ** 2
    groups = num_estimators * gamma
    mistakes = [
        (dense, "that is the dense base layer; the packed layer is widened by alpha on both sides and split into "
                "M*gamma groups"),
        (round(dense * alpha ** 2), "widened by alpha^2, right, but a grouped layer only connects channels within "
                                    "a group: divide by the number of groups"),
        (round(dense * alpha ** 2 / num_estimators), "each of the M members is split further into gamma groups: "
                                                     "divide by M*gamma, not by M"),
        (round(dense * alpha / groups), "alpha widens both the input and the output channels: alpha^2, not alpha"),
        (round(dense / groups), "the layer is also widened by alpha on both sides (alpha^2)"),
        (round(dense * alpha ** 2 / groups) + alpha * out_channels, "count the weights only, without the bias"),
    ]
    for value, reason in mistakes:
        if your_count == value and value != expected:
            return _with_answer(Check(False, f"not yet: {reason}."), str(expected), reveal)
    check = Check(False, f"that is not the number of weights. Start from the dense layer's C_in*C_out*k^2 "
                         f"(k={kernel_size}), then apply alpha={alpha:g} and the M*gamma={groups} groups.")
    return _with_answer(check, str(expected), reveal)


def check_readers(your_readers: Callable[[int, int, int, int], range], *, reveal: bool | None = None) -> Check:
    """Check ``your_readers(l, c_in, c_out, groups)``: the output channels of a grouped convolution that read input
    channel ``l``, as a ``range`` (or any sequence of ints). The inverse of the index formula in notebook 01, so it
    needs that formula turned around, not copied. The message names the classic mistakes (the input block's size
    used for outputs, the group count used as a block size, a dense or an identity answer)."""
    answer = "range(g * (c_out // groups), (g + 1) * (c_out // groups)) with g = l // (c_in // groups)"
    for groups in (1, 2, 3, 4):
        for c_in, c_out in ((groups * 2, groups * 3), (groups * 3, groups), (groups * 4, groups * 2)):
            for channel in range(c_in):
                group = channel // (c_in // groups)
                expected = list(range(group * (c_out // groups), (group + 1) * (c_out // groups)))
                try:
                    got = sorted(int(v) for v in your_readers(channel, c_in, c_out, groups))
                except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
                    return Check(False, f"your function raised {type(error).__name__}: {error}")
                if got == expected:
                    continue
                size = c_out // groups
                if got == list(range(c_out)) and groups > 1:
                    hint = "that is every output channel, as in a dense convolution; a group reads only its own block"
                elif got == [channel]:
                    hint = "one input is read by a whole block of outputs, not only by the output of the same index"
                elif got == list(range(group * (c_in // groups), (group + 1) * (c_in // groups))):
                    hint = "you used the size of the *input* block; the readers form a block of output channels"
                elif len(got) == size:
                    hint = "the block has the right size but starts at the wrong output channel: which group is l in?"
                else:
                    hint = f"the readers of one input are exactly one group's block of {size} output channel(s)"
                check = Check(False, f"for l={channel}, C_in={c_in}, C_out={c_out}, groups={groups} your readers "
                                     f"{got} are not the output channels that read l: {hint}.")
                return _with_answer(check, answer, reveal)
    return Check(True, "your readers match the grouped convolution on every case tried.")


def check_rules_differ(your_logits, *, reveal: bool | None = None) -> Check:
    """Check logits ``(B, M, K)`` for which the two averaging rules predict a *different* class for some image:
    the mean of the members' softmaxes (the ensemble's prediction) and the softmax of the mean logits."""
    answer = "e.g. [[[10, 0, 0], [0, 12, 11]]]: one member sure of class 0, the other torn between 1 and 2"
    try:
        logits = torch.as_tensor(your_logits, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return Check(False, f"expected numbers shaped (B, M, K), got {type(your_logits).__name__}")
    if logits.dim() != 3 or logits.shape[1] < 2 or logits.shape[2] < 2:
        return Check(False, f"expected logits shaped (B, M, K) with at least 2 members and 2 classes, got "
                            f"{tuple(logits.shape)}")
    mean_of_softmax = logits.softmax(-1).mean(1).argmax(-1)
    softmax_of_mean = logits.mean(1).softmax(-1).argmax(-1)
    if torch.equal(mean_of_softmax, softmax_of_mean):
        hint = ("every member agrees on the top class, so both rules do too: make the members disagree"
                if bool((logits.argmax(-1) == logits.argmax(-1)[:, :1]).all()) else
                "the members disagree, but both rules still pick the same class: the softmax saturates, so make one "
                "member very sure of one class and another member split its large logits between two others")
        return _with_answer(Check(False, f"both rules predict the same class for every image: {hint}."), answer, reveal)
    return Check(True, "the two rules disagree here: averaging logits is not averaging predictions.")


def check_ensemble_average(your_predict_proba: Callable[[torch.Tensor], torch.Tensor], *,
                           reveal: bool | None = None) -> Check:
    """Check a function mapping logits ``(B, M, K)`` to the ensemble's probabilities ``(B, K)`` (a tensor of any
    float dtype, or a NumPy array)."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, 4, generator=generator) * 3
    expected = predict_proba(lambda x: x, logits)
    got = your_predict_proba(logits.clone())
    if type(got).__module__ == "numpy":
        got = torch.as_tensor(got)
    if isinstance(got, torch.Tensor) and got.is_floating_point():
        got = got.to(expected.dtype)
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return Check(False, f"expected a tensor of shape {tuple(expected.shape)}, got "
                            f"{getattr(got, 'shape', type(got).__name__)}")
    answer = "logits.softmax(-1).mean(1)"
    if torch.allclose(got, logits.mean(1).softmax(-1), atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
        return _with_answer(Check(False, "you averaged the members' logits before the softmax; the ensemble "
                                         "averages what each member predicts."), answer, reveal)
    if torch.allclose(got, logits.softmax(1).mean(1), atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
        return _with_answer(Check(False, "your softmax runs over the members, not over the classes: which "
                                         "dimension holds K?"), answer, reveal)
    if not torch.allclose(got, expected, atol=1e-5):
        b, k = divmod(int((got - expected).abs().argmax()), expected.shape[1])
        return _with_answer(Check(False, f"entry ({b}, {k}) is {got[b, k]:.4f}, which is not the members' average "
                                         f"probability of class {k}."), answer, reveal)
    return Check(True, "the mean over members of each member's probabilities.")


def check_member_weight(your_weight: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_weight(W, r_m, s_m)``: BatchEnsemble member m's weight ``W ∘ (s_m r_mᵀ)`` for a linear layer's
    shared ``W`` ``(C_out, C_in)``, ``r_m`` ``(C_in,)`` and ``s_m`` ``(C_out,)``."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 3, generator=generator)
    r, s = torch.randn(3, generator=generator), torch.randn(5, generator=generator)
    expected = weight * torch.outer(s, r)
    try:
        got = your_weight(weight.clone(), r.clone(), s.clone())
    except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
        return Check(False, f"your function raised {type(error).__name__}: {error} (shapes: W (5, 3), r (3,), s (5,))")
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return Check(False, f"member m's weight has the shared weight's shape (C_out, C_in) = (5, 3), got "
                            f"{getattr(got, 'shape', type(got).__name__)}")
    if torch.allclose(got, expected, atol=1e-6):
        return Check(True, "W ∘ (s_m r_mᵀ): output channel k scaled by s_m[k], input channel l by r_m[l].")
    mistakes = [
        (torch.outer(s, r), "the fast weights rescale the shared weight W; they do not replace it"),
        (weight * s[:, None], "r_m rescales the input channels too (the columns)"),
        (weight * r[None, :], "s_m rescales the output channels too (the rows)"),
        (weight + torch.outer(s, r), "the rank-1 factor multiplies W entrywise (∘), it is not added"),
        (weight * torch.outer(s, r).abs(), "keep the signs of r_m and s_m"),
    ]
    for value, reason in mistakes:
        if torch.allclose(got, value, atol=1e-6):
            return _with_answer(Check(False, f"{reason}."), f"\n{expected}", reveal)
    return _with_answer(Check(False, "not member m's weight: each entry W[k, l] is scaled by s_m[k] * r_m[l]."),
                        f"\n{expected}", reveal)


def check_tutorial_loss(your_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_loss(logits, labels)`` for torch-uncertainty's layout: ``logits`` ``(M*B, K)`` member-major
    (rows ``[mB, (m+1)B)`` are member m's), ``labels`` ``(B,)``; the tutorial's loss is the cross-entropy averaged
    over all ``M*B`` rows."""
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(0)
    members, batch, classes = 4, 6, 5
    logits = torch.randn(members * batch, classes, generator=generator) * 2
    labels = torch.randint(0, classes, (batch,), generator=generator)
    expected = F.cross_entropy(logits, labels.repeat(members))
    try:
        got = your_loss(logits.clone(), labels.clone())
    except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
        return Check(False, f"your function raised {type(error).__name__}: {error}")
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return Check(False, f"return the loss as a scalar tensor, got {getattr(got, 'shape', type(got).__name__)}")
    got = got.reshape(())
    if torch.allclose(got, expected, atol=1e-6):
        return Check(True, "cross-entropy over the M*B member-major rows, labels repeated member by member.")
    mistakes = [
        (F.cross_entropy(logits, labels.repeat_interleave(members)),
         "the rows are member-major (all of member 0's batch, then member 1's...): your labels are in "
         "another order than the rows they should match"),
        (F.cross_entropy(logits, labels.repeat(members), reduction="sum"),
         "the tutorial averages over the rows (nn.CrossEntropyLoss's default), it does not sum them"),
        (F.cross_entropy(logits, labels.repeat(members)) * members,
         "that is pe-lab's convention (the sum over members of each member's mean); the tutorial takes the mean "
         "over members, M times smaller"),
    ]
    for value, reason in mistakes:
        if torch.allclose(got, value, atol=1e-6):
            return _with_answer(Check(False, f"{reason}."), f"{expected.item():.5f}", reveal)
    return _with_answer(Check(False, "that is not the tutorial's loss: a cross-entropy between the (M*B, K) logits "
                                     "and the labels of every row."), f"{expected.item():.5f}", reveal)


def calibration_test_set(num_bins: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions whose bins are over-confident at high confidence and under-confident at low confidence,
    so that the binned ECE differs from the unbinned |mean accuracy - mean confidence| (where the gaps of
    opposite sign cancel) and from every other classic shortcut."""
    generator = torch.Generator().manual_seed(seed)
    n, k = 600, 10
    probs = (torch.randn(n, k, generator=generator) * torch.linspace(0.3, 4.0, n)[:, None]).softmax(-1)
    confidence, predicted = probs.max(1)
    # P(correct | c): above c for c < 0.5 (under-confident), below it above (over-confident).
    p_correct = (confidence + 0.25 * torch.sin(2 * torch.pi * confidence)).clamp(0, 1)
    correct = torch.rand(n, generator=generator) < p_correct
    other = (predicted + torch.randint(1, k, (n,), generator=generator)) % k
    return probs, torch.where(correct, predicted, other)


def check_ece(your_ece: Callable[[torch.Tensor, torch.Tensor, int], float], *, reveal: bool | None = None) -> Check:
    """Check ``your_ece(probs (N, K), labels (N,), num_bins)`` against torchmetrics, on predictions that are
    over-confident in some bins and under-confident in others; names the classic mistakes."""
    from ..evaluation.metrics import reliability_data

    for num_bins, seed in ((5, 0), (10, 1), (15, 2)):
        probs, labels = calibration_test_set(num_bins, seed)
        expected = ece(probs, labels, num_bins)
        try:
            got = float(your_ece(probs.clone(), labels.clone(), num_bins))
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return Check(False, f"your function raised {type(error).__name__}: {error}")
        if abs(got - expected) <= 1e-4:
            continue
        confidence, predicted = probs.max(1)
        accuracy = (predicted == labels).float()
        data = reliability_data(probs, labels, num_bins)
        filled = data["count"] > 0
        gaps = data["accuracy"][filled] - data["confidence"][filled]
        shortcuts = [
            (abs(accuracy.mean() - confidence.mean()).item(),
             "you compared the mean accuracy with the mean confidence over all samples (summing the bins' signed "
             "gaps before |.| gives the same); ECE takes |acc - conf| in each confidence bin, so over- and "
             "under-confident bins cannot cancel"),
            (gaps.abs().mean().item(), "each bin's gap must be weighted by its share of the samples |B_b|/N, "
                                      "not averaged over bins"),
            (ece_with_true_class_confidence(probs, labels, num_bins), "the confidence is the maximum probability "
                                                                       "(of the predicted class), not the "
                                                                       "probability of the true class"),
        ]
        for value, reason in shortcuts:
            if abs(got - value) <= 1e-4:
                return _with_answer(Check(False, f"with {num_bins} bins: {reason}."), f"{expected:.5f}", reveal)
        check = Check(False, f"with {num_bins} bins your ECE disagrees with torchmetrics'. Bins are equal-width on "
                             "[0, 1] by confidence (max probability), a sample with confidence c goes to the bin "
                             "with lower < c <= upper, and each bin's |accuracy - mean confidence| is weighted by "
                             "its share of the samples.")
        return _with_answer(check, f"{expected:.5f}", reveal)
    return Check(True, "your ECE agrees with torchmetrics' MulticlassCalibrationError (L1) for 5, 10, 15 bins, "
                       "on predictions that are over-confident in some bins and under-confident in others.")


def ece_with_true_class_confidence(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> float:
    confidence = probs.gather(1, labels[:, None])[:, 0]
    accuracy = (probs.argmax(1) == labels).float()
    edges = torch.linspace(0, 1, num_bins + 1)
    index = (torch.bucketize(confidence, edges) - 1).clamp(0, num_bins - 1)
    total = 0.0
    for b in range(num_bins):
        chosen = index == b
        if chosen.any():
            total += chosen.float().mean().item() * abs(accuracy[chosen].mean() - confidence[chosen].mean()).item()
    return total


def check_member_channels(your_function: Callable[..., float], *, reveal: bool | None = None) -> Check:
    """Check ``your_function(base_channels, alpha, num_estimators, width)``: the channels one member of
    PE(alpha, M, gamma) has in a hidden layer whose published network has ``base_channels`` (C_j), at base width
    ``width``. The message names the classic mistake (a factor forgotten or inverted) without giving the formula."""
    cases = [(16, 2, 4, 1.0), (6, 4, 4, 2.0), (64, 3, 4, 2.0), (32, 2, 2, 0.5)]
    answers = []
    for base, alpha, members, width in cases:
        try:
            answers.append(float(your_function(base, alpha, members, width)))
        except TypeError as error:
            return Check(False, f"call signature: your_function(base_channels, alpha, num_estimators, width); "
                                f"it raised {error}")
        except (ValueError, ArithmeticError) as error:
            return Check(False, f"your function raised {type(error).__name__} for C_j={base}, alpha={alpha}, "
                                f"M={members}, width={width:g}")
    right = [a * w * c / m for c, a, m, w in cases]
    if all(math.isclose(got, want) for got, want in zip(answers, right, strict=True)):
        return Check(True, "Right: a member has alpha*width*C_j/M channels, so alpha = M gives the base network's "
                           "width.")
    mistakes = [(lambda c, a, m, w: a * c / m, "the base width multiplies every layer too (width*C_j before alpha)"),
                (lambda c, a, m, w: a * w * c, "the widened layer is shared by M members: each owns 1/M of it"),
                (lambda c, a, m, w: w * c / m, "alpha widens the layer before it is split among the members"),
                (lambda c, a, m, w: a * w * c / m ** 2, "divide by M once: the layer is split into M blocks"),
                (lambda c, a, m, w: m * w * c / a, "alpha multiplies, M divides (alpha/M, not M/alpha)")]
    for formula, reason in mistakes:  # a classic mistake is recognised only if it explains every case
        if all(math.isclose(got, formula(*case)) for got, case in zip(answers, cases, strict=True)):
            return _with_answer(Check(False, f"not yet: {reason}."), "alpha * width * base_channels / num_estimators",
                                reveal)
    (base, alpha, members, width), got = next((case, got) for case, got, want in zip(cases, answers, right,
                                                                                     strict=True)
                                              if not math.isclose(got, want))
    message = f"{got:g} is not a member's channel count for C_j={base}, alpha={alpha}, M={members}, width={width:g}."
    return _with_answer(Check(False, message), "alpha * width * base_channels / num_estimators", reveal)
