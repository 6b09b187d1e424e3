"""Notebook 02's checker: a packed layer's mask ``mask^j`` and a member's ``mask_m^j``, as a matrix or as a function."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...nn.layers import PackedConv2d
from ...nn.masks import layer_mask, member_mask
from .checking import Check, most_telling, raised, refuse_library, with_answer

__all__ = ["MASK_SETTINGS", "check_mask", "expected_mask", "mask_mistakes"]


# (C_{j-1}, C_j, alpha, M, gamma, m): non-square, alpha != M, alpha^2 != M, gamma > 1 in most, odd block sizes,
# a middle member; on each, every classic mistake of mask_mistakes gives another mask than the right one.
MASK_SETTINGS = ((4, 6, 3, 2, 3, 1), (6, 4, 2, 4, 1, 2), (3, 5, 4, 2, 2, 0), (5, 3, 6, 3, 2, 1), (9, 3, 2, 3, 2, 2))


def _mask_setting(in_channels, out_channels, alpha, num_estimators, gamma, member) -> str:
    text = f"C_{{j-1}}={in_channels}, C_j={out_channels}, alpha={alpha:g}, M={num_estimators}, gamma={gamma}"
    return text if member is None else f"{text}, m={member}"


def expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, member) -> torch.Tensor:
    """The right mask of one setting, read from a real ``PackedConv2d`` (the member's own with ``member``)."""
    layer = PackedConv2d(in_channels, out_channels, 1, alpha=alpha, num_estimators=num_estimators, gamma=gamma)
    return (layer_mask(layer) if member is None else member_mask(layer, member))[..., 0, 0]


def mask_mistakes(in_channels, out_channels, alpha, num_estimators, gamma, member) -> list[tuple[torch.Tensor, str]]:
    """Classic wrong masks of one setting, each with what is wrong; only mistakes that can matter there (a
    forgotten gamma is no mistake when gamma = 1)."""
    expected = expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, member)
    full = expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
    rows, cols = full.shape
    groups = num_estimators * gamma
    k, col = torch.arange(rows)[:, None], torch.arange(cols)[None, :]
    mistakes = [
        (expected.T, "rows are output channels c and columns input channels l: your mask is transposed"),
        (torch.eye(rows, cols), "the identity connects each channel to itself only; in a grouped layer every "
                                "output channel reads all the input channels of its group"),
    ]
    if groups > 1:
        mistakes.append(((k % groups == col % groups).float(), "a group is a block of *consecutive* channels, not "
                                                             "every G-th channel"))
    if alpha != 1 and alpha != num_estimators:
        try:
            by_m = expected_mask(in_channels, out_channels, num_estimators, num_estimators, gamma, member)
            mistakes.append((by_m, "the layer is widened by alpha, not by M"))
        except ValueError:
            pass
    if gamma > 1:
        mistakes.append((expected_mask(in_channels, out_channels, alpha, num_estimators, 1, member),
                         "each member is split further into gamma groups (G = M*gamma blocks in all)"))
    if member is not None and num_estimators > 1:
        owned = (k // (rows // num_estimators) == member).float()
        mistakes.append((full, "that is the whole layer's mask^j; mask_m^j keeps only member m's output rows "
                               "(the rows of every other member are 0)"))
        mistakes.append((torch.ones(rows, cols) * owned, "inside member m's rows only the blocks of its own groups "
                                                         "are 1"))
        for other in (member - 1, member + 1):
            if 0 <= other < num_estimators:
                mistakes.append((expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, other),
                                 "that is another member's mask: members are counted from m=0, in order"))
        if gamma > 1 and member < groups:
            block = ((k // (rows // groups) == member) & (col // (cols // groups) == member)).float()
            mistakes.append((block, "member m owns gamma groups, not only group m"))
    return mistakes


def _shape_hint(mask: torch.Tensor, expected: torch.Tensor, setting: tuple) -> str:
    """What a mask of the wrong shape tells of the mistake (empty when nothing)."""
    in_channels, out_channels, alpha, num_estimators, _, _ = setting
    if mask.shape == expected.T.shape and expected.shape[0] != expected.shape[1]:
        return " Rows are output channels c, columns input channels l: yours is transposed."
    if mask.shape == (num_estimators * out_channels, num_estimators * in_channels):
        return " You widened by M; the layer is widened by alpha."
    if mask.dim() == 2 and (mask.shape[0] * alpha == expected.shape[0] or mask.shape[1] * alpha == expected.shape[1]):
        return " Did you forget to widen by alpha?"
    return ""


def _grade_mask(your_mask, setting: tuple, name: str) -> Check:
    expected = expected_mask(*setting)
    in_channels, out_channels, alpha, num_estimators, gamma, member = setting
    try:
        mask = torch.as_tensor(your_mask).float()
    except (TypeError, ValueError, RuntimeError):
        return Check(False, f"{name} must be a 0/1 matrix (a tensor or nested lists), got {type(your_mask).__name__}")
    where = _mask_setting(*setting)
    if mask.shape != expected.shape:
        hint = _shape_hint(mask, expected, setting)
        return Check(False, f"for {where} your mask has shape {tuple(mask.shape)}; {name} has one row per output "
                            f"channel and one column per input channel of the packed layer "
                            f"(alpha*C_j, alpha*C_{{j-1}}).{hint}")
    if not torch.all((mask == 0) | (mask == 1)):
        return Check(False, f"for {where}: {name} holds only 0s and 1s (a connection is there or not).")
    if torch.equal(mask, expected):
        return Check(True, "")
    for wrong, reason in mask_mistakes(*setting):
        if torch.equal(mask, wrong):
            return Check(False, f"for {where}: {reason}.")
    full = expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
    groups = num_estimators * gamma
    rows_per, cols_per = full.shape[0] // groups, full.shape[1] // groups
    wrong = (mask != expected).nonzero()
    row, col = (int(v) for v in wrong[0])
    why = (f"output channel c={row} is in group floor(c/{rows_per})={row // rows_per} and input channel l={col} in "
           f"group floor(l/{cols_per})={col // cols_per}")
    if member is not None and row // (full.shape[0] // num_estimators) != member:
        rule = f"row c={row} belongs to another member than m={member}, so all of it is 0"
    else:
        rule = "the entry is 1 iff the groups are equal"
    return Check(False, f"for {where} entry (c={row}, l={col}) is wrong: {why}; {rule}. ({len(wrong)} wrong entries "
                        "in all.)")


def check_mask(your_mask, *, in_channels: int | None = None, out_channels: int | None = None,
               num_estimators: int | None = None, gamma: int = 1, alpha: float = 1, member: int | None = None,
               reveal: bool | None = None) -> Check:
    """Check ``mask^j`` ``(alpha*C_j, alpha*C_{j-1})`` of a hidden layer, or with ``member=m`` the member's own
    ``mask_m^j`` (only member m's output rows are kept).

    ``your_mask`` is either the mask of the layer given by the keywords (a tensor or nested lists), or a function
    ``your_mask(C_{j-1}, C_j, alpha, M, gamma)`` (``..., gamma, m)`` with ``member``) that builds it, tried on the
    given layer and on the layers of ``MASK_SETTINGS``. A fixed mask is graded only where no classic mistake
    (a transposed mask, gamma or alpha forgotten, another member...) gives the same matrix: for a square layer
    ``mask^j`` is symmetric, so such a layer asks for the function.

    >>> check_mask(torch.tensor([[1, 0], [1, 0], [0, 1], [0, 1]]), in_channels=2, out_channels=4, num_estimators=2)
    Right! mask^j for C_{j-1}=2, C_j=4, alpha=1, M=2, gamma=1: 2 groups of 2x1.
    """
    given = None
    if in_channels is not None or out_channels is not None or num_estimators is not None:
        if in_channels is None or out_channels is None or num_estimators is None:
            raise TypeError("check_mask needs in_channels, out_channels and num_estimators together")
        given = (in_channels, out_channels, alpha, num_estimators, gamma, member)
    name = "mask^j" if member is None else f"mask_{member}^j"
    if callable(your_mask) and not isinstance(your_mask, torch.Tensor):
        return _check_mask_function(your_mask, given, member is not None, reveal)
    if given is None:
        raise TypeError("a fixed mask needs its layer: pass in_channels, out_channels and num_estimators")
    expected = expected_mask(*given)
    check = _grade_mask(your_mask, given, name)
    if check.ok:
        coinciding = [reason for wrong, reason in mask_mistakes(*given) if torch.equal(wrong, expected)]
        if coinciding:
            return Check(False, f"on this layer ({_mask_setting(*given)}) a classic mistake gives the same matrix "
                                f"as the right {name}, so one matrix cannot be graded here. Write it as a function "
                                f"of (C_{{j-1}}, C_j, alpha, M, gamma{', m' if member is not None else ''}) and pass "
                                "the function: it is tried on layers where the mistakes show.")
        groups = num_estimators * gamma
        full = expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
        return Check(True, f"{name} for {_mask_setting(in_channels, out_channels, alpha, num_estimators, gamma, None)}"
                           f": {groups} groups of {full.shape[0] // groups}x{full.shape[1] // groups}.")
    return with_answer(check, f"\n{expected.int()}", reveal)


def _check_mask_function(your_mask: Callable, given: tuple | None, with_member: bool, reveal: bool | None) -> Check:
    what = "the mask"
    refused = refuse_library(your_mask, what, frozenset({"layer_mask", "member_mask", "block_mask", "to_dense"}))
    if refused is not None:
        return refused
    settings = [s if with_member else (*s[:5], None) for s in MASK_SETTINGS]
    if given is not None:  # last: on a square layer a transposed mask looks right, and other mistakes may coincide
        settings.append(given)
    ignored = None  # the arguments the student's function does not read, found once a layer fails
    wrong = []  # (setting, its verdict, the reasons that explain it): named once every layer has been tried
    for setting in settings:
        member = setting[5]
        arguments = setting if member is not None else setting[:5]
        name = "mask^j" if member is None else f"mask_{member}^j"
        try:
            got = your_mask(*arguments)
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return raised(_mask_setting(*setting), error)
        check = _grade_mask(got, setting, name)
        if check.ok:
            continue
        ignored = _ignored_arguments(your_mask, settings) if ignored is None else ignored
        wrong.append((setting, check, [*_mask_explanations(got, setting, ignored), check.message]))
    if not wrong:
        return Check(True, f"your masks are right on all {len(settings)} layers tried (non-square, alpha != M, "
                           "gamma > 1, first, middle and last members).")
    # On one layer two mistakes can give the same mask: the one that explains the most failing layers is named.
    reason = most_telling([reasons for _, _, reasons in wrong])
    setting, check, _ = next(entry for entry in wrong if reason in entry[2])
    message = check.message if reason == check.message else f"for {_mask_setting(*setting)}: {reason}."
    return with_answer(Check(False, message), f"\n{expected_mask(*setting).int()}", reveal)


_MASK_ARGUMENTS = ("C_{j-1}", "C_j", "alpha", "M", "gamma", "m")


def _ignored_arguments(your_mask: Callable, settings: list[tuple]) -> list[str]:
    """The arguments whose change leaves the student's mask as it was where the right mask changes (a value
    typed in instead of the argument)."""
    return [name for index, name in enumerate(_MASK_ARGUMENTS) if _ignores(your_mask, settings, index)]


def _ignores(your_mask: Callable, settings: list[tuple], index: int) -> bool:
    """Whether changing argument ``index`` alone, between two layers whose right masks differ, leaves the student's
    mask unchanged."""
    def call(setting: tuple) -> torch.Tensor:
        return torch.as_tensor(your_mask(*setting) if setting[5] is not None else your_mask(*setting[:5])).float()

    values = sorted({setting[index] for setting in settings} - {None})
    for base in (setting for setting in settings if setting[index] is not None):
        for value in values:
            other = (*base[:index], value, *base[index + 1:])
            try:
                right, right_other = expected_mask(*base), expected_mask(*other)
                if right.shape == right_other.shape and torch.equal(right, right_other):
                    continue  # the same value, or a change the right mask does not see
                mine, mine_other = call(base), call(other)
            except Exception:  # noqa: BLE001 - a layer the value cannot build, or the student's code failing
                continue
            if mine.shape == mine_other.shape and torch.equal(mine, mine_other):
                return True
    return False


def _mask_explanations(got, setting: tuple, ignored: list[str]) -> list[str]:
    """What explains the wrong mask ``got`` on ``setting``, most telling first: the classic mistakes, what its
    shape says, the arguments the student's function does not read."""
    try:
        mask = torch.as_tensor(got).float()
    except (TypeError, ValueError, RuntimeError):
        return []
    expected = expected_mask(*setting)
    reasons = [reason for wrong, reason in mask_mistakes(*setting) if wrong.shape == mask.shape
               and torch.equal(mask, wrong)]
    hint = _shape_hint(mask, expected, setting) if mask.shape != expected.shape else ""
    if hint:
        reasons.append(hint.strip().rstrip("."))
    if len(ignored) >= 3:  # hard-coded: the same mask whatever the layer
        return [*reasons, "your mask is the same whatever the layer: build it from the arguments"]
    return reasons + [f"your mask does not change with {name}: a value is typed in where the argument belongs"
                      for name in ignored]
