"""Shared test plumbing: every unit test gets a private data cache and none of the machine's data; notebook
timings are recorded and printed, never asserted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The quick-mode budget the notebooks are written for (2 CPU cores); reported beside each time, not enforced.
# Notebook 04 trains three ResNet-20s and takes about 300 s on an idle 2-core machine.
QUICK_BUDGET_SECONDS = 300
TIMINGS = ROOT / "runs" / "notebook-timings.json"
_seconds: dict[str, float] = {}
_memory: dict[str, int] = {}
_solutions: dict[str, float] = {}


@pytest.fixture
def private_cache(tmp_path_factory, monkeypatch):
    """The test decodes into a cache of its own and reads no ``$PE_LAB_DATA`` of the machine: for the tests of the
    cache and the data readers (``pytestmark = pytest.mark.usefixtures("private_cache")``). Every other test shares
    the session's cache, so real data is decoded once per session, not once per test."""
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path_factory.mktemp("pe-lab-cache")))
    monkeypatch.delenv("PE_LAB_DATA", raising=False)


def record_notebook_seconds(name: str, seconds: float, peak_rss_mib: int | None = None,
                            solutions_seconds: float | None = None) -> None:
    """Remember how long a notebook took in quick mode (the student's cells) and its kernel's peak memory (RSS,
    MiB) then, and how long its solutions took after it; written to runs/notebook-timings.json. Binder gives a
    notebook about 2 GB."""
    _seconds[name] = round(seconds, 1)
    if peak_rss_mib is not None:
        _memory[name] = peak_rss_mib
    if solutions_seconds is not None:
        _solutions[name] = round(solutions_seconds, 1)
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps({"budget_seconds": QUICK_BUDGET_SECONDS, "cpu_count": os.cpu_count(),
                                   "seconds": _seconds, "peak_rss_mib": _memory,
                                   "solutions_seconds": _solutions}, indent=1))


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    terminalreporter.section("notebook timings (quick mode; a benchmark, not a test)")
    for name, seconds in _seconds.items():
        over = "  (over the budget on this machine)" if seconds > QUICK_BUDGET_SECONDS else ""
        memory = f", peak kernel memory {_memory[name]} MiB" if name in _memory else ""
        terminalreporter.write_line(f"{name}: {seconds:.0f} s of a {QUICK_BUDGET_SECONDS} s budget{over}{memory}")
    terminalreporter.write_line(f"recorded in {TIMINGS.relative_to(ROOT)}")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright, for the browser tests (skipped where either is missing)."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test-browser does it)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
