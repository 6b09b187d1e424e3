"""Strict checkers: every graded checker refuses a catalogue of classic wrong answers (the settings it draws make
each one fail), refuses the library's own answer, and still accepts the reference solutions."""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pe_lab
from pe_lab.evaluation.metrics import ece, ece_by_hand, reliability_data
from pe_lab.nn.layers import PackedConv2d
from pe_lab.nn.masks import member_mask
from pe_lab.teaching import exercises as ex
from pe_lab.teaching.exercises import masks, parameters


@pytest.fixture(autouse=True)
def _student_mode(monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)


def _refused(verdict, reason: str) -> None:
    assert not verdict, f"accepted a wrong answer (expected: {reason})"
    assert reason in verdict.message, verdict.message
    assert "instructor" not in verdict.message


# --- four wrong answers the checkers once accepted -------------------------------------------------------------

def test_four_wrong_answers_once_accepted_are_refused():
    no_alpha_no_m = 64 * 128 * 9 // 2  # C_{j-1}*C_j*k^2/gamma: right only because alpha^2 = M there
    _refused(ex.check_pe_params(no_alpha_no_m, in_channels=64, out_channels=128, kernel_size=3, alpha=2,
                                num_estimators=4, gamma=2), "cannot be graded here")
    _refused(ex.check_pe_params(lambda i, o, s, a, m, g: i * o * s * s // g, in_channels=64, out_channels=128,
                                kernel_size=3, alpha=2, num_estimators=4, gamma=2), "cancel only on layers")
    square = torch.zeros(8, 8)
    for group in (2, 3):
        square[2 * group:2 * group + 2, 2 * group:2 * group + 2] = 1
    _refused(ex.check_mask(square.T, in_channels=4, out_channels=4, num_estimators=2, gamma=2, alpha=2, member=1),
             "cannot be graded here")
    _refused(ex.check_mask(lambda i, o, a, m, g, member: _mask_by_hand(i, o, a, m, g, member).T, member=1),
             "transposed")
    _refused(ex.check_ece(ece_by_hand), "library function")
    _refused(ex.check_tutorial_loss(lambda z, y: F.cross_entropy(z, y.repeat(4))), "M=2")


# --- check_pe_params ------------------------------------------------------------------------------------------

def _pe_params(c_in, c_out, s, alpha, num_estimators, gamma):
    return (alpha * c_in) * (alpha * c_out) * s ** 2 / (num_estimators * gamma)


def test_pe_params_drawn_layers_separate_every_classic_formula():
    for setting in ex.PARAM_SETTINGS:
        right = parameters.param_count(*setting)
        assert right == _pe_params(*setting)
        values = [right] + [value for value, _ in parameters.param_mistakes(setting)]
        assert all(not math.isclose(a, b) for a, b in itertools.combinations(values, 2)), setting  # names one mistake
        c_in, c_out, s, alpha, members, gamma = setting
        assert alpha ** 2 != members and gamma > 1 and c_in != c_out
    logs = np.log([[float(v) for v in setting] for setting in ex.PARAM_SETTINGS])
    assert np.linalg.matrix_rank(logs, tol=1e-9) == 6  # no product of wrong powers is right on every layer


def test_pe_params_refuses_every_formula_with_wrong_powers():
    right = (1, 1, 2, 2, -1, -1)  # powers of C_{j-1}, C_j, k, alpha, M, gamma
    for powers in itertools.product((0, 1, 2), (0, 1, 2), (0, 1, 2), (0, 1, 2, 3), (-2, -1, 0, 1), (-2, -1, 0, 1)):
        if powers == right:
            continue
        formula = functools.partial(lambda p, *xs: math.prod(x ** e for x, e in zip(xs, p, strict=True)), powers)
        assert not ex.check_pe_params(lambda *xs, f=formula: f(*xs)), powers


