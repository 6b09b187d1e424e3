"""`make book`: a static HTML site of every notebook, executed, that needs no network at view time.

The notebooks are the copies the test suite executed in quick mode (`runs/executed/`, written by
`tests/test_notebooks.py`), so CI executes them once; a notebook without an executed copy is executed here the
same way. Sphinx + myst-nb + sphinx-book-theme build the pages; MathJax is served from the site itself (the npm
package `mathjax@3`, fetched once into `runs/`), and plotly figures carry their own plotly.js.

    python scripts/build_book.py [--out runs/book]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATHJAX = "mathjax@3.2.2"

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
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]
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
        data["text/html"] = pio.to_html(figure, include_plotlyjs="directory", full_html=False)
        del data[_PLOTLY]
    return output


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
            cell.outputs = [_plotly_as_html(o) for o in outputs]
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # badges are images on other hosts: keep their links, as text, so nothing loads
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)", r"[\1](\2)", cell.source)


def _executed(notebook: Path, executed: Path) -> Path:
    copy = executed / notebook.name
    if copy.exists() and copy.stat().st_mtime >= notebook.stat().st_mtime:
        return copy
    sys.path.insert(0, str(ROOT / "tests"))
    import nbformat
    from notebook_client import PollingNotebookClient

    nb = nbformat.read(notebook, as_version=4)
    PollingNotebookClient(nb, timeout=1800, kernel_name="python3",
                          resources={"metadata": {"path": str(notebook.parent)}}).execute()
    executed.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, copy)
    return copy


def build(out: Path) -> Path:
    source = ROOT / "runs" / "book-src"
    shutil.rmtree(source, ignore_errors=True)
    (source / "_static").mkdir(parents=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    import nbformat

    for notebook in notebooks:
        nb = nbformat.read(_executed(notebook, ROOT / "runs" / "executed"), as_version=4)
        _without_widgets(nb)
        nbformat.write(nb, source / notebook.name)
    for folder in ("assets",):  # figures the notebooks' prose links to
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("*.pt"))
    _mathjax(source / "_static")
    (source / "conf.py").write_text(CONF)
    toc = "\n".join(n.stem for n in notebooks)
    (source / "index.md").write_text(
        "# pe-lab\n\nAn interactive teaching lab for Packed-Ensembles (Laurent et al., ICLR 2023). Every page below is "
        "a notebook **executed in quick mode** by the test suite (small data, few epochs where it trains; the "
        "committed real results where it loads them). The sliders need a kernel: each explorer shows its default "
        "state here; play with it on [Binder](https://mybinder.org/v2/gh/pe-lab/pe-lab/main?urlpath=lab) or "
        "Colab, or run `make explorer` for every explorer in one page.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(source), str(out)], check=True)
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", out / "plotly.min.js")
    (out / "book.json").write_text(json.dumps({"pages": [n.stem + ".html" for n in notebooks]}, indent=1))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "book")
    print(f"built {build(parser.parse_args().out)}")
