"""End to end: the static explorer site (`make site`) in headless Chromium with the network blocked. Every control
of every tab moves and the figure and the table follow what the build drew for that state; a link with a state
reopens in that state; a bad link falls back to the default and says so; no request leaves the site.

The site is a quick build made here (two values per control, the same page and drawings), or the folder named by
PE_LAB_SITE (e.g. runs/site after `make site`), served on 127.0.0.1. Screenshots go to runs/screenshots/site/.
Run with `pytest -m browser tests/test_site_browser.py` (`make test-browser`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import free_port, wait_until_served

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "runs" / "screenshots" / "site"
READY = "#explorer[data-ready='1']"
# What the page shows of its view: the state, the summary's HTML, and each figure (its file and, for a plotly
# figure, the traces plotly drew; for an image, whether it loaded).
VIEW = """() => ({
  state: document.getElementById('explorer').dataset.state,
  summary: document.getElementById('summary').innerHTML,
  sources: [...document.getElementById('figures').children].map(e => e.dataset.src || null),
  drawn: [...document.getElementById('figures').children].map(e => e.tagName === 'IMG'
    ? (e.naturalWidth > 0 ? 'image ' + e.currentSrc : 'unloaded') : JSON.stringify(e.data || null)),
  notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice').innerText,
  hash: location.hash.slice(1)})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site's folder (built here unless PE_LAB_SITE names one), served on 127.0.0.1; yields (base, folder)."""
    folder = Path(os.environ["PE_LAB_SITE"]) if os.environ.get("PE_LAB_SITE") else None
    if folder is None:
        folder = tmp_path_factory.mktemp("site") / "site"
        built = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), "--quick", "--out",
                                str(folder)], capture_output=True, text=True, timeout=1800)
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(f"{base}/index.html", server, 30)
        yield base, folder
    finally:
        server.terminate()
        server.wait(timeout=10)


