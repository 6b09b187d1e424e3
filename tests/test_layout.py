"""The package's layering, drawn from the imports: every module imports only from its own floor or below, no
import circle (lazy imports inside functions count), no private name crosses a module, no function over 60 lines,
and the top level (``pe_lab.__init__``) names each public name's one home. Each rule's checker is tested on the
classic wrong layouts too, so a checker that can never fail would be caught."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pe_lab

PACKAGE = Path(pe_lab.__file__).parent
# floor of each top-level part of pe_lab; the top level (``__init__``) above all
FLOORS = {"version": 0, "config": 0, "runtime": 0, "validate": 0, "files": 0, "nn": 1, "data": 2, "methods": 3,
          "evaluation": 4, "training": 5, "results": 6, "experiments": 7, "teaching": 8, "cli": 9, "__main__": 9,
          "__init__": 10}
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 420  # a module past ~400 lines is probably two concepts: split it along the concept


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(("pe_lab", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("pe_lab", *parts))


def sources(root: Path = PACKAGE) -> dict[str, str]:
    return {module_name(p, root): p.read_text() for p in sorted(root.rglob("*.py"))}


def imports_of(name: str, source: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """Every pe_lab module ``name`` imports (module level or inside a function), with the names taken from it."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "pe_lab" or target.startswith("pe_lab."):
                found.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("pe_lab")]
    return found


# the solution files: notebook code, read as text by ``fill``; they import as a notebook does, from ``pe_lab``
NOTEBOOK_CODE = "pe_lab.teaching.solutions.notebook_"


def floor(module: str) -> int:
    parts = module.split(".")
    if module.startswith(NOTEBOOK_CODE):
        return FLOORS["__init__"] + 1
    return FLOORS["__init__"] if len(parts) == 1 else FLOORS[parts[1]]


def upward_imports(modules: dict[str, str]) -> list[str]:
    packages = {m for m, s in modules.items() if m.count(".") == 0 or _is_package(m, modules)}
    bad = []
    for name, source in modules.items():
        for target, names in imports_of(name, source, name in packages):
            targets = [f"{target}.{n}" if f"{target}.{n}" in modules else target for n in names] or [target]
            bad += [f"{name} (floor {floor(name)}) imports {t} (floor {floor(t)})"
                    for t in targets if floor(t) > floor(name)]
    return bad


def _is_package(name: str, modules: dict[str, str]) -> bool:
    return any(other.startswith(name + ".") for other in modules)


def import_circles(modules: dict[str, str]) -> list[list[str]]:
    """The cycles of the module graph (an import of a package counts as an import of its ``__init__``)."""
    graph = {}
    for name, source in modules.items():
        edges = set()
        for target, names in imports_of(name, source, _is_package(name, modules)):
            for n in names or [None]:
                child = f"{target}.{n}" if n and f"{target}.{n}" in modules else target
                if child in modules and child != name:
                    edges.add(child)
        graph[name] = edges
    circles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for child in sorted(graph[node]):
            if state.get(child) == "open":
                circles.append([*path[path.index(child):], child])
            elif child not in state:
                visit(child, [*path, child])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return circles


def private_imports(modules: dict[str, str]) -> list[str]:
    return [f"{name} imports {n} from {target}" for name, source in modules.items()
            for target, names in imports_of(name, source, _is_package(name, modules))
            for n in names if n.startswith("_") and not n.startswith("__")]


def long_functions(modules: dict[str, str], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    return [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines" for name, source in modules.items()
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit]


# ---------------------------------------------------------------------------------------------- the layering


def test_every_module_imports_only_from_its_floor_or_below():
    assert upward_imports(sources()) == []


def test_there_is_no_import_circle():
    assert import_circles(sources()) == []


def test_no_private_name_crosses_a_module():
    assert private_imports(sources()) == []
    tests = {f"tests.{p.stem}": p.read_text() for p in Path(__file__).parent.rglob("test_*.py")}
    assert private_imports(tests) == []


def long_modules(modules: dict[str, str], limit: int = MAX_MODULE_LINES) -> list[str]:
    return [f"{name}: {source.count(chr(10))} lines" for name, source in modules.items() if source.count("\n") > limit]


def test_no_module_is_over_about_four_hundred_lines():
    assert long_modules(_package(small="x = 1\n", big="x = 1\n" * 500)) == ["pe_lab.big: 500 lines"]
    assert long_modules(sources()) == []


def test_no_function_is_over_sixty_lines():
    assert long_functions(sources()) == []


def test_the_top_level_names_each_public_name_once_and_at_its_home():
    homes = {}
    for name in pe_lab.__all__:
        if name == "__version__":  # the top level's own name
            continue
        value = getattr(pe_lab, name)
        module = getattr(value, "__module__", None)
        if module is not None and callable(value):
            assert module.startswith("pe_lab."), (name, module)
            homes[name] = module
    assert homes["fit"] == "pe_lab.training.loop" and homes["pack"] == "pe_lab.methods.packed"
    with pytest.raises(AttributeError, match="no attribute 'train'"):
        pe_lab.train  # noqa: B018  (an old module name is not a top-level name)


def test_every_command_is_one_module_of_cli_reached_by_the_one_entry_point():
    from pe_lab.cli.main import COMMANDS

    for name, (module, _) in COMMANDS.items():
        assert callable(importlib.import_module(f"pe_lab.cli.{module}").main), name
    shims = [p.stem for p in PACKAGE.glob("*.py") if p.stem in COMMANDS]
    assert not shims, f"forwarding modules at the top level: {shims}"


# ------------------------------------------------------------------------------- the checkers' wrong answers


def _package(**files: str) -> dict[str, str]:
    return {f"pe_lab.{name}": text for name, text in files.items()}


def test_the_floor_checker_catches_an_upward_import_even_a_lazy_one():
    lazy = _package(**{"nn.models": "def f():\n    from ..methods.registry import build\n",
                     "methods.registry": "from ..nn.models import f\n"})
    assert upward_imports(lazy) == ["pe_lab.nn.models (floor 1) imports pe_lab.methods.registry (floor 3)"]
    assert upward_imports(_package(**{"nn.models": "x = 1\n", "methods.registry": "from ..nn.models import x\n"})) == []


def test_the_circle_checker_finds_a_circle_within_a_floor_and_none_in_a_chain():
    circle = _package(**{"cli.experiment": "from .shift import main\n", "cli.shift": "from .experiment import x\n"})
    assert import_circles(circle) == [["pe_lab.cli.experiment", "pe_lab.cli.shift", "pe_lab.cli.experiment"]]
    chain = _package(**{"cli.experiment": "from .shift import main\n", "cli.shift": "from ..config import x\n",
                      "config": "import os\n"})
    assert import_circles(chain) == []


def test_the_private_name_checker_and_the_length_checker_catch_their_cases():
    assert private_imports(_package(**{"cli.bench": "from ..cli.experiment import _atomic_json\n"})) == [
        "pe_lab.cli.bench imports _atomic_json from pe_lab.cli.experiment"]
    assert private_imports(_package(**{"cli.bench": "from .. import __version__\n"})) == []
    body = "def f():\n" + "    x = 1\n" * 60
    assert long_functions(_package(config=body)) == ["pe_lab.config.f: 61 lines"]
    assert long_functions(_package(config="def f():\n" + "    x = 1\n" * 59)) == []
