"""Reports: what the command lines write and the notebooks read.

A report is the JSON ``python -m pe_lab.experiment`` writes (provenance, config, runs, summary); beside it the
first seed's member probabilities (``-predictions-<method>-seed<s>.pt``) and a few test images (``-samples.pt``).
Here are its readers and writers, the table and the generated prose, with no command line in sight: notebooks
use these (through ``pe_lab``'s face) and never import a CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
from pathlib import Path

import torch

from ..config import WriteError, assets_dir, atomic_save
from ..evaluation.verdict import Comparison, compare
from ..methods.registry import get_method, label_for
from .records import ReportError, read_sweep
from .records import read_report as _read_checked_report

__all__ = ["COLUMNS", "ReportError", "RunLocked", "checkpoint_path", "describe", "format_table", "load_committed",
           "load_committed_samples", "load_predictions", "load_results", "pick_sample_images", "read_report",
           "report_lock", "save_predictions", "save_sample_images", "summarise", "collapsed_runs",
           "describe_gap_vs_doubling", "describe_sweeps", "higher_is_better", "load_sweep", "load_sweep_predictions",
           "sweep_table", "verdict"]


class RunLocked(RuntimeError):
    """Another run is writing the same ``--out`` right now."""


def read_report(path: Path) -> dict:
    """A JSON report written by this CLI, checked field by field (``records.check_report``); ``ReportError``
    naming the file and the field if it is not one."""
    return _read_checked_report(path)


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
    test, labels, ood = stored["test"], stored["test_labels"], stored.get("ood")
    if not (isinstance(test, torch.Tensor) and test.dim() == 3 and test.is_floating_point()):
        raise ReportError(f"{path}: test must be member probabilities (N, M, K), got "
                          f"{tuple(test.shape) if isinstance(test, torch.Tensor) else type(test).__name__}")
    if not (isinstance(labels, torch.Tensor) and labels.shape == test.shape[:1]):
        raise ReportError(f"{path}: test_labels must be {test.shape[0]} labels, one per test image")
    if ood is not None and not (isinstance(ood, torch.Tensor) and ood.dim() == 3 and ood.shape[1:] == test.shape[1:]):
        raise ReportError(f"{path}: ood must be member probabilities (N, {test.shape[1]}, {test.shape[2]}) like test")
    if len(stored["classes"]) != test.shape[2]:
        raise ReportError(f"{path}: classes names {len(stored['classes'])} classes but test has {test.shape[2]}")
    stored["test"] = test.float()
    if ood is not None:
        stored["ood"] = ood.float()
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
    """A Markdown table of the summary: mean ± std over seeds, OOD by the criterion it names; beside the accuracy,
    each method's difference from the Single with its 95 % interval (``compare``) when the report has a Single."""
    summary = report["summary"]
    criterion = next(iter(summary.values()))["ood_criterion"] if summary else "msp"
    heads = ["Method"] + [f"{h} ({criterion})" if k in ("auroc", "aupr", "fpr95") else h for k, h, _ in COLUMNS]
    against_single = "single" in summary and len(summary) > 1
    if against_single:
        heads.insert(2, "Acc − Single (95 % CI)")

    def side(method: str) -> dict:
        runs = [r for r in report["runs"] if r["method"] == method]
        return _by_seed(runs, summary[method]["accuracy"], "accuracy", criterion)

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
            if key == "accuracy" and against_single:
                cells.append("—" if method == "single" else
                             _difference_cell(_compare_by_seed(side(method), side("single")), scale, 1))
        cells += [f"{stats['params']['mean'] / 1e6:.3f} M", f"{stats['train_seconds']['mean']:.0f}",
                  f"{stats['test_images_per_second']['mean']:.0f}", str(stats["accuracy"]["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report["provenance"]
    note = " **Synthetic data: not CIFAR-10.**" if prov["data"]["synthetic"] else ""
    lines.append(f"\n{prov['data']['num_train']} train / {prov['data']['num_test']} test images "
                 f"({prov['data']['test']}), OOD: {prov['data']['ood']} ({prov['data']['num_ood']}); "
                 f"{prov['hardware']}; torch {prov['torch']}; commit {prov['git_commit'][:12]}; "
                 f"{prov['date']}.{note}")
    if against_single:
        lines.append(_DIFFERENCE_NOTE.format(what="Acc − Single", reference="the Single"))
    return "\n".join(lines)


_DIFFERENCE_NOTE = ("\n± is the standard deviation over seeds, not a test. {what}: the accuracy difference from "
                    "{reference} in points with its 95 % confidence interval (a paired t-test where both ran the same "
                    "seeds, Welch's otherwise; `pe_lab.compare`); * marks an interval that excludes zero, and no "
                    "test is possible with one seed.")


def _difference_cell(comparison: Comparison, scale: float, digits: int) -> str:
    """A table cell: ``"+2.2 (+0.9 to +3.4) *"`` (the star: the interval excludes zero), ``"+0.3 (no test)"``."""
    difference = f"{comparison.difference * scale:+.{digits}f}"
    if comparison.low != comparison.low:  # NaN: one seed on a side
        return f"{difference} (no test)"
    star = " *" if comparison.separated else ""
    return f"{difference} ({comparison.low * scale:+.{digits}f} to {comparison.high * scale:+.{digits}f}){star}"


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
    left out of the calibration ranking). Every comparison is ``verdict``'s: a t-test over seeds (paired where
    both methods ran the same seeds), "better"/"worse" only when its 95 % interval excludes zero."""
    summary = report["summary"]
    labels = {m: label_for(next(r["spec"] for r in report["runs"] if r["method"] == m)) for m in summary}
    criterion = next(iter(summary.values())).get("ood_criterion", "msp")
    metrics = [(key, name, higher_is_better(key), _METRIC_READING[key][1], unit) for key, name, unit in (
        ("accuracy", "accuracy", "%"), ("nll", "NLL", ""), ("ece", "ECE", ""), ("brier", "Brier score", ""),
        ("auroc", f"OOD AUROC ({criterion})", "%"))]

    def side(method: str, key: str) -> dict:
        return _by_seed([r for r in report["runs"] if r["method"] == method], summary[method][key], key, criterion)

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
        steps = "; ".join(verdict(side(a, key), side(b, key), labels[a], labels[b], key)
                          for a, b in zip(ranked, ranked[1:], strict=False))
        lines.append(f"* **{name}**, best first by the mean ({'higher' if higher else 'lower'} is better): {order} "
                     f"({steps}).")
    if "single" in summary:
        for method in summary:
            if method == "single":
                continue
            parts = []
            for key, name, _, scale, unit in metrics[:2]:
                a, b = summary[method][key], summary["single"][key]
                digits = 1 if scale == 100 else 3
                parts.append(f"{name} {a['mean'] * scale:.{digits}f}{unit} vs {b['mean'] * scale:.{digits}f}{unit}: "
                             + verdict(side(method, key), side("single", key), labels[method], labels["single"], key))
            lines.append(f"* **{labels[method]}** against the Single: " + "; ".join(parts) + ".")
    return "\n".join(lines)


@contextlib.contextmanager
def report_lock(out: Path):
    """Refuse a second run writing the same report at once (the later writer would drop the earlier's runs).
    An OS lock (flock) is released when the process dies, even by kill -9, so no stale lock remains."""
    lock_path = out.with_name(out.name + ".lock")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as error:  # a folder that cannot be made or written: named, before any work
        raise WriteError(lock_path, error) from error
    with handle:
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


# How each reported number reads: (higher is better, the scale it is shown at, its digits, its unit in prose).
_METRIC_READING = {"accuracy": (True, 100, 1, " points"), "auroc": (True, 100, 1, " points"),
                   "aupr": (True, 100, 1, " points"), "mi_auroc": (True, 100, 1, " points"),
                   "fpr95": (False, 100, 1, " points"), "nll": (False, 1, 3, ""), "ece": (False, 1, 3, ""),
                   "brier": (False, 1, 3, "")}


def higher_is_better(key: str) -> bool:
    """Whether a larger ``key`` is the better result: accuracy, AUROC, AUPR yes; NLL, ECE, Brier, FPR95 no."""
    if key not in _METRIC_READING:
        raise ValueError(f"no reading for metric {key!r}; known: {', '.join(_METRIC_READING)}")
    return _METRIC_READING[key][0]


def _run_metric(metrics: dict, key: str, criterion: str = "msp") -> float | None:
    """One run's ``key`` from its ``metrics`` record (OOD numbers by ``criterion``; ``mi_auroc`` by mutual
    information), or None when the run did not measure it."""
    if key in ("accuracy", "nll", "ece", "brier"):
        return metrics.get(key)
    criterion, key = ("mutual_information", "auroc") if key == "mi_auroc" else (criterion, key)
    return metrics.get("ood", {}).get(criterion, {}).get(key)


def _by_seed(runs: list[dict], stat: dict, key: str, criterion: str = "msp") -> dict:
    """``{seed: value}`` of ``key`` over ``runs`` when every seed the summary ``stat`` counts has its run there;
    otherwise the summary ``stat`` itself (``{"mean", "std", "n"}``: only a Welch test can use it)."""
    values = {r["seed"]: v for r in runs if (v := _run_metric(r["metrics"], key, criterion)) is not None}
    return values if len(values) == stat["n"] else stat


def _compare_by_seed(first: dict, second: dict) -> Comparison:
    """``first - second`` through ``compare``. Each side is ``{seed: value}`` or a ``{"mean", "std", "n"}``
    summary. Paired when both sides hold the same seeds (the same seed gives both runs their data order, and a
    DE's member 0 is that seed's Single); Welch otherwise."""
    summary = {"mean", "std", "n"}
    if not summary <= set(first) and not summary <= set(second) and set(first) == set(second):
        seeds = sorted(first)
        return compare([first[s] for s in seeds], [second[s] for s in seeds], paired=True)
    return compare(*(side if summary <= set(side) else list(side.values()) for side in (first, second)))


def verdict(first: dict, second: dict, first_label: str, second_label: str, key: str = "accuracy") -> str:
    """The sentence every generated comparison uses, e.g. ``"PE(2,4,1) is worse than Single, -6.0 points (95 % CI
    -8.1 to -3.9, paired t, 3 seeds)"``: ``compare``'s words ("better"/"worse" only when the 95 % interval
    excludes zero, else "not distinguishable with n seeds"), the difference ``first - second`` in the metric's
    units, its interval, the test and the seeds. ``first``/``second``: ``{seed: value}`` (paired when the seeds
    match) or ``{"mean", "std", "n"}`` summaries (Welch)."""
    return _said(_compare_by_seed(first, second), first_label, second_label, key)


def _said(comparison: Comparison, first_label: str, second_label: str, key: str) -> str:
    higher, scale, digits, unit = _METRIC_READING[key]
    return (f"{comparison.words(first_label, second_label, higher)}, "
            f"{comparison.interval(scale, digits, unit)}")


def load_sweep(name: str = "alpha") -> dict:
    """The committed sweep ``assets/results/sweep_<name>_lenet.json`` (``name``: ``alpha`` or ``width``)."""
    path = assets_dir() / "results" / f"sweep_{name}_lenet.json"
    if not path.exists():
        raise FileNotFoundError(f"no sweep at {path}; run python -m pe_lab.sweep run / collect first")
    return read_sweep(path)  # checked field by field (``records.check_sweep``)


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
    seeds, each row's accuracy difference from the Single of its base width with its 95 % interval
    (``compare``), training seconds, seeds."""
    singles = {r["width"]: r for r in report["rows"] if r["method"] == "single"}
    heads = ["Model", "member width", "Params", "MFLOPs/img"] + [h for _, h, _, _ in _SWEEP_COLUMNS]
    if singles:
        heads.insert(5, "Acc − Single of its width (95 % CI)")
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
            if key == "accuracy" and singles:
                single = singles.get(row["width"])
                cells.append("—" if single is None or single is row else
                             _difference_cell(_gap(row, single, "accuracy"), scale, digits))
        cells += [f"{row['summary']['train_seconds']['mean']:.0f}", ",".join(map(str, row["seeds"]))]
        lines.append("| " + " | ".join(cells) + " |")
    prov = report["provenance"]
    lines.append(f"\n{prov['data']['num_train']} train / {prov['data']['num_test']} test images "
                 f"({prov['data']['test']}), OOD: {prov['data']['ood']}; {prov['hardware']}; torch {prov['torch']}; "
                 f"commit {prov['git_commit'][:12]}; {report['recipe']['epochs']} epochs; CPU time of the sweep "
                 f"{report['cpu_seconds'] / 3600:.1f} h.")
    if singles:
        lines.append(_DIFFERENCE_NOTE.format(what="Acc − Single of its width",
                                             reference="the Single of the row's base width"))
    return "\n".join(lines)


