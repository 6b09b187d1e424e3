"""Every ``pe-lab COMMAND --flag ...`` that a notebook, a solution, a book page or the README shows a student
parses with today's command line: a renamed flag or command fails here, not in front of a class."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from pe_lab.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
# A command in backticks, or alone on a line of a code block; one that elides (``...``) or names a placeholder
# (``<path>``) is prose, not a command to run.
COMMAND = re.compile(r"`((?:pe-lab|python -m pe_lab(?:\.[a-z_.]+)?) [^`]+)`"
                     r"|^[ \t]*((?:pe-lab|python -m pe_lab) [a-z]+ --(?:[^\n]*\\\n)*[^\n]+)$", re.M)
# Shown to fail on purpose (the reliability page's table of bad input): each must still be refused.
REFUSED = {("book/reliability.md", "pe-lab bench --batch 0")}


def _texts() -> dict[str, str]:
    texts = {}
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for number, cell in enumerate(json.loads(notebook.read_text())["cells"]):
            texts[f"{notebook.name} cell {number}"] = "".join(cell["source"])
    for path in [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md")),
                 *sorted((ROOT / "pe_lab" / "teaching" / "solutions").glob("*.py"))]:
        texts[str(path.relative_to(ROOT))] = path.read_text()
    return texts


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for where, text in _texts().items():
        for match in COMMAND.finditer(text):
            if text[:match.start()].endswith("recorded as "):  # history, shown beside today's spelling
                continue
            command = " ".join((match.group(1) or match.group(2)).replace("\\\n", " ").split())
            if " --" in command and "..." not in command and "<" not in command:
                found.append((where, command))
    return found


class _Parsed(Exception):
    pass


@pytest.fixture
def parse_only(monkeypatch):
    """Stop every command right after argparse took its flags: nothing is trained, read or written."""
    original = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_args)


def test_the_lesson_shows_commands():
    assert len(documented_commands()) >= 10


@pytest.mark.parametrize("where,command", documented_commands(), ids=lambda value: value[:70])
def test_every_documented_command_parses_today(parse_only, where, command, capsys):
    words = shlex.split(command.split("&&")[0].split("#")[0])
    if words[:3] == ["python", "-m", "pe_lab"]:
        words = words[2:]
    assert words[0] == "pe-lab" or words[0] == "pe_lab", (
        f"{where}: `{command}` runs a module that is not the entry point; today it is `pe-lab COMMAND ...`")
    argv = words[1:]
    if (where, command) in REFUSED:
        with pytest.raises(SystemExit):
            main(argv)
        return
    with pytest.raises(_Parsed):
        try:
            main(argv)
        except SystemExit as stop:
            pytest.fail(f"{where}: `{command}` does not parse: {capsys.readouterr().err.strip()[-300:]} ({stop})")
