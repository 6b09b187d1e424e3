"""Every notebook runs top to bottom in quick mode, and keeps the notebook rules (stored without outputs,
badges, Colab-only install, set_seed, QUICK, Summary, Exercises, a graded exercise)."""

import json
import os
from pathlib import Path

import nbformat
import pytest
from conftest import record_notebook_seconds
from notebook_client import execute_measured

from pe_lab.teaching.solutions import fill

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXECUTED = ROOT / "runs" / "executed"  # quick-mode executed copies, for the book
EXECUTED_INSTRUCTOR = ROOT / "runs" / "executed-instructor"  # the same with every solution, executed
SHARED_DATA = ROOT.parent / "shared" / "data"


def test_the_notebooks_are_numbered_from_01_without_a_gap_or_a_repeat():
    assert NOTEBOOKS and [int(p.name[:2]) for p in NOTEBOOKS] == list(range(1, len(NOTEBOOKS) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_notebook_rules(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "colab-badge.svg" in first.source and "mybinder.org/badge" in first.source
    for part in ("**You will**", "**Prerequisites:**", "**Time:**", "**References:**"):  # the frame
        assert part in first.source, f"{path.name}'s first cell lacks {part}"
    install = nb.cells[2]
    assert install.cell_type == "code" and 'if "google.colab" in sys.modules' in install.source
    sources = "\n".join(c.source for c in nb.cells)
    assert "set_seed(" in sources and "QUICK = is_quick()" in sources
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert "## Summary" in sources and "## Exercises" in sources, headings
    assert "check_" in sources  # a graded exercise
    assert "**Predict, then run.**" in sources  # a question inside the notebook, not only at its end
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "store notebooks without outputs (nbstripout)"
    ids = [c.get("id") for c in json.loads(path.read_text())["cells"]]  # nbformat 4.5: every cell has its own id
    assert None not in ids and len(set(ids)) == len(ids), f"{path.name}: a cell without an id, or a repeated id"
    for before, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if before.cell_type == "markdown" and "**Predict, then run.**" in before.source:
            # the prediction is checked by running: the next cell is the code that prints the answer
            assert cell.cell_type == "code", f"{path.name}: a Predict-then-run prompt without a cell to run after it"
        if cell.cell_type == "code" and before.cell_type == "code":
            # prose before every cell, except a cell that only calls what the previous cell built
            assert len(cell.source.splitlines()) <= 3, f"code cell without prose before it:\n{cell.source[:200]}"


def deep_imports(text: str) -> list[str]:
    """The ``pe_lab`` submodules a notebook's (or a solution's) code imports by path instead of from ``pe_lab``."""
    import re

    return re.findall(r"(?:from|import)\s+(pe_lab\.[\w.]+)", text)


def test_notebooks_and_solutions_import_only_from_the_pe_lab_namespace():
    """A notebook reaches the package through ``from pe_lab import ...`` alone, so a module can move without
    breaking a lesson (and every name a lesson uses is listed in one place, ``pe_lab.__init__``)."""
    assert deep_imports("from pe_lab.results.report import x\nimport pe_lab.nn\nfrom pe_lab import y") == [
        "pe_lab.results.report", "pe_lab.nn"]
    solutions = sorted((ROOT / "pe_lab" / "teaching" / "solutions").glob("notebook_*.py"))
    found = {}
    for path in [*NOTEBOOKS, ROOT / "explorer" / "pe_lab_explorer.ipynb", *solutions]:
        code = (path.read_text() if path.suffix == ".py" else
                "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"))
        if deep_imports(code):
            found[path.name] = deep_imports(code)
    assert not found, f"import these from pe_lab (add the name to pe_lab.__init__'s _HOMES): {found}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, monkeypatch):
    monkeypatch.setenv("PE_LAB_QUICK", "1")
    monkeypatch.setenv("PE_LAB_OFFLINE", "1")            # CI has no internet: never wait on a download
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if SHARED_DATA.exists() and "PE_LAB_DATA" not in os.environ:
        monkeypatch.setenv("PE_LAB_DATA", str(SHARED_DATA))  # real CIFAR-10 when this machine has it
    student = nbformat.read(path, as_version=4)
    # The instructor's filled copy runs, so every solution is executed and checked too (pe_lab.solutions); the
    # time and the kernel's peak memory (Binder gives 2 GB) are measured where the student's cells end.
    nb = nbformat.reads(json.dumps(fill(student, path.stem)), as_version=4)  # sources as strings, as read
    where = len(student.cells)
    seconds, peak_kib, total = execute_measured(nb, path.parent, where)
    errors = [(c.source[:300], o) for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    record_notebook_seconds(path.name, seconds, peak_rss_mib=round(peak_kib / 1024),
                            solutions_seconds=total - seconds)
    # The executed notebook without the solutions is what `make book` publishes (executed once, here); the
    # executed instructor copy goes beside it.
    for folder, cells in ((EXECUTED, nb.cells[:where]), (EXECUTED_INSTRUCTOR, nb.cells)):
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.from_dict({**nb, "cells": cells}), folder / path.name)


def _repository() -> str:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    assert url.startswith("https://github.com/"), url
    return url.removeprefix("https://github.com/").rstrip("/")


@pytest.mark.parametrize("path", [*NOTEBOOKS, ROOT / "README.md"], ids=lambda p: p.stem)
def test_every_link_to_the_repository_uses_the_one_in_pyproject(path):
    import re

    repository = _repository()
    text = path.read_text()
    found = set(re.findall(r"(?:github\.com|/gh)/([\w.-]+/[\w.-]+?)(?:\.git|/blob|/main|\))", text))
    assert found, f"{path.name} has no link to the repository"
    assert found == {repository}, f"{path.name} names {found - {repository}}, but pyproject.toml says {repository}"
    if path.suffix == ".ipynb":
        assert f"git clone --quiet --depth 1 https://github.com/{repository}.git" in text