@pytest.mark.parametrize("wrong,reason", [
    (lambda i, o, s, a, m, g: i * o * s ** 2, "dense base layer"),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2, "divide by the number of groups"),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / m, "divide by M*gamma, not by M"),  # gamma ignored
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / g, "M*gamma groups, not gamma"),
    (lambda i, o, s, a, m, g: a * i * o * s ** 2 / (m * g), "alpha^2, not alpha"),
    (lambda i, o, s, a, m, g: i * o * s ** 2 / (m * g), "widened by alpha on both sides"),
    (lambda i, o, s, a, m, g: i * o * s ** 2 / g, "cancel only on layers where alpha^2 = M"),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s / (m * g), "k^2"),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / (m * g) ** 2, "one group"),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / (m * m * g), "one member"),
    (lambda i, o, s, a, m, g: i * a * o * s ** 2, "first layer"),
    (lambda i, o, s, a, m, g: _pe_params(i, o, s, a, m, g) + a * o, "without the bias"),
    (lambda i, o, s, a, m, g: 36864, "not the number of weights"),  # the notebook's layer, hard-coded
    (lambda i, o, s, a, m, g: _pe_params(i, o, s, a, m, g) + 1, "not the number of weights"),
    (lambda i, o, s, a, m, g: "many", "as a number"),
    (lambda i, o: 0, "TypeError"),
])
def test_pe_params_names_each_classic_formula_without_the_answer(wrong, reason):
    verdict = ex.check_pe_params(wrong, in_channels=64, out_channels=128, kernel_size=3, alpha=2, num_estimators=4,
                                 gamma=2)
    _refused(verdict, reason)
    assert "k**2 / (M * gamma)" not in verdict.message
    assert "k**2 / (M * gamma)" in ex.check_pe_params(wrong, reveal=True).message or "as a number" in reason \
        or "TypeError" in reason


def test_pe_params_accepts_the_formula_and_an_unambiguous_number():
    assert ex.check_pe_params(_pe_params)
    assert ex.check_pe_params(lambda i, o, s, a, m, g: int(a * i) // (m * g) * int(a * o) * s * s)
    assert ex.check_pe_params(lambda i, o, s, a, m, g: torch.tensor(_pe_params(i, o, s, a, m, g)))
    layer = dict(in_channels=64, out_channels=128, kernel_size=3, alpha=3, num_estimators=4, gamma=2)
    assert ex.check_pe_params(82944, **layer)  # alpha^2 != M: one number is enough
    assert not ex.check_pe_params(64 * 128 * 9 // 2, **layer)


def test_pe_params_refuses_the_librarys_count():
    count = pe_lab.count_params
    _refused(ex.check_pe_params(count), "library function")
    _refused(ex.check_pe_params(lambda i, o, s, a, m, g: count(PackedConv2d(i, o, s, alpha=a, num_estimators=m,
                                                                             gamma=g, bias=False))), "calls `")


@pytest.mark.parametrize("typed,name", [
    (lambda i, o, s, a, m, g: (a * i) * (a * o) * s ** 2 / (4 * g), "M = 4"),
    (lambda i, o, s, a, m, g: (a * i) * (a * o) * s ** 2 / (m * 2), "gamma = 2"),
    (lambda i, o, s, a, m, g: (2 * i) * (2 * o) * s ** 2 / (m * g), "alpha = 2"),
    (lambda i, o, s, a, m, g: (a * i) * (a * o) * 9 / (m * g), "k = 3"),
])
def test_pe_params_names_a_value_typed_in_from_the_exercise_layer(typed, name):
    # on one layer a typed value can equal a classic mistake's count; the name must hold on every layer tried
    _refused(ex.check_pe_params(typed), f"does not change with {name.split(' = ')[0]}: it uses {name}")


def test_pe_params_refuses_torchs_layer_counted():
    _refused(ex.check_pe_params(lambda i, o, s, a, m, g: torch.nn.Conv2d(int(a * i), int(a * o), s, groups=m * g,
                                                                        bias=False).weight.numel()), "calls `Conv2d`")


# --- check_mask -----------------------------------------------------------------------------------------------

def _mask_by_hand(c_in, c_out, alpha, members, gamma, member=None):
    rows, cols, groups = int(alpha * c_out), int(alpha * c_in), members * gamma
    group_of_row = torch.arange(rows) // (rows // groups)
    group_of_col = torch.arange(cols) // (cols // groups)
    mask = (group_of_row[:, None] == group_of_col[None, :]).float()
    if member is not None:
        mask[group_of_row // gamma != member] = 0
    return mask


def test_mask_drawn_layers_separate_every_classic_mask():
    for setting in ex.MASK_SETTINGS:
        for member in (setting[5], None):
            layer = (*setting[:5], member)
            expected = masks.expected_mask(*layer)
            assert torch.equal(expected, _mask_by_hand(*layer))
            assert expected.shape[0] != expected.shape[1]
            assert not any(torch.equal(wrong, expected) for wrong, _ in masks.mask_mistakes(*layer)
                           if wrong.shape == expected.shape), layer
    assert {s[5] for s in ex.MASK_SETTINGS} >= {0, 1, 2} and all(s[2] != s[3] for s in ex.MASK_SETTINGS)


@pytest.mark.parametrize("wrong,reason", [
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m, g, mb).T, "transposed"),
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m, 1, mb), "split further into gamma groups"),
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m, g, None), "whole layer's mask"),
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m, g, (mb + 1) % m), "another member's mask"),
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, m, m, g, mb), "by M"),
    (lambda i, o, a, m, g, mb: torch.ones(o, i), "forget to widen by alpha"),
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m * g, 1, mb), "member m owns gamma groups"),  # group m
    (lambda i, o, a, m, g, mb: torch.eye(int(a * o), int(a * i)), "identity"),
    (lambda i, o, a, m, g, mb: torch.zeros(12, 6), "same whatever the layer"),  # hard-coded for one layer
    (lambda i, o, a, m, g, mb: _mask_by_hand(i, o, a, m, g, mb) * 2, "only 0s and 1s"),
    (lambda i, o, a, m, g: _mask_by_hand(i, o, a, m, g), "TypeError"),
])
def test_mask_function_names_each_classic_mistake(wrong, reason):
    verdict = ex.check_mask(wrong, in_channels=3, out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1)
    _refused(verdict, reason)
    assert "C_j=" in verdict.message or "must be" in verdict.message


