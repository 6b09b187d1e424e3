"""Regenerate the cost tables of ``book/cost.md`` (between their markers) from the committed benchmark JSON
(``assets/results/bench-*.json``, written by ``pe-lab bench``): its command, machine, commit and table.

    python scripts/readme_cost.py            # rewrite the sections
    python scripts/readme_cost.py --check    # exit 1 naming each section that is out of date
"""

from __future__ import annotations

import json
from pathlib import Path

from readme_markers import BOOK, ROOT, run, shown_command

SCRIPT = "readme_cost.py"
BENCHES = ("bench-resnet18-cpu", "bench-resnet20-cpu")
def section(name: str) -> str:
    bench = json.loads((ROOT / "assets" / "results" / f"{name}.json").read_text())
    config, prov = bench["config"], bench["provenance"]
    table, _, ratios = bench["table"].partition("\n\n")  # the ratio lines become a list, one ratio a line
    return (f"**{config['model']}**, batch {config['batch']}, {shown_command(prov['command'])}, {prov['hardware']}, "
            f"torch {prov['torch']}, commit `{prov['git_commit'][:12]}` ({prov['date']}); medians of "
            f"{config['repeats']} interleaved repeats (`assets/results/{name}.json`):\n\n{table}\n\n"
            + "\n".join(f"* {line}" for line in ratios.splitlines() if line.strip()))


def sections() -> dict[Path, dict[str, str]]:
    return {BOOK / "cost.md": {f"cost:{name}": section(name) for name in BENCHES}}


if __name__ == "__main__":
    run(sections, SCRIPT, __doc__)
