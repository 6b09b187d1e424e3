"""``pe-lab COMMAND ...`` (also ``python -m pe_lab COMMAND ...``): one entry point for every command line.

Each command is a module of ``pe_lab.cli`` with a ``main(argv)``; it is imported only when called, so
``pe-lab --help`` stays fast and a command's own dependencies are needed only by that command.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["COMMANDS", "console", "main"]

COMMANDS = {
    "experiment": ("experiment", "train Single / DE / PE (or any method), measure, report"),
    "sweep": ("sweep", "the alpha and width sweeps: run grid points, collect them"),
    "shift": ("shift", "evaluate a report's trained runs under corruptions and on far-OOD textures"),
    "bench": ("bench", "measure the cost of the contenders (parameters, FLOPs, memory, time)"),
    "tutorial": ("tutorial", "torch-uncertainty's PE tutorial, exactly as it ran"),
    "solutions": ("solutions", "the instructor pack: fill each notebook's Solutions section"),
    "datapack": ("datapack", "pack the data into one file for a machine that gets only the checkout"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "usage: pe-lab COMMAND [options]   (pe-lab COMMAND --help for its options)\n\ncommands:\n" + "\n".join(lines)


def main(argv: list[str] | None = None):
    """Run the command ``argv[0]`` with the rest of ``argv``; without a known command, print the list (exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"{_usage()}\n\npe-lab: error: unknown command {name!r}", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"{__package__}.{COMMANDS[name][0]}")
    return module.main(rest)


def console() -> int:
    """The ``pe-lab`` executable: ``main`` with the process's arguments; a command's own exit status, else 0 (a
    command returns its report to a Python caller, not a status)."""
    result = main()
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
