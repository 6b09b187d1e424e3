"""Classroom facts for the book's Teaching page (``book/teaching.md``): each notebook run as a student runs it,
and the lesson plans built on them.

``--measure`` executes every notebook top to bottom the way a class runs it on a CPU (Binder, a laptop): not
quick mode, committed results where a notebook offers them, offline. It records each notebook's wall time and
its kernel's peak memory (VmHWM, KiB -> MiB; Binder gives 2 GB) in ``assets/results/classroom_timings.json``
with provenance. Without ``--measure`` it only regenerates that page's lesson plans (between their markers) from
that JSON, the notebooks' own reading-time estimates, and the exercise runs in ``assets/results/exercises/``.
``--measure-exercises`` runs each exercise that trains or measures as a student runs it (one epoch where it
trains), in a kernel of its own, and records its peak memory beside the notebooks'::

    python scripts/classroom.py --measure              # ~5 min on 2 cores; then commit the JSON and the page
    python scripts/classroom.py --measure-exercises    # ~20 min on 2 cores
    python scripts/classroom.py --check                # exit 1 if the page differs from what the JSON gives
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from readme_markers import BOOK, stale_sections, write_sections  # noqa: E402

from pe_lab.results.provenance import provenance, without_paths, write_json  # noqa: E402
from pe_lab.results.records import read_report  # noqa: E402
from pe_lab.teaching.solutions import EXERCISE_RUNS, exercise_command  # noqa: E402

TIMINGS = ROOT / "assets" / "results" / "classroom_timings.json"
EXERCISES = ROOT / "assets" / "results" / "exercises"
SCRIPT = "classroom.py"

# Which exercises train, and the run (EXERCISE_RUNS) that answers each.
TRAINING_EXERCISES = {"06.3": ["mimo_rho_0", "mimo_rho_1"],
                      "07.2": ["tutorial_member_loss_sum", "tutorial_lr_0.004"],
                      "07.4": ["lenet_5_epochs", "lenet_5_epochs_no_augment"]}

# (minutes of class, notebook, what to do): reading and exercises are estimates; code times come from the JSON.
# Each notebook gets a time inside its own estimate, after its prerequisites (08 needs 04).
PLANS = {
    "90-minute class: how a PE is built": [
        (25, "01_convolution_math", "why ensembles, what they cost; sections 1-2 together; the graded exercise"),
        (30, "02_masks", "masks, the masked = grouped proof, the explorer; graded exercise in pairs"),
        (35, "03_packed_ensembles", "a PE from packed layers, rearranges, unpack/pack proof, the audit, cost table"),
    ],
    "3-hour class: the whole arc, results included": [
        (25, "01_convolution_math", "sections 1-2, graded exercise"),
        (30, "02_masks", "all of it, exercises 1-2"),
        (35, "03_packed_ensembles", "all of it, exercises 1-2"),
        (10, None, "break"),
        (45, "04_de_vs_pe_cifar10", "the committed results, reading seeds, diversity; exercise 1"),
        (35, "08_when_does_pe_match_de", "toy explorer, both sweeps, the frontier"),
    ],
}
PLAN_NOTES = {
    "90-minute class: how a PE is built": (
        "*When* a PE matches a DE (`08_when_does_pe_match_de`) needs `04_de_vs_pe_cifar10` first, and the two "
        "together take longer than what is left of 90 minutes by the estimates in their first cells: they are a "
        "second session (the 3-hour plan below holds both)."),
    "3-hour class: the whole arc, results included": (
        "`05_calibration_and_ood` (calibration, OOD, under-confidence measured) does not fit beside them; it is the "
        "natural next session, with `06_the_rivals` and `07_reproducing_the_tutorial`."),
}


# Exercises a student runs that train or measure, each as the student runs it, in a kernel of its own:
# (exercise, notebook, what is measured, how). ``("cells", code)`` runs the notebook's first code cell (its imports)
# and then ``code``, as an exercise that says "restart the kernel and run only the imports and this call";
# ``("edits", {old: new})`` runs the whole notebook with each ``old`` code text replaced once (a changed notebook
# fails here, loudly). Where an exercise trains for several epochs, one epoch is measured: the peak memory is the
# same, and the training times above come from the committed runs.
_ONE_EPOCH = ('run_experiment(exercise_experiment("{name}", data=os.environ["PE_LAB_DATA"], out="{out}/{name}.json", '
              'runs_dir="{out}").replace(epochs=1))')
EXERCISE_PROBES = [
    ("03.4", "03_packed_ensembles", "`measure(\"resnet18\", batch_size=16, ...)` after the imports",
     ("cells", 'measure("resnet18", batch_size=16, contenders=("single", "packed"))')),
    ("04.2", "04_de_vs_pe_cifar10", "the notebook trained on a CPU, `EPOCHS = 1` (batch 128)",
     ("edits", {"EPOCHS = 1 if QUICK else (20 if DEVICE.type == \"cuda\" else 3)": "EPOCHS = 1",
                "USE_COMMITTED_RESULTS = DEVICE.type == \"cpu\" and not QUICK": "USE_COMMITTED_RESULTS = False"})),
    ("04.2", "04_de_vs_pe_cifar10", "the same with `batch_size=64` (the Binder advice)",
     ("edits", {"EPOCHS = 1 if QUICK else (20 if DEVICE.type == \"cuda\" else 3)": "EPOCHS = 1",
                "USE_COMMITTED_RESULTS = DEVICE.type == \"cpu\" and not QUICK": "USE_COMMITTED_RESULTS = False",
                "epochs=EPOCHS, lr=": "epochs=EPOCHS, batch_size=64, lr="})),
    *[(exercise, notebook, f"exercise run `{name}`, one epoch after the imports", ("cells", _ONE_EPOCH.format(
        name=name, out="{out}"))) for exercise, notebook, names in (
            ("06.3", "06_the_rivals", ["mimo_rho_0"]), ("07.2", "07_reproducing_the_tutorial",
                                                         ["tutorial_member_loss_sum"]),
            ("07.4", "07_reproducing_the_tutorial", ["lenet_5_epochs"])) for name in names],
]


def _class_environment() -> dict[str, str]:
    env = {"PE_LAB_QUICK": "0", "PE_LAB_OFFLINE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    shared = ROOT.parent / "shared" / "data"
    if shared.exists():
        env["PE_LAB_DATA"] = str(shared)
    os.environ.update(env)
    return env


def _started(env: dict[str, str], command: str, note: str) -> dict:
    """The provenance of a measurement, taken before it runs (the commit it starts from)."""
    import torch

    return provenance(command, torch.device("cpu"), environment=without_paths(env), note=note)


def measure(notebooks: list[Path]) -> dict:
    import nbformat
    from notebook_client import execute_measured

    env = _class_environment()
    note = ("each notebook as a class runs it on a CPU: not quick mode, committed results where offered; wall time "
            "from the first cell to the last")
    started, results = _started(env, "python scripts/classroom.py --measure", note), {}
    for path in notebooks:
        seconds, peak, _ = execute_measured(nbformat.read(path, as_version=4), path.parent)
        results[path.stem] = {"seconds": round(seconds, 1), "peak_mib": round(peak / 1024)}
        print(f"{path.stem}: {seconds:.0f} s, peak {peak / 1024:.0f} MiB", flush=True)
    return {"provenance": started, "notebooks": results}


def _probe_notebook(notebook: str, how: tuple, out: Path):
    """The notebook a probe runs: see ``EXERCISE_PROBES``."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    kind, what = how
    if kind == "cells":
        first = next(cell for cell in nb.cells if cell.cell_type == "code")
        code = ("import os\nfrom pe_lab import measure, run_experiment\n"
                "from pe_lab.teaching.solutions import exercise_experiment\n" + what.format(out=out))
        nb.cells = [first, nbformat.v4.new_code_cell(code)]
        return nb
    for old, new in what.items():
        hits = [cell for cell in nb.cells if cell.cell_type == "code" and old in cell.source]
        if len(hits) != 1 or hits[0].source.count(old) != 1:
            raise SystemExit(f"{notebook}: the code {old!r} must occur once for this probe; it occurs "
                             f"{sum(cell.source.count(old) for cell in hits)} times")
        hits[0].source = hits[0].source.replace(old, new)
    return nb


