"""Read the solution files: ``notebook_<stem>.py`` beside this module holds the solutions of ``notebooks/<stem>.ipynb``.

A solution file is Python that ruff checks like any module, but it is read as text, never run here. Its top
binds the names the solutions read from their notebook: imported as the notebook imports them, or set to ``...``
where the notebook's cells bind them. Then one function per exercise, in order::

    @ends_with_commands("mimo_rho_0", "mimo_rho_1")    # optional: the answer ends with these runs' commands
    def exercise_3():
        \"\"\"The answer, in Markdown (the lines of a paragraph join with spaces; a blank line starts another).\"\"\"
        ...                                           # the code cell: the body, one indent less

The body runs in the notebook's namespace after its last cell (so a name a cell binds is a global there), and
ends in an ``assert`` where the answer is a fact. A function with a docstring only is an answer without code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .runs import EXERCISE_RUNS, exercise_command

__all__ = ["SOLUTIONS", "SOLUTIONS_DIR", "Solution", "read_solutions", "solution_file"]

SOLUTIONS_DIR = Path(__file__).resolve().parent
_PREFIX = "notebook_"
_MARK = "ends_with_commands"


@dataclass(frozen=True)
class Solution:
    """Exercise ``exercise`` of a notebook: the answer in prose (Markdown) and the code that shows it."""

    exercise: int
    answer: str
    code: str = ""


def solution_file(stem: str) -> Path:
    """The file that holds the solutions of notebook ``stem`` (e.g. ``02_masks``)."""
    return SOLUTIONS_DIR / f"{_PREFIX}{stem}.py"


def _answer(function: ast.FunctionDef, where: str) -> str:
    docstring = ast.get_docstring(function, clean=True)
    if not docstring:
        raise ValueError(f"{where}: {function.name} has no docstring; the docstring is the exercise's answer")
    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in docstring.split("\n\n")]
    return "\n\n".join(paragraphs)


def _runs(function: ast.FunctionDef, where: str) -> list[str]:
    names = []
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name)
                and decorator.func.id == _MARK and not decorator.keywords
                and all(isinstance(a, ast.Constant) and a.value in EXERCISE_RUNS for a in decorator.args)):
            raise ValueError(f"{where}: {function.name} has a decorator other than {_MARK}(<exercise run names>)")
        names += [a.value for a in decorator.args]
    return names


def _code(function: ast.FunctionDef, lines: list[str], where: str) -> str:
    if len(function.body) == 1:
        return ""
    body = lines[function.body[0].end_lineno:function.end_lineno]  # after the docstring, to the last statement
    indent = " " * function.body[1].col_offset
    if any(line.strip() and not line.startswith(indent) for line in body):
        raise ValueError(f"{where}: {function.name}'s body has a line indented less than its first statement")
    code = [line[len(indent):] if line.strip() else "" for line in body]
    while code and not code[0]:
        code.pop(0)
    return "\n".join(code)


def read_solutions(path: Path) -> tuple[Solution, ...]:
    """The solutions in ``path``, one per ``exercise_N`` function, in the file's order."""
    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    solutions = []
    for node in ast.parse(source, filename=str(path)).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        where = f"{path}:{node.lineno}"
        number = node.name.removeprefix("exercise_")
        if not (isinstance(node, ast.FunctionDef) and number.isdigit() and not node.args.args):
            raise ValueError(f"{where}: {node.name} is not an exercise_N() solution; code outside a solution never "
                             "reaches the notebook, so a solution file holds imports, names and solutions only")
        runs = _runs(node, where)
        answer = _answer(node, where)
        if runs:
            answer += "\n\n" + "\n".join(f"`{exercise_command(name)}`" for name in runs)
        solutions.append(Solution(int(number), answer, _code(node, lines, where)))
    return tuple(solutions)


SOLUTIONS: dict[str, tuple[Solution, ...]] = {
    path.stem.removeprefix(_PREFIX): read_solutions(path)
    for path in sorted(SOLUTIONS_DIR.glob(f"{_PREFIX}[0-9][0-9]_*.py"))}
