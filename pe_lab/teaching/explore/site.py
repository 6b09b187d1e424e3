"""The static explorer site (``make site``): every tab of the lab drawn at build time over its site grid, and a
page that swaps the drawings as its controls move, with the state in the link and no kernel, no network.

Each state of each tab is drawn by the same ``draw`` the kernel explorer calls: a matplotlib figure is saved as a
WebP image, a plotly figure as its JSON (drawn in the page by the site's own ``plotly.min.js``, copied from the
plotly package), the summary as its HTML. Data files are scripts (``PeSite.tabLoaded(...)``), so the page also
works opened from a folder (``file://``). A tab's drawings are cached under ``runs/site-cache/`` by a hash of
pe_lab's sources, the committed results and the tab's grid; the toy's trained models by a hash of each state and
the sources that train them, so a rebuild after an unrelated change trains nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

from .lab import DEFAULT_TAB, TITLES, lab_definitions
from .state import Definition, fragment, state_key, token

ASSETS = Path(__file__).resolve().parent.parent / "site_assets"
SITE_TITLES = {**TITLES, "toy": "Toy world"}
IMAGE_DPI = 90


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
    return h.hexdigest()[:20]


def _tree_digest(folder: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def thin(definition: Definition) -> Definition:
    """The definition with each control's site grid cut to its default and the next value: every control still
    moves, at a small fraction of the states (a quick build for tests)."""
    controls = {}
    for name, control in definition.controls.items():
        values = list(control.site_values())
        at = values.index(control.default)
        kept = tuple(values[at:at + 2]) if at + 1 < len(values) else tuple(values[max(at - 1, 0):at + 1])
        controls[name] = dataclasses.replace(control, site=kept)
    return dataclasses.replace(definition, controls=controls)


def control_manifest(definition: Definition) -> list[dict]:
    """What the page needs of each control: its kind, label, the values on the site grid as tokens and labels,
    the options of a choice of several, and the default's token."""
    shown = []
    for control in definition.controls.values():
        entry = {"name": control.name, "label": control.label, "kind": control.kind,
                 "values": [{"token": token(v), "label": control.label_of(v)} for v in control.site_values()],
                 "default": token(control.default)}
        if control.kind == "choices":
            entry["options"] = [{"token": token(v), "label": control.label_of_option(v)} for v in control.values()]
        shown.append(entry)
    return shown


def _save_figure(figure, folder: Path) -> dict:
    """Write one figure into ``folder`` by its content's hash; the page's description of it."""
    import matplotlib.pyplot as plt

    if isinstance(figure, plt.Figure):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="webp", dpi=IMAGE_DPI, pil_kwargs={"quality": 82})
        plt.close(figure)
        data, kind, suffix = buffer.getvalue(), "image", "webp"
    else:
        data, kind, suffix = figure.to_json().encode(), "plotly", "js"
    name = f"{_digest(data)}.{suffix}"
    if kind == "plotly":
        data = f'PeSite.figureLoaded("{name}", {data.decode()});\n'.encode()
    (folder / name).write_bytes(data)
    return {"type": kind, "src": f"fig/{name}"}


def draw_tab(name: str, definition: Definition, folder: Path) -> dict:
    """Draw every site state of one tab into ``folder`` (figures in ``folder/fig``); returns the tab's data."""
    (folder / "fig").mkdir(parents=True, exist_ok=True)
    states = {}
    for state in definition.site_states():
        drawn = definition.draw(**state)
        states[state_key(definition.controls, state)] = {
            "summary": drawn.summary, "figures": [_save_figure(f, folder / "fig") for f in drawn.figures]}
    return {"name": name, "states": states}


def _cached_tab(name: str, definition: Definition, cache: Path, inputs: str) -> Path:
    """The folder holding the tab's drawings, drawn now unless the cache holds them for these inputs."""
    key = _digest(name, inputs, json.dumps(control_manifest(definition)), IMAGE_DPI)
    folder = cache / f"{name}-{key}"
    if not (folder / "tab.json").exists():
        partial = cache / f"{name}-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        data = draw_tab(name, definition, partial)
        (partial / "tab.json").write_text(json.dumps(data))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder


def _toy_inputs_digest() -> str:
    import torch

    package = Path(__file__).resolve().parent.parent.parent
    sources = [package / "teaching" / "toy.py", *sorted((package / "nn").glob("*.py")),
               *sorted((package / "evaluation").glob("*.py")), package / "validate.py"]
    return _digest(torch.__version__, *(p.read_bytes() for p in sources if p.exists()))