_NETWORK_NAMES = {"lenet": "LeNet", "resnet18": "ResNet-18", "resnet20": "ResNet-20", "resnet50": "ResNet-50",
                  "wrn28_10": "WRN-28-10"}


def _network(rows: list[dict]) -> str:
    """The base network's name, read from the rows' runs (``"the base network"`` when they carry none)."""
    name = next((run["spec"]["name"] for row in rows for run in row.get("runs", [])), None)
    return _NETWORK_NAMES.get(name, name) if name else "the base network"


def _row_side(row: dict, key: str) -> dict:
    """A sweep row's ``key`` by seed, read from its runs (``{seed: value}``), or its summary without them."""
    return _by_seed(row.get("runs", []), row["summary"][key], key)


def _gap(first: dict, second: dict, key: str) -> Comparison:
    """``first - second`` on ``key`` between two sweep rows, through ``compare`` (paired when they share seeds)."""
    return _compare_by_seed(_row_side(first, key), _row_side(second, key))


def _gap_sentence(first: dict, second: dict, key: str, name: str) -> str:
    """``"accuracy 60.3% vs 69.9% (PE(2,4,1) is worse than DE(4), -9.6 points (95 % CI ...))"``."""
    _, scale, digits, _ = _METRIC_READING[key]
    unit = "%" if scale == 100 else ""
    a, b = first["summary"][key]["mean"], second["summary"][key]["mean"]
    return (f"{name} {a * scale:.{digits}f}{unit} vs {b * scale:.{digits}f}{unit} "
            f"({_said(_gap(first, second, key), first['label'], second['label'], key)})")