def measure_exercises() -> dict:
    import tempfile

    from notebook_client import execute_measured

    env = _class_environment()
    if "PE_LAB_DATA" not in env:
        raise SystemExit("--measure-exercises trains on real data: set PE_LAB_DATA to the folder holding CIFAR-10")
    note = ("each exercise that trains or measures, as a student runs it on a CPU in a kernel of its own: one epoch "
            "where it trains; wall time from the first cell to the last")
    started, rows = _started(env, "python scripts/classroom.py --measure-exercises", note), []
    with tempfile.TemporaryDirectory() as out:
        for exercise, notebook, what, how in EXERCISE_PROBES:
            nb = _probe_notebook(notebook, how, Path(out))
            seconds, peak, _ = execute_measured(nb, ROOT / "notebooks")
            rows.append({"exercise": exercise, "notebook": notebook, "what": what, "seconds": round(seconds, 1),
                         "peak_mib": round(peak / 1024)})
            print(f"{exercise} {what}: {seconds:.0f} s, peak {peak / 1024:.0f} MiB", flush=True)
    return {"provenance": started, "exercises": rows}


def _reading_minutes(path: Path) -> str:
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    found = re.search(r"\*\*Time:\*\*\s*(?:about\s*)?(\d+(?:-\d+)?)\s*min", first)
    return found.group(1) if found else "?"


def _measured_by(prov: dict) -> str:
    return (f"Measured by `{prov['command']}` ({prov['hardware']}, commit {prov['git_commit'][:7]}, "
            f"{prov['date'][:10]})")


