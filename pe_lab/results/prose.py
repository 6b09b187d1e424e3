"""What a report and the sweeps show, in Markdown sentences generated from their numbers (never typed); every
comparison in them is ``verdict``'s (``compare`` over seeds)."""

from __future__ import annotations

from collections.abc import Sequence

from ..evaluation.metrics import METRICS, OOD_METRICS
from ..evaluation.verdict import compare
from ..methods.registry import label_for
from .comparisons import (
    METRIC_READING,
    by_seed,
    compare_by_seed,
    comparison_words,
    higher_is_better,
    row_by_seed,
    row_gap,
    verdict,
)
from .records import Report, Statistics, Sweep, SweepRow

__all__ = ["collapsed_runs", "describe", "describe_gap_vs_doubling", "describe_sweeps"]


def collapsed_runs(report: Report, margin: float = 0.02) -> dict[str, list[int]]:
    """Method -> the seeds whose accuracy is at chance (within ``margin`` of 1/K): a run that learned nothing.
    Its near-uniform outputs have an ECE near 0, so no calibration ranking may count it."""
    found: dict[str, list[int]] = {}
    for run in report.runs:
        chance = 1 / run.spec.get("num_classes", 10)
        if run.metrics["accuracy"] <= chance + margin:
            found.setdefault(run.method, []).append(run.seed)
    return found


def describe(report: Report) -> str:
    """What a report shows, in Markdown sentences generated from its numbers (never typed): the full ranking on
    each headline metric, each ensemble against the Single, and the runs that collapsed to chance (flagged, and
    left out of the calibration ranking). Every comparison is ``verdict``'s: a t-test over seeds (paired where
    both methods ran the same seeds), "better"/"worse" only when its 95 % interval excludes zero."""
    summary = report.summary
    labels = {m: label_for(report.runs_of(m)[0].spec) for m in summary}
    criterion = next((s.ood_criterion for s in summary.values() if s.ood_criterion), "msp")
    metrics = [(key, name, higher_is_better(key), METRIC_READING[key][1], unit) for key, name, unit in (
        *((key, entry.name, "%" if entry.scale == 100 else "") for key, entry in METRICS.items()),
        ("auroc", f"OOD {OOD_METRICS['auroc'].name} ({criterion})", "%"))]

    def side(method: str, key: str):
        return by_seed(report.runs_of(method), summary[method][key], key, criterion)

    prov = report.provenance
    seeds = {stats["accuracy"].n for stats in summary.values()}
    where = (f"{'synthetic data' if prov.data.synthetic else 'real data'}, {prov.data.num_train} "
             f"training images, {'/'.join(map(str, sorted(seeds)))} seed(s), {prov.hardware}")
    lines = [f"*Generated from the report ({where}).*", ""]
    collapsed = collapsed_runs(report)
    for method, bad in collapsed.items():
        lines.append(f"* **{labels[method]} collapsed to chance** on seed(s) {', '.join(map(str, bad))}: those runs "
                     "learned nothing, their near-uniform outputs make ECE look good, so it is not ranked on ECE.")
    for key, name, higher, scale, unit in metrics:
        present = {m: s[key] for m, s in summary.items() if key in s and not (key == "ece" and m in collapsed)}
        if len(present) < 2:
            continue
        ranked = sorted(present, key=lambda m: present[m].mean, reverse=higher)
        digits = 1 if scale == 100 else 3
        order = ", then ".join(f"{labels[m]} {present[m].mean * scale:.{digits}f}{unit}" for m in ranked)
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
                parts.append(f"{name} {a.mean * scale:.{digits}f}{unit} vs {b.mean * scale:.{digits}f}{unit}: "
                             + verdict(side(method, key), side("single", key), labels[method], labels["single"], key))
            lines.append(f"* **{labels[method]}** against the Single: " + "; ".join(parts) + ".")
    return "\n".join(lines)


_NETWORK_NAMES = {"lenet": "LeNet", "resnet18": "ResNet-18", "resnet20": "ResNet-20", "resnet50": "ResNet-50",
                  "wrn28_10": "WRN-28-10"}


def _network(rows: Sequence[SweepRow]) -> str:
    """The base network's name, read from the rows' runs (``"the base network"`` when they carry none)."""
    name = next((run.spec["name"] for row in rows for run in row.runs), None)
    return _NETWORK_NAMES.get(name, name) if name else "the base network"


def _gap_sentence(first: SweepRow, second: SweepRow, key: str, name: str) -> str:
    """``"accuracy 60.3% vs 69.9% (PE(2,4,1) is worse than DE(4), -9.6 points (95 % CI ...))"``."""
    _, scale, digits, _ = METRIC_READING[key]
    unit = "%" if scale == 100 else ""
    a, b = first.summary[key].mean, second.summary[key].mean
    return (f"{name} {a * scale:.{digits}f}{unit} vs {b * scale:.{digits}f}{unit} "
            f"({comparison_words(row_gap(first, second, key), first.label, second.label, key)})")


