"""Reports: what the command lines write and the notebooks read.

A report is the JSON ``python -m pe_lab.experiment`` writes (provenance, config, runs, summary); beside it the
first seed's member probabilities (``-predictions-<method>-seed<s>.pt``) and a few test images (``-samples.pt``).
Here are its readers and writers, the table and the generated prose, with no command line in sight: notebooks
use these (through ``pe_lab``'s face) and never import a CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
from pathlib import Path

import torch

from ..config import assets_dir, atomic_save
from ..methods.registry import get_method, label_for

__all__ = ["COLUMNS", "ReportError", "RunLocked", "checkpoint_path", "describe", "format_table", "load_committed",
           "load_committed_samples", "load_predictions", "load_results", "pick_sample_images", "read_report",
           "report_lock", "save_predictions", "save_sample_images", "summarise", "collapsed_runs", "describe_sweeps",
           "load_sweep", "load_sweep_predictions", "sweep_table", "verdict"]


class ReportError(ValueError):
    """A report (``--out``, a committed result) that cannot be read, or that holds runs of other settings."""


class RunLocked(RuntimeError):
    """Another run is writing the same ``--out`` right now."""


def read_report(path: Path) -> dict:
    """A JSON report written by this CLI; ``ValueError`` naming the file if it is not one."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"report {path} cannot be read as JSON ({error}); restore it, or pass --restart "
                         "(or another --out) to write a new one") from error
    if not isinstance(report, dict) or not {"provenance", "runs"} <= set(report):
        raise ReportError(f"{path} is not a pe-lab experiment report (no provenance/runs)")
    return report


def save_predictions(path: Path, member_probs: torch.Tensor, labels: torch.Tensor, ood_probs: torch.Tensor | None,
                     classes: tuple[str, ...]) -> None:
    """Store member probabilities (float16) so that notebooks can plot real results without training."""
    atomic_save({"test": member_probs.half(), "test_labels": labels.cpu(),
                 "ood": ood_probs.half() if ood_probs is not None else None, "classes": list(classes)}, path)


def _load_stored(path: Path, what: str, keys: tuple[str, ...]) -> dict:
    """A dict of tensors written by this module, loaded with ``weights_only=True``; ``ReportError`` names the
    file when it is unreadable or lacks one of ``keys``."""
    try:
        stored = torch.load(path, weights_only=True)
    except Exception as error:  # truncated or not a torch file
        raise ReportError(f"stored {what} {path} cannot be read ({type(error).__name__}); restore the file "
                          "(git checkout) or rerun the experiment with --save-predictions") from error
    if not isinstance(stored, dict) or any(stored.get(key) is None for key in keys):
        raise ReportError(f"{path} is not a pe-lab {what} file (needs {', '.join(keys)})")
    return stored


def load_predictions(path: Path) -> dict:
    """Inverse of ``save_predictions`` (``weights_only=True``); probabilities come back as float32."""
    stored = _load_stored(path, "predictions", ("test", "test_labels", "classes"))
    stored["test"] = stored["test"].float()
    if stored.get("ood") is not None:
        stored["ood"] = stored["ood"].float()
    return stored


def pick_sample_images(member_probs: torch.Tensor, count: int = 8, seed: int = 0) -> torch.Tensor:
    """Indices of ``count`` test images for a prediction grid, by a seeded random pick: half on which the
    members disagree (their arg-max differs), half on which they agree. ``member_probs`` ``(N, M, K)``."""
    order = torch.randperm(member_probs.shape[0], generator=torch.Generator().manual_seed(seed))
    votes = member_probs[order].argmax(-1)
    disagree = order[(votes != votes[:, :1]).any(1)]
    agree = order[(votes == votes[:, :1]).all(1)]
    half = count // 2
    chosen = torch.cat([disagree[:half], agree[:count - min(half, len(disagree))]])
    return chosen[:count]


def save_sample_images(path: Path, images: torch.Tensor, index: torch.Tensor) -> None:
    """Store the few test images a notebook draws (uint8), so that it need not read the whole test set."""
    atomic_save({"index": index.cpu(), "images": images[index.to(images.device)].cpu()}, path)