def _notebook_rows(timings: dict) -> list[str]:
    nbs = timings["notebooks"]
    lines = ["### Time and memory per notebook", "",
             f"{_measured_by(timings['provenance'])}: each notebook as a class runs it on a CPU (not quick mode; "
             "committed results where the notebook offers them). Reading and exercise times are the notebooks' own "
             "estimates; Binder gives a notebook about 2 GB.",
             "", "| notebook | reading + exercises (estimate) | code, run top to bottom (measured) "
             "| peak kernel memory |",
             "|---|---|---|---|"]
    for stem, row in nbs.items():
        path = ROOT / "notebooks" / f"{stem}.ipynb"
        lines.append(f"| `{stem}` | {_reading_minutes(path)} min | {row['seconds']:.0f} s | {row['peak_mib']} MiB |")
    return lines


def _plan_rows(timings: dict) -> list[str]:
    nbs, lines = timings["notebooks"], []
    for title, steps in PLANS.items():
        lines += ["", f"### A {title}", "", "| minutes | notebook | what the class does | code time (measured) |",
                  "|---|---|---|---|"]
        for minutes, stem, what in steps:
            code = f"{nbs[stem]['seconds']:.0f} s" if stem in nbs else ""
            lines.append(f"| {minutes} | {f'`{stem}`' if stem else ''} | {what} | {code} |")
        lines.append(f"| **{sum(m for m, _, _ in steps)}** | | | |")
        if title in PLAN_NOTES:
            lines += ["", PLAN_NOTES[title]]
    return lines


def _exercise_rows(timings: dict) -> list[str]:
    lines = ["", "### Exercises that train", "",
             "Each one's exact call, and the CPU time its committed run took (`assets/results/exercises/`, seed 0, "
             "real data; the solutions read these runs), measured while the same 2 cores ran other training (the "
             "sweeps), so read them as upper bounds. On a GPU the run prints its ETA before it trains; no GPU "
             "was lent to measure it here.", "", "| exercise | call | training time (measured) | machine |",
             "|---|---|---|---|"]
    for exercise, names in TRAINING_EXERCISES.items():
        for name in names:
            path = EXERCISES / f"{name}.json"
            if path.exists():
                run = read_report(path)
                took, where = f"{sum(r.train_seconds for r in run.runs):.0f} s", run.provenance.hardware
            else:
                took, where = "not run yet", ""
            lines.append(f"| {exercise} | `{exercise_command(name)}` | {took} | {where} |")
    probes = timings.get("exercises")
    if probes:
        lines += ["", "### Memory of the exercises that train or measure", "",
                  f"{_measured_by(probes['provenance'])}: each exercise as a student runs it, in a kernel of its own "
                  "(one epoch where it trains: an epoch's peak is every epoch's). Binder gives about 2 GB.", "",
                  "| exercise | what runs | time (measured) | peak kernel memory |", "|---|---|---|---|"]
        lines += [f"| {row['exercise']} | {row['what']} | {row['seconds']:.0f} s | {row['peak_mib']} MiB |"
                  for row in probes["exercises"]]
    return lines


def section(timings: dict) -> str:
    assert set(n for names in TRAINING_EXERCISES.values() for n in names) <= set(EXERCISE_RUNS)
    return "\n".join(["", *_notebook_rows(timings), *_plan_rows(timings), *_exercise_rows(timings), ""])


def sections() -> dict[Path, dict[str, str]]:
    return {BOOK / "teaching.md": {"classroom": section(json.loads(TIMINGS.read_text()))}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--measure", action="store_true", help="run every notebook as a class does (minutes)")
    p.add_argument("--measure-exercises", action="store_true",
                   help="run each exercise that trains or measures as a student does (one epoch; ~20 minutes)")
    p.add_argument("--only", default=None, help="with --measure: these notebooks (comma-separated stems' prefixes, "
                   "e.g. 03), merged into the committed JSON")
    p.add_argument("--check", action="store_true", help="rewrite nothing; exit 1 if the page is out of date")
    args = p.parse_args()
    if args.check:
        stale = stale_sections(sections(), SCRIPT)
        raise SystemExit(f"out of date (run python scripts/{SCRIPT}): {stale}" if stale else 0)
    timings = json.loads(TIMINGS.read_text())
    if args.measure:
        notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if args.only:
            notebooks = [n for n in notebooks if n.stem[:2] in args.only.split(",")]
        measured = measure(notebooks)
        if args.only:  # the other notebooks keep their earlier measurement
            measured["provenance"]["earlier"] = timings["provenance"]
            measured["notebooks"] = dict(sorted({**timings["notebooks"], **measured["notebooks"]}.items()))
        timings = {**timings, **measured}
    if args.measure_exercises:
        timings["exercises"] = measure_exercises()
    if args.measure or args.measure_exercises:
        write_json(timings, TIMINGS)
    write_sections(sections(), SCRIPT)


if __name__ == "__main__":
    main()
