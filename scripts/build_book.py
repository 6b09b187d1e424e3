"""`make book`: a static HTML site of every notebook as a class runs it on a CPU, that needs no network at view time.

Each student notebook is executed here the way `scripts/classroom.py --measure` runs it for the README's lesson
plans: not quick mode (``PE_LAB_QUICK=0``), no GPU (``CUDA_VISIBLE_DEVICES=""``), offline, checkers not revealing,
so a notebook that offers committed results (04-07, 08's sweeps) shows those and never a quick-mode smoke run. The
executed copies are kept in ``runs/executed-class/`` with a fingerprint of what they depend on (the notebook, the
``pe_lab`` sources, the committed results) and reused while it holds. Sphinx + myst-nb + sphinx-book-theme build
the pages: tables a notebook prints as ``display(Markdown(...))`` are parsed as MyST (tables included), and
``book/pe-lab.css`` wraps long code and output lines. MathJax is served from the site itself (the npm package
``mathjax@3``, fetched once into ``runs/``), and plotly figures load the site's own plotly.js.

    python scripts/build_book.py [--out runs/book] [--only 04,08] [--jobs 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATHJAX = "mathjax@3.2.2"
EXECUTED = ROOT / "runs" / "executed-class"
# A class on a CPU: what `scripts/classroom.py --measure` sets, plus no GPU and no revealed answers.
CLASS_ENV = {"PE_LAB_QUICK": "0", "PE_LAB_OFFLINE": "1", "PE_LAB_INSTRUCTOR": "0", "CUDA_VISIBLE_DEVICES": "",
             "MPLBACKEND": "module://matplotlib_inline.backend_inline"}

CONF = '''project = "pe-lab"
author = "pe-lab"
extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_title = "pe-lab: a lab for Packed-Ensembles"
nb_execution_mode = "off"          # executed once, by the test suite
myst_enable_extensions = ["dollarmath", "amsmath"]
mathjax_path = "mathjax/tex-mml-chtml.js"   # served by this site: no CDN
html_static_path = ["_static"]
html_theme_options = {"repository_url": "https://github.com/pe-lab/pe-lab", "use_repository_button": False,
                      "use_download_button": False}
exclude_patterns = ["_build", "assets/**.md"]   # assets/ is there for the figures the prose links to
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]
nb_render_markdown_format = "myst"   # display(Markdown(...)) output: tables and $math$, not CommonMark's plain text
html_css_files = ["pe-lab.css"]      # long code and output lines wrap instead of being cut
nb_ipywidgets_js = {}   # no widget JavaScript from a CDN: explorers are shown as their static default state
'''


def _mathjax(static: Path) -> None:
    cache = ROOT / "runs" / "mathjax-3.2.2.tgz"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        subprocess.run(["npm", "pack", MATHJAX, "--pack-destination", str(cache.parent)], check=True,
                       capture_output=True)
    with tarfile.open(cache) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/es5/")]
        archive.extractall(static / "_mathjax_tmp", members=members, filter="data")
    shutil.move(static / "_mathjax_tmp" / "package" / "es5", static / "mathjax")
    shutil.rmtree(static / "_mathjax_tmp")


_VIEW = "application/vnd.jupyter.widget-view+json"
_STATE = "application/vnd.jupyter.widget-state+json"


def _static_outputs(state: dict, model_id: str) -> list:
    """What a widget showed when the notebook ran: the HTML of its labels and tables and the figures of its
    Output areas, in page order, as ordinary notebook outputs (a page without a kernel can show those)."""
    import nbformat

    model = state.get(model_id, {})
    name, fields = model.get("model_name"), model.get("state", {})
    if name == "OutputModel":
        return [nbformat.from_dict(o) for o in fields.get("outputs", [])]
    if name == "HTMLModel" and fields.get("value"):
        return [nbformat.v4.new_output("display_data", data={"text/html": fields["value"]})]
    outputs = []
    for child in fields.get("children", []):
        outputs += _static_outputs(state, child.removeprefix("IPY_MODEL_"))
    return outputs


_PLOTLY = "application/vnd.plotly.v1+json"


def _plotly_as_html(output):
    """A plotly figure's JSON output as HTML that loads plotly.js from the site (``plotly.min.js`` beside the
    pages, copied from the plotly package): a page without a kernel, or a network, still draws it."""
    import plotly.io as pio

    data = output.get("data", {})
    if _PLOTLY in data and "text/html" not in data:
        figure = pio.from_json(json.dumps(data[_PLOTLY]))
        # As wide as the page's column, whatever width the figure asked for in the notebook: a fixed width would
        # be cut at the column's edge on a narrow screen.
        figure.update_layout(width=None, autosize=True)
        data["text/html"] = pio.to_html(figure, include_plotlyjs="directory", full_html=False, default_width="100%",
                                        config={"responsive": True})
        del data[_PLOTLY]
    return output


def _once(outputs: list) -> list:
    """A cell's outputs with a repeated figure left out: an explorer's saved widget state can hold the figure of
    its default state more than once (each redraw appends to its output area), while the page should show it once."""
    kept, seen = [], set()
    for output in outputs:
        data = output.get("data", {})
        figure = next((data[key] for key in (_PLOTLY, "image/png", "text/html") if key in data), None)
        key = json.dumps(figure, sort_keys=True) if figure is not None and ("image/png" in data or "PlotlyConfig"
                                                                              in str(figure)[:4000]) else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        kept.append(output)
    return kept


def _without_widgets(nb) -> None:
    """Replace every widget view by its static default state, with a note that the sliders need a kernel."""
    import nbformat

    state = nb.metadata.get("widgets", {}).get(_STATE, {}).get("state", {})
    note = nbformat.v4.new_output("display_data", data={"text/html": (
        "<p><i>An explorer: its default state is shown. The sliders need a running kernel: open this notebook on "
        "Binder or Colab (the links at the top), or run <code>make explorer</code>.</i></p>")})
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if _VIEW in output.get("data", {}):
                outputs += [note, *_static_outputs(state, output["data"][_VIEW]["model_id"])]
            else:
                outputs.append(output)
        if "outputs" in cell:
            cell.outputs = _once([_plotly_as_html(o) for o in outputs])
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # badges are images on other hosts: keep their links, as text, so nothing loads
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)", r"[\1](\2)", cell.source)


def _fingerprint(notebook: Path) -> str:
    """What an executed copy depends on: the notebook, the ``pe_lab`` sources, the committed results, the mode."""
    digest = hashlib.sha256(json.dumps(CLASS_ENV, sort_keys=True).encode())
    files = [notebook, *sorted((ROOT / "pe_lab").rglob("*.py")), *sorted((ROOT / "assets" / "results").rglob("*"))]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _executed(notebook: Path) -> tuple[Path, float]:
    """The notebook executed as a class runs it on a CPU (see the module docstring), in ``runs/executed-class/``;
    a copy whose fingerprint still holds is reused. Returns the copy and the seconds its execution took now (0 when
    reused). A cell that raises fails the build: the book never shows a traceback."""
    import nbformat

    copy, fingerprint = EXECUTED / notebook.name, _fingerprint(notebook)
    if copy.exists():
        earlier = nbformat.read(copy, as_version=4).metadata.get("pe_lab_book", {})
        if earlier.get("fingerprint") == fingerprint:
            return copy, 0.0
    sys.path.insert(0, str(ROOT / "tests"))
    from notebook_client import PollingNotebookClient

    nb = nbformat.read(notebook, as_version=4)
    started = time.monotonic()
    PollingNotebookClient(nb, timeout=1800, kernel_name="python3",
                          resources={"metadata": {"path": str(notebook.parent)}}).execute()
    seconds = time.monotonic() - started
    nb.metadata["pe_lab_book"] = {"fingerprint": fingerprint, "environment": CLASS_ENV, "seconds": round(seconds, 1)}
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, copy)
    return copy, seconds


def build(out: Path, only: list[str] | None = None, jobs: int = 1) -> Path:
    source = ROOT / "runs" / "book-src"
    shutil.rmtree(source, ignore_errors=True)
    (source / "_static").mkdir(parents=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        notebooks = [n for n in notebooks if n.stem[:2] in only]
        if not notebooks:
            raise SystemExit(f"--only {','.join(only)} names no notebook in notebooks/")
    import nbformat

    os.environ.update(CLASS_ENV)  # the kernels inherit it
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each kernel is its own process
        executed = list(pool.map(_executed, notebooks))
    executing = time.monotonic() - started
    for notebook, (copy, seconds) in zip(notebooks, executed, strict=True):
        print(f"{notebook.stem}:", f"executed in {seconds:.0f} s" if seconds else "executed copy reused", flush=True)
        nb = nbformat.read(copy, as_version=4)
        _without_widgets(nb)
        nbformat.write(nb, source / notebook.name)
    for folder in ("assets",):  # figures the notebooks' prose links to
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("*.pt"))
    _mathjax(source / "_static")
    shutil.copy(ROOT / "book" / "pe-lab.css", source / "_static" / "pe-lab.css")
    (source / "conf.py").write_text(CONF)
    toc = "\n".join(n.stem for n in notebooks)
    (source / "index.md").write_text(
        "# pe-lab\n\nAn interactive teaching lab for Packed-Ensembles (Laurent et al., ICLR 2023). Every page below is "
        "a notebook **executed as a class runs it on a CPU**: the committed results of the real runs where the "
        "notebook offers them (its tables and figures say which run, on which machine), and the small live "
        "computations it does itself. The sliders need a kernel: each explorer shows its default "
        "state here; play with it on [Binder](https://mybinder.org/v2/gh/pe-lab/pe-lab/main?urlpath=lab) or "
        "Colab, or run `make explorer` for every explorer in one page.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")
    shutil.rmtree(out, ignore_errors=True)
    started_sphinx = time.monotonic()
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(source), str(out)], check=True)
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", out / "plotly.min.js")
    (out / "book.json").write_text(json.dumps({
        "pages": [n.stem + ".html" for n in notebooks], "mode": "class", "environment": CLASS_ENV,
        "seconds": {"executing": round(executing, 1), "sphinx": round(time.monotonic() - started_sphinx, 1)}},
        indent=1))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "book")
    parser.add_argument("--only", default=None, help="these notebooks only, by number (e.g. 04,08): a partial book")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed at once (each in its own kernel)")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    print(f"built {build(args.out, args.only.split(',') if args.only else None, args.jobs)}")