def load_committed_samples(name: str = "cifar10_resnet20", which: str = "samples") -> dict | None:
    """Test images stored beside committed predictions (``index``, ``images`` uint8), or None:
    ``which="samples"`` the grid's seeded pick, ``"first-images"`` the first test images."""
    path = assets_dir() / "results" / f"{name}-{which}.pt"
    if not path.exists():
        return None
    return _load_stored(path, "sample images", ("index", "images"))


def load_committed(name: str = "cifar10_resnet20", methods: tuple[str, ...] = ("single", "deep", "packed"),
                   ) -> tuple[dict, dict[str, dict]]:
    """The committed report ``assets/results/<name>.json`` and its first seed's stored predictions.

    Raises ``FileNotFoundError`` if the report or the predictions of any of ``methods`` are missing.
    """
    return load_results(assets_dir() / "results" / f"{name}.json", methods)


def load_results(path: str | os.PathLike, methods: tuple[str, ...] | None = None) -> tuple[dict, dict[str, dict]]:
    """A report written by this CLI (with ``--save-predictions``) and its first seed's stored predictions, for
    ``methods`` (default: every method in the report)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}; run python -m pe_lab.experiment first")
    report = read_report(path)
    seed = report["provenance"]["seeds"][0]
    methods = methods if methods is not None else tuple(dict.fromkeys(r["method"] for r in report["runs"]))
    predictions = {}
    for method in methods:
        stored = path.with_name(f"{path.stem}-predictions-{method}-seed{seed}.pt")
        if not stored.exists():
            raise FileNotFoundError(f"results {path} lack the predictions of {method!r} ({stored})")
        predictions[method] = load_predictions(stored)
    return report, predictions


def checkpoint_path(args, method: str, seed: int) -> Path:
    """Where a run's checkpoint lives: keyed by the resolved ``--out`` path, so the same file name in
    another folder never shares a checkpoint."""
    out = Path(args.out).resolve()
    key = hashlib.sha1(str(out).encode()).hexdigest()[:8]
    return Path(args.runs_dir) / f"{out.stem}-{key}-{method}-seed{seed}.pt"


COLUMNS = [("accuracy", "Acc", 100), ("nll", "NLL", 1), ("ece", "ECE", 1), ("brier", "Brier", 1),
           ("auroc", "AUROC", 100), ("aupr", "AUPR", 100), ("fpr95", "FPR95", 100)]


def summarise(runs: list[dict], ood_criterion: str = "msp") -> dict:
    """Mean and std over seeds of every reported number, per method."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        chosen = [r for r in runs if r["method"] == method]
        values: dict[str, list[float]] = {}
        for r in chosen:
            row = {k: r["metrics"][k] for k in ("accuracy", "nll", "ece", "brier")}
            row.update(r["metrics"].get("ood", {}).get(ood_criterion, {}))
            row.update(params=r["params"], train_seconds=r["train_seconds"],
                       test_images_per_second=r["test_images_per_second"])
            for k, v in row.items():
                values.setdefault(k, []).append(float(v))
        summary[method] = {k: {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0,
                               "n": len(v)} for k, v in values.items()}
        summary[method]["ood_criterion"] = ood_criterion
    return summary


