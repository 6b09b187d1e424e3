"""Notebook 08's checker: how many channels one member of PE(alpha, M, gamma) has in a hidden layer."""

from __future__ import annotations

import math
from collections.abc import Callable

from .checking import Check, as_number, raised, refuse_library, with_answer

__all__ = ["MEMBER_CHANNEL_CASES", "check_member_channels"]


# (C_j, alpha, M, w): alpha != M in most, alpha = M once, M from 2 to 5, fractional widths and an odd C_j; the
# logarithms span all four directions, so no product of wrong powers is right on every case
MEMBER_CHANNEL_CASES = ((16, 2, 4, 1.0), (6, 4, 4, 2.0), (64, 3, 4, 2.0), (32, 2, 2, 0.5), (10, 3, 5, 1.5),
                        (5, 6, 3, 1.0))


def check_member_channels(your_function: Callable[..., float], *, reveal: bool | None = None) -> Check:
    """Check ``your_function(base_channels, alpha, num_estimators, width)``: the channels one member of
    PE(alpha, M, gamma) has in a hidden layer whose published network has ``base_channels`` (C_j), at base width
    ``width``. The message names the classic mistake (a factor forgotten, squared or inverted) without giving the
    formula."""
    answer = "alpha * width * base_channels / num_estimators"
    refused = refuse_library(your_function, "a member's channels")
    if refused is not None:
        return refused
    cases = MEMBER_CHANNEL_CASES
    answers = []
    for base, alpha, members, width in cases:
        where = f"C_j={base}, alpha={alpha}, M={members}, w={width:g}"
        try:
            got = as_number(your_function(base, alpha, members, width))
        except TypeError as error:
            return Check(False, f"call signature: your_function(base_channels, alpha, num_estimators, width); "
                                f"for {where} it raised {error}")
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return raised(where, error)
        if got is None:
            return Check(False, f"for {where} return the channel count as a number")
        answers.append(got)
    right = [a * w * c / m for c, a, m, w in cases]
    if all(math.isclose(got, want) for got, want in zip(answers, right, strict=True)):
        return Check(True, "Right: a member has alpha*w*C_j/M channels, so alpha = M gives the base network's "
                           "width.")
    mistakes = [(lambda c, a, m, w: a * c / m, "the base width multiplies every layer too (w*C_j before alpha)"),
                (lambda c, a, m, w: a * w * c, "the widened layer is shared by M members: each owns 1/M of it"),
                (lambda c, a, m, w: w * c / m, "alpha widens the layer before it is split among the members"),
                (lambda c, a, m, w: a * w * c / m ** 2, "divide by M once: the layer is split into M blocks"),
                (lambda c, a, m, w: m * w * c / a, "alpha multiplies, M divides (alpha/M, not M/alpha)"),
                (lambda c, a, m, w: a ** 2 * w * c / m, "alpha^2 counts a layer's weights; its channels grow by "
                                                        "alpha"),
                (lambda c, a, m, w: w * c, "alpha widens and M divides: they cancel only when alpha = M")]
    mistakes += [(_typed_in(index, cases[0][index]), f"your count does not change with {name}: it uses {name} = "
                  f"{cases[0][index]:g} whatever the layer; use the argument")
                 for index, name in enumerate(("C_j", "alpha", "M", "w"))]  # the first case's value typed in
    for formula, reason in mistakes:  # a classic mistake is recognised only if it explains every case
        if all(math.isclose(got, formula(*case)) for got, case in zip(answers, cases, strict=True)):
            return with_answer(Check(False, f"not yet: {reason}."), answer, reveal)
    (base, alpha, members, width), got = next((case, got) for case, got, want in zip(cases, answers, right,
                                                                                     strict=True)
                                              if not math.isclose(got, want))
    message = f"{got:g} is not a member's channel count for C_j={base}, alpha={alpha}, M={members}, w={width:g}."
    return with_answer(Check(False, message), answer, reveal)


def _typed_in(index: int, value: float) -> Callable[..., float]:
    """The right formula with argument ``index`` fixed at ``value``: what a value typed in for an argument gives."""
    def formula(*case: float) -> float:
        channels, alpha, members, width = (*case[:index], value, *case[index + 1:])
        return alpha * width * channels / members
    return formula
