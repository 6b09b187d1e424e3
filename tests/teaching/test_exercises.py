"""Exercise checkers: each accepts the right answer, rejects the classic wrong ones with a message
that names the mistake, and never prints the answer unless an instructor asks for it."""

from __future__ import annotations

import pytest
import torch

from pe_lab.evaluation.metrics import ece, ece_by_hand, reliability_data
from pe_lab.nn.layers import PackedConv2d
from pe_lab.nn.masks import layer_mask, member_mask
from pe_lab.teaching.exercises import (
    calibration_test_set,
    check_ece,
    check_mask,
    check_pe_params,
    check_readers,
    check_rules_differ,
)

PE = dict(in_channels=16, out_channels=32, kernel_size=3, alpha=3, num_estimators=4, gamma=2)
RIGHT = 16 * 32 * 9 * 9 // 8  # alpha^2 * dense / (M*gamma)


def test_pe_params_right_answer():
    assert check_pe_params(RIGHT, **PE)


@pytest.mark.parametrize("wrong,reason", [
    (16 * 32 * 9, "dense base layer"),
    (16 * 32 * 9 * 9, "divide by the number of groups"),
    (16 * 32 * 9 * 9 // 4, "divide by M*gamma, not by M"),
    (16 * 32 * 9 * 3 // 8, "alpha^2, not alpha"),
    (16 * 32 * 9 // 8, "widened by alpha on both sides"),
    (RIGHT + 96, "without the bias"),
    (12345, "not the number of weights"),
])
def test_pe_params_names_the_mistake_and_hides_the_answer(wrong, reason, monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)
    verdict = check_pe_params(wrong, **PE)
    assert not verdict and reason in verdict.message
    assert str(RIGHT) not in verdict.message


@pytest.mark.parametrize("wrong", [str(RIGHT), float(RIGHT), True, None])
def test_pe_params_wants_an_integer(wrong):
    verdict = check_pe_params(wrong, **PE)
    assert not verdict and "as an integer" in verdict.message


def test_instructor_mode_reveals_the_answer(monkeypatch):
    assert f"the answer is {RIGHT}" in check_pe_params(0, **PE, reveal=True).message
    monkeypatch.setenv("PE_LAB_INSTRUCTOR", "1")
    assert f"the answer is {RIGHT}" in check_pe_params(0, **PE).message
    assert "the answer is" not in check_pe_params(0, **PE, reveal=False).message
    assert "the answer is 0.1" in check_ece(lambda p, y, b: 0.0).message  # ECE of these predictions: 0.1...
    assert "the answer is" in check_mask(torch.zeros(6, 6), in_channels=3, out_channels=3, num_estimators=3,
                                         alpha=2).message


def test_ece_test_data_has_over_and_under_confident_bins():
    for num_bins, seed in ((5, 0), (10, 1), (15, 2)):
        probs, labels = calibration_test_set(num_bins, seed)
        data = reliability_data(probs, labels, num_bins)
        gaps = (data["accuracy"] - data["confidence"])[data["count"] >= 20]
        assert (gaps > 0.05).any() and (gaps < -0.05).any()
        confidence, predicted = probs.max(1)
        unbinned = abs((predicted == labels).float().mean() - confidence.mean()).item()
        assert abs(ece(probs, labels, num_bins) - unbinned) > 0.05


def _unbinned(probs, labels, num_bins):
    confidence, predicted = probs.max(1)
    return abs((predicted == labels).float().mean() - confidence.mean()).item()


def _bins(probs, labels, num_bins):
    """Per non-empty bin: (share of the samples, accuracy - mean confidence), written out as a student would."""
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).float()
    index = (torch.bucketize(confidence, torch.linspace(0, 1, num_bins + 1)) - 1).clamp(0, num_bins - 1)
    return [((index == b).float().mean().item(), (correct[index == b].mean() - confidence[index == b].mean()).item())
            for b in range(num_bins) if (index == b).any()]


def _unweighted(probs, labels, num_bins):
    gaps = [abs(gap) for _, gap in _bins(probs, labels, num_bins)]
    return sum(gaps) / len(gaps)


def _signed(probs, labels, num_bins):
    return abs(sum(share * gap for share, gap in _bins(probs, labels, num_bins)))


def _true_class(probs, labels, num_bins):
    from pe_lab.teaching.exercises import ece_with_true_class_confidence

    return ece_with_true_class_confidence(probs, labels, num_bins)


def _my_ece(probs, labels, num_bins):
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).float()
    bins = torch.bucketize(confidence, torch.linspace(0, 1, num_bins + 1)[1:-1])
    return sum(float((bins == b).float().mean() * (correct[bins == b].mean() - confidence[bins == b].mean()).abs())
               for b in range(num_bins) if (bins == b).any())


def test_ece_accepts_the_right_answer_and_refuses_the_librarys():
    assert check_ece(_my_ece)
    for library in (ece_by_hand, ece):
        verdict = check_ece(library)
        assert not verdict and "library function" in verdict.message, verdict.message


@pytest.mark.parametrize("wrong,reason", [
    (_unbinned, "over all samples"),
    (_unweighted, "weighted by its share"),
    (_signed, "over all samples"),
    (_true_class, "not the probability of the true class"),
    (lambda p, y, b: 0.0, "disagrees with torchmetrics"),
    (lambda p, y, b: _my_ece(p, y, 10), "not num_bins bins"),  # ignores num_bins: 10 bins when 5 are asked
    (lambda p, y, b: ece_by_hand(p, y, b), "calls `ece_by_hand`"),
])
def test_ece_rejects_the_classic_wrong_answers(wrong, reason, monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)
    verdict = check_ece(wrong)
    assert not verdict and reason in verdict.message, verdict.message


def test_ece_reports_an_exception():
    verdict = check_ece(lambda p, y, b: 1 / 0)
    assert not verdict and "ZeroDivisionError" in verdict.message


def test_member_mask_exercise():
    layer = PackedConv2d(3, 3, 1, alpha=2, num_estimators=3, gamma=1)
    kwargs = dict(in_channels=3, out_channels=3, num_estimators=3, alpha=2, member=1)
    square = check_mask(member_mask(layer, 1)[..., 0, 0], **kwargs)  # symmetric: a transposed mask looks right
    assert not square and "cannot be graded here" in square.message
    whole = check_mask(layer_mask(layer)[..., 0, 0], **kwargs)
    assert not whole and "whole layer's mask^j" in whole.message
    other = check_mask(member_mask(layer, 0)[..., 0, 0], **kwargs)
    assert not other and "another member's mask" in other.message
    eye = check_mask(torch.eye(6), **kwargs)
    assert not eye
    unwidened = check_mask(torch.ones(3, 3), **kwargs)
    assert not unwidened and "forget to widen by alpha" in unwidened.message
    assert not check_mask(member_mask(layer, 1)[..., 0, 0] * 2, **kwargs)


def test_tutorial_loss_checker():
    import torch.nn.functional as F

    from pe_lab.teaching.exercises import check_tutorial_loss

    assert check_tutorial_loss(lambda logits, labels: F.cross_entropy(logits, labels.repeat(len(logits) // len(labels))))
    wrong = [
        (lambda z, y: F.cross_entropy(z, y.repeat_interleave(len(z) // len(y))), "member-major"),
        (lambda z, y: F.cross_entropy(z, y.repeat(len(z) // len(y)), reduction="sum"), "does not sum them"),
        (lambda z, y: F.cross_entropy(z, y.repeat(len(z) // len(y))) * (len(z) // len(y)), "pe-lab's convention"),
        (lambda z, y: z.mean(), "not the tutorial's loss"),
        (lambda z, y: F.cross_entropy(z[: len(y)], y), "member 0's loss alone"),
        (lambda z, y: 0.0, "scalar tensor"),
    ]
    for function, reason in wrong:
        verdict = check_tutorial_loss(function, reveal=False)
        assert not verdict and reason in verdict.message, verdict.message


def test_member_weight_checker():
    from pe_lab.teaching.exercises import check_member_weight

    assert check_member_weight(lambda w, r, s: w * torch.outer(s, r))
    assert check_member_weight(lambda w, r, s: s[:, None] * w * r[None, :])
    wrong = [
        (lambda w, r, s: torch.outer(s, r), "do not replace it"),
        (lambda w, r, s: w * s[:, None], "input channels too"),
        (lambda w, r, s: w * r[None, :], "output channels too"),
        (lambda w, r, s: w + torch.outer(s, r), "not added"),
        (lambda w, r, s: w * torch.outer(r, s), "shape"),
        (lambda w, r, s: w * torch.outer(s, r).abs(), "signs"),
        (lambda w, r, s: w, "not member m's weight"),
    ]
    for function, reason in wrong:
        verdict = check_member_weight(function, reveal=False)
        assert not verdict and reason in verdict.message, verdict.message


def test_check_member_channels_names_each_classic_mistake_and_hides_the_answer():
    from pe_lab.teaching.exercises import check_member_channels

    assert check_member_channels(lambda c, a, m, w: a * w * c / m)
    classic = {"the base width multiplies": lambda c, a, m, w: a * c / m,
               "shared by M members": lambda c, a, m, w: a * w * c,
               "alpha widens the layer": lambda c, a, m, w: w * c / m,
               "divide by M once": lambda c, a, m, w: a * w * c / m ** 2,
               "alpha multiplies, M divides": lambda c, a, m, w: m * w * c / a}
    for reason, wrong in classic.items():
        check = check_member_channels(wrong, reveal=False)
        assert not check and reason in check.message and "alpha * width" not in check.message
        assert "alpha * width * base_channels / num_estimators" in check_member_channels(wrong, reveal=True).message
    assert "call signature" in check_member_channels(lambda c, a: c).message
    import numpy as np

    assert check_member_channels(lambda c, a, m, w: np.float64(a) * w * c / m)  # NumPy answers are fine


def test_grouped_index_and_ensemble_checkers_name_the_mistake_hide_the_answer_and_reveal_it():
    import numpy as np

    from pe_lab.teaching.exercises import check_ensemble_average, check_grouped_index

    right = lambda c, k, c_in, c_out, g: k + (c // (c_out // g)) * (c_in // g)  # noqa: E731
    assert check_grouped_index(right)
    classic = {"output channel's own index": lambda c, k, c_in, c_out, g: k + c,
               "offset inside the group is right": lambda c, k, c_in, c_out, g: k + (c % g) * (c_in // g),
               "add the offset r": lambda c, k, c_in, c_out, g: 0,
               "find the group": lambda c, k, c_in, c_out, g: k + 3 * (c % 2) + 1}
    for reason, wrong in classic.items():
        verdict = check_grouped_index(wrong, reveal=False)
        assert not verdict and reason in verdict.message and "c_out // groups" not in verdict.message
        assert "r + (c // (c_out // groups)) * (c_in // groups)" in check_grouped_index(wrong, reveal=True).message
    assert check_ensemble_average(lambda z: z.softmax(-1).mean(1))
    assert check_ensemble_average(lambda z: z.double().softmax(-1).mean(1))  # float64 is a right answer too
    assert check_ensemble_average(lambda z: np.asarray(z.softmax(-1).mean(1)))  # and NumPy
    for reason, wrong in {"before the softmax": lambda z: z.mean(1).softmax(-1),
                          "runs over the members": lambda z: z.softmax(1).mean(1),
                          "not the members' average": lambda z: z.softmax(-1).amax(1)}.items():
        verdict = check_ensemble_average(wrong, reveal=False)
        assert not verdict and reason in verdict.message and "softmax(-1).mean(1)" not in verdict.message
        assert "logits.softmax(-1).mean(1)" in check_ensemble_average(wrong, reveal=True).message


def test_the_tutorial_loss_checker_does_not_print_the_answer():
    import torch.nn.functional as F

    from pe_lab.teaching.exercises import check_tutorial_loss

    verdict = check_tutorial_loss(lambda z, y: F.cross_entropy(z, y.repeat_interleave(len(z) // len(y))),
                                  reveal=False)
    assert not verdict and "repeat(" not in verdict.message


def _readers(channel, c_in, c_out, groups):
    group = channel // (c_in // groups)
    return range(group * (c_out // groups), (group + 1) * (c_out // groups))


def test_readers_accepts_the_inverse_of_the_index_formula():
    assert check_readers(_readers)
    assert check_readers(lambda ch, i, o, g: list(_readers(ch, i, o, g)))  # any sequence of ints


@pytest.mark.parametrize("wrong,reason", [
    (lambda ch, i, o, g: range(o), "every output channel, as in a dense convolution"),
    (lambda ch, i, o, g: [ch], "not only by the output of the same index"),
    (lambda ch, i, o, g: range((ch // (i // g)) * (i // g), (ch // (i // g) + 1) * (i // g)), "size of the *input* block"),
    (lambda ch, i, o, g: range((ch // g) * (o // g), (ch // g + 1) * (o // g)), "starts at the wrong output channel"),
    (lambda ch, i, o, g: range(0), "exactly one group's block"),
    (lambda ch, i, o, g: 1 / 0, "ZeroDivisionError"),
])
def test_readers_rejects_the_classic_wrong_answers_without_the_answer(wrong, reason, monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)
    verdict = check_readers(wrong)
    assert not verdict and reason in verdict.message, verdict.message
    assert "c_out // groups" not in verdict.message
    assert "c_out // groups" in check_readers(wrong, reveal=True).message or "raised" in verdict.message


def test_rules_differ_needs_logits_where_the_two_averages_disagree(monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)
    assert check_rules_differ([[[10.0, 0.0, 0.0], [0.0, 12.0, 11.0]]])
    agree = check_rules_differ([[[2.0, 0.0], [3.0, 1.0]]])  # both members pick class 0
    assert not agree and "every member agrees" in agree.message and "12, 11" not in agree.message
    saturate = check_rules_differ([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # a tie broken the same way by both rules
    assert not saturate and "neither rule has a clear winner" in saturate.message
    assert "12, 11" in check_rules_differ([[[2.0, 0.0], [3.0, 1.0]]], reveal=True).message
    shape = check_rules_differ([[1.0, 2.0]])
    assert not shape and "(B, M, K)" in shape.message
