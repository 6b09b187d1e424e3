"""Notebook 03's checker: the number of weights of a hidden packed convolution, as a count or as a formula."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from ...nn.layers import PackedConv2d
from .checking import Check, as_number, most_telling, raised, refuse_library, with_answer

__all__ = ["PARAM_SETTINGS", "check_pe_params", "param_count", "param_mistakes"]


# (C_{j-1}, C_j, k, alpha, M, gamma): alpha^2 != M, alpha != M*gamma, non-square, odd channel counts, gamma > 1,
# s, alpha, M and gamma different from each other, kernel sizes 2 to 7, a fractional alpha; the logarithms of the six
# numbers span all six directions, so no product of wrong powers can be right on every layer, and on each layer
# every formula of _PARAM_MISTAKES gives its own count, different from the right one.
PARAM_SETTINGS = ((3, 6, 5, 4, 2, 3), (6, 3, 2, 8, 3, 4), (5, 7, 5, 12, 3, 2), (10, 20, 3, 1.5, 5, 3),
                  (3, 9, 2, 4, 3, 2), (9, 6, 7, 4, 3, 2))

# formula(C_{j-1}, C_j, k, alpha, M, gamma), what is wrong, the hyperparameters it gets wrong (a mistake about
# gamma is none on a layer with gamma = 1)
_PARAM_MISTAKES: tuple[tuple[Callable, str, tuple[str, ...]], ...] = (
    (lambda i, o, s, a, m, g: i * o * s ** 2,
     "that is the dense base layer; the packed layer is widened by alpha on both sides and split into M*gamma "
     "groups", ("alpha", "M", "gamma")),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2,
     "widened by alpha^2, right, but a grouped layer only connects channels within a group: divide by the number "
     "of groups", ("M", "gamma")),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / m,
     "each of the M members is split further into gamma groups: divide by M*gamma, not by M", ("gamma",)),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / g,
     "the M members are groups too: the layer has M*gamma groups, not gamma", ("M",)),
    (lambda i, o, s, a, m, g: a * i * o * s ** 2 / (m * g),
     "alpha widens both the input and the output channels: alpha^2, not alpha", ("alpha",)),
    (lambda i, o, s, a, m, g: i * o * s ** 2 / (m * g),
     "the layer is also widened by alpha on both sides (alpha^2)", ("alpha",)),
    (lambda i, o, s, a, m, g: i * o * s ** 2 / g,
     "you left out both alpha^2 and M; they cancel only on layers where alpha^2 = M", ("alpha", "M")),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s / (m * g),
     "a kernel of size k has k*k weights per channel pair: k^2", ("s",)),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / (m * g) ** 2,
     "that is the weights of one group; the layer has M*gamma groups", ("M", "gamma")),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / (m ** 2 * g),
     "that is the weights of one member; the layer holds all M members", ("M",)),
    (lambda i, o, s, a, m, g: i * a * o * s ** 2,
     "that is a first layer (dense over its C_{j-1} inputs); a hidden layer is widened on both sides and grouped",
     ("alpha", "M", "gamma")),
    (lambda i, o, s, a, m, g: a ** 2 * i * o * s ** 2 / (m * g) + a * o,
     "count the weights only, without the bias", ()),
)
_NEUTRAL = {"alpha": 1, "M": 1, "gamma": 1, "s": 1}


def _param_setting(i, o, s, a, m, g) -> str:
    return f"C_{{j-1}}={i}, C_j={o}, k={s}, alpha={a:g}, M={m}, gamma={g}"


def param_count(i, o, s, a, m, g) -> int:
    """The weights of a real ``PackedConv2d`` built with these hyperparameters (no bias)."""
    return PackedConv2d(i, o, s, alpha=a, num_estimators=m, gamma=g, bias=False).weight.numel()


def param_mistakes(setting: tuple, *, only_relevant: bool = False) -> list[tuple[float, str]]:
    """``(count, what is wrong)`` of each classic wrong formula on ``setting``; with ``only_relevant``, only the
    mistakes about a hyperparameter that is not neutral there."""
    values = dict(zip(("i", "o", "s", "alpha", "M", "gamma"), setting, strict=True))
    return [(formula(*setting), reason) for formula, reason, about in _PARAM_MISTAKES
            if not only_relevant or not about or any(values[p] != _NEUTRAL[p] for p in about)]


def check_pe_params(your_count, *, in_channels: int | None = None, out_channels: int | None = None,
                    kernel_size: int | None = None, alpha: float | None = None, num_estimators: int | None = None,
                    gamma: int = 1, reveal: bool | None = None) -> Check:
    """Check the number of weights (no bias) of a hidden packed conv layer ``PackedConv2d(C_{j-1}, C_j, k,
    alpha, M, gamma)``.

    ``your_count`` is the count of the layer given by the keywords (an int), or a function
    ``your_count(C_{j-1}, C_j, k, alpha, M, gamma)`` tried on that layer and on those of ``PARAM_SETTINGS``. A
    number is graded only where no classic wrong formula gives the same count (where ``alpha^2 = M``, forgetting
    both alpha^2 and M gives the right number): there the checker asks for the function. The message names the
    mistake without giving the number."""
    keywords = (in_channels, out_channels, kernel_size, alpha, num_estimators)
    given = None
    if any(v is not None for v in keywords):
        if any(v is None for v in keywords):
            raise TypeError("check_pe_params needs in_channels, out_channels, kernel_size, alpha and num_estimators "
                            "together")
        given = (in_channels, out_channels, kernel_size, alpha, num_estimators, gamma)
    if callable(your_count):
        return _check_pe_params_function(your_count, given, reveal)
    if given is None:
        raise TypeError("a count needs its layer: pass in_channels, out_channels, kernel_size, alpha, num_estimators")
    if isinstance(your_count, bool) or not isinstance(your_count, numbers.Integral):
        return Check(False, f"give the count as an integer (e.g. 1234), not {type(your_count).__name__} "
                            f"{your_count!r}")
    expected = param_count(*given)
    if your_count == expected:
        if any(math.isclose(value, expected) for value, _ in param_mistakes(given, only_relevant=True)):
            return Check(False, f"on this layer ({_param_setting(*given)}) a classic wrong formula gives the same "
                                "count as the right one, so one number cannot be graded here. Write the count as a "
                                "function of (C_{j-1}, C_j, k, alpha, M, gamma) and pass the function: it is tried "
                                "on layers where the mistakes show.")
        return Check(True, f"{expected} = (alpha*C_{{j-1}})*(alpha*C_j)*k^2/(M*gamma).")
    for value, reason in param_mistakes(given):
        if math.isclose(your_count, value):
            return with_answer(Check(False, f"not yet: {reason}."), str(expected), reveal)
    check = Check(False, f"that is not the number of weights. Start from the dense layer's C_{{j-1}}*C_j*k^2 "
                         f"(k={kernel_size}), then apply alpha={alpha:g} and the M*gamma={num_estimators * gamma} "
                         "groups.")
    return with_answer(check, str(expected), reveal)


def _check_pe_params_function(your_count: Callable, given: tuple | None, reveal: bool | None) -> Check:
    refused = refuse_library(your_count, "the count", frozenset({"count_params", "Conv2d", "Linear"}))
    if refused is not None:
        return refused
    answer = "alpha * C_{j-1} * alpha * C_j * k**2 / (M * gamma)"
    # the drawn layers first: on each, every classic formula gives its own count; the caller's layer last (where
    # alpha^2 = M, two mistakes can give the same count). A wrong answer is named by the mistake that explains the
    # most layers where it is wrong (most_telling), so a coincidence on one layer does not name the wrong mistake.
    settings = list(PARAM_SETTINGS) + ([given] if given is not None else [])
    wrong = []
    for setting in settings:
        where = _param_setting(*setting)
        try:
            got = as_number(your_count(*setting))
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return raised(where, error)
        if got is None:
            return Check(False, f"for {where} return the count as a number")
        if not math.isclose(got, param_count(*setting)):
            wrong.append((where, got, _param_explanations(setting, got, given or EXERCISE_LAYER)))
    if not wrong:
        return Check(True, f"your formula gives the weights of all {len(settings)} layers tried (alpha^2 != M, "
                           "non-square, odd channel counts, gamma > 1).")
    reason = most_telling([reasons for _, _, reasons in wrong])
    where, got, _ = next(entry for entry in wrong if reason in entry[2])
    return with_answer(Check(False, f"for {where} your count {got:g} is wrong: {reason}."), answer, reveal)


# The layer of notebook 03's exercise, PackedConv2d(64, 128, 3, alpha=2, num_estimators=4, gamma=2): a value of it
# typed into a formula shows as a count that is right only where that argument has this value.
EXERCISE_LAYER = (64, 128, 3, 2, 4, 2)
_ARGUMENTS = ("C_{j-1}", "C_j", "k", "alpha", "M", "gamma")


def _param_explanations(setting: tuple, got: float, typed_from: tuple) -> list[str]:
    """Every reason that explains the count ``got`` on ``setting``: the classic formulas, then an argument whose
    value was typed in from the layer ``typed_from``; the last always fits."""
    reasons = [r for v, r in param_mistakes(setting) if math.isclose(got, v)]
    for index, name in enumerate(_ARGUMENTS):
        typed = (*setting[:index], typed_from[index], *setting[index + 1:])
        i, o, k, alpha, members, gamma = typed  # the formula, not a layer: a typed value need not build one
        count = alpha * i * alpha * o * k ** 2 / (members * gamma)
        if setting[index] != typed_from[index] and math.isclose(got, count):
            reasons.append(f"your count does not change with {name}: it uses {name} = {typed_from[index]:g} "
                           "whatever the layer; use the argument")
    return [*reasons, "that is not the number of weights: start from the dense layer's C_{j-1}*C_j*k^2, then "
                      "apply alpha and the M*gamma groups"]
