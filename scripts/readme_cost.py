"""Regenerate the cost tables of ``book/cost.md`` (between their markers) from the committed benchmark JSON
(``assets/results/bench-*.json``, written by ``pe-lab bench``): its command, machine, commit and table.

    python scripts/readme_cost.py            # rewrite the sections
    python scripts/readme_cost.py --check    # exit 1 naming each section that is out of date
"""

from __future__ import annotations

import json
import re
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


# The targets the ResNet-18 CPU benchmark was set against: (numerator, denominator, at most / at least, bound).
TARGETS = (("packed", "single", "at most", 1.25), ("deep_loop", "packed", "at least", 3.0))


def reading(name: str = "bench-resnet18-cpu") -> str:
    """What the benchmark shows, each ratio and each target's verdict computed from its JSON."""
    costs = {c["name"]: c for c in json.loads((ROOT / "assets" / "results" / f"{name}.json").read_text())["costs"]}
    pe, single = costs["packed"], costs["single"]

    def step(top: str, bottom: str) -> float:
        return costs[top]["train_step_ms"] / costs[bottom]["train_step_ms"]

    lines = [f"* PE(2,4,1) has the parameters and FLOPs of the Single (ratios {pe['params'] / single['params']:.3f} "
             f"and {pe['flops'] / single['flops']:.3f}); its activations are "
             f"{pe['activation_bytes'] / single['activation_bytes']:.2f} times the Single's (alpha = 2)."]
    for top, bottom, side, bound in TARGETS:
        ratio = step(top, bottom)
        met = ratio <= bound if side == "at most" else ratio >= bound
        who = {"packed": "PE(2,4,1)", "single": "the Single", "deep_loop": "a DE(4) trained member by member"}
        lines.append(f"* The training step of {who[top]} takes **{ratio:.2f}× {who[bottom]}'s** on this 2-core CPU: "
                     f"the target of {side} {bound:g}× is **{'met' if met else 'not met'}**.")
    reference = next((c for n, c in costs.items() if n.startswith("reference")), None)
    if reference is not None:
        lines.append(f"* torch-uncertainty 0.13's packed ResNet-18 of the same configuration, timed in the same "
                     f"interleaved run: parameters {pe['params'] / reference['params']:.3f}× and step time "
                     f"{pe['train_step_ms'] / reference['train_step_ms']:.2f}× (pe-lab / reference).")
    return "\n".join(lines)


def compiled() -> str:
    """Eager against ``torch.compile`` (inductor) on this CPU, from the two committed benchmarks."""
    runs = {mode: json.loads((ROOT / "assets" / "results" / f"bench-resnet20-cpu-b64-{mode}.json").read_text())
            for mode in ("inductor", "eager")}
    step = {mode: {c["name"]: c["train_step_ms"] for c in run["costs"]} for mode, run in runs.items()}
    config = runs["inductor"]["config"]
    return (f"{config['model']}, batch {config['batch']}, Single / PE(2,4,1) train step "
            f"{step['inductor']['single']:.0f} / {step['inductor']['packed']:.0f} ms compiled against "
            f"{step['eager']['single']:.0f} / {step['eager']['packed']:.0f} ms eager, after {config['warmup']} warm-up "
            f"steps, {config['repeats']} interleaved repeats (`assets/results/bench-resnet20-cpu-b64-{{inductor,eager}}"
            ".json`).")


_LAYOUTS = {(False, False): "oneDNN off, NCHW", (True, False): "oneDNN on (default), NCHW",
            (True, True): "oneDNN on, channels_last (pe-lab's default)"}


def layout_trials() -> str:
    """The CPU layout trials as a table, read from the lines ``cpu_layout_trials.py`` wrote."""
    found = {}
    for line in (ROOT / "assets" / "results" / "cpu_layout_trials.txt").read_text().splitlines():
        match = re.match(r"(resnet\d+) mkldnn=(\w+) channels_last=(\w+): single (\d+) ms, PE (\d+) ms", line)
        if match:
            model, mkldnn, last, single, packed = match.groups()
            found[(model, mkldnn == "True", last == "True")] = (int(single), int(packed))
    lines = ["| change | ResNet-18 Single / PE step (ms) | PE/Single | ResNet-20 Single / PE step (ms) | PE/Single |",
             "|---|---|---|---|---|"]
    for (mkldnn, last), name in _LAYOUTS.items():
        cells = [name]
        for model in ("resnet18", "resnet20"):
            single, packed = found[(model, mkldnn, last)]
            cells += [f"{single} / {packed}", f"{packed / single:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sections() -> dict[Path, dict[str, str]]:
    return {BOOK / "cost.md": {**{f"cost:{name}": section(name) for name in BENCHES}, "cost:reading": reading(),
                               "cost:compile": compiled(), "cost:layouts": layout_trials()}}


if __name__ == "__main__":
    run(sections, SCRIPT, __doc__)
