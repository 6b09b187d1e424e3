"""What every checker shares: the ``Check`` verdict, the instructor's reveal, and the refusal of an answer that is
not the student's own (a library's function, or one that calls the library's answer to the exercise)."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ...config import env_flag

__all__ = ["Check", "INSTRUCTOR_ENV", "LIBRARIES", "as_number", "most_telling", "raised", "refuse_library",
           "with_answer"]


INSTRUCTOR_ENV = "PE_LAB_INSTRUCTOR"
# A function whose home is one of these packages is the library's answer, not the student's.
LIBRARIES = ("pe_lab", "torch", "torchmetrics", "numpy", "einops", "scipy", "sklearn")


def _revealing(reveal: bool | None) -> bool:
    if reveal is not None:
        return reveal
    return env_flag(INSTRUCTOR_ENV)


def with_answer(check: Check, answer: str, reveal: bool | None) -> Check:
    """``check``, with the expected ``answer`` added when it is wrong and an instructor asked to see it."""
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
                if name in helpers or _lab_attribute(function, name):
                    return name
                continue
            value = _unwrap(value)
            home = _home(value)
            if home is not None:
                # Every graded answer is computed somewhere in pe_lab: any call into it is the lab's answer.
                if getattr(value, "__name__", name) in helpers or name in helpers or home.startswith("pe_lab."):
                    return getattr(value, "__name__", name)
            elif inspect.isfunction(value) and value is not function:  # the student's own helper: look inside
                inner = _borrowed(value, helpers, depth - 1, seen)
                if inner is not None:
                    return inner
    return None


def _lab_attribute(function, name: str) -> bool:
    """Whether ``name`` read as an attribute can be one of pe_lab's functions or classes: ``function`` reaches a
    pe_lab module (``import pe_lab``; ``from pe_lab import nn``) that offers ``name``."""
    import types

    for value in function.__globals__.values():
        if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "pe_lab":
            found = getattr(value, name, None)
            if found is not None and callable(found) and (_home(_unwrap(found)) or "").startswith("pe_lab."):
                return True
    return False


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def refuse_library(answer, what: str, helpers: frozenset[str] = frozenset()) -> Check | None:
    """A ``Check`` refusing ``answer`` when it is not a function, is a library's, calls any function or class of
    pe_lab (whose code computes every graded answer), or calls another library's own answer (one of ``helpers``);
    ``None`` when it may be graded."""
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


def most_telling(fits: list[list[str]]) -> str:
    """The mistake to name, given for each failing setting the reasons that explain it (the last of each list is
    the generic one, which always fits): on one setting two mistakes can give the same answer, so the reason that
    explains the most failing settings is named (on a tie, the first setting's order decides); the generic one only
    when no specific reason explains any."""
    counts: dict[str, int] = {}
    for reasons in fits:
        for reason in reasons[:-1]:
            counts[reason] = counts.get(reason, 0) + 1
    if not counts:
        return fits[0][-1]
    order: dict[str, int] = {}
    for reason in (r for reasons in fits for r in reasons[:-1]):
        order.setdefault(reason, len(order))
    return max(counts, key=lambda reason: (counts[reason], -order[reason]))


def as_number(value) -> float | None:
    """A plain number from an int, float, NumPy scalar or one-element tensor; ``None`` otherwise."""
    if isinstance(value, torch.Tensor) or type(value).__module__ == "numpy":
        if getattr(value, "size", None) is not None and int(math.prod(getattr(value, "shape", ()))) != 1:
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def raised(setting: str, error: Exception) -> Check:
    """The verdict for a student's function that raised ``error`` on ``setting``."""
    return Check(False, f"for {setting} your function raised {type(error).__name__}: {error}")
