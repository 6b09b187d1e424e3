"""End to end: a student opens a notebook in JupyterLab, runs it, moves a widget, and sees the figure change.

Drives Debian's Chromium (never a browser that a tool downloads) with Playwright, headless, against a
JupyterLab server started here on 127.0.0.1 with a random port and token, on a copy of the notebooks (so
JupyterLab's autosave cannot write outputs into the repository). Screenshots go to runs/screenshots/ (the committed
ones in assets/screenshots/ are chosen by hand). Run with `pytest -m browser` (`make test-browser`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_support import CHROMIUM, free_port, stop_group, wait_until_served

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "runs" / "screenshots"
SHARED_DATA = ROOT.parent / "shared" / "data"

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/; yields its base URL and token; always stopped."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test-browser does it)")
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", workdir / "notebooks")
    # Render every cell (no windowing), so that all outputs are in the page for the error check below.
    settings = workdir / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}')
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PE_LAB_QUICK="1", PE_LAB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(workdir / "config"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    if SHARED_DATA.exists():
        env.setdefault("PE_LAB_DATA", str(SHARED_DATA))
    log = open(workdir / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir / 'notebooks'}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(f"{base}/api/status?token={token}", server, 90, workdir / "jupyter.log")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _open_and_run_all(browser, lab, notebook: str):
    base, token = lab
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    # ?reset: start from an empty workspace, not with the previous test's notebook restored beside this one
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # "Run All" sent before the kernel is ready is dropped: wait for the status bar to say Idle.
    page.get_by_text("| Idle").first.wait_for(timeout=120_000)
    first_prompt = page.locator(".jp-CodeCell .jp-InputArea-prompt").first
    for _ in range(3):  # a kernel that was still connecting can drop the request: ask again
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        deadline = time.time() + 20
        while time.time() < deadline and first_prompt.inner_text().strip() == "[ ]:":
            time.sleep(0.5)
        if first_prompt.inner_text().strip() != "[ ]:":
            return page
    raise AssertionError(f"{notebook}: Run All Cells did not start the kernel")


def _wait_until_all_cells_ran(page, timeout_s: float = 300) -> None:
    deadline = time.time() + timeout_s
    time.sleep(2)
    while time.time() < deadline:
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()]
        if prompts and all(p[1:-2].isdigit() for p in prompts):  # "[7]:" everywhere, no "[*]:" or "[ ]:"
            return
        time.sleep(1)
    raise AssertionError(f"cells still running after {timeout_s} s: {prompts}")


def _assert_no_errors(page, notebook: str) -> None:
    tracebacks = [text[:800] for text in page.locator(".jp-OutputArea-output").all_inner_texts() if "Traceback" in text]
    assert not tracebacks, f"{notebook}: a cell raised:\n" + "\n---\n".join(tracebacks)


def _click_slider(page, slider, fraction: float) -> None:
    """Clicking the noUiSlider track moves the handle there (dragging it does not, in headless Chromium)."""
    track = slider.locator(".noUi-target")
    track.scroll_into_view_if_needed()  # a click outside the viewport lands nowhere
    box = track.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def _run_notebook(browser, lab, notebook: str, explorer_class: str):
    """Open ``notebook``, run all cells, check none raised; return the page and the explorer's locator."""
    page = _open_and_run_all(browser, lab, notebook)
    explorer = page.locator(f".{explorer_class}")
    explorer.wait_for(timeout=240_000)
    _wait_until_all_cells_ran(page)
    _assert_no_errors(page, notebook)
    return page, explorer


def _save_screenshot(page, explorer, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / name))
    page.close()


