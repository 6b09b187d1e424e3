"""The README and the book's pages (``book/*.md``): their generated sections agree with the committed results, a
section edited by hand is caught, every local link leads to a file, and the README's commands exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GENERATORS = ["readme_results", "readme_sweeps", "readme_tutorial", "readme_cost", "readme_shift_gpu", "classroom"]


@pytest.fixture
def scripts(monkeypatch):
    """Import a script of ``scripts/`` by its module name (they import ``readme_markers`` from their folder)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module


@pytest.mark.parametrize("name", GENERATORS)
def test_every_generated_section_agrees_with_the_committed_results(scripts, name):
    generator, markers = scripts(name), scripts("readme_markers")
    assert markers.stale_sections(generator.sections(), generator.SCRIPT) == [], f"run python scripts/{name}.py"


def test_a_section_edited_by_hand_is_reported_and_a_lost_marker_named(scripts, tmp_path):
    generator, markers = scripts("readme_cost"), scripts("readme_markers")
    bodies = generator.sections()[ROOT / "book" / "cost.md"]
    page = tmp_path / "cost.md"
    text = (ROOT / "book" / "cost.md").read_text()
    begin, end = markers.markers("cost:bench-resnet18-cpu", generator.SCRIPT)
    inside = text[text.index(begin):text.index(end)]
    page.write_text(text.replace(inside, inside.replace("| Single |", "| Single (typed) |")))
    assert markers.stale_sections({page: bodies}, generator.SCRIPT) == [f"{page}: cost:bench-resnet18-cpu"]
    page.write_text(text.replace(end, ""))
    with pytest.raises(ValueError, match=re.escape(f"{page} must hold the markers")):
        markers.stale_sections({page: bodies}, generator.SCRIPT)


def _local_links(path: Path) -> list[str]:
    """The targets of a Markdown file's links and images that are files of this repository (no URL, no anchor)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", path.read_text())
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("path", [README, *sorted((ROOT / "book").glob("*.md"))], ids=lambda p: p.name)
def test_every_local_link_leads_to_a_file(path):
    # runs/ holds what make builds (the book, the explorer site): not in a fresh clone
    missing = [t for t in _local_links(path)
               if not (path.parent / t).resolve().is_relative_to(ROOT / "runs") and not (path.parent / t).exists()]
    assert missing == [], f"{path.name} links to files that do not exist: {missing}"


def test_the_readme_fits_a_few_screens_and_links_every_book_page(scripts):
    readme = README.read_text()
    assert len(readme.splitlines()) <= 200
    pages = scripts("build_book").PAGES
    assert {p.stem for p in (ROOT / "book").glob("*.md")} == set(pages), "book/*.md and build_book.PAGES differ"
    assert [p for p in pages if f"(book/{p}.md)" not in readme] == []


def test_the_readme_make_commands_exist_and_ci_runs_its_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    targets = [line.split()[1] for block in blocks for line in block.splitlines() if line.startswith("make ")]
    assert "lab" in targets and "test" in targets
    makefile = (ROOT / "Makefile").read_text()
    assert [t for t in targets if not re.search(rf"^{re.escape(t)}:", makefile, re.M)] == []
    steps = re.search(r"for step in ([\w -]+); do", (ROOT / ".ci" / "run").read_text()).group(1).split()
    assert steps[0] == "test"  # CI runs the README's test command first
