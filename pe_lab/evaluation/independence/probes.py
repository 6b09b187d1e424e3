"""How the audit measures one mode: random changes of member slices of each layer's input (forward hooks), and
the gradient of each member's output (which parameters and which layers each member depends on)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .findings import LayerFinding, SharedParameter
from .layouts import Layout, member_index, member_outputs, split_of

__all__ = ["Context", "Probe", "Runner", "audit_mode", "change_tolerance", "first_tensor"]


def first_tensor(value) -> torch.Tensor | None:
    """The first tensor in a module's output (a tensor, or nested tuples and lists); ``None`` if there is none."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple | list):
        return next((t for t in map(first_tensor, value) if t is not None), None)
    return None


class Probe:
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
        out = first_tensor(output)
        self.outputs.append(None if out is None else out.detach().clone())
        if self.perturb is not None and self.on_output and isinstance(output, torch.Tensor):
            return output + self.perturb(len(self.outputs) - 1, 0, output)
        return None

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@dataclass
class Runner:
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
            out = first_tensor(self.model(*self.inputs))
        if out is None:
            raise ValueError(f"the model returned {type(out).__name__}, not a tensor")
        return out

    def run(self, probes: Sequence[Probe] = ()) -> list[torch.Tensor]:
        try:
            with torch.no_grad():
                return [m.detach().clone() for m in self.members(self.output())]
        finally:
            for probe in probes:
                probe.remove()


def change_tolerance(values: Sequence[torch.Tensor]) -> float:
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
class Context:
    """What every probe of one mode needs: the model runner, where the members are, and the unperturbed outputs."""

    runner: Runner
    layout: Layout
    num_estimators: int
    batch: int
    channel_dim: int
    mode: str
    baseline: list[torch.Tensor]
    tolerance: float