def _lead_by_seed(leader: SweepRow, trailer: SweepRow, key: str) -> dict[int, float] | None:
    """``{seed: leader - trailer}`` when both rows hold per-seed values over the same seeds, else None."""
    a, b = row_by_seed(leader, key), row_by_seed(trailer, key)
    if isinstance(a, Statistics) or isinstance(b, Statistics) or set(a) != set(b):
        return None
    return {seed: a[seed] - b[seed] for seed in a}


def _lead_sentence(what: str, axis: str, step: str, points: list[tuple[float, SweepRow, SweepRow]],
                   key: str = "accuracy") -> str:
    """How a lead (``leader - trailer`` at each ``x`` of ``points``) changes from one x to the next, each change
    through ``compare`` over the per-seed leads; "shrinks at every step" only when every change is separated."""
    _, scale, digits, unit = METRIC_READING[key]
    leads = ", ".join(f"{scale * (a.summary[key].mean - b.summary[key].mean):.{digits}f}"
                      for _, a, b in points)
    steps, shrinks = [], []
    for (x0, a0, b0), (x1, a1, b1) in zip(points, points[1:], strict=False):
        before, after = _lead_by_seed(a0, b0, key), _lead_by_seed(a1, b1, key)
        if before is None or after is None:
            steps.append(f"from {x0:g} to {x1:g} not tested (no per-seed lead on both sides)")
            shrinks.append(False)
            continue
        change = compare_by_seed(after, before)
        said = (("shrinks" if change.difference < 0 else "grows") if change.separated
                else f"does not change distinguishably with {change.seeds}")
        steps.append(f"from {x0:g} to {x1:g} it {said}, {change.interval(scale, digits, unit)}")
        shrinks.append(change.separated and change.difference < 0)
    verdict_words = (f"it shrinks at every {step} as members widen" if shrinks and all(shrinks)
                     else f"it is not shown to shrink at every {step} with these seeds")
    return f"* {what} is {leads}{unit} at {axis} {', '.join(f'{x:g}' for x, _, _ in points)}: " \
        + "; ".join(steps) + f"; {verdict_words}."


def describe_sweeps(alpha: Sweep, width: Sweep | None = None) -> str:
    """What the sweeps show, in Markdown sentences generated from their numbers (nothing typed): the PE - DE and
    PE - Single gaps at each member width of the alpha sweep, whether the accuracy gap to the DE shrinks as
    members widen, the training time of PE(alpha = M) beside the DE's, and the width sweep's gaps. Every
    comparison goes through ``compare`` (paired where two rows share their seeds)."""
    single = next(r for r in alpha.rows if r.method == "single")
    deep = next(r for r in alpha.rows if r.method == "deep")
    packed = sorted((r for r in alpha.rows if r.method == "packed"), key=lambda r: r.alpha)
    network = _network(alpha.rows)
    counts = sorted({r.summary["accuracy"].n for r in alpha.rows})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    lines = [f"*Generated from `sweep_alpha_lenet.json` ({alpha.recipe['epochs']} epochs, {seeds} seed(s) per "
             "row).*", ""]
    for r in packed:
        lines.append(f"* **{r.label}** (members {r.member_width:g}x {network}): "
                     + _gap_sentence(r, deep, "accuracy", "accuracy") + "; "
                     + _gap_sentence(r, single, "accuracy", "accuracy") + "; "
                     + _gap_sentence(r, deep, "nll", "NLL") + ".")
    if len(packed) > 1:
        lines.append(_lead_sentence("The DE's accuracy lead over the PE", "member widths", "step",
                                    [(r.member_width, deep, r) for r in packed]))
    full = [r for r in packed if r.alpha == r.runs[0].spec["num_estimators"]]
    if full:
        r = full[0]
        times = compare([run.train_seconds for run in r.runs], [run.train_seconds for run in deep.runs])
        lines.append(f"* At alpha = M ({r.label}) the PE has the DE's parameters ({r.params:,} vs "
                     f"{deep.params:,}) and FLOPs; its training time per seed against the DE's: "
                     + times.sentence(r.label, deep.label, higher_is_better=False, digits=0, unit=" s")
                     + " (wall clock on a machine shared with other runs: read it as rough).")
    if width is not None:
        lines += _width_sentences(width)
    return "\n".join(lines)


def _width_sentences(width: Sweep) -> list[str]:
    """The width sweep's gaps at each base width, what is not measured yet, how much the Single still gains
    from each doubling of its width, and the DE's lead beside the Single's gain from the same doubling."""
    by = {(r.method, r.width): r for r in width.rows}
    widths = sorted({r.width for r in width.rows})
    network = _network(width.rows)
    lines = []
    for w in widths:
        pe, de, one = by.get(("packed", w)), by.get(("deep", w)), by.get(("single", w))
        if pe is None:
            measured = ", ".join(r.label for r in (one, de) if r is not None)
            lines.append(f"* Width sweep, base width {w:g}: only {measured} measured so far (no packed ensemble "
                         "there).")
            continue
        parts = [_gap_sentence(pe, other, "accuracy", "accuracy") for other in (de, one) if other is not None]
        lines.append(f"* Width sweep, base width {w:g} ({pe.label}, members {pe.member_width:g}x {network}): "
                     + "; ".join(parts) + ".")
    both = [w for w in widths if ("packed", w) in by and ("deep", w) in by]
    if len(both) > 1:
        lines.append(_lead_sentence("The DE's accuracy lead over the PE of the same base width", "base widths",
                                    "doubling", [(w, by[("deep", w)], by[("packed", w)]) for w in both]))
    singles = sorted((r for r in width.rows if r.method == "single"), key=lambda r: r.width)
    if len(singles) > 1:
        steps = "; ".join(comparison_words(row_gap(b, a, "accuracy"), b.label, a.label, "accuracy")
                          for a, b in zip(singles, singles[1:], strict=False))
        lines.append(f"* The Single's accuracy from each doubling of its width: {steps}.")
    return lines + describe_gap_vs_doubling(width).splitlines() + _equal_parameter_sentences(width.rows, network)