def format_table(report: dict) -> str:
    """A Markdown table of the summary: mean ± std over seeds, OOD by the criterion it names."""
    summary = report["summary"]
    criterion = next(iter(summary.values()))["ood_criterion"] if summary else "msp"
    heads = ["Method"] + [f"{h} ({criterion})" if k in ("auroc", "aupr", "fpr95") else h for k, h, _ in COLUMNS]
    heads += ["Params", "Train s", "Test img/s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for method, stats in summary.items():
        spec = next(r["spec"] for r in report["runs"] if r["method"] == method)
        cells = [get_method(method).label(spec)]
        for key, _, scale in COLUMNS:
            if key in stats:
                digits = 1 if scale == 100 else 3
                spread = f"{stats[key]['std'] * scale:.{digits}f}" if stats[key]["n"] > 1 else "n/a"
                cells.append(f"{stats[key]['mean'] * scale:.{digits}f} ± {spread}")
            else:
                cells.append("n/a")
        cells += [f"{stats['params']['mean'] / 1e6:.3f} M", f"{stats['train_seconds']['mean']:.0f}",
                  f"{stats['test_images_per_second']['mean']:.0f}", str(stats["accuracy"]["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report["provenance"]
    note = " **Synthetic data: not CIFAR-10.**" if prov["data"]["synthetic"] else ""
    lines.append(f"\n{prov['data']['num_train']} train / {prov['data']['num_test']} test images "
                 f"({prov['data']['test']}), OOD: {prov['data']['ood']} ({prov['data']['num_ood']}); "
                 f"{prov['hardware']}; torch {prov['torch']}; commit {prov['git_commit'][:12]}; "
                 f"{prov['date']}.{note}")
    return "\n".join(lines)


def collapsed_runs(report: dict, margin: float = 0.02) -> dict[str, list[int]]:
    """Method -> the seeds whose accuracy is at chance (within ``margin`` of 1/K): a run that learned nothing.
    Its near-uniform outputs have an ECE near 0, so no calibration ranking may count it."""
    found: dict[str, list[int]] = {}
    for run in report["runs"]:
        chance = 1 / run["spec"].get("num_classes", 10)
        if run["metrics"]["accuracy"] <= chance + margin:
            found.setdefault(run["method"], []).append(run["seed"])
    return found


def describe(report: dict) -> str:
    """What a report shows, in Markdown sentences generated from its numbers (never typed): the full ranking on
    each headline metric, each ensemble against the Single, and the runs that collapsed to chance (flagged, and
    left out of the calibration ranking). Every comparison is ``verdict``'s: *within noise* when the gap is no
    larger than the larger standard deviation."""
    summary = report["summary"]
    labels = {m: label_for(next(r["spec"] for r in report["runs"] if r["method"] == m)) for m in summary}
    criterion = next(iter(summary.values())).get("ood_criterion", "msp")
    metrics = [("accuracy", "accuracy", True, 100, "%"), ("nll", "NLL", False, 1, ""), ("ece", "ECE", False, 1, ""),
               ("brier", "Brier score", False, 1, ""), ("auroc", f"OOD AUROC ({criterion})", True, 100, "%")]
    prov = report["provenance"]
    seeds = {stats["accuracy"]["n"] for stats in summary.values()}
    where = (f"{'synthetic data' if prov['data']['synthetic'] else 'real data'}, {prov['data']['num_train']} "
             f"training images, {'/'.join(map(str, sorted(seeds)))} seed(s), {prov['hardware']}")
    lines = [f"*Generated from the report ({where}).*", ""]
    collapsed = collapsed_runs(report)
    for method, bad in collapsed.items():
        lines.append(f"* **{labels[method]} collapsed to chance** on seed(s) {', '.join(map(str, bad))}: those runs "
                     "learned nothing, their near-uniform outputs make ECE look good, so it is not ranked on ECE.")
    for key, name, higher, scale, unit in metrics:
        present = {m: s[key] for m, s in summary.items() if key in s and not (key == "ece" and m in collapsed)}
        if len(present) < 2:
            continue
        ranked = sorted(present, key=lambda m: present[m]["mean"], reverse=higher)
        digits = 1 if scale == 100 else 3
        order = ", then ".join(f"{labels[m]} {present[m]['mean'] * scale:.{digits}f}{unit}" for m in ranked)
        steps = "; ".join(f"{labels[a]} vs {labels[b]}: {verdict(present[a], present[b])}"
                          for a, b in zip(ranked, ranked[1:], strict=False))
        lines.append(f"* **{name}**, best first ({'higher' if higher else 'lower'} is better): {order} ({steps}).")
    if "single" in summary:
        base = summary["single"]
        for method in summary:
            if method == "single":
                continue
            parts = []
            for key, name, higher, scale, unit in metrics[:2]:
                a, b = summary[method][key], base[key]
                digits = 1 if scale == 100 else 3
                better = (a["mean"] > b["mean"]) == higher
                parts.append(f"{name} {'better' if better else 'worse'} than the Single ({a['mean'] * scale:.{digits}f}"
                             f"{unit} vs {b['mean'] * scale:.{digits}f}{unit}, {verdict(a, b)})")
            lines.append(f"* **{labels[method]}**: " + "; ".join(parts) + ".")
    return "\n".join(lines)


@contextlib.contextmanager
def report_lock(out: Path):
    """Refuse a second run writing the same report at once (the later writer would drop the earlier's runs).
    An OS lock (flock) is released when the process dies, even by kill -9, so no stale lock remains."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.with_name(out.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; run one experiment per --out there
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(f"{out} is being written by another run ({holder}); wait for it to finish, or use "
                               "another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def verdict(first: dict, second: dict) -> str:
    """How two means over seeds compare (``{"mean", "std", "n"}`` each), in the words every generated sentence
    uses: *within noise* when the gap is no larger than the larger standard deviation, *beyond one standard
    deviation* otherwise, and *one seed: no spread to compare with* when either has a single seed."""
    if min(first["n"], second["n"]) < 2:
        return "one seed: no spread to compare with"
    gap = abs(first["mean"] - second["mean"])
    noise = max(first["std"], second["std"])
    return "within noise" if gap <= noise * (1 + 1e-9) else "beyond one standard deviation"  # 0.72-0.70 is 0.0200..02


def load_sweep(name: str = "alpha") -> dict:
    """The committed sweep ``assets/results/sweep_<name>_lenet.json`` (``name``: ``alpha`` or ``width``)."""
    path = assets_dir() / "results" / f"sweep_{name}_lenet.json"
    if not path.exists():
        raise FileNotFoundError(f"no sweep at {path}; run python -m pe_lab.sweep run / collect first")
    report = json.loads(path.read_text())
    if not isinstance(report, dict) or "rows" not in report:
        raise ReportError(f"{path} is not a pe-lab sweep (no rows)")
    return report


def load_sweep_predictions(report: dict, label: str) -> dict:
    """The seed-0 member probabilities stored for the row ``label`` of a sweep (``load_predictions`` format)."""
    row = next((r for r in report["rows"] if r["label"] == label), None)
    if row is None:
        raise ValueError(f"no row {label!r} in this sweep; rows: {', '.join(r['label'] for r in report['rows'])}")
    alpha = f"-a{row['alpha']:g}" if row["method"] == "packed" else ""
    path = assets_dir() / "results" / "sweep" / f"lenet-w{row['width']:g}-{row['method']}{alpha}-seed0-predictions.pt"
    return load_predictions(path)


_SWEEP_COLUMNS = (("accuracy", "Acc (%)", 100, 1), ("nll", "NLL", 1, 3), ("ece", "ECE", 1, 3),
                  ("auroc", "AUROC msp (%)", 100, 1), ("mi_auroc", "AUROC MI (%)", 100, 1))


def sweep_table(report: dict) -> str:
    """A Markdown table of a sweep's rows: member width, parameters, FLOPs, every metric as mean ± std over
    seeds, training seconds, seeds."""
    heads = ["Model", "member width", "Params", "MFLOPs/img"] + [h for _, h, _, _ in _SWEEP_COLUMNS]
    heads += ["Train s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in report["rows"]:
        cells = [row["label"], f"{row['member_width']:g}", f"{row['params'] / 1e6:.3f} M",
                 f"{row['flops_per_image'] / 1e6:.2f}"]
        for key, _, scale, digits in _SWEEP_COLUMNS:
            stats = row["summary"].get(key)
            if stats is None:
                cells.append("n/a")
                continue
            spread = f"{stats['std'] * scale:.{digits}f}" if stats["n"] > 1 else "n/a"
            cells.append(f"{stats['mean'] * scale:.{digits}f} ± {spread}")
        cells += [f"{row['summary']['train_seconds']['mean']:.0f}", ",".join(map(str, row["seeds"]))]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report["provenance"]
    lines.append(f"\n{prov['data']['num_train']} train / {prov['data']['num_test']} test images "
                 f"({prov['data']['test']}), OOD: {prov['data']['ood']}; {prov['hardware']}; torch {prov['torch']}; "
                 f"commit {prov['git_commit'][:12]}; {report['recipe']['epochs']} epochs; CPU time of the sweep "
                 f"{report['cpu_seconds'] / 3600:.1f} h.")
    return "\n".join(lines)


def _gap_sentence(pe: dict, other: dict, key: str, name: str, scale: float, unit: str) -> str:
    a, b = pe["summary"][key], other["summary"][key]
    digits = 1 if scale == 100 else 3
    return (f"{name} {a['mean'] * scale:.{digits}f}{unit} vs {b['mean'] * scale:.{digits}f}{unit} "
            f"({_gap(pe, other, key, scale)})")


def _gap(first: dict, second: dict, key: str, scale: float) -> str:
    """The signed gap of ``key`` between two rows and its verdict, e.g. ``+1.4, beyond one standard deviation``."""
    a, b = first["summary"][key], second["summary"][key]
    return f"{(a['mean'] - b['mean']) * scale:+.{1 if scale == 100 else 3}f}, {verdict(a, b)}"


def describe_sweeps(alpha: dict, width: dict | None = None) -> str:
    """What the sweeps show, in Markdown sentences generated from their numbers (nothing typed): the PE - DE and
    PE - Single gaps at each member width of the alpha sweep, whether the accuracy gap to the DE shrinks as
    members widen, the training time of PE(alpha = M) beside the DE's, and the width sweep's gaps."""
    single = next(r for r in alpha["rows"] if r["method"] == "single")
    deep = next(r for r in alpha["rows"] if r["method"] == "deep")
    packed = sorted((r for r in alpha["rows"] if r["method"] == "packed"), key=lambda r: r["alpha"])
    counts = sorted({r["summary"]["accuracy"]["n"] for r in alpha["rows"]})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    lines = [f"*Generated from `sweep_alpha_lenet.json` ({alpha['recipe']['epochs']} epochs, {seeds} seed(s) per "
             "row).*", ""]
    for r in packed:
        lines.append(f"* **{r['label']}** (members {r['member_width']:g}x LeNet): "
                     + _gap_sentence(r, deep, "accuracy", "accuracy", 100, "%") + " against the DE; "
                     + _gap_sentence(r, single, "accuracy", "accuracy", 100, "%") + " against the Single; "
                     + _gap_sentence(r, deep, "nll", "NLL", 1, "") + " against the DE.")
    gaps = [deep["summary"]["accuracy"]["mean"] - r["summary"]["accuracy"]["mean"] for r in packed]
    shrinking = all(b <= a for a, b in zip(gaps, gaps[1:], strict=False))
    leads = ", ".join(f"{100 * g:.1f}" for g in gaps)
    widths = ", ".join(f"{r['member_width']:g}" for r in packed)
    lines.append(f"* The DE's accuracy lead over the PE is {leads} points at member widths {widths}: it "
                 + ("shrinks at every step as members widen." if shrinking else "does not shrink at every step."))
    full = [r for r in packed if r["alpha"] == r["runs"][0]["spec"]["num_estimators"]]
    if full:
        r = full[0]
        lines.append(f"* At alpha = M ({r['label']}) the PE has the DE's parameters ({r['params']:,} vs "
                     f"{deep['params']:,}) and FLOPs, and trained in {r['summary']['train_seconds']['mean']:.0f} s "
                     f"against the DE's {deep['summary']['train_seconds']['mean']:.0f} s (one network instead of "
                     f"{deep['runs'][0]['spec']['num_estimators']} passes, same machine and sweep).")
    if width is not None:
        lines += _width_sentences(width)
    return "\n".join(lines)


def _width_sentences(width: dict) -> list[str]:
    """The width sweep's gaps at each base width, what is not measured yet, and how much the Single still gains
    from each doubling of its width."""
    by = {(r["method"], r["width"]): r for r in width["rows"]}
    widths = sorted({r["width"] for r in width["rows"]})
    lines = []
    for w in widths:
        pe, de, one = by.get(("packed", w)), by.get(("deep", w)), by.get(("single", w))
        if pe is None:
            measured = ", ".join(r["label"] for r in (one, de) if r is not None)
            lines.append(f"* Width sweep, base width {w:g}: only {measured} measured so far (no PE(2,4,1) there).")
            continue
        parts = []
        if de is not None:
            parts.append(_gap_sentence(pe, de, "accuracy", "accuracy", 100, "%") + " against DE(4)")
        if one is not None:
            parts.append(_gap_sentence(pe, one, "accuracy", "accuracy", 100, "%") + " against the Single")
        lines.append(f"* Width sweep, base width {w:g} ({pe['label']}, members {w / 2:g}x LeNet): "
                     + "; ".join(parts) + ".")
    both = [w for w in widths if ("packed", w) in by and ("deep", w) in by]
    if len(both) > 1:
        leads = [_accuracy(by[("deep", w)]) - _accuracy(by[("packed", w)]) for w in both]
        shrinking = all(b < a for a, b in zip(leads, leads[1:], strict=False))
        lines.append(f"* The DE's accuracy lead over PE(2,4,1) is {', '.join(f'{100 * g:.1f}' for g in leads)} points "
                     f"at base widths {', '.join(f'{w:g}' for w in both)}: it "
                     + ("shrinks at every doubling as members widen." if shrinking
                        else "does not shrink at every doubling."))
    singles = sorted((r for r in width["rows"] if r["method"] == "single"), key=lambda r: r["width"])
    if len(singles) > 1:
        pairs = zip(singles, singles[1:], strict=False)
        steps = ", ".join(f"{100 * (_accuracy(b) - _accuracy(a)):+.1f} points from x{a['width']:g} to x{b['width']:g}"
                          for a, b in pairs)
        seeds = ", ".join(str(r["summary"]["accuracy"]["n"]) for r in singles)
        lines.append(f"* The Single's accuracy from each doubling of its width: {steps} (seeds per width: {seeds}).")
    return lines + _equal_parameter_sentences(width["rows"])


def _equal_parameter_sentences(rows: list[dict], tolerance: float = 0.05) -> list[str]:
    """Rows whose parameter counts lie within ``tolerance`` of each other (the Single at base width 2w, DE(4) at
    w, PE(2,4,1) at 2w): at that budget, is width better spent on one network or on an ensemble? One sentence
    per budget that has a Single and an ensemble, most accurate first, the best ensemble against the Single."""
    groups: list[list[dict]] = []
    for row in sorted(rows, key=lambda r: r["params"]):
        if groups and row["params"] <= groups[-1][0]["params"] * (1 + tolerance):
            groups[-1].append(row)
        else:
            groups.append([row])
    lines = []
    for group in groups:
        single = next((r for r in group if r["method"] == "single"), None)
        ensembles = [r for r in group if r["method"] != "single"]
        if single is None or not ensembles:
            continue
        best = max(ensembles, key=_accuracy)
        ranked = sorted(group, key=_accuracy, reverse=True)
        listing = ", ".join(f"{r['label']} {100 * _accuracy(r):.1f}%" for r in ranked)
        spent = "an ensemble" if _accuracy(best) > _accuracy(single) else "one network"
        sentence = (f"* At equal parameters (about {group[0]['params'] / 1e6:.2f} M): {listing}; the width is best "
                    f"spent on {spent} here ({best['label']} against {single['label']}: "
                    f"{_gap(best, single, 'accuracy', 100)})")
        twins = [(pe, de) for pe in group if pe["method"] == "packed" for de in group
                 if de["method"] == "deep" and de["member_width"] == pe["member_width"]]
        for pe, de in twins:
            sentence += (f"; {pe['label']} is {de['label']}'s networks packed into one (members {pe['member_width']:g}x"
                         f" LeNet each): " + _gap_sentence(pe, de, "accuracy", "accuracy", 100, "%"))
        lines.append(sentence + ".")
    return lines


def _accuracy(row: dict) -> float:
    return row["summary"]["accuracy"]["mean"]
