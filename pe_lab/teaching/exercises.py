"""Checkers for the notebooks' exercises: each says "right", or *what* is wrong and why, never the answer.

A checker returns a ``Check`` (truthy when right) whose text is meant to be read by a student. An answer that is
a function is tried on several settings, drawn so that no two classic mistakes cancel (``alpha^2 != M``,
non-square layers, more than one ``M``, ``gamma > 1``, odd channel counts, batch sizes other than ``M``); the
message names the first setting where it is wrong and, when it is a classic mistake, which one. A function that
*is* a library's (pe_lab, torch, torchmetrics, ...), or only calls the library's own answer to the exercise, is
refused: the exercise asks for the student's own. A fixed answer (a count, a mask) is graded only on a setting
where no classic mistake gives the same value; otherwise the checker asks for the formula as a function.
Instructors pass ``reveal=True`` (or set ``PE_LAB_INSTRUCTOR=1``) to see the expected answer as well.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import env_flag
from ..evaluation.metrics import ece
from ..nn.layers import PackedConv2d
from ..nn.masks import layer_mask, member_mask

__all__ = [
    "Check", "INSTRUCTOR_ENV", "LIBRARIES", "calibration_test_set", "check_ece", "check_ensemble_average",
    "check_grouped_index", "check_mask", "check_member_channels", "check_member_weight", "check_pe_params",
    "check_readers", "check_rules_differ", "check_tutorial_loss", "ece_with_true_class_confidence"]


INSTRUCTOR_ENV = "PE_LAB_INSTRUCTOR"
# A function whose home is one of these packages is the library's answer, not the student's.
LIBRARIES = ("pe_lab", "torch", "torchmetrics", "numpy", "einops", "scipy", "sklearn")


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


# --- what every function answer goes through ------------------------------------------------------------------

def _unwrap(answer):
    for _ in range(10):  # partial(partial(f)) or a bound method: the function underneath decides
        if isinstance(answer, functools.partial):
            answer = answer.func
        elif inspect.ismethod(answer):
            answer = answer.__func__
        else:
            break
    return answer


def _home(obj) -> str | None:
    """``module.name`` of a function or class that lives in one of ``LIBRARIES``, else ``None``."""
    module = getattr(obj, "__module__", None)
    if module is None and getattr(obj, "__objclass__", None) is not None:  # e.g. torch.Tensor.softmax
        module = obj.__objclass__.__module__
    if not (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj) or inspect.isroutine(obj)):
        module, obj = type(obj).__module__, type(obj)  # a callable object (nn.CrossEntropyLoss()): its class
    if isinstance(module, str) and module.split(".")[0] in LIBRARIES:
        return f"{module}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"
    return None


def _code_objects(function) -> Iterable:
    stack = [function.__code__]
    while stack:
        code = stack.pop()
        yield code
        stack.extend(c for c in code.co_consts if inspect.iscode(c))


def _borrowed(answer, helpers: frozenset[str], depth: int = 3, seen: set | None = None) -> str | None:
    """The first of ``helpers`` (names of library functions that compute the exercise's answer) that ``answer``
    calls, directly or through the student's own functions; ``None`` if it calls none."""
    function = _unwrap(answer)
    if not inspect.isfunction(function):
        call = vars(type(function)).get("__call__") if callable(function) else None  # a student's callable class
        function = call if inspect.isfunction(call) else None
    seen = set() if seen is None else seen
    if function is None or id(function) in seen or depth < 0:
        return None
    seen.add(id(function))
    closure = {name: cell.cell_contents for name, cell in zip(function.__code__.co_freevars,
                                                              function.__closure__ or (), strict=False)
               if _filled(cell)}
    for code in _code_objects(function):
        for name in (*code.co_names, *code.co_freevars):
            if name in closure:
                value, found = closure[name], True
            elif name in function.__globals__:
                value, found = function.__globals__[name], True
            else:
                value, found = None, False
            if not found:  # an attribute (pe_lab.ece_by_hand, tm.functional.calibration_error): its name decides
                if name in helpers:
                    return name
                continue
            value = _unwrap(value)
            if _home(value) is not None:
                if getattr(value, "__name__", name) in helpers or name in helpers:
                    return getattr(value, "__name__", name)
            elif inspect.isfunction(value) and value is not function:  # the student's own helper: look inside
                inner = _borrowed(value, helpers, depth - 1, seen)
                if inner is not None:
                    return inner
    return None


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _refuse_library(answer, what: str, helpers: frozenset[str] = frozenset()) -> Check | None:
    """A ``Check`` refusing ``answer`` when it is not a function, is a library's, or calls the library's own
    answer (one of ``helpers``); ``None`` when it may be graded."""
    if not callable(answer):
        return Check(False, f"{what} must be a function (def ... or lambda), got {type(answer).__name__}")
    home = _home(_unwrap(answer))
    if home is not None:
        return Check(False, f"that is the library function `{home}`, not yours: write {what} yourself.")
    used = _borrowed(answer, helpers)
    if used is not None:
        return Check(False, f"your function calls `{used}`, which computes the answer for you: write {what} "
                            "from the formula yourself.")
    return None


def _number(value) -> float | None:
    """A plain number from an int, float, NumPy scalar or one-element tensor; ``None`` otherwise."""
    if isinstance(value, torch.Tensor) or type(value).__module__ == "numpy":
        if getattr(value, "size", None) is not None and int(math.prod(getattr(value, "shape", ()))) != 1:
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _raised(setting: str, error: Exception) -> Check:
    return Check(False, f"for {setting} your function raised {type(error).__name__}: {error}")


# --- notebook 01: grouped convolution indices ------------------------------------------------------------------

def _grouped_shapes() -> list[tuple[int, int, int]]:
    """``(c_in, c_out, groups)``: non-square, odd block sizes, one output per group, more outputs than inputs."""
    shapes = []
    for groups in (1, 2, 3, 4, 5):
        shapes += [(groups * 2, groups * 3, groups), (groups * 3, groups, groups), (groups * 4, groups * 2, groups),
                   (groups, groups * 5, groups)]
    return shapes


def check_grouped_index(your_index: Callable[[int, int, int, int, int], int], *, reveal: bool | None = None) -> Check:
    """Check ``your_index(c, k, c_in, c_out, groups)``: the input channel that output channel ``c`` reads as
    its ``k``-th input in a grouped convolution (``k`` in ``[0, c_in/groups)``). Tried on every channel of 20
    shapes (1 to 5 groups, non-square, odd block sizes); the message names the mistake (which group, or the offset
    inside it) without giving the formula; ``reveal=True`` (or instructor mode) does."""
    answer = "k + (c // (c_out // groups)) * (c_in // groups)"
    refused = _refuse_library(your_index, "the index")
    if refused is not None:
        return refused
    for c_in, c_out, groups in _grouped_shapes():
        in_block, out_block = c_in // groups, c_out // groups
        for c in range(c_out):
            for k in range(in_block):
                expected = k + (c // out_block) * in_block
                setting = f"c={c}, k={k}, C_in={c_in}, C_out={c_out}, groups={groups}"
                try:
                    got = _number(your_index(c, k, c_in, c_out, groups))
                except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
                    return _raised(setting, error)
                if got == expected:
                    continue
                if got is None:
                    hint = "return one channel index (an int)"
                elif got - k == c:
                    hint = "you used the output channel's own index as the group's start"
                elif got == expected - k:
                    hint = "that is where the group's inputs start; add the offset k inside the group"
                elif (got - k) % in_block == 0:
                    hint = "the offset inside the group is right; the group's first input channel is not"
                else:
                    hint = "find the group of output channel c first, then where that group's inputs start"
                check = Check(False, f"for {setting} your index {got if got is None else f'{got:g}'} is not the "
                                     f"channel it reads: {hint}.")
                return _with_answer(check, answer, reveal)
    return Check(True, "your index matches the grouped convolution on every channel of 20 shapes (1 to 5 groups).")


def check_readers(your_readers: Callable[[int, int, int, int], range], *, reveal: bool | None = None) -> Check:
    """Check ``your_readers(l, c_in, c_out, groups)``: the output channels of a grouped convolution that read input
    channel ``l``, as a ``range`` (or any sequence of ints). The inverse of the index formula in notebook 01, so it
    needs that formula turned around, not copied. Tried on every input channel of 20 shapes; the message names the
    classic mistakes (the input block's size used for outputs, the group count used as a block size, a dense or an
    identity answer, one channel too many or too few)."""
    answer = "range(g * (c_out // groups), (g + 1) * (c_out // groups)) with g = l // (c_in // groups)"
    refused = _refuse_library(your_readers, "the readers")
    if refused is not None:
        return refused
    for c_in, c_out, groups in _grouped_shapes():
        in_block, size = c_in // groups, c_out // groups
        for channel in range(c_in):
            group = channel // in_block
            expected = list(range(group * size, (group + 1) * size))
            setting = f"l={channel}, C_in={c_in}, C_out={c_out}, groups={groups}"
            try:
                readers = your_readers(channel, c_in, c_out, groups)
                if isinstance(readers, numbers.Integral | torch.Tensor) and _number(readers) is not None:
                    check = Check(False, f"for {setting} you returned one channel; return *all* the output "
                                         "channels that read l (a range).")
                    return _with_answer(check, answer, reveal)
                got = sorted(int(v) for v in readers)
            except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
                return _raised(setting, error)
            if got == expected:
                continue
            if got == list(range(c_out)) and groups > 1:
                hint = "that is every output channel, as in a dense convolution; a group reads only its own block"
            elif got == [channel]:
                hint = "one input is read by a whole block of outputs, not only by the output of the same index"
            elif got == list(range(group * in_block, (group + 1) * in_block)):
                hint = "you used the size of the *input* block; the readers form a block of output channels"
            elif got and got == list(range(got[0], got[-1] + 1)) and abs(len(got) - size) == 1 and (
                    got[0] == expected[0] or got[-1] == expected[-1]):
                hint = "one channel too many or too few at an end of the block: range(a, b) stops before b"
            elif len(got) == size:
                hint = "the block has the right size but starts at the wrong output channel: which group is l in?"
            else:
                hint = f"the readers of one input are exactly one group's block of {size} output channel(s)"
            check = Check(False, f"for {setting} your readers {got} are not the output channels that read l: "
                                 f"{hint}.")
            return _with_answer(check, answer, reveal)
    return Check(True, "your readers match the grouped convolution on every input channel of 20 shapes "
                       "(1 to 5 groups).")


# --- notebook 02: masks ---------------------------------------------------------------------------------------

# (C_{j-1}, C_j, alpha, M, gamma, m): non-square, alpha != M, alpha^2 != M, gamma > 1 in most, odd block sizes,
# a middle member; on each, every classic mistake of _mask_mistakes gives another mask than the right one.
MASK_SETTINGS = ((4, 6, 3, 2, 3, 1), (6, 4, 2, 4, 1, 2), (3, 5, 4, 2, 2, 0), (5, 3, 6, 3, 2, 1), (9, 3, 2, 3, 2, 2))


def _mask_setting(in_channels, out_channels, alpha, num_estimators, gamma, member) -> str:
    text = f"C_{{j-1}}={in_channels}, C_j={out_channels}, alpha={alpha:g}, M={num_estimators}, gamma={gamma}"
    return text if member is None else f"{text}, m={member}"


def _expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, member) -> torch.Tensor:
    layer = PackedConv2d(in_channels, out_channels, 1, alpha=alpha, num_estimators=num_estimators, gamma=gamma)
    return (layer_mask(layer) if member is None else member_mask(layer, member))[..., 0, 0]


def _mask_mistakes(in_channels, out_channels, alpha, num_estimators, gamma, member) -> list[tuple[torch.Tensor, str]]:
    """Classic wrong masks of one setting, each with what is wrong; only mistakes that can matter there (a
    forgotten gamma is no mistake when gamma = 1)."""
    expected = _expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, member)
    full = _expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
    rows, cols = full.shape
    groups = num_estimators * gamma
    k, col = torch.arange(rows)[:, None], torch.arange(cols)[None, :]
    mistakes = [
        (expected.T, "rows are output channels k and columns input channels l: your mask is transposed"),
        (torch.eye(rows, cols), "the identity connects each channel to itself only; in a grouped layer every "
                                f"output channel reads all the {cols // groups} input channels of its group"),
    ]
    if groups > 1:
        mistakes.append(((k % groups == col % groups).float(), "a group is a block of *consecutive* channels, not "
                                                             "every G-th channel"))
    if alpha != 1 and alpha != num_estimators:
        try:
            by_m = _expected_mask(in_channels, out_channels, num_estimators, num_estimators, gamma, member)
            mistakes.append((by_m, "the layer is widened by alpha, not by M"))
        except ValueError:
            pass
    if gamma > 1:
        mistakes.append((_expected_mask(in_channels, out_channels, alpha, num_estimators, 1, member),
                         "each member is split further into gamma groups (G = M*gamma blocks in all)"))
    if member is not None and num_estimators > 1:
        owned = (k // (rows // num_estimators) == member).float()
        mistakes.append((full, "that is the whole layer's mask^j; mask_m^j keeps only member m's output rows "
                               "(the rows of every other member are 0)"))
        mistakes.append((torch.ones(rows, cols) * owned, "inside member m's rows only the blocks of its own groups "
                                                         "are 1"))
        for other in (member - 1, member + 1):
            if 0 <= other < num_estimators:
                mistakes.append((_expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, other),
                                 "that is another member's mask: members are counted from m=0, in order"))
        if gamma > 1 and member < groups:
            block = ((k // (rows // groups) == member) & (col // (cols // groups) == member)).float()
            mistakes.append((block, "member m owns gamma groups, not only group m"))
    return mistakes


def _grade_mask(your_mask, setting: tuple, name: str) -> Check:
    expected = _expected_mask(*setting)
    in_channels, out_channels, alpha, num_estimators, gamma, member = setting
    try:
        mask = torch.as_tensor(your_mask).float()
    except (TypeError, ValueError, RuntimeError):
        return Check(False, f"{name} must be a 0/1 matrix (a tensor or nested lists), got {type(your_mask).__name__}")
    where = _mask_setting(*setting)
    if mask.shape != expected.shape:
        hint = ""
        if mask.shape == expected.T.shape and expected.shape[0] != expected.shape[1]:
            hint = " Rows are output channels k, columns input channels l: yours is transposed."
        elif mask.shape == (num_estimators * out_channels, num_estimators * in_channels):
            hint = " You widened by M; the layer is widened by alpha."
        elif mask.dim() == 2 and (mask.shape[0] * alpha == expected.shape[0]
                                  or mask.shape[1] * alpha == expected.shape[1]):
            hint = " Did you forget to widen by alpha?"
        return Check(False, f"for {where} your mask has shape {tuple(mask.shape)}; {name} has one row per output "
                            f"channel and one column per input channel of the packed layer "
                            f"(alpha*C_j, alpha*C_{{j-1}}).{hint}")
    if not torch.all((mask == 0) | (mask == 1)):
        return Check(False, f"for {where}: {name} holds only 0s and 1s (a connection is there or not).")
    if torch.equal(mask, expected):
        return Check(True, "")
    for wrong, reason in _mask_mistakes(*setting):
        if torch.equal(mask, wrong):
            return Check(False, f"for {where}: {reason}.")
    full = _expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
    groups = num_estimators * gamma
    rows_per, cols_per = full.shape[0] // groups, full.shape[1] // groups
    wrong = (mask != expected).nonzero()
    k, col = (int(v) for v in wrong[0])
    why = (f"output channel k={k} is in group floor(k/{rows_per})={k // rows_per} and input channel l={col} in "
           f"group floor(l/{cols_per})={col // cols_per}")
    if member is not None and k // (full.shape[0] // num_estimators) != member:
        rule = f"row k={k} belongs to another member than m={member}, so all of it is 0"
    else:
        rule = "the entry is 1 iff the groups are equal"
    return Check(False, f"for {where} entry (k={k}, l={col}) is wrong: {why}; {rule}. ({len(wrong)} wrong entries "
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
    expected = _expected_mask(*given)
    check = _grade_mask(your_mask, given, name)
    if check.ok:
        coinciding = [reason for wrong, reason in _mask_mistakes(*given) if torch.equal(wrong, expected)]
        if coinciding:
            return Check(False, f"on this layer ({_mask_setting(*given)}) a classic mistake gives the same matrix "
                                f"as the right {name}, so one matrix cannot be graded here. Write it as a function "
                                f"of (C_{{j-1}}, C_j, alpha, M, gamma{', m' if member is not None else ''}) and pass "
                                "the function: it is tried on layers where the mistakes show.")
        groups = num_estimators * gamma
        full = _expected_mask(in_channels, out_channels, alpha, num_estimators, gamma, None)
        return Check(True, f"{name} for {_mask_setting(in_channels, out_channels, alpha, num_estimators, gamma, None)}"
                           f": {groups} groups of {full.shape[0] // groups}x{full.shape[1] // groups}.")
    return _with_answer(check, f"\n{expected.int()}", reveal)


def _check_mask_function(your_mask: Callable, given: tuple | None, with_member: bool, reveal: bool | None) -> Check:
    what = "the mask"
    refused = _refuse_library(your_mask, what, frozenset({"layer_mask", "member_mask", "block_mask", "to_dense"}))
    if refused is not None:
        return refused
    settings = [s if with_member else (*s[:5], None) for s in MASK_SETTINGS]
    if given is not None:  # last: on a square layer a transposed mask looks right, and other mistakes may coincide
        settings.append(given)
    for setting in settings:
        member = setting[5]
        arguments = setting if member is not None else setting[:5]
        name = "mask^j" if member is None else f"mask_{member}^j"
        try:
            got = your_mask(*arguments)
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return _raised(_mask_setting(*setting), error)
        check = _grade_mask(got, setting, name)
        if not check.ok:
            return _with_answer(check, f"\n{_expected_mask(*setting).int()}", reveal)
    return Check(True, f"your masks are right on all {len(settings)} layers tried (non-square, alpha != M, "
                       "gamma > 1, first, middle and last members).")


# --- notebook 03: parameters of a packed layer ----------------------------------------------------------------

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


def _param_count(i, o, s, a, m, g) -> int:
    return PackedConv2d(i, o, s, alpha=a, num_estimators=m, gamma=g, bias=False).weight.numel()


def _param_mistakes(setting: tuple, *, only_relevant: bool = False) -> list[tuple[float, str]]:
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
    expected = _param_count(*given)
    if your_count == expected:
        if any(math.isclose(value, expected) for value, _ in _param_mistakes(given, only_relevant=True)):
            return Check(False, f"on this layer ({_param_setting(*given)}) a classic wrong formula gives the same "
                                "count as the right one, so one number cannot be graded here. Write the count as a "
                                "function of (C_{j-1}, C_j, k, alpha, M, gamma) and pass the function: it is tried "
                                "on layers where the mistakes show.")
        return Check(True, f"{expected} = (alpha*C_{{j-1}})*(alpha*C_j)*k^2/(M*gamma).")
    for value, reason in _param_mistakes(given):
        if math.isclose(your_count, value):
            return _with_answer(Check(False, f"not yet: {reason}."), str(expected), reveal)
    check = Check(False, f"that is not the number of weights. Start from the dense layer's C_{{j-1}}*C_j*k^2 "
                         f"(k={kernel_size}), then apply alpha={alpha:g} and the M*gamma={num_estimators * gamma} "
                         "groups.")
    return _with_answer(check, str(expected), reveal)


def _check_pe_params_function(your_count: Callable, given: tuple | None, reveal: bool | None) -> Check:
    refused = _refuse_library(your_count, "the count", frozenset({"count_params"}))
    if refused is not None:
        return refused
    answer = "alpha * C_{j-1} * alpha * C_j * k**2 / (M * gamma)"
    # the drawn layers first: on each, every classic formula gives its own count, so the message names the right
    # mistake; the caller's layer last (where alpha^2 = M, two mistakes can give the same count)
    settings = list(PARAM_SETTINGS) + ([given] if given is not None else [])
    for setting in settings:
        where = _param_setting(*setting)
        try:
            got = _number(your_count(*setting))
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return _raised(where, error)
        if got is None:
            return Check(False, f"for {where} return the count as a number")
        expected = _param_count(*setting)
        if math.isclose(got, expected):
            continue
        reason = next((r for v, r in _param_mistakes(setting) if math.isclose(got, v)),
                      "that is not the number of weights: start from the dense layer's C_{j-1}*C_j*k^2, then apply "
                      "alpha and the M*gamma groups")
        return _with_answer(Check(False, f"for {where} your count {got:g} is wrong: {reason}."), answer, reveal)
    return Check(True, f"your formula gives the weights of all {len(settings)} layers tried (alpha^2 != M, "
                       "non-square, odd channel counts, gamma > 1).")


# --- notebook 04: the ensemble's average ----------------------------------------------------------------------

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
    differ, tied = False, False
    for image in range(logits.shape[0]):
        clear = []
        for scores in (mean_of_softmax[image], mean_logits[image]):
            top2 = scores.topk(2).values
            clear.append(bool(top2[0] - top2[1] > 1e-9 * max(1.0, abs(float(top2[0])))))
        if mean_of_softmax[image].argmax() != mean_logits[image].argmax():
            if all(clear):
                differ = True
            else:
                tied = True
    if differ:
        return Check(True, "the two rules disagree here: averaging logits is not averaging predictions.")
    if tied:
        hint = ("the rules differ only where one of them has a tie, which argmax breaks by its order: make each "
                "rule's winner clear")
    elif bool((logits.argmax(-1) == logits.argmax(-1)[:, :1]).all()):
        hint = "every member agrees on the top class, so both rules do too: make the members disagree"
    else:
        hint = ("the members disagree, but both rules still pick the same class: the softmax saturates, so make one "
                "member very sure of one class and another member split its large logits between two others")
    return _with_answer(Check(False, f"both rules predict the same class for every image: {hint}."), answer, reveal)


# (B, M, K) with B, M and K all different, so that a reduction over the wrong dimension changes the shape
ENSEMBLE_SETTINGS = ((5, 3, 4), (7, 2, 3), (3, 5, 10))


def check_ensemble_average(your_predict_proba: Callable[[torch.Tensor], torch.Tensor], *,
                           reveal: bool | None = None) -> Check:
    """Check a function mapping logits ``(B, M, K)`` to the ensemble's probabilities ``(B, K)`` (a tensor of any
    float dtype, or a NumPy array), on three ensembles of 2, 3 and 5 members with B, M and K all different."""
    answer = "logits.softmax(-1).mean(1)"
    refused = _refuse_library(your_predict_proba, "the ensemble's average",
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
            return _raised(where, error)
        if type(got).__module__ == "numpy":
            got = torch.as_tensor(got)
        if isinstance(got, torch.Tensor) and got.is_floating_point():
            got = got.to(expected.dtype)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(getattr(got, "shape", ())) or type(got).__name__
            hint = {(members, classes): " You averaged over dim 0, which holds the images.",
                    (batch, members): " You reduced dim -1, which holds the K classes.",
                    (batch, members, classes): " Average over the members."}.get(shape, "") if isinstance(
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
            (logits[:, 0].softmax(-1), "that is member 0 alone; the ensemble averages all M members"),
            (expected.log(), "those are log-probabilities; return the probabilities"),
            (F.one_hot(logits.argmax(-1), classes).double().mean(1), "those are the members' votes (hard "
                                                                     "labels); average their probabilities"),
        ]
        for value, reason in mistakes:
            if torch.allclose(got, value, atol=1e-5):
                return _with_answer(Check(False, f"for {where}: {reason}."), answer, reveal)
        b, k = divmod(int((got - expected).abs().argmax()), expected.shape[1])
        return _with_answer(Check(False, f"for {where} entry ({b}, {k}) is {got[b, k]:.4f}, which is not the "
                                         f"members' average probability of class {k}."), answer, reveal)
    return Check(True, "the mean over members of each member's probabilities, for 2, 3 and 5 members.")


# --- notebook 05: ECE -----------------------------------------------------------------------------------------

def calibration_test_set(num_bins: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions whose bins are over-confident at high confidence and under-confident at low confidence,
    so that the binned ECE differs from the unbinned |mean accuracy - mean confidence| (where the gaps of
    opposite sign cancel) and from every other classic shortcut. No confidence lies within 1e-6 of a bin edge
    (for any number of bins up to 30), so every convention for a sample on an edge gives the same bins."""
    generator = torch.Generator().manual_seed(seed)
    n, k = 600, 10
    probs = (torch.randn(n, k, generator=generator) * torch.linspace(0.3, 4.0, n)[:, None]).softmax(-1)
    confidence, predicted = probs.max(1)
    # P(correct | c): above c for c < 0.5 (under-confident), below it above (over-confident).
    p_correct = (confidence + 0.25 * torch.sin(2 * torch.pi * confidence)).clamp(0, 1)
    correct = torch.rand(n, generator=generator) < p_correct
    other = (predicted + torch.randint(1, k, (n,), generator=generator)) % k
    return probs, torch.where(correct, predicted, other)


def ece_with_true_class_confidence(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> float:
    """A classic wrong ECE: binned by the probability of the *true* class instead of the confidence."""
    confidence = probs.gather(1, labels[:, None])[:, 0]
    accuracy = (probs.argmax(1) == labels).float()
    return _binned_gaps(confidence, accuracy, num_bins)[0]


def _bin_index(confidence: torch.Tensor, num_bins: int) -> torch.Tensor:
    edges = torch.linspace(0, 1, num_bins + 1, dtype=confidence.dtype)
    return (torch.bucketize(confidence, edges) - 1).clamp(0, num_bins - 1)


def _binned_gaps(confidence: torch.Tensor, accuracy: torch.Tensor, num_bins: int) -> tuple[float, list, list]:
    """``(ECE, per-bin shares, per-bin signed gaps acc - conf)`` over the non-empty equal-width bins."""
    index = _bin_index(confidence, num_bins)
    shares, gaps = [], []
    for b in range(num_bins):
        chosen = index == b
        if chosen.any():
            shares.append(chosen.double().mean().item())
            gaps.append((accuracy[chosen].double().mean() - confidence[chosen].double().mean()).item())
    return sum(w * abs(g) for w, g in zip(shares, gaps, strict=True)), shares, gaps


def _ece_mistakes(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> list[tuple[float, str]]:
    confidence, predicted = probs.max(1)
    accuracy = (predicted == labels).double()
    right, shares, gaps = _binned_gaps(confidence, accuracy, num_bins)
    order = confidence.argsort()
    equal_mass = sum(len(chunk) / len(order) * abs(accuracy[chunk].mean() - confidence[chunk].double().mean()).item()
                     for chunk in order.tensor_split(num_bins) if len(chunk))
    top = _bin_index(confidence, num_bins) == num_bins - 1
    return [
        (abs(accuracy.mean() - confidence.double().mean()).item(),
         "you compared the mean accuracy with the mean confidence over all samples (summing the bins' signed gaps "
         "before |.| gives the same); ECE takes |acc - conf| in each confidence bin, so over- and under-confident "
         "bins cannot cancel"),
        (sum(abs(g) for g in gaps) / len(gaps), "each bin's gap must be weighted by its share of the samples "
                                                "|B_b|/N, not averaged over bins"),
        (sum(abs(g) for g in gaps) / num_bins, "each bin's gap must be weighted by its share of the samples |B_b|/N, "
                                               "not averaged over the bins"),
        (ece_with_true_class_confidence(probs, labels, num_bins), "the confidence is the maximum probability (of the "
                                                                  "predicted class), not the probability of the "
                                                                  "true class"),
        (equal_mass, "the bins are equal-*width* intervals of [0, 1], not equal-mass bins (quantiles) with the same "
                     "number of samples each"),
        ((accuracy - confidence.double()).abs().mean().item(), "take |accuracy - confidence| of each bin's averages, "
                                                               "not each sample's |correct - confidence|"),
        (math.sqrt(sum(w * g * g for w, g in zip(shares, gaps, strict=True))), "that is the L2 (root mean square) "
                                                                               "calibration error; ECE is L1: "
                                                                               "|acc - conf|, not its square"),
        (max(abs(g) for g in gaps), "that is the maximum calibration error (the worst bin); ECE weights every bin "
                                    "by its share of the samples and adds them up"),
        (100 * right, "ECE is a fraction in [0, 1], not a percentage"),
        (right - (top.double().mean() * (accuracy[top].mean() - confidence[top].double().mean()).abs()).item()
         if top.any() else math.nan,
         "your loop leaves out the top bin (c close to 1): num_bins bins are numbered 0 ... num_bins-1"),
    ] + [(_binned_gaps(confidence, accuracy, count)[0], "those are not num_bins bins (one too many or too few, or a "
                                                        "fixed number): num_bins equal-width bins have num_bins + 1 "
                                                        "edges") for count in (num_bins - 1, num_bins + 1, 10, 15, 20)
         if count != num_bins]


ECE_SETTINGS = ((5, 0), (10, 1), (15, 2))  # (num_bins, seed of calibration_test_set)
_ECE_HELPERS = frozenset({"ece", "ece_by_hand", "reliability_data", "calibration_direction", "calibration_error",
                          "multiclass_calibration_error", "binary_calibration_error", "MulticlassCalibrationError",
                          "BinaryCalibrationError", "CalibrationError"})


def check_ece(your_ece: Callable[[torch.Tensor, torch.Tensor, int], float], *, reveal: bool | None = None) -> Check:
    """Check ``your_ece(probs (N, K), labels (N,), num_bins)`` against torchmetrics for 5, 10 and 15 bins, on
    predictions that are over-confident in some bins and under-confident in others; names the classic mistakes.
    A function that is, or calls, the library's ECE (``ece``, ``ece_by_hand``, ``reliability_data``,
    torchmetrics' calibration error) is refused."""
    refused = _refuse_library(your_ece, "the ECE", _ECE_HELPERS)
    if refused is not None:
        return refused
    for num_bins, seed in ECE_SETTINGS:
        probs, labels = calibration_test_set(num_bins, seed)
        expected = ece(probs, labels, num_bins)
        try:
            got = _number(your_ece(probs.clone(), labels.clone(), num_bins))
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return _raised(f"{num_bins} bins", error)
        if got is None:
            return Check(False, f"with {num_bins} bins: return the ECE as one number")
        if abs(got - expected) <= 1e-4:
            continue
        for value, reason in _ece_mistakes(probs, labels, num_bins):
            if abs(got - value) <= 1e-4:
                return _with_answer(Check(False, f"with {num_bins} bins: {reason}."), f"{expected:.5f}", reveal)
        check = Check(False, f"with {num_bins} bins your ECE disagrees with torchmetrics'. Bins are num_bins "
                             "equal-width intervals of [0, 1] by confidence (max probability), and each bin's "
                             "|accuracy - mean confidence| is weighted by its share of the samples.")
        return _with_answer(check, f"{expected:.5f}", reveal)
    return Check(True, "your ECE agrees with torchmetrics' MulticlassCalibrationError (L1) for 5, 10, 15 bins, "
                       "on predictions that are over-confident in some bins and under-confident in others.")


# --- notebook 06: BatchEnsemble's member weight ---------------------------------------------------------------

MEMBER_WEIGHT_SETTINGS = ((5, 3), (2, 7), (4, 4))  # (C_out, C_in): both non-square ways, and square


def check_member_weight(your_weight: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_weight(W, r_m, s_m)``: BatchEnsemble member m's weight ``W ∘ (s_m r_mᵀ)`` for a linear layer's
    shared ``W`` ``(C_out, C_in)``, ``r_m`` ``(C_in,)`` and ``s_m`` ``(C_out,)``, on a 5x3, a 2x7 and a 4x4
    layer."""
    refused = _refuse_library(your_weight, "member m's weight")
    if refused is not None:
        return refused
    generator = torch.Generator().manual_seed(0)
    for c_out, c_in in MEMBER_WEIGHT_SETTINGS:
        weight = torch.randn(c_out, c_in, generator=generator)
        r, s = torch.randn(c_in, generator=generator), torch.randn(c_out, generator=generator)
        expected = weight * torch.outer(s, r)
        where = f"C_out={c_out}, C_in={c_in} (shapes: W {tuple(weight.shape)}, r_m ({c_in},), s_m ({c_out},))"
        try:
            got = your_weight(weight.clone(), r.clone(), s.clone())
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return _raised(where, error)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(getattr(got, "shape", ())) or type(got).__name__
            hint = (" Rows are the C_out output channels (scaled by s_m), columns the C_in inputs (scaled by r_m)."
                    if shape == (c_in, c_out) else "")
            return Check(False, f"for {where} member m's weight has the shared weight's shape (C_out, C_in) = "
                                f"{(c_out, c_in)}, got {shape}.{hint}")
        got = got.to(expected.dtype)
        if torch.allclose(got, expected, atol=1e-5):
            continue
        mistakes = [
            (torch.outer(s, r), "the fast weights rescale the shared weight W; they do not replace it"),
            (weight * s[:, None], "r_m rescales the input channels too (the columns)"),
            (weight * r[None, :], "s_m rescales the output channels too (the rows)"),
            (weight + torch.outer(s, r), "the rank-1 factor multiplies W entrywise (∘), it is not added"),
            (weight * torch.outer(s, r).abs(), "keep the signs of r_m and s_m"),
            (weight * torch.outer(r, s) if c_in == c_out else None,
             "r_m scales the input channels (columns l) and s_m the output channels (rows k): yours are swapped"),
        ]
        for value, reason in mistakes:
            if value is not None and torch.allclose(got, value, atol=1e-5):
                return _with_answer(Check(False, f"for {where}: {reason}."), f"\n{expected}", reveal)
        return _with_answer(Check(False, f"for {where} that is not member m's weight: each entry W[k, l] is scaled by "
                                         "s_m[k] * r_m[l]."), f"\n{expected}", reveal)
    return Check(True, "W ∘ (s_m r_mᵀ): output channel k scaled by s_m[k], input channel l by r_m[l].")


# --- notebook 07: the tutorial's loss -------------------------------------------------------------------------

# (M, B, K): M from 2 to 5, B != M, K different from both, so no layout or reduction mistake can cancel
TUTORIAL_SETTINGS = ((4, 6, 5), (2, 5, 3), (3, 4, 7), (5, 2, 4))


def check_tutorial_loss(your_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_loss(logits, labels)`` for torch-uncertainty's layout: ``logits`` ``(M*B, K)`` member-major
    (rows ``[mB, (m+1)B)`` are member m's), ``labels`` ``(B,)``; the tutorial's loss is the cross-entropy averaged
    over all ``M*B`` rows. Tried with M = 4, 2, 3 and 5 members and batches of other sizes than M."""
    refused = _refuse_library(your_loss, "the loss", frozenset({"member_loss"}))
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
            return _raised(where, error)
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
                return _with_answer(Check(False, f"for {where}: {reason}."), f"{expected.item():.5f}", reveal)
        return _with_answer(Check(False, f"for {where} that is not the tutorial's loss: a cross-entropy between the "
                                         "(M*B, K) logits and the labels of every row."), f"{expected.item():.5f}",
                            reveal)
    return Check(True, "cross-entropy over the M*B member-major rows, labels repeated member by member, for "
                       "M = 2 to 5.")


# --- notebook 08: a member's width ----------------------------------------------------------------------------

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
    refused = _refuse_library(your_function, "a member's channels")
    if refused is not None:
        return refused
    cases = MEMBER_CHANNEL_CASES
    answers = []
    for base, alpha, members, width in cases:
        where = f"C_j={base}, alpha={alpha}, M={members}, w={width:g}"
        try:
            got = _number(your_function(base, alpha, members, width))
        except TypeError as error:
            return Check(False, f"call signature: your_function(base_channels, alpha, num_estimators, width); "
                                f"for {where} it raised {error}")
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            return _raised(where, error)
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
    for formula, reason in mistakes:  # a classic mistake is recognised only if it explains every case
        if all(math.isclose(got, formula(*case)) for got, case in zip(answers, cases, strict=True)):
            return _with_answer(Check(False, f"not yet: {reason}."), answer, reveal)
    (base, alpha, members, width), got = next((case, got) for case, got, want in zip(cases, answers, right,
                                                                                     strict=True)
                                              if not math.isclose(got, want))
    message = f"{got:g} is not a member's channel count for C_j={base}, alpha={alpha}, M={members}, w={width:g}."
    return _with_answer(Check(False, message), answer, reveal)