def _offline_page(browser, base: str):
    """A page on which every request that would leave ``base`` is aborted and recorded."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside, errors = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith((base + "/", "data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, outside, errors


def _tab_data(folder: Path, tab: str) -> dict:
    text = (folder / "data" / f"{tab}.js").read_text()
    return json.loads(text[text.index(", ") + 2:text.rindex(")")])


def _expect_drawn(view: dict, data: dict) -> None:
    """The page shows what the build drew for the state in its link: those figure files, each drawn."""
    assert view["hash"] == view["state"], view
    key = view["state"].split("&", 1)[1] if "&" in view["state"] else ""
    expected = data["states"][key]
    assert view["sources"] == [f["src"] for f in expected["figures"]], (view["state"], view["sources"])
    assert all(d not in ("unloaded", "null", "[]") for d in view["drawn"]), view["drawn"]
    assert view["summary"].strip(), view["state"]


def _move(page, control: dict) -> None:
    """Move one control as a student does: the next value of a slider or dropdown, or tick a model off."""
    box = page.locator(f".control[data-name='{control['name']}']")
    if control["kind"] == "choice":
        select = box.locator("select")
        tokens = [v["token"] for v in control["values"]]
        now = tokens.index(select.input_value())
        select.select_option(tokens[(now + 1) % len(tokens)])
    elif control["kind"] == "choices":
        box.locator("input[type=checkbox]").first.click()
    else:
        slider = box.locator("input[type=range]")
        at_end = slider.input_value() == str(len(control["values"]) - 1)
        slider.focus()
        page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")


def test_every_control_of_every_explorer_redraws_offline(browser, site):
    base, folder = site
    page, outside, errors = _offline_page(browser, base)
    page.goto(f"{base}/index.html", wait_until="load")
    page.wait_for_selector(READY, timeout=60_000)
    manifest = page.evaluate("() => PeSite.manifest")
    assert page.evaluate(VIEW)["state"] == manifest["tabs"][0]["default"]  # no link: the first tab's default
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for tab in manifest["tabs"]:
        page.locator(f"#tabs button[data-tab='{tab['name']}']").click()
        page.wait_for_function(f"() => (document.getElementById('explorer').dataset.state || '')"
                               f".startsWith('tab={tab['name']}&') && document.getElementById('explorer')"
                               ".dataset.ready === '1'", timeout=60_000)
        data = _tab_data(folder, tab["name"])
        _expect_drawn(page.evaluate(VIEW), data)
        moved = [c for c in tab["controls"] if len(c["values"]) > 1]
        assert moved, f"{tab['name']}: no control moves"
        figure_changed = summary_changed = False
        for control in moved:
            before = page.evaluate(VIEW)
            _move(page, control)
            page.wait_for_function("old => document.getElementById('explorer').dataset.state !== old && "
                                   "document.getElementById('explorer').dataset.ready === '1'",
                                   arg=before["state"], timeout=60_000)
            after = page.evaluate(VIEW)
            _expect_drawn(after, data)
            assert (after["drawn"], after["summary"]) != (before["drawn"], before["summary"]), (
                f"{tab['name']}: moving {control['name']} changed nothing on the page")
            figure_changed |= after["drawn"] != before["drawn"]
            summary_changed |= after["summary"] != before["summary"]
        assert summary_changed, f"{tab['name']}: the table never changed"
        has_figures = any(e["figures"] for e in data["states"].values())
        assert figure_changed or not has_figures, f"{tab['name']}: the figure never changed"
        page.screenshot(path=str(SCREENSHOTS / f"{tab['name']}.png"), full_page=True)
    page.close()
    assert not errors, errors
    assert not outside, f"requests that would leave the site: {outside}"


def _link(state: dict) -> str:
    return "&".join(f"{k}={quote(v, safe='-_.!~*()')}" for k, v in state.items())


def test_a_link_reopens_its_state_and_a_bad_link_falls_back_with_a_message(browser, site):
    base, folder = site
    page, outside, errors = _offline_page(browser, base)
    page.goto(f"{base}/index.html", wait_until="load")
    page.wait_for_selector(READY, timeout=60_000)
    toy = next(t for t in page.evaluate("() => PeSite.manifest")["tabs"] if t["name"] == "toy")
    # every movable control of the toy away from its default: the last value on its grid
    chosen = {c["name"]: c["values"][-1]["token"] if c["values"][-1]["token"] != c["default"] else
              c["values"][0]["token"] for c in toy["controls"] if len(c["values"]) > 1}
    shared = f"{base}/index.html#tab=toy&{_link(chosen)}"
    fresh, outside_fresh, errors_fresh = _offline_page(browser, base)
    fresh.goto(shared, wait_until="load")
    fresh.wait_for_selector(READY, timeout=60_000)
    view = fresh.evaluate(VIEW)
    assert view["notice"] == "" and view["state"].startswith("tab=toy&")
    _expect_drawn(view, _tab_data(folder, "toy"))
    shown = dict(p.split("=", 1) for p in view["state"].split("&"))
    assert all(shown[name] == quote(value, safe="-_.!~*()") for name, value in chosen.items()), (shown, chosen)
    for name, value in chosen.items():  # the controls show the link's values too
        control = next(c for c in toy["controls"] if c["name"] == name)
        label = next(v["label"] for v in control["values"] if v["token"] == value)
        box = fresh.locator(f".control[data-name='{name}']")
        assert (box.locator("select").input_value() == value if control["kind"] == "choice"
                else box.locator("output").inner_text() == label), name
    fresh.screenshot(path=str(SCREENSHOTS / "shared-link.png"), full_page=True)
    fresh.close()
    defaults = {t["name"]: t["default"] for t in page.evaluate("() => PeSite.manifest")["tabs"]}
    for number, (link, tab, says) in enumerate([
            ("tab=nope&alpha=2", "masks", "there is no tab 'nope': showing 'masks'"),
            ("tab=toy&hidden=7", "toy", "hidden=7 is not one of this page's values"),
            ("%E0%A4%A&&==garbage&tab=masks&num_estimators=99&zzz", "masks", "could not read '%E0%A4%A': ignored"),
            ("tab=masks&num_estimators=99", "masks", "num_estimators=99 is not one of")]):
        # a link opened afresh (the query makes it a new page load, not a hash change in the open page)
        page.goto(f"{base}/index.html?{number}#{link}", wait_until="load")
        page.wait_for_selector(READY, timeout=60_000)
        view = page.evaluate(VIEW)
        assert view["state"] == defaults[tab], (link, view["state"])
        assert says in view["notice"], (link, view["notice"])
        assert view["sources"] and all(d not in ("unloaded", "null") for d in view["drawn"]), link  # never blank
        _expect_drawn(view, _tab_data(folder, tab))
    page.screenshot(path=str(SCREENSHOTS / "bad-link.png"), full_page=True)
    page.close()
    assert not (errors or errors_fresh), errors + errors_fresh
    assert not (outside or outside_fresh), f"requests that would leave the site: {outside + outside_fresh}"