def test_mask_function_interleaved_groups_are_named():
    def interleaved(i, o, a, m, g):
        k, col = torch.arange(int(a * o))[:, None], torch.arange(int(a * i))[None, :]
        return (k % (m * g) == col % (m * g)).float()
    _refused(ex.check_mask(interleaved), "consecutive")
    assert ex.check_mask(_mask_by_hand)  # whole-layer masks: five arguments


def test_mask_function_and_unambiguous_matrix_are_accepted():
    assert ex.check_mask(_mask_by_hand, member=1)
    assert ex.check_mask(_mask_by_hand, in_channels=4, out_channels=4, num_estimators=2, gamma=2, alpha=2, member=1)
    proposed = dict(in_channels=3, out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1)  # notebook 02
    right = _mask_by_hand(3, 6, 2, 3, 2, 1)
    assert ex.check_mask(right, **proposed)
    for wrong, reason in masks.mask_mistakes(3, 6, 2, 3, 2, 1):
        assert not ex.check_mask(wrong, **proposed), reason


def test_mask_refuses_the_librarys_masks():
    _refused(ex.check_mask(pe_lab.member_mask, member=1), "library function")
    _refused(ex.check_mask(lambda i, o, a, m, g, mb: member_mask(PackedConv2d(i, o, 1, alpha=a, num_estimators=m,
                                                                              gamma=g), mb)[..., 0, 0], member=1),
             "member_mask")


# --- check_ece ------------------------------------------------------------------------------------------------

def _bins(probs, labels, num_bins, edges=None):
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, num_bins + 1) if edges is None else edges
    index = (torch.bucketize(confidence, edges) - 1).clamp(0, len(edges) - 2)
    return [((index == b).float().mean().item(), (correct[index == b].mean() - confidence[index == b].mean()).item(),
             b) for b in range(len(edges) - 1) if (index == b).any()]


