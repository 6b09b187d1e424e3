"""The training runs behind the exercises that ask a student to train, and how an answer lists their commands.

Each run is real data, seed 0, a preset and what differs from it; ``pe-lab solutions run`` adds the data and
the output. Its measured report
is committed as ``assets/results/exercises/<name>.json`` (command and CPU time in its provenance), so a solution
prints what the run measured and the time it took on the machine that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...results.records import Report

__all__ = ["EXERCISE_RUNS", "ends_with_commands", "exercise_command", "exercise_experiment", "exercise_run"]


# The runs behind the exercises that ask a student to train (seed 0, real data): a preset and what differs from it.
EXERCISE_RUNS = {
    "tutorial_member_loss_sum": ("tutorial", dict(methods=("packed",), seeds=(0,), member_reduction="sum")),
    "tutorial_lr_0.004": ("tutorial", dict(methods=("packed",), seeds=(0,), lr=0.004)),
    "lenet_5_epochs": ("lenet", dict(methods=("single", "packed"), seeds=(0,), epochs=5)),
    "lenet_5_epochs_no_augment": ("lenet", dict(methods=("single", "packed"), seeds=(0,), epochs=5, augment=False)),
    "mimo_rho_0": ("lenet", dict(methods=("mimo",), seeds=(0,), epochs=5, train_per_class=1000, rho=0.0)),
    "mimo_rho_1": ("lenet", dict(methods=("mimo",), seeds=(0,), epochs=5, train_per_class=1000, rho=1.0)),
    "resnet20_pe_alpha4": ("quick", dict(methods=("packed",), alpha=4, epochs=3, seeds=(0,))),
}


def exercise_experiment(name: str, *, data: str | None = None, out: str | None = None, runs_dir: str = "runs",
                        **changes):
    """Exercise run ``name`` as an ``Experiment``: its preset and settings, real data under ``data`` (offline),
    written to ``out`` (default ``runs/exercises/<name>.json``), resumable, the seed's probabilities kept."""
    from ...experiments.presets import preset

    base, settings = EXERCISE_RUNS[name]
    where = {"root": data, "offline": True} if data is not None else {}
    return preset(base, **settings, **where, out=out or f"runs/exercises/{name}.json", runs_dir=runs_dir,
                  progress=False, resume=True, save_predictions=True, command=exercise_command(name), **changes)


def exercise_command(name: str) -> str:
    """The Python call of exercise run ``name``, as a student types it (``DATA``: where CIFAR-10 lies)."""
    base, settings = EXERCISE_RUNS[name]
    shown = ", ".join(f"{key}={value!r}" for key, value in settings.items())
    return f'run_experiment(preset("{base}", {shown}, root=DATA, out="runs/exercises/{name}.json"))'


def exercise_run(name: str) -> Report | None:
    """The committed report of exercise run ``name`` (``assets/results/exercises/<name>.json``) as a ``Report``,
    or ``None`` (and its call printed) where it was not run yet."""
    from ...config import assets_dir
    from ...results.records import read_report

    path = assets_dir() / "results" / "exercises" / f"{name}.json"
    if not path.exists():
        print(f"no committed run {name} yet; make it with: {exercise_command(name)}")
        return None
    return read_report(path)


def ends_with_commands(*names: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Mark a solution whose answer ends with the commands of exercise runs ``names`` (one line each, from
    ``exercise_command``). The solution files are read as text, so the mark is read there; here it only checks
    that each name is a run."""
    unknown = [name for name in names if name not in EXERCISE_RUNS]
    if unknown:
        raise KeyError(f"unknown exercise run(s) {', '.join(unknown)}; known: {', '.join(EXERCISE_RUNS)}")

    def mark(solution: Callable[[], None]) -> Callable[[], None]:
        return solution

    return mark