def _lead_by_seed(leader: dict, trailer: dict, key: str) -> dict | None:
    """``{seed: leader - trailer}`` when both rows hold per-seed values over the same seeds, else None."""
    a, b = _row_side(leader, key), _row_side(trailer, key)
    if "mean" in a or "mean" in b or set(a) != set(b):
        return None
    return {seed: a[seed] - b[seed] for seed in a}


def _lead_sentence(what: str, axis: str, step: str, points: list[tuple[float, dict, dict]],
                   key: str = "accuracy") -> str:
    """How a lead (``leader - trailer`` at each ``x`` of ``points``) changes from one x to the next, each change
    through ``compare`` over the per-seed leads; "shrinks at every step" only when every change is separated."""
    _, scale, digits, unit = _METRIC_READING[key]
    leads = ", ".join(f"{scale * (a['summary'][key]['mean'] - b['summary'][key]['mean']):.{digits}f}"
                      for _, a, b in points)
    steps, shrinks = [], []
    for (x0, a0, b0), (x1, a1, b1) in zip(points, points[1:], strict=False):
        before, after = _lead_by_seed(a0, b0, key), _lead_by_seed(a1, b1, key)
        if before is None or after is None:
            steps.append(f"from {x0:g} to {x1:g} not tested (no per-seed lead on both sides)")
            shrinks.append(False)
            continue
        change = _compare_by_seed(after, before)
        said = (("shrinks" if change.difference < 0 else "grows") if change.separated
                else f"does not change distinguishably with {change.seeds}")
        steps.append(f"from {x0:g} to {x1:g} it {said}, {change.interval(scale, digits, unit)}")
        shrinks.append(change.separated and change.difference < 0)
    verdict_words = (f"it shrinks at every {step} as members widen" if shrinks and all(shrinks)
                     else f"it is not shown to shrink at every {step} with these seeds")
    return f"* {what} is {leads}{unit} at {axis} {', '.join(f'{x:g}' for x, _, _ in points)}: " \
        + "; ".join(steps) + f"; {verdict_words}."


