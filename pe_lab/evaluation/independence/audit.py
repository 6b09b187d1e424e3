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
from collections.abc import Sequence

import torch
from torch import nn

from ...validate import check_choice, check_int
from .findings import IndependenceReport
from .layouts import Layout, check_torch_uncertainty_version, member_outputs, resolve_layout
from .probes import audit_mode, first_tensor

__all__ = ["MODES", "audit_members"]


MODES = ("eval", "train")


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
                out = first_tensor(twin(*cast))
        except (RuntimeError, NotImplementedError) as error:
            failure = error
            note = f"the model does not run in {dtype} ({type(error).__name__}: {error}); audited in float32"
            continue
        if out is None:
            raise ValueError("the model returned no tensor")
        member_outputs(out, layout, num_estimators, cast[0].shape[0], channel_dim)
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
    layout = resolve_layout(layout)
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
            found_layers, found_shared = audit_mode(twin, cast, layout, num_estimators, mode, channel_dim, seed)
            layers += found_layers
            shared += found_shared
    finally:
        torch.set_num_threads(before)
    return IndependenceReport(layout.name, num_estimators, cast[0].dtype, modes, tuple(layers), tuple(shared),
                              (note,) if note else ())