def describe_gap_vs_doubling(width: Sweep, key: str = "accuracy") -> str:
    """What the width sweep links, one Markdown sentence per base width: the DE's lead over the PE of that base
    width beside what the Single gains from the same doubling of width. At one base width the DE's members are
    twice as wide as the PE's (``member_width`` of each row), so the Single's gain from the PE's member width to
    the DE's is the same doubling for one network. Each gap is ``compare``'s (paired where rows share seeds), and
    the two gaps are compared with each other over the seeds both have. Rows, labels and widths are read from
    ``width.rows``; a base width without a Single at both member widths gets no sentence."""
    higher, scale, digits, unit = METRIC_READING[key]
    rows = width.rows
    singles = {r.member_width: r for r in rows if r.method == "single"}
    lines = []
    for w in sorted({r.width for r in rows}):
        at_w = [r for r in rows if r.width == w]
        for de in (r for r in at_w if r.method == "deep"):
            for pe in (r for r in at_w if r.method == "packed"):
                narrow, wide = singles.get(pe.member_width), singles.get(de.member_width)
                if narrow is None or wide is None or narrow is wide:
                    continue
                lead, gain = row_gap(de, pe, key), row_gap(wide, narrow, key)
                lead_seeds, gain_seeds = _lead_by_seed(de, pe, key), _lead_by_seed(wide, narrow, key)
                if lead_seeds is None or gain_seeds is None:
                    link = "lead and gain not compared (their rows do not share their seeds)"
                else:
                    both = compare_by_seed(lead_seeds, gain_seeds)
                    link = f"lead minus gain: {both.words('the lead', 'the gain', higher)}, " \
                           f"{both.interval(scale, digits, unit)}"
                lines.append(
                    f"* Base width {w:g}: {de.label}'s {key} lead over {pe.label} (members {de.member_width:g}"
                    f"x vs {pe.member_width:g}x) {lead.interval(scale, digits, unit)}, beside the Single's gain "
                    f"from the same doubling ({narrow.label} to {wide.label}) "
                    f"{gain.interval(scale, digits, unit)}; {link}.")
    return "\n".join(lines)


def _equal_parameter_sentences(rows: Sequence[SweepRow], network: str = "the base network",
                               tolerance: float = 0.05) -> list[str]:
    """Rows whose parameter counts lie within ``tolerance`` of each other (the Single at base width 2w, DE(4) at
    w, PE(2,4,1) at 2w): at that budget, is width better spent on one network or on an ensemble? One sentence
    per budget that has a Single and an ensemble, most accurate first, the best ensemble against the Single; the
    width is called best spent on either only when ``compare`` separates them."""
    groups: list[list[SweepRow]] = []
    for row in sorted(rows, key=lambda r: r.params):
        if groups and row.params <= groups[-1][0].params * (1 + tolerance):
            groups[-1].append(row)
        else:
            groups.append([row])
    lines = []
    for group in groups:
        single = next((r for r in group if r.method == "single"), None)
        ensembles = [r for r in group if r.method != "single"]
        if single is None or not ensembles:
            continue
        best = max(ensembles, key=_accuracy)
        ranked = sorted(group, key=_accuracy, reverse=True)
        listing = ", ".join(f"{r.label} {100 * _accuracy(r):.1f}%" for r in ranked)
        gap = row_gap(best, single, "accuracy")
        spent = (f"the width is best spent on {'an ensemble' if gap.difference > 0 else 'one network'} here"
                 if gap.separated else "neither one network nor an ensemble is shown the better use of the width")
        sentence = (f"* At equal parameters (about {group[0].params / 1e6:.2f} M): {listing}, by the mean; "
                    f"{spent} ({comparison_words(gap, best.label, single.label, 'accuracy')})")
        twins = [(pe, de) for pe in group if pe.method == "packed" for de in group
                 if de.method == "deep" and de.member_width == pe.member_width]
        for pe, de in twins:
            sentence += (f"; {pe.label} is {de.label}'s networks packed into one (members {pe.member_width:g}x"
                         f" {network} each): " + _gap_sentence(pe, de, "accuracy", "accuracy"))
        lines.append(sentence + ".")
    return lines


def _accuracy(row: SweepRow) -> float:
    return row.summary["accuracy"].mean