def describe_sweeps(alpha: dict, width: dict | None = None) -> str:
    """What the sweeps show, in Markdown sentences generated from their numbers (nothing typed): the PE - DE and
    PE - Single gaps at each member width of the alpha sweep, whether the accuracy gap to the DE shrinks as
    members widen, the training time of PE(alpha = M) beside the DE's, and the width sweep's gaps. Every
    comparison goes through ``compare`` (paired where two rows share their seeds)."""
    single = next(r for r in alpha["rows"] if r["method"] == "single")
    deep = next(r for r in alpha["rows"] if r["method"] == "deep")
    packed = sorted((r for r in alpha["rows"] if r["method"] == "packed"), key=lambda r: r["alpha"])
    network = _network(alpha["rows"])
    counts = sorted({r["summary"]["accuracy"]["n"] for r in alpha["rows"]})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    lines = [f"*Generated from `sweep_alpha_lenet.json` ({alpha['recipe']['epochs']} epochs, {seeds} seed(s) per "
             "row).*", ""]
    for r in packed:
        lines.append(f"* **{r['label']}** (members {r['member_width']:g}x {network}): "
                     + _gap_sentence(r, deep, "accuracy", "accuracy") + "; "
                     + _gap_sentence(r, single, "accuracy", "accuracy") + "; "
                     + _gap_sentence(r, deep, "nll", "NLL") + ".")
    if len(packed) > 1:
        lines.append(_lead_sentence("The DE's accuracy lead over the PE", "member widths", "step",
                                    [(r["member_width"], deep, r) for r in packed]))
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
    """The width sweep's gaps at each base width, what is not measured yet, how much the Single still gains
    from each doubling of its width, and the DE's lead beside the Single's gain from the same doubling."""
    by = {(r["method"], r["width"]): r for r in width["rows"]}
    widths = sorted({r["width"] for r in width["rows"]})
    network = _network(width["rows"])
    lines = []
    for w in widths:
        pe, de, one = by.get(("packed", w)), by.get(("deep", w)), by.get(("single", w))
        if pe is None:
            measured = ", ".join(r["label"] for r in (one, de) if r is not None)
            lines.append(f"* Width sweep, base width {w:g}: only {measured} measured so far (no packed ensemble "
                         "there).")
            continue
        parts = [_gap_sentence(pe, other, "accuracy", "accuracy") for other in (de, one) if other is not None]
        lines.append(f"* Width sweep, base width {w:g} ({pe['label']}, members {pe['member_width']:g}x {network}): "
                     + "; ".join(parts) + ".")
    both = [w for w in widths if ("packed", w) in by and ("deep", w) in by]
    if len(both) > 1:
        lines.append(_lead_sentence("The DE's accuracy lead over the PE of the same base width", "base widths",
                                    "doubling", [(w, by[("deep", w)], by[("packed", w)]) for w in both]))
    singles = sorted((r for r in width["rows"] if r["method"] == "single"), key=lambda r: r["width"])
    if len(singles) > 1:
        steps = "; ".join(_said(_gap(b, a, "accuracy"), b["label"], a["label"], "accuracy")
                          for a, b in zip(singles, singles[1:], strict=False))
        lines.append(f"* The Single's accuracy from each doubling of its width: {steps}.")
    return lines + describe_gap_vs_doubling(width).splitlines() + _equal_parameter_sentences(width["rows"], network)


