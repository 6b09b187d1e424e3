"""The instructor pack: a solution for every exercise, filled copies that keep the student notebook intact,
graded solutions that pass their own checkers, and exercise runs whose commands the CLI accepts. (The filled
copies are executed end to end by test_notebooks.py, so every solution's code runs there.)"""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import pe_lab
from pe_lab.cli.experiment import parse_args, validate_args
from pe_lab.cli.solutions import main
from pe_lab.teaching.solutions import EXERCISE_RUNS, SOLUTION_TAG, SOLUTIONS, exercise_command, exercise_numbers, fill

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _notebook(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_of_every_notebook_has_one_solution(path):
    listed = exercise_numbers(_notebook(path))
    assert listed == list(range(1, len(listed) + 1)) and len(listed) >= 4
    assert [s.exercise for s in SOLUTIONS[path.stem]] == listed
    assert all(len(s.answer) > 80 for s in SOLUTIONS[path.stem])  # an answer, not a placeholder


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
    for name, argv in EXERCISE_RUNS.items():
        validate_args(parse_args([*argv, "--synthetic", "--out", f"runs/exercises/{name}.json"]))
        assert exercise_command(name).startswith("python -m pe_lab.experiment " + " ".join(argv))


def test_the_cli_writes_a_filled_copy_of_every_notebook(tmp_path, capsys):
    main(["fill", "--notebooks", str(NOTEBOOKS[0].parent), "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in NOTEBOOKS]
    assert "## Solutions" in (tmp_path / NOTEBOOKS[0].name).read_text()
    with pytest.raises(SystemExit) as stop:
        main(["run", "--data", str(tmp_path), "--only", "no_such_run"])
    assert stop.value.code == 1 and "unknown exercise run 'no_such_run'" in capsys.readouterr().err