def _ece(probs, labels, num_bins):
    return sum(share * abs(gap) for share, gap, _ in _bins(probs, labels, num_bins))


def _equal_mass(probs, labels, num_bins):
    confidence, predicted = probs.max(1)
    edges = torch.cat([torch.zeros(1), confidence.quantile(torch.linspace(0, 1, num_bins + 1))[1:-1], torch.ones(1)])
    return sum(share * abs(gap) for share, gap, _ in _bins(probs, labels, num_bins, edges))


def _floor_bins(probs, labels, num_bins):  # lower <= c < upper: the same as torchmetrics away from edges
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).float()
    index = (confidence * num_bins).long().clamp(max=num_bins - 1)
    return sum(float((index == b).float().mean() * (correct[index == b].mean() - confidence[index == b].mean()).abs())
               for b in range(num_bins) if (index == b).any())


def _true_class_ece(probs, labels, num_bins):  # binned by the probability of the true class, written by hand
    confidence = probs.gather(1, labels[:, None])[:, 0]
    correct = (probs.argmax(1) == labels).float()
    index = (torch.bucketize(confidence, torch.linspace(0, 1, num_bins + 1)) - 1).clamp(0, num_bins - 1)
    return sum(float((index == b).float().mean() * (correct[index == b].mean() - confidence[index == b].mean()).abs())
               for b in range(num_bins) if (index == b).any())


def test_ece_accepts_a_hand_written_ece_in_either_edge_convention():
    assert ex.check_ece(_ece)
    assert ex.check_ece(_floor_bins)
    assert ex.check_ece(lambda p, y, b: torch.tensor(_ece(p, y, b)))


def test_ece_test_data_keeps_away_from_every_bin_edge():
    for num_bins, seed in ex.ECE_SETTINGS:
        confidence = ex.calibration_test_set(num_bins, seed)[0].max(1).values.double()
        for bins in range(1, 31):
            scaled = confidence * bins
            assert (scaled - scaled.round()).abs().min() > 1e-6 * bins


@pytest.mark.parametrize("wrong,reason", [
    (lambda p, y, b: abs(sum(w * g for w, g, _ in _bins(p, y, b))), "over all samples"),  # |.| outside the sum
    (lambda p, y, b: sum(abs(g) for _, g, _ in _bins(p, y, b)) / len(_bins(p, y, b)), "weighted by its share"),
    (lambda p, y, b: sum(abs(g) for _, g, _ in _bins(p, y, b)) / b, "weighted by its share"),
    (_equal_mass, "equal-mass"),
    (lambda p, y, b: ((p.argmax(1) == y).float() - p.max(1).values).abs().mean().item(), "each sample's"),
    (lambda p, y, b: math.sqrt(sum(w * g * g for w, g, _ in _bins(p, y, b))), "L2"),
    (lambda p, y, b: max(abs(g) for _, g, _ in _bins(p, y, b)), "maximum calibration error"),
    (lambda p, y, b: 100 * _ece(p, y, b), "percentage"),
    (lambda p, y, b: len(y) * _ece(p, y, b), "not by its count"),  # sum_b |S_b| |gap_b|: the share's N forgotten
    (lambda p, y, b: sum(w * abs(g) for w, g, i in _bins(p, y, b) if i < b - 1), "top bin"),
    (lambda p, y, b: _ece(p, y, b - 1), "num_bins + 1 edges"),
    (lambda p, y, b: _ece(p, y, b + 1), "num_bins + 1 edges"),
    (lambda p, y, b: _ece(p, y, 15), "num_bins + 1 edges"),  # hard-coded 15 bins: wrong at 5
    (lambda p, y, b: _true_class_ece(p, y, b), "probability of the true class"),
    (lambda p, y, b: ex.ece_with_true_class_confidence(p, y, b), "calls `ece_with_true_class_confidence`"),
    (ex.ece_with_true_class_confidence, "library function"),
    (lambda p, y, b: 0.0, "disagrees with torchmetrics"),
    (lambda p, y, b: [0.1], "one number"),
])
def test_ece_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_ece(wrong), reason)