def describe_gap_vs_doubling(width: dict, key: str = "accuracy") -> str:
    """What the width sweep links, one Markdown sentence per base width: the DE's lead over the PE of that base
    width beside what the Single gains from the same doubling of width. At one base width the DE's members are
    twice as wide as the PE's (``member_width`` of each row), so the Single's gain from the PE's member width to
    the DE's is the same doubling for one network. Each gap is ``compare``'s (paired where rows share seeds), and
    the two gaps are compared with each other over the seeds both have. Rows, labels and widths are read from
    ``width["rows"]``; a base width without a Single at both member widths gets no sentence."""
    higher, scale, digits, unit = _METRIC_READING[key]
    rows = width["rows"]
    singles = {r["member_width"]: r for r in rows if r["method"] == "single"}
    lines = []
    for w in sorted({r["width"] for r in rows}):
        at_w = [r for r in rows if r["width"] == w]
        for de in (r for r in at_w if r["method"] == "deep"):
            for pe in (r for r in at_w if r["method"] == "packed"):
                narrow, wide = singles.get(pe["member_width"]), singles.get(de["member_width"])
                if narrow is None or wide is None or narrow is wide:
                    continue
                lead, gain = _gap(de, pe, key), _gap(wide, narrow, key)
                lead_seeds, gain_seeds = _lead_by_seed(de, pe, key), _lead_by_seed(wide, narrow, key)
                if lead_seeds is None or gain_seeds is None:
                    link = "lead and gain not compared (their rows do not share their seeds)"
                else:
                    both = _compare_by_seed(lead_seeds, gain_seeds)
                    link = f"lead minus gain: {both.words('the lead', 'the gain', higher)}, " \
                           f"{both.interval(scale, digits, unit)}"
                lines.append(
                    f"* Base width {w:g}: {de['label']}'s {key} lead over {pe['label']} (members {de['member_width']:g}"
                    f"x vs {pe['member_width']:g}x) {lead.interval(scale, digits, unit)}, beside the Single's gain "
                    f"from the same doubling ({narrow['label']} to {wide['label']}) "
                    f"{gain.interval(scale, digits, unit)}; {link}.")
    return "\n".join(lines)