def test_mask_explorer_slider_changes_figure_and_count(browser, lab):
    page, explorer = _run_notebook(browser, lab, "02_masks.ipynb", "pe-mask-explorer")
    count = explorer.locator(".pe-param-count")
    figure = explorer.locator(".jp-OutputArea-output img").first
    figure.wait_for(timeout=30_000)
    before_text, before_image = count.inner_text(), figure.get_attribute("src")
    assert "params:" in before_text
    m_slider = explorer.locator(".widget-slider").first
    # The notebook leaves M=3, alpha=2, gamma=2 (12 channels in M*gamma groups); M runs from 1 to 6, and 20 %
    # of the track is M=2: 4 groups, a valid PE.
    _click_slider(page, m_slider, 0.2)
    page.wait_for_function("([el, old]) => el.innerText !== old", arg=[count.element_handle(), before_text],
                           timeout=30_000)
    # clear_output(wait=True) keeps the old figure until the new one arrives: wait for the new image.
    page.wait_for_function("old => { const img = document.querySelector('.pe-mask-explorer .jp-OutputArea-output img');"
                           " return img !== null && img.src !== old; }", arg=before_image, timeout=30_000)
    after_text = count.inner_text()
    after_image = explorer.locator(".jp-OutputArea-output img").first.get_attribute("src")
    assert after_text != before_text and "params:" in after_text, after_text
    assert after_image != before_image
    _save_screenshot(page, explorer, "02_masks_explorer.png")


def test_ood_explorer_criterion_changes_figure_and_metrics(browser, lab):
    page, explorer = _run_notebook(browser, lab, "05_calibration_and_ood.ipynb", "pe-ood-explorer")
    metrics = explorer.locator(".pe-ood-metrics")
    plot = explorer.locator(".js-plotly-plot").first
    plot.wait_for(timeout=30_000)
    before_text = metrics.inner_text()
    before_title = explorer.locator(".js-plotly-plot .gtitle").first.text_content()
    assert "AUROC" in before_text and before_text.startswith("msp")
    explorer.locator("select").first.select_option("entropy")
    page.wait_for_function("([el, old]) => el.innerText !== old", arg=[metrics.element_handle(), before_text],
                           timeout=30_000)
    page.wait_for_function("() => { const t = document.querySelector('.pe-ood-explorer .js-plotly-plot .gtitle');"
                           " return t !== null && t.textContent.includes('entropy'); }", timeout=30_000)
    after_title = explorer.locator(".js-plotly-plot .gtitle").first.text_content()
    assert metrics.inner_text().startswith("entropy")
    assert after_title != before_title and "entropy" in after_title
    _save_screenshot(page, explorer, "05_ood_explorer.png")


