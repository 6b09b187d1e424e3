"""Member-independence audit: is a packed model really ``M`` networks, for any packed model?

An ensemble of ``M`` members is independent when member ``i``'s outputs depend only on the shared input and on
member ``i``'s own weights. ``audit_members`` measures both halves on a copy of the model (float64 where the model
allows it), in eval mode and in train mode, because normalisation layers compute batch statistics in train mode:

* **inputs**: for every layer (every leaf module and every module holding its own parameters) it adds a random
  change to member ``j``'s slice of the layer's input only, runs the model, and sees which members' slices of the
  layer's output, and which members' final outputs, moved. A layer whose input is one tensor that feeds several
  members, without member slices, counts as mixing them (MIMO's hidden layers), except a layer that reads the
  model's input itself when the layout says every member sees the whole input (images);
* **weights**: the gradient of member ``i``'s output (a random projection of it) with respect to every parameter;
  a parameter element that receives gradient from two members is shared.

Member slices of a tensor: the rows of a member-major batch ``(M*B, ...)`` when its first dimension is ``M`` times
the input's batch (BatchEnsemble, Masksembles), otherwise the channel blocks ``(m c)`` of dimension
``channel_dim`` (a packed layer's convention: member ``m`` owns the ``m``-th contiguous block). A layer whose
input perturbations reach a single member belongs to that member (a Deep Ensemble's layers).

Layouts (``LAYOUTS``) say where the members are in the model's input and output:

* ``"pe-lab"``: every member reads the whole input; outputs ``(B, M, ...)`` (``logits_by_member``);
* ``"torch-uncertainty"``: every member reads the whole input; a last packed layer emits ``(M*B, ...)``
  ("``(m b) c``", member-major rows), channels ``(m c)`` inside;
* ``"packed-layer"``: one packed layer alone; input and output both in channel blocks ``(m c)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..nn.tutorial import TORCH_UNCERTAINTY_VERSIONS
from ..validate import check_choice, check_int

__all__ = ["LAYOUTS", "IndependenceReport", "Layout", "LayerFinding",
           "SharedParameter", "audit_members", "check_torch_uncertainty_version"]

MODES = ("eval", "train")


@dataclass(frozen=True)
class Layout:
    """Where the members are. ``inputs``: ``"shared"`` (every member reads the whole input) or ``"channels"``
    (member ``m`` owns channel block ``m`` of dimension ``channel_dim``). ``outputs``: ``"b m ..."``,
    ``"(m b) ..."`` or ``"b (m c) ..."``."""

    name: str
    inputs: str
    outputs: str

    def __post_init__(self) -> None:
        check_choice("layout inputs", self.inputs, ("shared", "channels"))
        check_choice("layout outputs", self.outputs, ("b m ...", "(m b) ...", "b (m c) ..."))


LAYOUTS = {
    "pe-lab": Layout("pe-lab", "shared", "b m ..."),
    "torch-uncertainty": Layout("torch-uncertainty", "shared", "(m b) ..."),
    "packed-layer": Layout("packed-layer", "channels", "b (m c) ..."),
}


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


# ------------------------------------------------------------------------------------------------ the checks


def check_torch_uncertainty_version(version: str | None = None) -> str:
    """The installed torch-uncertainty version (or ``version``), or ``RuntimeError`` naming it unless its packed
    layers were checked against the ``"torch-uncertainty"`` layout (``TORCH_UNCERTAINTY_VERSIONS``, the list
    pe-lab's reproduction of the tutorial checks too). Before 0.5.0 a last packed layer emitted ``b (m c)``
    (torch_uncertainty/layers/packed.py at tag v0.4.0), not ``(m b) c``; unread releases are refused, not
    audited under a guessed layout."""
    if version is None:
        import torch_uncertainty

        version = getattr(torch_uncertainty, "__version__", None)
        if version is None:
            from importlib.metadata import version as installed_version

            version = installed_version("torch-uncertainty")
    if version not in TORCH_UNCERTAINTY_VERSIONS:
        raise RuntimeError(
            f"torch-uncertainty {version} is installed, but the audit's torch-uncertainty layout (channels '(m c)' "
            f"inside, a last layer's outputs '(m b) ...') was checked against torch-uncertainty "
            f"{', '.join(TORCH_UNCERTAINTY_VERSIONS)} only; releases before 0.5.0 emit a last layer's outputs as "
            f"'b (m c)'. Install torch-uncertainty=={TORCH_UNCERTAINTY_VERSIONS[-1]} to audit this model")
    return version


def _resolve_layout(layout: str | Layout) -> Layout:
    if isinstance(layout, Layout):
        return layout
    check_choice("layout", layout, LAYOUTS)
    return LAYOUTS[layout]


def _uses_torch_uncertainty(model: nn.Module) -> bool:
    return any(type(m).__module__.startswith("torch_uncertainty") for m in model.modules())


def _example_inputs(example_input, input_shape, layout: Layout, num_estimators: int, channel_dim: int,
                    seed: int) -> tuple[torch.Tensor, ...]:
    if (example_input is None) == (input_shape is None):
        raise ValueError("give exactly one of example_input (a tensor or a tuple of tensors) and input_shape")
    if example_input is None:
        shape = tuple(check_int("input_shape entry", s, minimum=1) for s in input_shape)
        example_input = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    inputs = tuple(example_input) if isinstance(example_input, tuple | list) else (example_input,)
    for t in inputs:
        if not (isinstance(t, torch.Tensor) and t.is_floating_point() and t.dim() >= 2):
            raise ValueError(f"example inputs must be floating tensors with a batch dimension, got "
                             f"{type(t).__name__} {tuple(getattr(t, 'shape', ()))}")
        if layout.inputs == "channels" and t.shape[channel_dim] % num_estimators:
            raise ValueError(f"layout {layout.name!r} splits the input's channels (dim {channel_dim}) among the "
                             f"members, but {t.shape[channel_dim]} channels (input {tuple(t.shape)}) are not "
                             f"divisible by num_estimators={num_estimators}")
    return inputs


def _member_outputs(out: torch.Tensor, layout: Layout, num_estimators: int, batch: int,
                    channel_dim: int) -> list[torch.Tensor]:
    """Member ``i``'s part of the model's output, or ``ValueError`` naming the layout's shape and the output's."""
    shape, m = tuple(out.shape), num_estimators
    if layout.outputs == "b m ...":
        if out.dim() >= 2 and shape[0] == batch and shape[1] == m:
            return [out[:, i] for i in range(m)]
        wanted = f"(B, M, ...) = ({batch}, {m}, ...)"
    elif layout.outputs == "(m b) ...":
        if out.dim() >= 1 and shape[0] == m * batch:
            return list(out.reshape(m, batch, *shape[1:]).unbind(0))
        wanted = f"(M*B, ...) = ({m * batch}, ...)"
    else:
        if out.dim() >= 2 and shape[0] == batch and shape[channel_dim] % m == 0:
            return list(out.chunk(m, dim=channel_dim))
        wanted = f"(B, M*C, ...) = ({batch}, a multiple of {m} on dim {channel_dim}, ...)"
    raise ValueError(f"layout {layout.name!r} expects the model's output to be {wanted} for batch B={batch} and "
                     f"M={m} members, but the model returned {shape}; give the layout the model uses, or the right "
                     "num_estimators")


# ------------------------------------------------------------------------------------------------ running it


def _first_tensor(value) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple | list):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    return None


def _split_of(shape: Sequence[int], batch: int, num_estimators: int, channel_dim: int) -> str:
    """How a tensor of ``shape`` is cut into members: ``"rows"`` (member-major batch), ``"channels"`` or
    ``"unsplit"``."""
    if len(shape) >= 1 and shape[0] == num_estimators * batch:
        return "rows"
    if len(shape) >= 2 and -len(shape) <= channel_dim < len(shape) and shape[channel_dim] % num_estimators == 0:
        return "channels"
    return "unsplit"


def _member_index(shape: Sequence[int], split: str, member: int, num_estimators: int, channel_dim: int) -> tuple:
    dim = 0 if split == "rows" else channel_dim % len(shape)
    size = shape[dim] // num_estimators
    index = [slice(None)] * len(shape)
    index[dim] = slice(member * size, (member + 1) * size)
    return tuple(index)


class _Probe:
    """Forward hooks on one module: they record each call's floating tensor inputs (shape, and whether it is the
    model's input) and first output tensor, and add ``perturb(call, position, tensor)`` to the inputs (to the
    output, when ``on_output``) when given. One tensor passed twice (attention's query, key and value) is
    perturbed once."""

    def __init__(self, module: nn.Module, model_inputs: Sequence[torch.Tensor],
                 perturb: Callable[[int, int, torch.Tensor], torch.Tensor] | None = None,
                 on_output: bool = False) -> None:
        self.model_inputs, self.perturb, self.on_output = model_inputs, perturb, on_output
        self.inputs: list[list[tuple[tuple[int, ...], bool]]] = []
        self.outputs: list[torch.Tensor | None] = []
        self.handles = [module.register_forward_pre_hook(self._before, with_kwargs=True),
                        module.register_forward_hook(self._after)]

    def _before(self, module, args, kwargs):
        call, tensors = len(self.inputs), [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
        self.inputs.append([(tuple(t.shape), any(t is x for x in self.model_inputs)) for t in tensors])
        if self.perturb is None or self.on_output or not tensors:
            return None
        swapped: dict[int, torch.Tensor] = {}
        for position, t in enumerate(dict.fromkeys(tensors)):
            swapped[id(t)] = t + self.perturb(call, position, t)
        return tuple(swapped.get(id(a), a) for a in args), kwargs

    def _after(self, module, args, output):
        out = _first_tensor(output)
        self.outputs.append(None if out is None else out.detach().clone())
        if self.perturb is not None and self.on_output and isinstance(output, torch.Tensor):
            return output + self.perturb(len(self.outputs) - 1, 0, output)
        return None

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@dataclass
class _Runner:
    """Runs a model copy on fixed inputs with a fixed random seed (dropout draws alike in every run)."""

    model: nn.Module
    inputs: tuple[torch.Tensor, ...]
    members: Callable[[torch.Tensor], list[torch.Tensor]]
    seed: int

    def output(self) -> torch.Tensor:
        device = self.inputs[0].device
        with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
            # torch.manual_seed would also seed (and start) every CUDA device: slow, and not ours to touch
            torch.default_generator.manual_seed(self.seed)
            if device.type == "cuda":
                torch.cuda.manual_seed(self.seed)
            out = _first_tensor(self.model(*self.inputs))
        if out is None:
            raise ValueError(f"the model returned {type(out).__name__}, not a tensor")
        return out

    def run(self, probes: Sequence[_Probe] = ()) -> list[torch.Tensor]:
        try:
            with torch.no_grad():
                return [m.detach().clone() for m in self.members(self.output())]
        finally:
            for probe in probes:
                probe.remove()


def _tolerance(values: Sequence[torch.Tensor]) -> float:
    """What counts as "moved": a thousand rounding errors of the dtype at the values' magnitude."""
    scale = max([1.0, *(float(v.abs().max()) for v in values if v is not None and v.numel())])
    return 1e3 * torch.finfo(values[0].dtype).eps * scale


_PASS_THROUGH = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.Identity)