def _perturbation(ctx: Context, name: str, member: int | None,
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
        split = "channels" if is_input and ctx.layout.inputs == "channels" else split_of(
            t.shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
        if split == "unsplit":
            return torch.zeros_like(t)
        mask = torch.zeros_like(t)
        mask[member_index(t.shape, split, member, ctx.num_estimators, ctx.channel_dim)] = 1
        return delta * mask

    return perturb


def _moved(ctx: Context, members: list[torch.Tensor]) -> list[float]:
    return [float((after - before).abs().max()) for after, before in zip(members, ctx.baseline, strict=True)]


def _layer_leak(ctx: Context, outputs: list, baseline: list, member: int) -> tuple[float, int] | None:
    """The largest change of another member's slice of the layer's own output, and that member; None when the
    output has no member slices."""
    if len(outputs) != len(baseline) or not baseline:
        return None
    worst = (0.0, -1)
    for after, before in zip(outputs, baseline, strict=True):
        if after is None or before is None or after.shape != before.shape:
            return None
        split = split_of(before.shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
        if split == "unsplit":
            return None
        for other in range(ctx.num_estimators):
            index = member_index(before.shape, split, other, ctx.num_estimators, ctx.channel_dim)
            change = float((after[index] - before[index]).abs().max()) if other != member else 0.0
            worst = max(worst, (change, other))
    return worst


def _probe_slices(ctx: Context, name: str, module: nn.Module, seen: Probe, split: str) -> LayerFinding:
    m, kind = ctx.num_estimators, type(module).__name__
    moved, local = [], []
    for member in range(m):
        probe = Probe(module, ctx.runner.inputs, _perturbation(ctx, name, member))
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
        mixes = layer_leak > change_tolerance([o for o in seen.outputs if o is not None])
        worst = (source, target) if mixes else None
    return LayerFinding(name, kind, ctx.mode, split, reached, layer_leak, output_leak, worst, mixes)


def _probe_layer(ctx: Context, name: str, module: nn.Module, seen: Probe,
                 reach: tuple[int, ...]) -> LayerFinding | None:
    """Perturb the layer's input member by member (all of it at once when it has no member slices); a layer
    whose output reaches one member's output only (``reach``, from the gradient pass) belongs to that member."""
    if not seen.inputs or not seen.inputs[0]:
        return None  # never called, or called without a floating tensor
    shape, is_input = seen.inputs[0][0]
    kind = type(module).__name__
    if is_input and ctx.layout.inputs == "shared":  # every member reads the images: shared by design
        return _probe_outputs(ctx, name, module, seen, reach)
    split = "channels" if is_input else split_of(shape, ctx.batch, ctx.num_estimators, ctx.channel_dim)
    if len(reach) <= 1:  # a Deep Ensemble's layer: nothing of it reaches another member
        return LayerFinding(name, kind, ctx.mode, split, reach, None, 0.0, None, False)
    if len(seen.inputs) > 1 and (per_call := _probe_calls(ctx, name, module, len(seen.inputs))) is not None:
        return per_call
    if split != "unsplit":
        return _probe_slices(ctx, name, module, seen, split)
    moved = _moved(ctx, ctx.runner.run([Probe(module, ctx.runner.inputs, _perturbation(ctx, name, None))]))
    reached = tuple(i for i in range(ctx.num_estimators) if moved[i] > ctx.tolerance)
    mixes = len(reached) >= 2  # one tensor without member slices feeds several members
    return LayerFinding(name, kind, ctx.mode, "unsplit", reached, None, sorted(moved)[-2] if mixes else 0.0,
                        None, mixes)


def _probe_calls(ctx: Context, name: str, module: nn.Module, calls: int) -> LayerFinding | None:
    """A module called once per member (one weight applied to each member's tensor): each call's input reaches
    one member only. None when some call reaches several members."""
    reached = []
    for call in range(calls):
        probe = Probe(module, ctx.runner.inputs, _perturbation(ctx, name, None, only_call=call))
        moved = _moved(ctx, ctx.runner.run([probe]))
        reached.append({i for i in range(ctx.num_estimators) if moved[i] > ctx.tolerance})
        if len(reached[-1]) > 1:
            return None
    members = tuple(sorted(set().union(*reached)))
    return LayerFinding(name, type(module).__name__, ctx.mode, "calls", members, None, 0.0, None, False)


def _probe_outputs(ctx: Context, name: str, module: nn.Module, seen: Probe,
                   reach: tuple[int, ...]) -> LayerFinding:
    """A layer that reads the shared input is not cut at its input; its output's member slices are perturbed
    instead, to see whether code after it carries one member's slice to another member."""
    kind, m = type(module).__name__, ctx.num_estimators
    first = seen.outputs[0] if seen.outputs else None
    split = "unsplit" if first is None else split_of(first.shape, ctx.batch, m, ctx.channel_dim)
    if len(reach) <= 1 or split == "unsplit":
        return LayerFinding(name, kind, ctx.mode, "shared input", reach, None, 0.0, None, False)
    moved = [_moved(ctx, ctx.runner.run([Probe(module, ctx.runner.inputs, _perturbation(ctx, name, j),
                                               on_output=True)])) for j in range(m)]
    leak, source, target = max((moved[j][i], j, i) for j in range(m) for i in range(m) if i != j)
    worst = (source, target) if leak > ctx.tolerance else None
    return LayerFinding(name, kind, ctx.mode, "shared input", reach, None, leak, worst, False)


def _leak_between_layers(ctx: Context, layers: list[LayerFinding]) -> list[LayerFinding]:
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
            out = first_tensor(output)
            if out is not None and out.requires_grad:
                out.register_hook(lambda grad: self.reached.add(name) if bool(grad.abs().max() > 0) else None)
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _gradient_pass(ctx: Context, model: nn.Module, modules: Sequence[tuple[str, nn.Module]],
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
        tolerance = change_tolerance([g for g in grads if g is not None] or [torch.zeros(1, dtype=out.dtype)])
        for (n, p), g in zip(params, grads, strict=True):
            touched[n].append(torch.zeros_like(p, dtype=torch.bool) if g is None else g.abs() > tolerance)
    model.zero_grad(set_to_none=True)
    return _shared(ctx, model, params, touched), {name: tuple(members) for name, members in reach.items()}


def _shared(ctx: Context, model: nn.Module, params, touched) -> list[SharedParameter]:
    shared = []
    for n, p in params:
        by_member = torch.stack(touched[n])
        common = by_member.sum(0) >= 2
        if common.any():
            members = tuple(i for i in range(ctx.num_estimators) if (by_member[i] & common).any())
            owner = type(model.get_submodule(n.rpartition(".")[0])).__name__
            shared.append(SharedParameter(n, owner, ctx.mode, int(common.sum()), p.numel(), members))
    return shared


def audit_mode(model: nn.Module, inputs: tuple[torch.Tensor, ...], layout: Layout, num_estimators: int,
               mode: str, channel_dim: int, seed: int) -> tuple[list[LayerFinding], list[SharedParameter]]:
    """One mode's findings: each audited layer's, a leak between layers, and the shared parameters."""
    model.train(mode == "train")
    batch = inputs[0].shape[0]
    runner = Runner(model, inputs, lambda out: member_outputs(out, layout, num_estimators, batch, channel_dim),
                    seed)
    modules = _audited_modules(model, layout)
    seen = {name: Probe(module, inputs) for name, module in modules}
    baseline = runner.run(list(seen.values()))
    ctx = Context(runner, layout, num_estimators, batch, channel_dim, mode, baseline, change_tolerance(baseline))
    shared, reach = _gradient_pass(ctx, model, modules, seed)
    layers = [f for name, module in modules
              if (f := _probe_layer(ctx, name, module, seen[name], reach[name])) is not None]
    return layers + _leak_between_layers(ctx, layers), shared