def test_ece_true_class_confidence_is_named():
    def true_class(probs, labels, num_bins):
        confidence = probs.gather(1, labels[:, None])[:, 0]
        correct = (probs.argmax(1) == labels).float()
        index = (torch.bucketize(confidence, torch.linspace(0, 1, num_bins + 1)) - 1).clamp(0, num_bins - 1)
        return sum(float((index == b).float().mean() * (correct[index == b].mean() - confidence[index == b].mean())
                         .abs()) for b in range(num_bins) if (index == b).any())
    _refused(ex.check_ece(true_class), "probability of the true class")


def test_ece_refuses_the_library_however_it_is_passed():
    from torchmetrics.classification import MulticlassCalibrationError
    from torchmetrics.functional.classification import multiclass_calibration_error

    by_hand = ece_by_hand

    def helper(p, y, b):  # the student's own function that only calls the library's
        return reliability_data(p, y, b)["count"].sum().item() * 0 + by_hand(p, y, b)

    for answer, reason in [
        (ece_by_hand, "library function"), (ece, "library function"), (pe_lab.ece_by_hand, "library function"),
        (functools.partial(ece_by_hand), "library function"), (MulticlassCalibrationError(10), "library function"),
        (lambda p, y, b: by_hand(p, y, b), "ece_by_hand"), (lambda p, y, b: pe_lab.ece(p, y, b), "ece"),
        (lambda p, y, b: helper(p, y, b), "reliability_data"),
        (lambda p, y, b: multiclass_calibration_error(p, y, 10, b).item(), "multiclass_calibration_error"),
    ]:
        _refused(ex.check_ece(answer), reason)


@pytest.mark.parametrize("typed,name", [
    (lambda i, o, a, m, g, member: _mask_by_hand(i, o, 2, m, g, member), "alpha"),
])
def test_mask_names_an_argument_typed_in(typed, name):
    # a value of the exercise's layer typed in: on the first layer it can look like another classic mistake
    _refused(ex.check_mask(typed, in_channels=3, out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1),
             f"does not change with {name}:")


def test_mask_still_names_a_forgotten_gamma_as_such():
    _refused(ex.check_mask(lambda i, o, a, m, g, member: _mask_by_hand(i, o, a, m, 1, member), in_channels=3,
                           out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1), "split further into gamma")


# --- check_readers and check_grouped_index --------------------------------------------------------------------