def _audited_modules(model: nn.Module, layout: Layout) -> list[tuple[str, nn.Module]]:
    """Every leaf module and every module holding parameters of its own, and the model itself when its input is
    cut into members (a packed layer alone, however it is built inside); an empty container or an identity hands
    its input on unchanged, so it is not a layer of its own."""
    return [(name, m) for name, m in model.named_modules()
            if (not name and layout.inputs == "channels")
            or (not any(True for _ in m.children()) and not isinstance(m, _PASS_THROUGH))
            or any(True for _ in m.parameters(recurse=False))]


@dataclass(frozen=True)
class _Context:
    runner: _Runner
    layout: Layout
    num_estimators: int
    batch: int
    channel_dim: int
    mode: str
    baseline: list[torch.Tensor]
    tolerance: float


def _perturbation(ctx: _Context, name: str, member: int | None,
                  only_call: int | None = None) -> Callable[[int, int, torch.Tensor], torch.Tensor]:
    """A random change of member ``member``'s slice of every tensor (of all of it when None), in every call of
    the module or in call ``only_call``; each tensor is cut by its own shape, and a tensor without member slices
    is left alone for a member's change."""

    def perturb(call: int, position: int, t: torch.Tensor) -> torch.Tensor:
        if only_call is not None and call != only_call:
            return torch.zeros_like(t)
        seed = (sum(map(ord, name)) * 7919 + call * 101 + position) % 2**31
        delta = torch.randn(t.shape, generator=torch.Generator().manual_seed(seed), dtype=t.dtype).to(t.device)
        delta = delta * (float(t.detach().abs().mean()) or 1.0)
        if member is None:
            return delta
        is_input = any(t is x for x in ctx.runner.inputs)
        split = "channels" if is_input and ctx.layout.inputs == "channels" else _split_of(
            t.shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
        if split == "unsplit":
            return torch.zeros_like(t)
        mask = torch.zeros_like(t)
        mask[_member_index(t.shape, split, member, ctx.num_estimators, ctx.channel_dim)] = 1
        return delta * mask

    return perturb


def _moved(ctx: _Context, members: list[torch.Tensor]) -> list[float]:
    return [float((after - before).abs().max()) for after, before in zip(members, ctx.baseline, strict=True)]


def _layer_leak(ctx: _Context, outputs: list, baseline: list, member: int) -> tuple[float, int] | None:
    """The largest change of another member's slice of the layer's own output, and that member; None when the
    output has no member slices."""
    if len(outputs) != len(baseline) or not baseline:
        return None
    worst = (0.0, -1)
    for after, before in zip(outputs, baseline, strict=True):
        if after is None or before is None or after.shape != before.shape:
            return None
        split = _split_of(before.shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
        if split == "unsplit":
            return None
        for other in range(ctx.num_estimators):
            index = _member_index(before.shape, split, other, ctx.num_estimators, ctx.channel_dim)
            change = float((after[index] - before[index]).abs().max()) if other != member else 0.0
            worst = max(worst, (change, other))
    return worst


def _probe_slices(ctx: _Context, name: str, module: nn.Module, seen: _Probe, split: str) -> LayerFinding:
    m, kind = ctx.num_estimators, type(module).__name__
    moved, local = [], []
    for member in range(m):
        probe = _Probe(module, ctx.runner.inputs, _perturbation(ctx, name, member))
        moved.append(_moved(ctx, ctx.runner.run([probe])))
        local.append(_layer_leak(ctx, probe.outputs, seen.outputs, member))
    reached = tuple(i for i in range(m) if any(row[i] > ctx.tolerance for row in moved))
    if len(reached) <= 1:  # the whole layer belongs to one member (a Deep Ensemble's layer)
        return LayerFinding(name, kind, ctx.mode, split, reached, None, 0.0, None, False)
    output_leak, source, target = max((moved[j][i], j, i) for j in range(m) for i in range(m) if i != j)
    if any(entry is None for entry in local):
        mixes, layer_leak = output_leak > ctx.tolerance, None
        worst = (source, target) if mixes else None
    else:
        layer_leak, source, target = max((local[j][0], j, local[j][1]) for j in range(m))
        mixes = layer_leak > _tolerance([o for o in seen.outputs if o is not None])
        worst = (source, target) if mixes else None
    return LayerFinding(name, kind, ctx.mode, split, reached, layer_leak, output_leak, worst, mixes)


def _probe_layer(ctx: _Context, name: str, module: nn.Module, seen: _Probe,
                 reach: tuple[int, ...]) -> LayerFinding | None:
    """Perturb the layer's input member by member (all of it at once when it has no member slices); a layer
    whose output reaches one member's output only (``reach``, from the gradient pass) belongs to that member."""
    if not seen.inputs or not seen.inputs[0]:
        return None  # never called, or called without a floating tensor
    shape, is_input = seen.inputs[0][0]
    kind = type(module).__name__
    if is_input and ctx.layout.inputs == "shared":  # every member reads the images: shared by design
        return _probe_outputs(ctx, name, module, seen, reach)
    split = "channels" if is_input else _split_of(shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
    if len(reach) <= 1:  # a Deep Ensemble's layer: nothing of it reaches another member
        return LayerFinding(name, kind, ctx.mode, split, reach, None, 0.0, None, False)
    if len(seen.inputs) > 1 and (per_call := _probe_calls(ctx, name, module, len(seen.inputs))) is not None:
        return per_call
    if split != "unsplit":
        return _probe_slices(ctx, name, module, seen, split)
    moved = _moved(ctx, ctx.runner.run([_Probe(module, ctx.runner.inputs, _perturbation(ctx, name, None))]))
    reached = tuple(i for i in range(ctx.num_estimators) if moved[i] > ctx.tolerance)
    mixes = len(reached) >= 2  # one tensor without member slices feeds several members
    return LayerFinding(name, kind, ctx.mode, "unsplit", reached, None, sorted(moved)[-2] if mixes else 0.0,
                        None, mixes)


def _probe_calls(ctx: _Context, name: str, module: nn.Module, calls: int) -> LayerFinding | None:
    """A module called once per member (one weight applied to each member's tensor): each call's input reaches
    one member only. None when some call reaches several members."""
    reached = []
    for call in range(calls):
        probe = _Probe(module, ctx.runner.inputs, _perturbation(ctx, name, None, only_call=call))
        moved = _moved(ctx, ctx.runner.run([probe]))
        reached.append({i for i in range(ctx.num_estimators) if moved[i] > ctx.tolerance})
        if len(reached[-1]) > 1:
            return None
    members = tuple(sorted(set().union(*reached)))
    return LayerFinding(name, type(module).__name__, ctx.mode, "calls", members, None, 0.0, None, False)


def _probe_outputs(ctx: _Context, name: str, module: nn.Module, seen: _Probe,
                   reach: tuple[int, ...]) -> LayerFinding:
    """A layer that reads the shared input is not cut at its input; its output's member slices are perturbed
    instead, to see whether code after it carries one member's slice to another member."""
    kind, m = type(module).__name__, ctx.num_estimators
    first = seen.outputs[0] if seen.outputs else None
    split = "unsplit" if first is None else _split_of(first.shape, ctx.batch, m, ctx.channel_dim)
    if len(reach) <= 1 or split == "unsplit":
        return LayerFinding(name, kind, ctx.mode, "shared input", reach, None, 0.0, None, False)
    moved = [_moved(ctx, ctx.runner.run([_Probe(module, ctx.runner.inputs, _perturbation(ctx, name, j),
                                                on_output=True)])) for j in range(m)]
    leak, source, target = max((moved[j][i], j, i) for j in range(m) for i in range(m) if i != j)
    worst = (source, target) if leak > ctx.tolerance else None
    return LayerFinding(name, kind, ctx.mode, "shared input", reach, None, leak, worst, False)


def _leak_between_layers(ctx: _Context, layers: list[LayerFinding]) -> list[LayerFinding]:
    """A member's input that reaches another member's output although no layer mixes them: code in a forward
    function (``torch.cat``, a mean, ...) between the layers does."""
    leaking = [f for f in layers if f.output_leak > ctx.tolerance]
    if not leaking or any(f.mixes for f in layers):
        return []
    first, worst = leaking[0], max(leaking, key=lambda f: f.output_leak)
    return [LayerFinding(f"(after {first.name or 'the input'})", "(forward code)", ctx.mode, first.split,
                         first.members, None, worst.output_leak, worst.worst, True)]


class _Reach:
    """Forward hooks that mark, in a backward pass, which audited layers' outputs receive gradient."""

    def __init__(self, modules: Sequence[tuple[str, nn.Module]]) -> None:
        self.reached: set[str] = set()
        self.handles = [module.register_forward_hook(self._hook(name)) for name, module in modules]

    def _hook(self, name: str):
        def hook(module, args, output) -> None:
            out = _first_tensor(output)
            if out is not None and out.requires_grad:
                out.register_hook(lambda grad: self.reached.add(name) if bool(grad.abs().max() > 0) else None)
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _gradient_pass(ctx: _Context, model: nn.Module, modules: Sequence[tuple[str, nn.Module]],
                   seed: int) -> tuple[list[SharedParameter], dict[str, tuple[int, ...]]]:
    """Backpropagate a random projection of each member's output: the parameter elements each member's output
    depends on, and the members whose outputs each layer's output reaches."""
    params = [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]
    touched: dict[str, list[torch.Tensor]] = {n: [] for n, _ in params}
    reach: dict[str, list[int]] = {name: [] for name, _ in modules}
    for member in range(ctx.num_estimators):
        for _, p in params:
            p.requires_grad_(True)
            p.grad = None
        hooks = _Reach(modules)
        try:
            out = ctx.runner.members(ctx.runner.output())[member]
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + member),
                                  dtype=out.dtype)
            (out * weights.to(out.device)).sum().backward()
        finally:
            hooks.remove()
        for name in hooks.reached:
            reach[name].append(member)
        grads = [p.grad for _, p in params]
        tolerance = _tolerance([g for g in grads if g is not None] or [torch.zeros(1, dtype=out.dtype)])
        for (n, p), g in zip(params, grads, strict=True):
            touched[n].append(torch.zeros_like(p, dtype=torch.bool) if g is None else g.abs() > tolerance)
    model.zero_grad(set_to_none=True)
    return _shared(ctx, model, params, touched), {name: tuple(members) for name, members in reach.items()}


def _shared(ctx: _Context, model: nn.Module, params, touched) -> list[SharedParameter]:
    shared = []
    for n, p in params:
        by_member = torch.stack(touched[n])
        common = by_member.sum(0) >= 2
        if common.any():
            members = tuple(i for i in range(ctx.num_estimators) if (by_member[i] & common).any())
            owner = type(model.get_submodule(n.rpartition(".")[0])).__name__
            shared.append(SharedParameter(n, owner, ctx.mode, int(common.sum()), p.numel(), members))
    return shared


def _audit_mode(model: nn.Module, inputs: tuple[torch.Tensor, ...], layout: Layout, num_estimators: int,
                mode: str, channel_dim: int, seed: int) -> tuple[list[LayerFinding], list[SharedParameter]]:
    model.train(mode == "train")
    batch = inputs[0].shape[0]
    runner = _Runner(model, inputs, lambda out: _member_outputs(out, layout, num_estimators, batch, channel_dim),
                     seed)
    modules = _audited_modules(model, layout)
    seen = {name: _Probe(module, inputs) for name, module in modules}
    baseline = runner.run(list(seen.values()))
    ctx = _Context(runner, layout, num_estimators, batch, channel_dim, mode, baseline, _tolerance(baseline))
    shared, reach = _gradient_pass(ctx, model, modules, seed)
    layers = [f for name, module in modules
              if (f := _probe_layer(ctx, name, module, seen[name], reach[name])) is not None]
    return layers + _leak_between_layers(ctx, layers), shared


def _copy_in(model: nn.Module, inputs: tuple[torch.Tensor, ...], dtype: torch.dtype, layout: Layout,
             num_estimators: int, channel_dim: int) -> tuple[nn.Module, tuple[torch.Tensor, ...], str | None]:
    """A copy of the model and the inputs in ``dtype``, or in float32 (with a note) when the model cannot run in
    ``dtype``; the output's shape is checked against the layout before any audit work."""
    device = next((p.device for p in model.parameters()), inputs[0].device)
    note, failure = None, None
    for candidate in dict.fromkeys((dtype, torch.float32)):
        try:
            twin = copy.deepcopy(model).to(device=device, dtype=candidate).eval()
            cast = tuple(t.detach().to(device=device, dtype=candidate) for t in inputs)
            with torch.no_grad():
                out = _first_tensor(twin(*cast))
        except (RuntimeError, NotImplementedError) as error:
            failure = error
            note = f"the model does not run in {dtype} ({type(error).__name__}: {error}); audited in float32"
            continue
        if out is None:
            raise ValueError("the model returned no tensor")
        _member_outputs(out, layout, num_estimators, cast[0].shape[0], channel_dim)
        return twin, cast, note
    raise RuntimeError(f"the audit could not run a copy of the model in {dtype} nor in float32: "
                       f"{type(failure).__name__}: {failure}") from failure


def audit_members(model: nn.Module, *, num_estimators: int, example_input=None,
                  input_shape: Sequence[int] | None = None, layout: str | Layout = "pe-lab",
                  dtype: torch.dtype = torch.float64, modes: Sequence[str] = MODES, channel_dim: int = 1,
                  seed: int = 0, threads: int | None = 1) -> IndependenceReport:
    """Audit whether ``model``'s ``num_estimators`` members are independent networks (see the module's doc).

    ``example_input`` (a tensor, or a tuple of tensors passed positionally) or ``input_shape`` (random normal
    inputs of that shape; the first dimension is the batch); ``layout``: a name in ``LAYOUTS`` or a ``Layout``;
    ``channel_dim``: the dimension of the ``(m c)`` channel blocks (-1 for features-last layers such as
    attention); ``modes``: ``"eval"`` and/or ``"train"``. The model itself is not changed (a copy runs).
    ``threads``: torch's intra-op threads while the audit runs (restored after; None keeps them): the audit runs
    hundreds of forward passes on a few inputs, where splitting each operation among threads costs more than it
    saves, many times more on a machine whose cores are busy.

    >>> from torch import nn
    >>> report = audit_members(nn.Conv2d(4, 4, 1, groups=2), num_estimators=2, input_shape=(2, 4, 3, 3),
    ...                        layout="packed-layer")
    >>> report.independent
    True
    >>> audit_members(nn.Conv2d(4, 4, 1), num_estimators=2, input_shape=(2, 4, 3, 3),
    ...               layout="packed-layer").independent
    False
    """
    layout = _resolve_layout(layout)
    num_estimators = check_int("num_estimators", num_estimators, minimum=1)
    if num_estimators < 2:
        raise ValueError(f"an audit compares members with each other: num_estimators must be >= 2, got "
                         f"num_estimators={num_estimators}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    declared = getattr(model, "num_estimators", None)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared != num_estimators:
        raise ValueError(f"the model says num_estimators={declared}, but num_estimators={num_estimators} was given")
    modes = tuple(modes)
    if not modes:
        raise ValueError("modes must name at least one of 'eval' and 'train'")
    for mode in modes:
        check_choice("mode", mode, MODES)
    if layout.name == "torch-uncertainty" or _uses_torch_uncertainty(model):
        check_torch_uncertainty_version()
    inputs = _example_inputs(example_input, input_shape, layout, num_estimators, channel_dim, seed)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, minimum=1))
    try:
        twin, cast, note = _copy_in(model, inputs, dtype, layout, num_estimators, channel_dim)
        layers, shared = [], []
        for mode in modes:
            found_layers, found_shared = _audit_mode(twin, cast, layout, num_estimators, mode, channel_dim, seed)
            layers += found_layers
            shared += found_shared
    finally:
        torch.set_num_threads(before)
    return IndependenceReport(layout.name, num_estimators, cast[0].dtype, modes, tuple(layers), tuple(shared),
                              (note,) if note else ())
