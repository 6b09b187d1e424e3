"""Notebook 01's checkers: which input channel a grouped convolution's output reads, and which outputs read an
input."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch

from .checking import Check, as_number, most_telling, raised, refuse_library, with_answer

__all__ = ["check_grouped_index", "check_readers"]


def _grouped_shapes() -> list[tuple[int, int, int]]:
    """``(c_in, c_out, groups)``: non-square, odd block sizes, one output per group, more outputs than inputs."""
    shapes = []
    for groups in (1, 2, 3, 4, 5):
        shapes += [(groups * 2, groups * 3, groups), (groups * 3, groups, groups), (groups * 4, groups * 2, groups),
                   (groups, groups * 5, groups)]
    return shapes


def check_grouped_index(your_index: Callable[[int, int, int, int, int], int], *, reveal: bool | None = None) -> Check:
    """Check ``your_index(c, r, c_in, c_out, groups)``: the input channel that output channel ``c`` reads as
    its ``r``-th input in a grouped convolution (``r`` in ``[0, c_in/groups)``, the offset inside its group).
    Tried on every channel of 20 shapes (1 to 5 groups, non-square, odd block sizes); the message names the
    mistake (which group, or the offset inside it) without giving the formula; ``reveal=True`` (or instructor
    mode) does."""
    answer = "r + (c // (c_out // groups)) * (c_in // groups)"
    refused = refuse_library(your_index, "the index")
    if refused is not None:
        return refused
    for c_in, c_out, groups in _grouped_shapes():
        in_block, out_block = c_in // groups, c_out // groups
        for c in range(c_out):
            for r in range(in_block):
                expected = r + (c // out_block) * in_block
                setting = f"c={c}, r={r}, C_in={c_in}, C_out={c_out}, groups={groups}"
                try:
                    got = as_number(your_index(c, r, c_in, c_out, groups))
                except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
                    return raised(setting, error)
                if got == expected:
                    continue
                if got is None:
                    hint = "return one channel index (an int)"
                elif got - r == c:
                    hint = "you used the output channel's own index as the group's start"
                elif got == expected - r:
                    hint = "that is where the group's inputs start; add the offset r inside the group"
                elif (got - r) % in_block == 0:
                    hint = "the offset inside the group is right; the group's first input channel is not"
                else:
                    hint = "find the group of output channel c first, then where that group's inputs start"
                check = Check(False, f"for {setting} your index {got if got is None else f'{got:g}'} is not the "
                                     f"channel it reads: {hint}.")
                return with_answer(check, answer, reveal)
    return Check(True, "your index matches the grouped convolution on every channel of 20 shapes (1 to 5 groups).")


def check_readers(your_readers: Callable[[int, int, int, int], range], *, reveal: bool | None = None) -> Check:
    """Check ``your_readers(l, c_in, c_out, groups)``: the output channels of a grouped convolution that read input
    channel ``l``, as a ``range`` (or any sequence of ints). The inverse of the index formula in notebook 01, so it
    needs that formula turned around, not copied. Tried on every input channel of 20 shapes; the message names the
    classic mistakes (an answer that ignores the shape, a dense or an identity answer, one channel too many or too
    few, the input block's size used for outputs, a block of the right size in the wrong place)."""
    answer = "range(g * (c_out // groups), (g + 1) * (c_out // groups)) with g = l // (c_in // groups)"
    refused = refuse_library(your_readers, "the readers")
    if refused is not None:
        return refused
    ignores_shape = _ignores_the_shape(your_readers)
    wrong = []  # (setting, what was returned, the mistakes it fits): named once every setting has been tried
    for c_in, c_out, groups in _grouped_shapes():
        in_block, size = c_in // groups, c_out // groups
        for channel in range(c_in):
            group = channel // in_block
            expected = list(range(group * size, (group + 1) * size))
            setting = f"l={channel}, C_in={c_in}, C_out={c_out}, groups={groups}"
            try:
                readers = your_readers(channel, c_in, c_out, groups)
                if isinstance(readers, numbers.Integral) or (isinstance(readers, torch.Tensor) and readers.dim() == 0):
                    check = Check(False, f"for {setting} you returned one channel; return *all* the output "
                                         "channels that read l (a range).")
                    return with_answer(check, answer, reveal)
                got = sorted(int(v) for v in readers)
            except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
                return raised(setting, error)
            if got != expected:
                wrong.append((setting, got, _readers_mistakes(got, expected, channel, c_out, groups, in_block,
                                                              ignores_shape)))
    if not wrong:
        return Check(True, "your readers match the grouped convolution on every input channel of 20 shapes "
                           "(1 to 5 groups).")
    # On one shape two mistakes can give the same channels: the one that explains the most failing settings is named.
    hint = most_telling([mistakes for _, _, mistakes in wrong])
    setting, got, _ = next(entry for entry in wrong if hint in entry[2])
    check = Check(False, f"for {setting} your readers {got} are not the output channels that read l: {hint}.")
    return with_answer(check, answer, reveal)


def _readers_mistakes(got: list[int], expected: list[int], channel: int, c_out: int, groups: int,
                      in_block: int, ignores_shape: bool) -> list[str]:
    """The classic mistakes that wrong readers ``got`` fit, most telling first; the last always fits."""
    size, group = len(expected), channel // in_block
    fits = []
    if got == list(range(c_out)) and groups > 1:
        fits.append("that is every output channel, as in a dense convolution; a group reads only its own block")
    if got == [channel]:
        fits.append("one input is read by a whole block of outputs, not only by the output of the same index")
    if got and got == list(range(got[0], got[-1] + 1)) and abs(len(got) - size) == 1 and (
            got[0] == expected[0] or got[-1] == expected[-1]):
        fits.append("one channel too many or too few at an end of the block: range(a, b) stops before b")
    if got == list(range(group * in_block, (group + 1) * in_block)):
        fits.append("you used the size of the *input* block; the readers form a block of output channels")
    if len(got) == size:
        fits.append("the block has the right size but starts at the wrong output channel: which group is l in?")
    if ignores_shape:
        fits.append("your readers are the same for every shape; they must depend on C_in, C_out and groups")
    return [*fits, f"the readers of one input are exactly one group's block of {size} output channel(s)"]


def _ignores_the_shape(your_readers) -> bool:
    """Whether ``your_readers`` gives input channel 0 the same non-empty readers for shapes whose readers differ
    (a hard-coded answer)."""
    answers = set()
    for c_in, c_out, groups in ((4, 6, 2), (6, 4, 1), (2, 10, 2)):
        try:
            answers.add(tuple(sorted(int(v) for v in your_readers(0, c_in, c_out, groups))))
        except Exception:  # noqa: BLE001 - the checker's own loop reports what the student's code raises
            return False
    return len(answers) == 1 and answers != {()}