def _toy_cache_path(cache: Path, params: dict) -> Path:
    return cache / "toy-models" / f"{_digest(_toy_inputs_digest(), json.dumps(params, sort_keys=True))}.pt"


def _train_toy_state(cache: Path, params: dict) -> None:
    import torch

    from ..toy import toy_compare

    torch.set_num_threads(1)
    try:
        _save_atomically(toy_compare(**params), _toy_cache_path(cache, params))
    except ValueError:
        pass  # a rule of the packed layers: draw() says it when the tab is drawn


def _save_atomically(result: dict, path: Path) -> None:
    """Write then rename: a build stopped halfway leaves no half-written model behind."""
    import torch

    partial = path.with_suffix(f".{os.getpid()}.partial")
    torch.save(result, partial)
    partial.rename(path)


def cached_toy_compare(cache: Path):
    """``toy_compare`` that keeps each state's result under ``cache/toy-models``."""
    import torch

    from ..toy import toy_compare

    def compare(**params):
        path = _toy_cache_path(cache, params)
        if path.exists():
            return torch.load(path, weights_only=False)
        result = toy_compare(**params)
        _save_atomically(result, path)
        return result

    return compare


def train_toy_grid(definition: Definition, cache: Path, jobs: int, grid_steps: int) -> int:
    """Train the toy's site states the cache lacks, ``jobs`` at a time; returns how many were trained."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    (cache / "toy-models").mkdir(parents=True, exist_ok=True)
    todo = [dict(state, grid_steps=grid_steps) for state in definition.site_states()]
    todo = [p for p in todo if not _toy_cache_path(cache, p).exists()]
    if todo:
        with ProcessPoolExecutor(max(1, jobs), mp_context=get_context("spawn")) as pool:
            list(pool.map(_train_toy_state, [cache] * len(todo), todo))
    return len(todo)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_site(out: Path, *, cache: Path, quick: bool = False, jobs: int = 2, log=print) -> dict:
    """Build the site into ``out`` (replaced); returns its summary (tabs, states, bytes), also in ``site.json``."""
    import matplotlib

    matplotlib.use("Agg")
    from ...config import assets_dir

    package = Path(__file__).resolve().parent.parent.parent
    inputs = _digest(_tree_digest(package, "*.py"), _tree_digest(assets_dir() / "results", "*"), quick)
    epochs, grid_steps = (100, 30) if quick else (300, 70)
    cache.mkdir(parents=True, exist_ok=True)
    definitions = lab_definitions(toy_epochs=epochs, toy_grid_steps=grid_steps, toy_compare=cached_toy_compare(cache))
    if quick:
        definitions = {name: thin(d) for name, d in definitions.items()}
    started = time.time()
    log(f"toy world: {train_toy_grid(definitions['toy'], cache, jobs, grid_steps)} states trained")
    shutil.rmtree(out, ignore_errors=True)
    (out / "data").mkdir(parents=True)
    tabs = []
    for name, definition in definitions.items():
        folder = _cached_tab(name, definition, cache, inputs)
        shutil.copytree(folder / "fig", out / "data" / name / "fig")
        data = json.loads((folder / "tab.json").read_text())
        (out / "data" / f"{name}.js").write_text(f"PeSite.tabLoaded({json.dumps(name)}, {json.dumps(data)});\n")
        tabs.append({"name": name, "title": SITE_TITLES[name], "note": definition.note,
                     "controls": control_manifest(definition), "states": len(data["states"]),
                     "default": fragment(name, definition.controls, definition.default_state()),
                     "bytes": _folder_bytes(out / "data" / name) + (out / "data" / f"{name}.js").stat().st_size})
        log(f"{name}: {len(data['states'])} states, {tabs[-1]['bytes'] / 1e6:.1f} MB ({time.time() - started:.0f} s)")
    for asset in ("index.html", "site.js", "site.css"):
        shutil.copy(ASSETS / asset, out / asset)
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", out / "plotly.min.js")
    manifest = {"tabs": tabs, "default_tab": DEFAULT_TAB, "quick": quick, "toy_epochs": epochs,
                "built": time.strftime("%Y-%m-%d", time.gmtime()), "bytes": _folder_bytes(out)}
    (out / "data" / "site.js").write_text(f"PeSite.start({json.dumps(manifest)});\n")
    (out / "site.json").write_text(json.dumps(manifest, indent=1))
    return manifest

