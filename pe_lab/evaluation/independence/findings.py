"""What the audit found: one ``LayerFinding`` per layer and mode, one ``SharedParameter`` per shared parameter,
and the ``IndependenceReport`` that holds them, with its verdict and table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

__all__ = ["IndependenceReport", "LayerFinding", "SharedParameter"]


@dataclass(frozen=True)
class LayerFinding:
    """What perturbing member slices of one layer's input did, in one mode.

    ``split``: how the layer's input was cut into members (``"channels"``, ``"rows"``, ``"unsplit"``, or
    ``"shared input"`` for a layer reading the model's input that every member reads). ``members``: the members
    whose final outputs moved. ``layer_leak``: the largest change of another member's slice of the layer's own
    output (None when its output has no member slices); ``output_leak``: the same on the model's outputs.
    ``worst``: ``(j, i)``, the perturbed member and the other member that moved most."""

    name: str
    kind: str
    mode: str
    split: str
    members: tuple[int, ...]
    layer_leak: float | None
    output_leak: float
    worst: tuple[int, int] | None
    mixes: bool


@dataclass(frozen=True)
class SharedParameter:
    """A parameter some of whose elements receive gradient from two or more members' outputs, in one mode."""

    name: str
    kind: str
    mode: str
    shared: int
    numel: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class IndependenceReport:
    """The audit's findings; ``.independent`` is True when no layer mixes members, no member's output moves with
    another member's input, and no parameter is shared. ``print(report)`` shows one row per layer kind and mode."""

    layout: str
    num_estimators: int
    dtype: torch.dtype
    modes: tuple[str, ...]
    layers: tuple[LayerFinding, ...]
    shared_parameters: tuple[SharedParameter, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def mixing(self) -> tuple[LayerFinding, ...]:
        """The layers (in any mode) through which one member's input reaches another member."""
        return tuple(f for f in self.layers if f.mixes)

    @property
    def independent(self) -> bool:
        return not self.mixing and not self.shared_parameters

    def shared_names(self, mode: str | None = None) -> list[str]:
        """Names of the shared parameters (in ``mode``, or in any mode), in model order."""
        names = [p.name for p in self.shared_parameters if mode is None or p.mode == mode]
        return list(dict.fromkeys(names))

    def rows(self) -> list[dict]:
        """One row per (layer kind, mode): the table's content as dicts (for ``pandas.DataFrame``)."""
        rows = {}
        for f in self.layers:
            row = rows.setdefault((f.kind, f.mode), {"layer kind": f.kind, "mode": f.mode, "layers": 0,
                                                     "mixes members": "no", "largest leak": 0.0, "where": "",
                                                     "shared parameters": "none"})
            row["layers"] += 1
            leak = f.layer_leak if f.layer_leak is not None else f.output_leak
            if f.mixes:
                row["mixes members"] = "yes"
            if f.mixes and leak >= row["largest leak"]:
                pair = f" member {f.worst[0]} -> {f.worst[1]}" if f.worst else ""
                row["largest leak"], row["where"] = leak, f"{f.name or '(model)'}{pair}"
        for (kind, mode), text in _shared_by_kind(self.shared_parameters).items():
            rows.setdefault((kind, mode), {"layer kind": kind, "mode": mode, "layers": 0, "mixes members": "no",
                                           "largest leak": 0.0, "where": ""})["shared parameters"] = text
        return list(rows.values())

    def verdict(self) -> str:
        """``INDEPENDENT``, or ``NOT INDEPENDENT`` with what broke it, in words."""
        if self.independent:
            return "INDEPENDENT"
        reasons = []
        for mode in self.modes:
            mixing = sum(f.mode == mode for f in self.mixing)
            shared = len(self.shared_names(mode))
            parts = [f"{mixing} layer{'s' * (mixing != 1)} mix{'es' * (mixing == 1)} members"] if mixing else []
            parts += [f"{shared} parameter{'s' * (shared != 1)} shared"] if shared else []
            reasons += [f"{mode}: {' and '.join(parts)}"] if parts else []
        return f"NOT INDEPENDENT ({'; '.join(reasons)})"

    def table(self) -> str:
        """The report as text: a verdict line, then one row per layer kind and mode."""
        head = (f"Member-independence audit ({self.layout} layout, M={self.num_estimators}, "
                f"{str(self.dtype).removeprefix('torch.')}, modes: {', '.join(self.modes)}): {self.verdict()}")
        columns = ("layer kind", "mode", "layers", "mixes members", "largest leak", "shared parameters")
        cells = [[str(r[c]) if c != "largest leak" else (f"{r[c]:.1e} ({r['where']})" if r[c] else "-")
                  for c in columns] for r in self.rows()]
        widths = [max(len(c), *(len(row[k]) for row in cells)) if cells else len(c) for k, c in enumerate(columns)]
        lines = [[*columns], *cells]
        lines = [head, *("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in lines)]
        return "\n".join([*lines, *(f"note: {n}" for n in self.notes)])

    def __str__(self) -> str:
        return self.table()


def _shared_by_kind(shared: Sequence[SharedParameter]) -> dict[tuple[str, str], str]:
    totals: dict[tuple[str, str], dict[str, list[int]]] = {}
    for p in shared:
        counts = totals.setdefault((p.kind, p.mode), {}).setdefault(p.name.rpartition(".")[2], [0, 0, 0])
        counts[0], counts[1], counts[2] = counts[0] + p.shared, counts[1] + p.numel, counts[2] + 1
    return {key: ", ".join(f"{short}: {100 * s / n:.0f}% of {n:,} elements ({k} layer{'s' if k > 1 else ''})"
                           for short, (s, n, k) in params.items())
            for key, params in totals.items()}
