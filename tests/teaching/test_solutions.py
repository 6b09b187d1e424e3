"""The instructor pack: a solution for every exercise, read from its notebook's solution file, filled copies that
keep the student notebook intact, graded solutions that pass their own checkers, and exercise runs whose commands
the CLI accepts. (The filled copies are executed end to end by test_notebooks.py, so every solution's code runs
there.)"""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import pe_lab
from pe_lab.cli.solutions import main
from pe_lab.experiments.run import check_experiment
from pe_lab.teaching.solutions import (
    EXERCISE_RUNS,
    SOLUTION_TAG,
    SOLUTIONS,
    exercise_command,
    exercise_experiment,
    exercise_numbers,
    fill,
)
from pe_lab.teaching.solutions.reading import read_solutions

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _notebook(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_of_every_notebook_has_one_solution(path):
    listed = exercise_numbers(_notebook(path))
    assert listed == list(range(1, len(listed) + 1)) and len(listed) >= 4
    assert [s.exercise for s in SOLUTIONS[path.stem]] == listed


def test_every_solution_file_belongs_to_a_notebook():
    assert sorted(SOLUTIONS) == [p.stem for p in NOTEBOOKS]  # a renamed notebook leaves no stale solution file


SOLUTION_FILE = '''"""A notebook's solutions."""

from .runs import ends_with_commands

h = ...


@ends_with_commands("mimo_rho_0")
def exercise_1():
    """The answer's first line
    and its second.

    A second paragraph."""
    # a comment the cell keeps
    def double(x):
        return 2 * x

    assert double(h) == 2 * h  # the last line


def exercise_2():
    """Prose only."""
'''


def test_a_solution_file_reads_as_answers_and_cells(tmp_path):
    path = tmp_path / "notebook_99_new.py"
    path.write_text(SOLUTION_FILE)
    first, second = read_solutions(path)
    assert first.exercise == 1 and second.exercise == 2
    assert first.answer == ("The answer's first line and its second.\n\nA second paragraph.\n\n"
                            f"`{exercise_command('mimo_rho_0')}`")
    assert first.code == ("# a comment the cell keeps\ndef double(x):\n    return 2 * x\n\n"
                          "assert double(h) == 2 * h  # the last line")
    assert second.answer == "Prose only." and second.code == ""


@pytest.mark.parametrize(("change", "refusal"), [
    (("def exercise_2():", "def helper():"), "helper is not an exercise_N"),
    (("@ends_with_commands(\"mimo_rho_0\")", "@ends_with_commands(\"no_such_run\")"), "decorator other than"),
    (("@ends_with_commands(\"mimo_rho_0\")", "@staticmethod"), "decorator other than"),
    (("    \"\"\"Prose only.\"\"\"", "    pass"), "exercise_2 has no docstring"),
])
def test_a_solution_file_refuses_what_would_not_reach_the_notebook(tmp_path, change, refusal):
    path = tmp_path / "notebook_99_new.py"
    path.write_text(SOLUTION_FILE.replace(*change))
    with pytest.raises(ValueError, match=refusal):
        read_solutions(path)


def test_fill_appends_tagged_solution_cells_and_leaves_the_student_copy_alone():
    student = _notebook(NOTEBOOKS[0])
    before = json.dumps(student)
    filled = fill(student, NOTEBOOKS[0].stem)
    assert json.dumps(student) == before
    added = filled["cells"][len(student["cells"]):]
    assert filled["cells"][:len(student["cells"])] == student["cells"]
    assert all(SOLUTION_TAG in c["metadata"]["tags"] for c in added)
    assert added[0]["source"][0].startswith("## Solutions")
    assert sum(c["cell_type"] == "code" for c in added) == sum(bool(s.code) for s in SOLUTIONS[NOTEBOOKS[0].stem])


def test_fill_refuses_a_notebook_without_solutions_or_with_other_exercises():
    student = _notebook(NOTEBOOKS[0])
    with pytest.raises(KeyError, match="no solutions for notebook '99_new'"):
        fill(student, "99_new")
    exercises = next(c for c in student["cells"] if "## Exercises" in "".join(c["source"]))
    exercises["source"].append("\n5. A new exercise nobody solved yet.")
    with pytest.raises(ValueError, match=r"lists exercises \[1, 2, 3, 4, 5\] but the solutions answer \[1, 2, 3, 4\]"):
        fill(student, NOTEBOOKS[0].stem)


def _graded_namespace():
    names = ("check_readers", "check_mask", "check_pe_params", "check_ensemble_average", "check_rules_differ",
             "check_ece", "check_member_weight", "check_tutorial_loss", "check_member_channels", "PackedConv2d")
    return {"torch": torch, "F": F, **{n: getattr(pe_lab, n) for n in names}}


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_the_graded_solution_passes_its_checker(name, monkeypatch):
    monkeypatch.delenv("PE_LAB_INSTRUCTOR", raising=False)
    graded = SOLUTIONS[name][0]
    assert "check_" in graded.code and "assert" in graded.code
    exec(graded.code, _graded_namespace())  # noqa: S102 - our own solution code; an AssertionError fails the test


def test_every_exercise_run_is_a_valid_experiment_command():
    for name in EXERCISE_RUNS:
        experiment = exercise_experiment(name, synthetic=True)
        check_experiment(experiment)
        assert experiment.outputs.out == f"runs/exercises/{name}.json" and experiment.seeds == (0,)
        assert exercise_command(name).startswith("run_experiment(preset(")


def test_the_cli_writes_a_filled_copy_of_every_notebook(tmp_path, capsys):
    main(["fill", "--notebooks", str(NOTEBOOKS[0].parent), "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in NOTEBOOKS]
    assert "## Solutions" in (tmp_path / NOTEBOOKS[0].name).read_text()
    with pytest.raises(SystemExit) as stop:
        main(["run", "--data", str(tmp_path), "--only", "no_such_run"])
    assert stop.value.code == 1 and "unknown exercise run 'no_such_run'" in capsys.readouterr().err