def _readers(channel, c_in, c_out, groups):
    group = channel // (c_in // groups)
    return range(group * (c_out // groups), (group + 1) * (c_out // groups))


@pytest.mark.parametrize("wrong,reason", [
    (lambda ch, i, o, g: range(o), "dense convolution"),
    (lambda ch, i, o, g: [ch], "output of the same index"),
    (lambda ch, i, o, g: range((ch // (i // g)) * (i // g), (ch // (i // g) + 1) * (i // g)), "*input* block"),
    (lambda ch, i, o, g: range((ch // g) * (o // g), (ch // g + 1) * (o // g)), "wrong output channel"),
    (lambda ch, i, o, g: range((ch // (o // g)) * (o // g), (ch // (o // g) + 1) * (o // g)), "wrong output channel"),
    (lambda ch, i, o, g: range(_readers(ch, i, o, g).start, _readers(ch, i, o, g).stop + 1), "one channel too many"),
    (lambda ch, i, o, g: range(_readers(ch, i, o, g).start, _readers(ch, i, o, g).stop - 1), "too few at an end"),
    (lambda ch, i, o, g: range(ch % g, o, g), "wrong output channel"),  # interleaved groups
    (lambda ch, i, o, g: ch // (i // g) * (o // g), "return *all*"),  # the forward formula copied
    (lambda ch, i, o, g: range(3), "same for every shape"),  # hard-coded for one shape
    # transposed: the input channel's group found with the output block, then the input block's channels
    (lambda ch, i, o, g: range((ch // (o // g)) * (i // g), (ch // (o // g) + 1) * (i // g)), "*input* block"),
    (lambda ch, i, o, g: pe_lab.layer_mask(pe_lab.PackedConv2d(i, o, 1, alpha=1, num_estimators=g))[:, ch, 0, 0]
     .nonzero().flatten().tolist(), "calls `layer_mask`"),  # the lab's mask read off, through `import pe_lab`
    (lambda ch, i, o, g: member_mask(PackedConv2d(i, o, 1, alpha=1, num_estimators=g), 0), "calls `"),
])
def test_readers_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_readers(wrong), reason)


def test_readers_takes_a_right_answer_in_any_container():
    for as_container in (list, tuple, torch.tensor):
        assert ex.check_readers(lambda ch, i, o, g, wrap=as_container: wrap(list(_readers(ch, i, o, g))))
    # a one-element block (C_out = groups) is still a block of readers, not "one channel"
    assert ex.check_readers(lambda ch, i, o, g: torch.arange(_readers(ch, i, o, g).start, _readers(ch, i, o, g).stop))


@pytest.mark.parametrize("wrong,reason", [
    (lambda c, k, i, o, g: k + c, "own index"),
    (lambda c, k, i, o, g: k + (c % g) * (i // g), "offset inside the group is right"),
    (lambda c, k, i, o, g: k + (c // g) * (i // g), "not the channel it reads"),  # groups as block size
    (lambda c, k, i, o, g: k + (c // (i // g)) * (i // g), "not the channel it reads"),  # input block
    (lambda c, k, i, o, g: k + (c // (o // g)) * (o // g), "own index"),  # output block as the stride
    (lambda c, k, i, o, g: (c // (o // g)) * (i // g), "add the offset r"),
    (lambda c, k, i, o, g: k + 1 + (c // (o // g)) * (i // g), "find the group"),
    (lambda c, k, i, o, g: [k], "one channel index"),
])
def test_grouped_index_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_grouped_index(wrong), reason)


# --- check_ensemble_average and check_rules_differ ------------------------------------------------------------

def test_ensemble_settings_tell_the_dimensions_apart():
    assert all(len({b, m, k}) == 3 and m > 1 for b, m, k in ex.ENSEMBLE_SETTINGS)
    assert len({m for _, m, _ in ex.ENSEMBLE_SETTINGS}) == len(ex.ENSEMBLE_SETTINGS)
    assert 4 not in {m for _, m, _ in ex.ENSEMBLE_SETTINGS}  # the notebook's M: a typed-in 4 never happens to be right


def test_ensemble_average_names_a_typed_in_m_and_a_transposed_result():
    _refused(ex.check_ensemble_average(lambda z: z.softmax(-1).sum(1) / 4), "you divided by 4")
    _refused(ex.check_ensemble_average(lambda z: z.softmax(-1).mean(1).T), "transposed")


def test_rules_differ_names_a_tie_in_both_rules():
    _refused(ex.check_rules_differ([[[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]]), "both rules tie")


@pytest.mark.parametrize("wrong,reason", [
    (lambda z: z.mean(1).softmax(-1), "before the softmax"),
    (lambda z: z.softmax(1).mean(1), "over the members"),
    (lambda z: z.softmax(0).mean(1), "over the images"),
    (lambda z: z.softmax(-1).sum(1), "adds up to M"),
    (lambda z: z.softmax(-1).sum(1) / 3, "not the members' average"),  # M hard-coded
    (lambda z: z[:, 0].softmax(-1), "member 0 alone"),
    (lambda z: z.softmax(-1).mean(1).log(), "log-probabilities"),
    (lambda z: F.one_hot(z.argmax(-1), z.shape[-1]).float().mean(1), "votes"),
    (lambda z: z.log_softmax(-1).mean(1).softmax(-1), "before the softmax"),  # geometric mean
    (lambda z: z.softmax(-1).mean(0), "dim 0, which holds the images"),
    (lambda z: z.softmax(-1).mean(-1), "dim -1, which holds the K classes"),
    (lambda z: z.softmax(-1), "Average over the members"),
    (lambda z: z.softmax(-1).amax(1), "not the members' average"),
    (pe_lab.predict_proba, "library function"),
    (lambda z: pe_lab.predict_proba(lambda x: x, z), "predict_proba"),
])
def test_ensemble_average_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_ensemble_average(wrong), reason)


def test_rules_differ_refuses_ties_and_non_finite_logits():
    assert ex.check_rules_differ([[[10.0, 0.0, 0.0], [0.0, 12.0, 11.0]]])
    assert ex.check_rules_differ([[[-1.0, 0.0], [-1.0, 0.0], [3.0, 0.0]]])  # two classes, three members
    _refused(ex.check_rules_differ([[[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]]), "every member agrees")
    _refused(ex.check_rules_differ([[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]]), "both rules tie")
    # the mean logits tie between classes 0 and 1 (argmax says 0); the mean probability picks 1 by a hair
    _refused(ex.check_rules_differ([[[2.0, 0.0], [0.0, 2.0]]]), "neither rule")  # both rules tie, argmax says 0
    tie = torch.tensor([[[4.0, 0.0, 3.0], [0.0, 4.0, -10.0]]])  # mean logits [2, 2, -3.5]: a tie argmax breaks
    _refused(ex.check_rules_differ(tie), "tie")
    _refused(ex.check_rules_differ([[[math.inf, 0.0], [0.0, 1.0]]]), "finite")
    _refused(ex.check_rules_differ([[10.0, 0.0, 0.0], [0.0, 12.0, 11.0]]), "(B, M, K)")


# --- check_member_weight, check_tutorial_loss, check_member_channels ------------------------------------------

@pytest.mark.parametrize("wrong,reason", [
    (lambda w, r, s: torch.outer(s, r), "do not replace it"),
    (lambda w, r, s: w * s[:, None], "input channels too"),
    (lambda w, r, s: w * r[None, :], "output channels too"),
    (lambda w, r, s: w + torch.outer(s, r), "not added"),
    (lambda w, r, s: w * torch.outer(s, r).abs(), "signs"),
    (lambda w, r, s: w * torch.outer(r, s), "shapes"),  # raises on the non-square layer
    (lambda w, r, s: (w.T * torch.outer(r, s)).T if w.shape[0] != w.shape[1] else w * torch.outer(r, s), "swapped"),
    (lambda w, r, s: w * torch.outer(s, r)[:5, :3], "C_out=2"),  # shape of the first layer hard-coded
    (lambda w, r, s: (w * torch.outer(s, r)).T, "Rows are the C_out output channels"),
    (lambda w, r, s: w, "not member m's weight"),
])
def test_member_weight_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_member_weight(wrong), reason)


def test_member_weight_names_r_and_s_swapped_where_the_shapes_clash():
    _refused(ex.check_member_weight(lambda w, r, s: w * torch.outer(r, s)), "yours are swapped")


def test_member_channels_names_a_value_typed_in():
    _refused(ex.check_member_channels(lambda c, a, m, w: a * w * c / 4), "does not change with M")
    _refused(ex.check_member_channels(lambda c, a, m, w: 2 * w * c / m), "does not change with alpha")


def test_tutorial_loss_names_a_fixed_repeat_and_rows_reordered_against_their_labels():
    _refused(ex.check_tutorial_loss(lambda z, y: F.cross_entropy(z, y.repeat(4))), "not a fixed number")
    reordered = (lambda z, y: F.cross_entropy(
        z.view(z.shape[0] // len(y), len(y), -1).transpose(0, 1).reshape(z.shape[0], -1), y.repeat(z.shape[0] // len(y))))
    _refused(ex.check_tutorial_loss(reordered), "same order")


def test_member_weight_accepts_equivalent_forms():
    assert ex.check_member_weight(lambda w, r, s: torch.diag(s) @ w @ torch.diag(r))
    assert ex.check_member_weight(lambda w, r, s: s[:, None] * w * r)


def test_tutorial_settings_have_several_m_and_batches_other_than_m():
    assert len({m for m, _, _ in ex.TUTORIAL_SETTINGS}) >= 3
    assert all(len({m, b, k}) == 3 and b > 1 for m, b, k in ex.TUTORIAL_SETTINGS)


@pytest.mark.parametrize("wrong,reason", [
    (lambda z, y: F.cross_entropy(z, y.repeat(4)), "M=2"),
    (lambda z, y: F.cross_entropy(z, y.repeat_interleave(len(z) // len(y))), "member-major"),
    (lambda z, y: F.cross_entropy(z, y.repeat(len(z) // len(y)), reduction="sum"), "does not sum them"),
    (lambda z, y: F.cross_entropy(z, y.repeat(len(z) // len(y))) * (len(z) // len(y)), "pe-lab's convention"),
    (lambda z, y: F.cross_entropy(z.softmax(-1), y.repeat(len(z) // len(y))), "do not softmax"),
    (lambda z, y: F.nll_loss(z, y.repeat(len(z) // len(y))), "log-probabilities"),
    (lambda z, y: F.cross_entropy(z[: len(y)], y), "member 0's loss alone"),
    (lambda z, y: F.cross_entropy(z.view(len(y), -1, z.shape[1]).permute(0, 2, 1),
                                  y[:, None].expand(-1, len(z) // len(y))), "member-major"),
    (lambda z, y: z.mean(), "not the tutorial's loss"),
    (lambda z, y: 0.0, "scalar tensor"),
    (F.cross_entropy, "library function"),
    (torch.nn.CrossEntropyLoss(), "library function"),
    (lambda z, y: __import__("pe_lab.training.step", fromlist=["member_loss"]).member_loss(
        z.view(-1, len(y), z.shape[1]).transpose(0, 1), y, 0.0, "mean"), "member_loss"),
])
def test_tutorial_loss_names_each_classic_mistake(wrong, reason):
    _refused(ex.check_tutorial_loss(wrong), reason)


def test_member_channel_cases_separate_every_product_of_wrong_powers():
    logs = np.log([[float(v) for v in case] for case in ex.MEMBER_CHANNEL_CASES])
    assert np.linalg.matrix_rank(logs, tol=1e-9) == 4
    for powers in itertools.product((0, 1, 2), (-1, 0, 1, 2), (-2, -1, 0, 1), (0, 1, 2)):
        if powers != (1, 1, -1, 1):
            assert not ex.check_member_channels(lambda c, a, m, w, p=powers: c ** p[0] * a ** p[1] * m ** p[2]
                                                * w ** p[3]), powers


@pytest.mark.parametrize("wrong,reason", [
    (lambda c, a, m, w: a ** 2 * w * c / m, "alpha^2 counts a layer's weights"),
    (lambda c, a, m, w: w * c, "cancel only when alpha = M"),
    (lambda c, a, m, w: a * w * c // m + 1, "is not a member's channel count"),
    (lambda c, a, m, w: "wide", "as a number"),
])
def test_member_channels_names_the_new_mistakes(wrong, reason):
    _refused(ex.check_member_channels(wrong), reason)


# --- every reference solution passes its stricter checker -----------------------------------------------------

def _namespace():
    return {"torch": torch, "F": F, "PackedConv2d": PackedConv2d,
            **{name: getattr(pe_lab, name) for name in pe_lab.__all__ if name.startswith("check_")}}


NOTEBOOKS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _graded_code(name):
    from pe_lab.teaching.solutions import SOLUTIONS  # imported here: a slip there fails these tests only

    return SOLUTIONS[name][0].code


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_graded_solution_passes_its_strict_checker(name):
    code = _graded_code(name)
    assert "check_" in code
    exec(code, _namespace())  # noqa: S102 - our own solution code; an AssertionError fails the test
