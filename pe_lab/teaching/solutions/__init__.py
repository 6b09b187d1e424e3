"""The instructor pack: a worked solution for every exercise of every notebook, and the runs they read.

Students get the notebooks as they are; an instructor gets *filled copies*, the uvadlc way, with a
"Solutions" section appended to each notebook: one answer (prose) and, where the answer can be shown, one code
cell per exercise. The code runs in the notebook's own namespace after its last cell and ends in an ``assert``
where the answer is a fact, so the test suite executes the filled copies instead of the student ones and a
solution cannot rot::

    pe-lab solutions fill --out runs/instructor        # filled copies of notebooks/*.ipynb
    pe-lab solutions run --data ../shared/data         # the exercises' training runs (resumable)

The solutions of ``notebooks/<stem>.ipynb`` are the functions of ``notebook_<stem>.py`` here, plain Python that
ruff checks (``reading`` describes the format); ``filling`` makes the copies. Exercises that train read their
measured run from ``assets/results/exercises/<name>.json`` (``runs``: the exact commands, so an instructor can
rerun each one, and a solution prints the time that run took on the machine that made it).
"""

from __future__ import annotations

from .filling import SOLUTION_TAG, exercise_numbers, fill, fill_folder
from .reading import SOLUTIONS, Solution, read_solutions, solution_file
from .runs import EXERCISE_RUNS, ends_with_commands, exercise_command, exercise_experiment, exercise_run

__all__ = ["EXERCISE_RUNS", "SOLUTIONS", "SOLUTION_TAG", "Solution", "ends_with_commands", "exercise_command",
           "exercise_experiment", "exercise_numbers", "exercise_run", "fill", "fill_folder", "read_solutions",
           "solution_file"]
