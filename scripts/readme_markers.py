"""Generated sections of the README and the book's pages (``book/*.md``): each lies between two markers,

    <!-- NAME:begin (python scripts/SCRIPT.py) -->
    ...generated Markdown...
    <!-- NAME:end -->

and is rewritten from the committed results by the script the begin marker names. ``--check`` rewrites nothing
and exits 1 naming every section whose text differs from what its script generates now (the tests run it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def shown_command(recorded: str) -> str:
    """A recorded command in Markdown as a student types it today, with what was recorded beside it if that
    differs (a run made before the one entry point ``pe-lab COMMAND``)."""
    from pe_lab.results.provenance import todays_command

    today = todays_command(recorded)
    return f"`{today}`" + ("" if today == recorded else f" (recorded as `{recorded}`)")


def markers(name: str, script: str) -> tuple[str, str]:
    """The begin and end markers of the section ``name`` written by ``scripts/<script>``."""
    return f"<!-- {name}:begin (python scripts/{script}) -->", f"<!-- {name}:end -->"


def replaced(text: str, name: str, script: str, body: str, where: Path) -> str:
    """``text`` with the section ``name`` holding ``body``; ``ValueError`` names the file when a marker is gone."""
    begin, end = markers(name, script)
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"{where} must hold the markers {begin} and {end} once each")
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + begin + "\n" + body.strip("\n") + "\n" + end + text[stop:]


def stale_sections(sections: dict[Path, dict[str, str]], script: str) -> list[str]:
    """``"<file>: <name>"`` for each section whose committed text is not what ``sections`` holds now."""
    stale = []
    for path, bodies in sections.items():
        text = path.read_text()
        for name, body in bodies.items():
            if replaced(text, name, script, body, path) != text:
                stale.append(f"{_shown(path)}: {name}")
    return stale


def write_sections(sections: dict[Path, dict[str, str]], script: str) -> None:
    """Rewrite every section; each file's new text is made before any file is written (a missing marker in the
    last file leaves the first untouched)."""
    texts = {}
    for path, bodies in sections.items():
        texts[path] = path.read_text()
        for name, body in bodies.items():
            texts[path] = replaced(texts[path], name, script, body, path)
    for path, text in texts.items():
        path.write_text(text)
        print(f"rewrote {', '.join(sections[path])} in {_shown(path)}")


def run(generate: Callable[[], dict[Path, dict[str, str]]], script: str, doc: str,
        extra: Callable[[argparse.Namespace], None] | None = None, options: Callable | None = None) -> None:
    """A generator script's command line: rewrite its sections, or with ``--check`` list the stale ones."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="rewrite nothing; exit 1 naming each section that differs from what it generates now")
    if options is not None:
        options(parser)
    args = parser.parse_args()
    sections = generate()
    if args.check:
        stale = stale_sections(sections, script)
        if stale:
            raise SystemExit(f"out of date (run python scripts/{script}):\n  " + "\n  ".join(stale))
        print(f"every section of scripts/{script} agrees with the committed results")
        return
    write_sections(sections, script)
    if extra is not None:
        extra(args)
