"""Regenerate the shift tables and the H100 tables of ``book/results.md`` (between their markers) from their
committed JSON: the shift evaluations of the 20-epoch LeNets (``lenet_converged-shift*.json``) and the first CUDA run
(``gpu-h100-2026-11-27/``), so that no number on the page is copied by hand.

    python scripts/readme_shift_gpu.py            # rewrite the sections
    python scripts/readme_shift_gpu.py --check    # exit 1 naming each section that is out of date
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from readme_markers import BOOK, ROOT, run

from pe_lab import compare, format_table, label_for, read_report

SCRIPT = "readme_shift_gpu.py"
RESULTS = ROOT / "assets" / "results"
SHIFT_SEEDS = {0: "lenet_converged-shift", 1: "lenet_converged-shift-seed1", 2: "lenet_converged-shift-seed2"}
H100 = RESULTS / "gpu-h100-2026-11-27"
ORDER = ("single", "packed", "deep")


def _shift(seed: int) -> dict:
    return json.loads((RESULTS / f"{SHIFT_SEEDS[seed]}.json").read_text())["results"]


def _label(result: dict) -> str:
    return label_for(result["spec"])


def _at_severity(result: dict, metric: str, severity: int) -> float:
    """The mean of ``metric`` over every corruption at ``severity`` (0: the clean images)."""
    return statistics.fmean(levels[str(severity)][metric] for levels in result["shift"].values())


def _auroc(result: dict, data: str, criterion: str) -> float | None:
    scores = result["far_ood"].get(data, {}).get(criterion)
    return None if scores is None else 100 * scores["auroc"]


def _cells(result: dict) -> dict[str, float | None]:
    return {"clean acc": 100 * _at_severity(result, "accuracy", 0),
            "mean acc, severity 5": 100 * _at_severity(result, "accuracy", 5),
            "mean ECE, severity 5": _at_severity(result, "ece", 5),
            "textures AUROC (msp)": _auroc(result, "textures", "msp"),
            "textures AUROC (MI)": _auroc(result, "textures", "mutual_information"),
            "SVHN AUROC (MI)": _auroc(result, "svhn", "mutual_information")}


def _shown(value: float | None, column: str, spread: float | None = None) -> str:
    if value is None:
        return "n/a"
    digits = 3 if "ECE" in column else 1
    return f"{value:.{digits}f}" + ("" if spread is None else f" ± {spread:.{digits}f}")


def shift_tables() -> str:
    seed0 = _shift(0)
    columns = list(_cells(seed0["single"]))
    lines = ["| LeNet, seed 0 | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {_label(seed0[m])} | " + " | ".join(_shown(v, c) for c, v in _cells(seed0[m]).items()) + " |"
              for m in ORDER]
    per_seed = [_shift(seed) for seed in SHIFT_SEEDS]
    wide = columns[1:5]
    lines += ["", f"The same for all {len(per_seed)} seeds (`lenet_converged-shift-seed{{1,2}}.json`), mean ± std:", "",
              "| LeNet, 3 seeds | " + " | ".join(wide) + " |", "|---" * (len(wide) + 1) + "|"]
    for method in ORDER:
        cells = [_cells(results[method]) for results in per_seed]
        shown = []
        for column in wide:
            values = [c[column] for c in cells]
            spread = None if None in values else statistics.stdev(values)
            shown.append("n/a" if None in values else _shown(statistics.fmean(values), column, spread))
        lines.append(f"| {_label(seed0[method])} | " + " | ".join(shown) + " |")
    ece = {m: ", ".join(f"{_at_severity(seed0[m], 'ece', s):.3f}" for s in range(6)) for m in ORDER}
    lines += ["", "Mean ECE over the corruptions at severity 0 (clean) to 5, seed 0: " +
              "; ".join(f"{_label(seed0[m])} {ece[m]}" for m in ORDER) + ".", "",
              f"At severity 5, over the {len(per_seed)} seeds (paired by seed, as the report's table pairs them; "
              "`pe_lab.compare`, 95 % intervals, \"better\" only when the interval excludes zero):", ""]
    for column, scale, unit, higher in (("mean acc, severity 5", 1.0, " points", True),
                                        ("mean ECE, severity 5", 1.0, "", False)):
        for first, second in (("deep", "packed"), ("packed", "single"), ("deep", "single")):
            verdict = compare([_cells(results[first])[column] for results in per_seed],
                              [_cells(results[second])[column] for results in per_seed], paired=True)
            lines.append(f"* {column}: " + verdict.sentence(_label(seed0[first]), _label(seed0[second]),
                                                         higher_is_better=higher, scale=scale,
                                                         digits=1 if higher else 3, unit=unit))
    for method in ("packed", "deep"):
        verdict = compare([_cells(results[method])["textures AUROC (MI)"] for results in per_seed],
                          [_cells(results[method])["textures AUROC (msp)"] for results in per_seed], paired=True)
        lines.append(f"* textures AUROC, {_label(seed0[method])}: " + verdict.sentence(
            "mutual information", "the maximum softmax probability", digits=1, unit=" points"))
    return "\n".join(lines)


def _bench(name: str) -> dict[str, float]:
    costs = json.loads((H100 / f"bench-resnet18-{name}.json").read_text())["costs"]
    return {cost["name"]: cost["train_step_ms"] for cost in costs}


def h100_bench_table() -> str:
    runs = {(batch, tuned): _bench(f"b{batch}" + ("-cudnnbench" if tuned else "")) for batch in (128, 512)
            for tuned in (False, True)}
    rows = [("PE / Single, cudnn.benchmark off", False, "packed", "single"),
            ("PE / Single, cudnn.benchmark on (pe-lab's CUDA default since)", True, "packed", "single"),
            ("DE(4) loop / PE, cudnn.benchmark on", True, "deep_loop", "packed")]
    lines = ["| ResNet-18, PE(2,4,1), train step | batch 128 | batch 512 |", "|---|---|---|"]
    for title, tuned, top, bottom in rows:
        lines.append(f"| {title} | " + " | ".join(f"{runs[(b, tuned)][top] / runs[(b, tuned)][bottom]:.2f}×"
                                                  for b in (128, 512)) + " |")
    return "\n".join(lines)


def sections() -> dict[Path, dict[str, str]]:
    return {BOOK / "results.md": {
        "shift:lenet_converged": shift_tables(),
        "h100:bench": h100_bench_table(),
        "h100:experiment": format_table(read_report(H100 / "experiment-resnet18-b128-e10.json"))}}


if __name__ == "__main__":
    run(sections, SCRIPT, __doc__)
