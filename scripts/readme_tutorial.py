"""Regenerate the tutorial section of ``book/results.md`` (between its two markers) from the committed tutorial
reports: the tables and the comparisons are the functions notebook 07 calls, so the page carries no typed number.

    python scripts/readme_tutorial.py            # rewrite the section
    python scripts/readme_tutorial.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import math
from pathlib import Path

from readme_markers import BOOK, run, shown_command

from pe_lab.results.tutorial import compare_networks, load_tutorial, runs_by_network, tutorial_table

SCRIPT = "readme_tutorial.py"


def _first_losses(report: dict) -> str:
    parts = []
    for network, runs in runs_by_network(report).items():
        losses = [run["losses"][0]["loss"] for run in runs.values() if run["losses"]]
        if losses:
            parts.append(f"{network} {sum(losses) / len(losses):.3f}")
    return "; ".join(parts)


def section() -> str:
    seed, _ = load_tutorial("2024-02")
    today, _ = load_tutorial("2025-03")
    return "\n".join([
        f"**The seed's tutorial** ({seed['recipe']['source']}), its PE built from torch-uncertainty "
        f"{seed['provenance'].get('torch_uncertainty', '')} layers with the tutorial's head (each member outputs "
        "10 x M = 40 logits, 30 of them for classes that never occur) beside the same network with one logit per "
        f"class, same recipe and seeds: {shown_command(seed['provenance']['command'])}", "",
        tutorial_table(seed), "",
        f"First printed running loss (mean over the first 2,000 mini-batches, averaged over seeds; ln 10 = "
        f"{math.log(10):.3f}, ln 40 = {math.log(40):.3f}): {_first_losses(seed)}. The 40-logit head against one "
        "logit per class, paired by seed (95 % intervals; \"better\" only when the interval excludes zero):", "",
        compare_networks(seed, "packed-seed-head", "packed-class-head"), "",
        f"**Today's tutorial** ({today['recipe']['source']}), the same network and head, with the tutorial's Net "
        f"and a DE(4) of Nets trained by the same loop: {shown_command(today['provenance']['command'])}", "",
        tutorial_table(today), "",
        "The tutorial's PE against the Single and the DE(4), paired by seed:", "",
        compare_networks(today, "packed-seed-head", "single"),
        compare_networks(today, "packed-seed-head", "deep"), "",
        f"JPEG CIFAR-10 ({seed['provenance']['data']['train']['count']:,} training and "
        f"{seed['provenance']['data']['test']['count']:,} test images), SVHN test as OOD; "
        f"{seed['provenance']['hardware']}; torch {seed['provenance']['torch']}; {seed['provenance']['date'][:10]}."])


def sections() -> dict[Path, dict[str, str]]:
    return {BOOK / "results.md": {"tutorial": section()}}


if __name__ == "__main__":
    run(sections, SCRIPT, __doc__)
