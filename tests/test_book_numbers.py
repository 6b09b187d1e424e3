"""No measured number is typed into the README or a book page: outside the sections a script generates from the
committed JSON (and outside code blocks), a number with a unit of measurement is either a setting or a target,
named below with why, or it fails here. Typed numbers go stale when a run is redone; generated ones cannot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]
GENERATED = re.compile(r"<!-- ([\w:.-]+):begin.*?<!-- \1:end -->", re.S)
CODE = re.compile(r"```.*?```", re.S)
MEASURED = re.compile(r"(?<![\w.`/-])(?P<bound>[≤≥<>] ?)?\d+(?:[.,]\d+)?(?:[-–]\d+(?:[.,]\d+)?)?\s?"
                      r"(?:%|×|x\b|ms\b|s\b|h\b|MiB|GB|MB|points)")
# A table cell that is only a number (or two, as "a / b" or "a ± b"), with or without a unit: a typed result.
NUMBER_CELL = re.compile(r"^[-+]?\d[\d.,]*\s?(?:%|×|x|ms|s|MiB)?(?:\s?[/±]\s?\d[\d.,]*\s?(?:%|×|x|ms|s|MiB)?)?$")
# Numbers with a unit that are not measurements: the confidence level every interval uses, and limits of the code.
NOT_MEASURED = {"95 %": "the confidence level of every interval", "64 MiB": "the data pack's index limit"}


def typed_measurements(text: str) -> list[str]:
    prose = CODE.sub("", GENERATED.sub("", text))
    found = [m.group(0) for m in MEASURED.finditer(prose)
             if not m.group("bound") and m.group(0) not in NOT_MEASURED]  # a bound is a target, not a result
    cells = [cell.strip() for line in prose.splitlines() if line.startswith("|") for cell in line.strip("|").split("|")]
    # a bare integer (a layer's number, a count of files) is not a measurement; a decimal, a unit or a pair is
    return found + [cell for cell in cells if NUMBER_CELL.match(cell) and re.search(r"[.%×/±a-zA-Z]", cell)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_measured_number_is_typed(page):
    assert typed_measurements(page.read_text()) == [], (
        f"{page.name}: generate these from the committed JSON (a section between markers) instead of typing them")


def test_a_typed_measurement_is_found():
    assert typed_measurements("the PE took 38 s, 1.45× the Single's, at 61.8 %") == ["38 s", "1.45×", "61.8 %"]
    assert typed_measurements("faster by 12-14 %") == ["12-14 %"]
    assert typed_measurements("| oneDNN on | 1035 / 1568 | 1.51 | text 2 |") == ["1035 / 1568", "1.51"]
    assert typed_measurements("<!-- t:begin (x) -->\n38 s\n<!-- t:end -->\nwithin ≤ 1.25× and 95 %") == []