def _equal_parameter_sentences(rows: list[dict], network: str = "the base network",
                               tolerance: float = 0.05) -> list[str]:
    """Rows whose parameter counts lie within ``tolerance`` of each other (the Single at base width 2w, DE(4) at
    w, PE(2,4,1) at 2w): at that budget, is width better spent on one network or on an ensemble? One sentence
    per budget that has a Single and an ensemble, most accurate first, the best ensemble against the Single; the
    width is called best spent on either only when ``compare`` separates them."""
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
        gap = _gap(best, single, "accuracy")
        spent = (f"the width is best spent on {'an ensemble' if gap.difference > 0 else 'one network'} here"
                 if gap.separated else "neither one network nor an ensemble is shown the better use of the width")
        sentence = (f"* At equal parameters (about {group[0]['params'] / 1e6:.2f} M): {listing}, by the mean; "
                    f"{spent} ({_said(gap, best['label'], single['label'], 'accuracy')})")
        twins = [(pe, de) for pe in group if pe["method"] == "packed" for de in group
                 if de["method"] == "deep" and de["member_width"] == pe["member_width"]]
        for pe, de in twins:
            sentence += (f"; {pe['label']} is {de['label']}'s networks packed into one (members {pe['member_width']:g}x"
                         f" {network} each): " + _gap_sentence(pe, de, "accuracy", "accuracy"))
        lines.append(sentence + ".")
    return lines


def _accuracy(row: dict) -> float:
    return row["summary"]["accuracy"]["mean"]