def test_make_lab_opens_notebook_01(browser, tmp_path):
    """The README's first command, as a student types it, plus only what a headless run needs: settings kept
    out of the home folder, a known port and token, and a "browser" that records the URL JupyterLab asks it to
    open (which the test then loads in Chromium). As root, the Makefile must add --allow-root itself."""
    notebook = ROOT / "notebooks" / "01_convolution_math.ipynb"
    original = notebook.read_bytes()
    port, token = free_port(), secrets.token_hex(16)
    opened = tmp_path / "opened-url.txt"
    recorder = tmp_path / "record_url.py"
    recorder.write_text(f"import sys, pathlib; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    lab_args = (f"--ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
                f"--ServerApp.browser='{sys.executable} {recorder} %s' "
                f"--LabApp.workspaces_dir={tmp_path / 'workspaces'} --LabApp.user_settings_dir={tmp_path / 'settings'} "
                "--LabApp.news_url= --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    log_path = tmp_path / "make-lab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(["make", "lab", f"LAB_ARGS={lab_args}"], cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 300  # make may first (re)install the environment
        while not opened.exists():
            if time.time() > deadline or server.poll() is not None:
                raise AssertionError(f"make lab opened no notebook:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        # JupyterLab hands the browser a local redirect page (file://...-open.html) that forwards, with the
        # token, to the notebook: load it as the student's browser would.
        url = opened.read_text().strip()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_url(f"http://127.0.0.1:{port}/lab/tree/01_convolution_math.ipynb*", timeout=60_000)
        page.locator(".lm-TabBar-tabLabel", has_text="01_convolution_math.ipynb").first.wait_for(timeout=90_000)
        heading = page.locator(".jp-Notebook .jp-MarkdownOutput h1").first
        heading.wait_for(timeout=60_000)
        assert "Convolution" in heading.inner_text()
        assert "No such file or directory" not in log_path.read_text()
        page.close()
    finally:
        stop_group(server)
        if notebook.read_bytes() != original:  # never leave an autosaved notebook in the repository
            notebook.write_bytes(original)
            raise AssertionError("make lab's server rewrote notebooks/01_convolution_math.ipynb")


def test_make_explorer_serves_every_explorer_and_a_slider_redraws(browser, tmp_path):
    """`make explorer` (Voila) as an instructor types it: the page opens on the committed results with no code
    shown; the alpha-sweep tab's slider moves and its figure changes. Requests that would leave localhost are
    recorded (Voila's lab template links a Font Awesome stylesheet on a CDN: icons only)."""
    port = free_port()
    env = dict(os.environ, PE_LAB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    log_path = tmp_path / "make-explorer.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(["make", "explorer", f"VOILA_ARGS=--no-browser --port={port} --Voila.ip=127.0.0.1"],
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/voila/static/voila.js", server, 300, log_path)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        outside = []
        page.on("request", lambda request: outside.append(request.url)
                if not request.url.startswith((f"http://127.0.0.1:{port}", "data:", "blob:", "ws:")) else None)
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=300_000)
        explorer = page.locator(".pe-lab-explorer")
        explorer.wait_for(timeout=300_000)
        assert "lab_explorer()" not in page.locator("body").inner_text()  # the page shows no code
        page.get_by_text("Alpha sweep", exact=True).first.click()
        alpha = page.locator(".pe-alpha-explorer")
        alpha.wait_for(timeout=60_000)
        image = ".pe-alpha-explorer .jp-OutputArea-output img"
        page.wait_for_selector(image, timeout=60_000)
        before = page.locator(image).first.get_attribute("src")
        numbers = page.locator(".pe-alpha-numbers").first
        before_text = numbers.inner_text()
        _click_slider(page, alpha.locator(".widget-slider").first, 0.95)  # alpha 1 -> 4
        page.wait_for_function("([el, old]) => el.innerText !== old", arg=[numbers.element_handle(), before_text],
                               timeout=60_000)
        page.wait_for_function(f"old => document.querySelector('{image}').src !== old", arg=before, timeout=60_000)
        assert "alpha = M" in numbers.inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "explorer_alpha_sweep.png"))
        page.close()
        assert all("fontawesome" in url for url in outside), outside  # nothing else leaves localhost
    finally:
        stop_group(server)


@pytest.fixture(scope="module")
def book():
    """`make book`'s site (built by .ci/run before the browser tests), served on 127.0.0.1; always stopped."""
    site = ROOT / "runs" / "book"
    if not (site / "book.json").exists():
        pytest.fail("runs/book is missing: run `make book` first (.ci/run does)")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=site,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/index.html", server, 30)
        yield f"http://127.0.0.1:{port}", site
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_notebook_has_a_book_page_with_its_figures(book):
    import json

    _, site = book
    pages = json.loads((site / "book.json").read_text())["pages"]
    assert pages == [p.stem + ".html" for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    import nbformat

    for page in pages:
        html = (site / page).read_text()
        published = nbformat.read(ROOT / "runs" / "book-src" / page.replace(".html", ".ipynb"), as_version=4)
        outputs = [o for c in published.cells for o in c.get("outputs", [])]
        images = sum("image/png" in o.get("data", {}) for o in outputs)
        plots = sum("plotly" in o.get("data", {}).get("text/html", "") for o in outputs)
        assert html.count("<img") >= images and html.count("plotly-graph-div") >= plots, page  # every figure
        assert "cdn.jsdelivr" not in html and "cdnjs.cloudflare" not in html, f"{page} asks a CDN"
    assert sum((site / p).read_text().count("<img") for p in pages) >= 10  # the executed figures are there


@pytest.mark.parametrize("page,expect", [("08_when_does_pe_match_de.html", "table"),
                                         ("05_calibration_and_ood.html", ".js-plotly-plot")])
def test_a_book_page_renders_offline(browser, book, page, expect):
    base, _ = book
    view = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = []
    view.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((base, "data:", "blob:")) else None)
    view.goto(f"{base}/{page}", wait_until="load", timeout=120_000)
    view.locator(expect).first.wait_for(timeout=60_000)
    view.locator("mjx-container").first.wait_for(timeout=60_000)  # equations typeset by the site's own MathJax
    assert view.locator("article img").count() > 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.locator(expect).first.scroll_into_view_if_needed()
    view.screenshot(path=str(SCREENSHOTS / f"book_{page.split('_')[0]}.png"))
    view.close()
    assert not outside, outside  # the page works with the network off: nothing leaves localhost


# What a reader of the book must never see, found in the rendered page (after MathJax and plotly have drawn):
#  - a markdown table left as text: a separator row such as |---|---| outside a code cell's source;
#  - a line cut at the right: a box whose content is wider than the box and hidden (overflow hidden/clip), or
#    a box that reaches past the article's right edge with no scrolling box around it (wrapping or a visible
#    scroll bar are both fine);
#  - a smoke run: the book shows what a class sees, never a quick-mode run's output.
_PAGE_PROBLEMS = r"""() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const snippet = (text, at) => text.slice(Math.max(0, at - 60), at + 60).replace(/\s+/g, " ");
  const describe = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
      ? "." + el.className.trim().split(/\s+/).join(".") : "") + ": " + (el.textContent || el.src || "")
      .trim().replace(/\s+/g, " ").slice(0, 100);

  const prose = article.cloneNode(true);  // code cells' sources legitimately build tables from "|---|" strings
  prose.querySelectorAll(".cell_input, table, script, style, :not(pre) > code").forEach(e => e.remove());
  const text = prose.textContent, raw = [], separator = /\|\s*:?(-{3,}|[—–][-—–]*):?\s*\|/g;  // |---| or, typeset, |—|
  for (const found of text.matchAll(separator)) raw.push(snippet(text, found.index));

  const edge = article.getBoundingClientRect().right, cut = [];
  const inBox = (el) => {  // inside a box that does not show its overflow: that box is checked and reported
    for (let up = el.parentElement; up && up !== article; up = up.parentElement)
      if (getComputedStyle(up).overflowX !== "visible") return true;
    return false; };
  for (const el of article.querySelectorAll("*")) {
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (style.display === "none" || style.visibility === "hidden" || box.width <= 1 || box.height <= 1) continue;
    if (el.closest("mjx-assistive-mml, .visually-hidden, .sr-only")) continue;  // for screen readers, not shown
    if (style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) {
      // scrollWidth counts what is never drawn (MathJax's MathML for screen readers): compare what is drawn
      const inner = box.left + el.clientLeft + el.clientWidth;
      const hidden = [...el.querySelectorAll("*")].find(d => !d.closest("mjx-assistive-mml")
          && d.getBoundingClientRect().width > 1 && d.getBoundingClientRect().right > inner + 2);
      if (hidden) cut.push("hidden overflow (" + Math.round(hidden.getBoundingClientRect().right - inner)
          + " px past the box) " + describe(el));
    } else if (box.right > edge + 1 && !inBox(el))
      cut.push("past the right edge (" + Math.round(box.right) + " > " + Math.round(edge) + " px) " + describe(el));
  }

  const outputs = [...article.querySelectorAll(".cell_output")].map(e => e.textContent).join("\n");
  const quick = [...outputs.matchAll(/QUICK(=True|: | run just now)/g)].map(m => snippet(outputs, m.index));

  const figures = [...article.querySelectorAll("img")].map(img => img.currentSrc || img.src);
  const plots = [...article.querySelectorAll(".plotly-graph-div")].map(div => {
    // the script that draws this div (its wrapper also holds plotly's shared config script, the same on every plot)
    const script = [...div.parentElement.querySelectorAll("script:not([src])")]
      .find(s => s.textContent.includes(div.id));
    return script ? script.textContent.split(div.id).join("ID") : "";
  });
  return {raw, cut, quick, figures, plots, tables: article.querySelectorAll("table").length};
}"""


def _pixels(url: str, base: str, site: Path) -> tuple:
    """An image as its size and decoded pixels (two encodings of the same figure compare equal)."""
    import base64
    import io

    from PIL import Image

    if url.startswith("data:"):
        data = base64.b64decode(url.split(",", 1)[1])
    else:
        path = site / urllib.request.url2pathname(url.removeprefix(base).split("#")[0].split("?")[0].lstrip("/"))
        data = path.read_bytes()
    if data.lstrip().startswith((b"<svg", b"<?xml")):
        return ("svg", data)
    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
        return rgba.size, rgba.tobytes()


def _markdown_tables(page: str) -> int:
    """How many markdown tables the published notebook's outputs hold (each must become an HTML table)."""
    import nbformat

    notebook = nbformat.read(ROOT / "runs" / "book-src" / page.replace(".html", ".ipynb"), as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    return sum(len(re.findall(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$", o.get("data", {}).get("text/markdown", ""), re.M))
               for o in outputs)


BOOK_PAGES = (["index.html"] + [p.stem + ".html" for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
              + [f"book/{p.stem}.html" for p in sorted((ROOT / "book").glob("*.md"))])


@pytest.mark.parametrize("page", BOOK_PAGES)
def test_every_book_page_reads_as_a_class_sees_it(browser, book, page):
    """Every page, at a laptop's width and a tablet's: tables are HTML tables, no line is cut at the right, no
    figure is shown twice, and no output comes from a quick-mode smoke run."""
    base, site = book
    assert (site / page).exists(), f"{page} is not in the book"
    view = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        view.goto(f"{base}/{page}", wait_until="load", timeout=120_000)
        view.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=60_000)
        view.evaluate("() => window.MathJax ? MathJax.startup.promise : null")  # equations typeset: final widths
        view.wait_for_function("() => document.querySelectorAll('.plotly-graph-div').length"
                               " === document.querySelectorAll('.js-plotly-plot').length", timeout=60_000)
        found = view.evaluate(_PAGE_PROBLEMS)
        view.set_viewport_size({"width": 820, "height": 1000})  # a tablet: the sidebars fold away
        view.wait_for_timeout(300)
        narrow = view.evaluate(_PAGE_PROBLEMS)["cut"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        view.screenshot(path=str(SCREENSHOTS / f"book-{page.replace('.html', '')}-820.png"))
    finally:
        view.close()
    problems = []  # every kind of problem on the page, reported together
    if found["raw"]:
        problems.append("markdown tables shown as text:\n  " + "\n  ".join(found["raw"][:3]))
    printed = _markdown_tables(page) if page[:2].isdigit() else 0  # the tables a notebook's outputs print
    if found["tables"] < printed:
        problems.append(f"{found['tables']} HTML tables for the {printed} markdown tables its outputs print")
    for width, cut in ((1280, found["cut"]), (820, narrow)):
        if cut:
            problems.append(f"at {width} px, {len(cut)} boxes cut at the right, e.g.\n  " + "\n  ".join(cut[:3]))
    if found["quick"]:
        problems.append("output of a quick-mode run:\n  " + "\n  ".join(found["quick"][:3]))
    seen: dict = {}
    for number, url in enumerate(found["figures"], 1):
        seen.setdefault(_pixels(url, base, site), []).append(number)
    twice = [numbers for numbers in seen.values() if len(numbers) > 1]
    if twice:
        problems.append(f"the same figure shown more than once: images number {twice} of the page")
    plots = [p for p in found["plots"] if p]
    if len(set(plots)) != len(plots):
        problems.append("the same plotly figure shown more than once")
    assert not problems, f"{page}:\n" + "\n".join(problems)
