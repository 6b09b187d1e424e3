"""Regenerate the committed CIFAR-10 results in the README (the headline table) and in ``book/results.md`` (each
report's table and its reading, between their markers): the tables are ``pe_lab.format_table``'s and the readings
``pe_lab.describe``'s, every comparison a t-test over seeds with its 95 % interval, so no number or verdict is typed.

    python scripts/readme_results.py            # rewrite the sections
    python scripts/readme_results.py --check    # exit 1 naming each section that is out of date
"""

from __future__ import annotations

import json
from pathlib import Path

from readme_markers import BOOK, ROOT, run, shown_command

from pe_lab import describe, format_table, label_for, read_report

SCRIPT = "readme_results.py"
HEADLINE = "cifar10_resnet20"  # the README's one table: ResNet-20 Single / DE / PE over three seeds
TABLES = ("cifar10_resnet20", "quick_preset", "lenet_converged", "rivals_lenet")
READINGS = ("cifar10_resnet20", "lenet_converged", "rivals_lenet")
SHIFT = "lenet_converged-shift"  # the shift evaluation's record (its own validated JSON)


def _made_by(provenance: dict) -> str:
    """The command that made a record, as typed today, and where and when it ran: read, never typed."""
    return (f"{shown_command(provenance['command'])}; {provenance['hardware']}, commit "
            f"`{provenance['git_commit'][:12]}`, {provenance['date'][:10]}")


ENGINES = {"pe-lab-1proc": "pe-lab, 1 process", "lightning-1proc": "Lightning, 1 process",
           "lightning-2proc": "Lightning, 2 processes (DDP, gloo)"}


def engines_table() -> str:
    """The two engines' runs of one recipe side by side, and how far apart they land (read, never typed)."""
    reports = {name: read_report(ROOT / "assets" / "results" / f"engines_lenet-{name}.json") for name in ENGINES}
    lines = ["| Method | Engine | Acc (%) | NLL | ECE | AUROC SVHN (%) | Train s |", "|---|---|---|---|---|---|---|"]
    accuracy: dict[str, dict[str, float]] = {}
    for method in reports["pe-lab-1proc"].methods:
        for name, shown in ENGINES.items():
            run = reports[name].run(method, 0)
            accuracy.setdefault(label_for(run.spec), {})[name] = 100 * run.metrics["accuracy"]
            lines.append(f"| {label_for(run.spec)} | {shown} | {100 * run.metrics['accuracy']:.1f} | "
                         f"{run.metrics['nll']:.3f} | {run.metrics['ece']:.3f} | {100 * run.ood('msp')['auroc']:.1f} | "
                         f"{run.train_seconds:.0f} |")
    spread = {label: max(by.values()) - min(by.values()) for label, by in accuracy.items()}
    processes = {label: abs(by["lightning-1proc"] - by["lightning-2proc"]) for label, by in accuracy.items()}
    widest = max(spread, key=spread.get)
    lines += ["", f"Largest accuracy spread between the three engines: {spread[widest]:.1f} points ({widest}); one and "
              f"two Lightning processes end {min(processes.values()):.1f} to {max(processes.values()):.1f} points "
              "apart. One seed each: no comparison here is a test."]
    return "\n".join(lines)


def sections() -> dict[Path, dict[str, str]]:
    reports = {name: read_report(ROOT / "assets" / "results" / f"{name}.json") for name in TABLES}
    page = {f"table:{name}": format_table(reports[name]) for name in TABLES}
    page |= {f"describe:{name}": describe(reports[name]) for name in READINGS}
    page |= {f"command:{name}": _made_by(reports[name].provenance.to_json()) for name in TABLES}
    shift = json.loads((ROOT / "assets" / "results" / f"{SHIFT}.json").read_text())
    page[f"command:{SHIFT}"] = _made_by(shift["provenance"])
    return {ROOT / "README.md": {f"table:{HEADLINE}": format_table(reports[HEADLINE])},
            BOOK / "results.md": page, BOOK / "command-line.md": {"engines:lenet": engines_table()}}


if __name__ == "__main__":
    run(sections, SCRIPT, __doc__)
