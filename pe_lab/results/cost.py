"""What a model costs: parameters, FLOPs, activation memory, and wall time, side by side.

Contenders (``CONTENDERS``) come from the method registry (``pe_lab.methods``): each method says how it is
timed. For Single / DE / PE of one architecture:

* ``single``: one network;
* ``deep_loop``: a Deep Ensemble of M networks run one after another (what most code does);
* ``deep_vmap``: the same M networks vectorised with ``torch.func`` (``stack_module_state`` + ``vmap``);
  BatchNorm then uses batch statistics only (``replace_all_batch_norm_modules_``), which is fine for timing;
* ``packed``: the Packed-Ensemble.

Timing takes the median of interleaved repeats (contender A, B, C, D, A, B, ...), so drift of a noisy
machine hits all alike; CUDA runs are synchronised, warmed up, and use AMP, channels_last and
``cudnn.benchmark`` (the fastest kernel for each fixed shape, as ``fit`` uses). A contender that fails on
a device is reported with its error instead of its numbers.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..methods.registry import METHODS, Contender, build, training_units
from ..runtime import Runtime, autocast, cudnn_benchmark, grad_scaler, resolve_runtime
from ..training.step import member_loss
from ..validate import check_choice, check_int

__all__ = ["CONTENDERS", "Cost", "activation_bytes", "contender_label", "count_flops", "count_params", "measure",
           "registered_contenders"]

REFERENCE = "reference_pe"  # torch-uncertainty's packed ResNet, when it is installed (optional peer)


def registered_contenders() -> dict[str, tuple[str, Contender]]:
    """Contender name -> (method name, contender): every registered method's ways of being timed."""
    return {c.name: (m.name, c) for m in METHODS.values() for c in m.contenders}


CONTENDERS = tuple(registered_contenders())  # pe-lab's own; registered_contenders() also sees later ones


def _mode(kind: str) -> str:
    """How a contender runs (``Contender.mode``); the reference peer is one joint model."""
    return "joint" if kind == REFERENCE else registered_contenders()[kind][1].mode


def contender_label(name: str) -> str:
    """``"DE (loop)"`` for ``"deep_loop"``; the peer's label for ``reference_pe``."""
    return "torch-uncertainty PE" if name == REFERENCE else registered_contenders()[name][1].label


def reference_available() -> bool:
    """True when torch-uncertainty (the paper's reference library) can be imported."""
    try:
        from torch_uncertainty.models.classification.resnet import packed_resnet  # noqa: F401
    except Exception:  # not installed, or a dependency of it is missing
        return False
    return True


def _make_model(kind: str, model_name: str, alpha: float, num_estimators: int, gamma: int,
                num_classes: int) -> nn.Module:
    if kind == REFERENCE:
        from torch_uncertainty.models.classification.resnet import packed_resnet

        if not model_name.startswith("resnet"):
            raise ValueError(f"the reference library has packed ResNets only, not {model_name!r}")
        return packed_resnet(in_channels=3, num_classes=num_classes, arch=int(model_name[len("resnet"):]),
                             num_estimators=num_estimators, alpha=alpha, gamma=gamma, style="cifar")
    return build(model_name, registered_contenders()[kind][0], alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                 num_classes=num_classes)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters.

    >>> count_params(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Forward FLOPs (multiply and add counted as 2) for one input of ``input_shape``, by torch's counter.

    >>> count_flops(nn.Linear(3, 2), (1, 3))
    12
    """
    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    with counter, torch.no_grad():
        model(torch.zeros(input_shape, device=_device_of(model)))
    model.train(was_training)
    return int(counter.get_total_flops())


def activation_bytes(model: nn.Module, input_shape: tuple[int, ...] = (64, 3, 32, 32)) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one training forward (the activation
    memory of a training step), each storage counted once. Parameters are not counted.
    """
    seen: dict[int, int] = {}
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(tensor: torch.Tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    was_training = model.training
    model.train()
    state = copy.deepcopy(model.state_dict())  # BatchNorm statistics must not move
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.zeros(input_shape, device=_device_of(model)))
    model.load_state_dict(state)
    model.train(was_training)
    return sum(seen.values())


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@dataclass
class Cost:
    """One contender's measured costs (times in milliseconds, medians over repeats)."""

    name: str
    params: int | None
    flops: int | None
    activation_bytes: int | None
    forward_ms: float | None
    train_step_ms: float | None
    error: str | None = None  # why this contender could not run here (its numbers are then None)

    @classmethod
    def failed(cls, name: str, error: BaseException) -> Cost:
        first_line = (str(error).splitlines() or [""])[0][:300]
        return cls(name, None, None, None, None, None, f"{type(error).__name__}: {first_line}")


def _vmapped_ensemble(members: list[nn.Module]) -> tuple[Callable, list[torch.Tensor], dict]:
    from torch.func import functional_call, replace_all_batch_norm_modules_, stack_module_state

    for member in members:
        replace_all_batch_norm_modules_(member)
    params, buffers = stack_module_state(members)
    base = copy.deepcopy(members[0]).to("meta")

    def one(p, b, x):
        return functional_call(base, (p, b), (x,))

    def forward(x):
        out = torch.vmap(one, in_dims=(0, 0, None))(params, buffers, x)  # (M, B, 1, K)
        return out[:, :, 0].transpose(0, 1)                             # (B, M, K)

    return forward, list(params.values()), buffers


AMP_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def _step_functions(kind: str, model_name: str, alpha: float, num_estimators: int, gamma: int, num_classes: int,
                    runtime: Runtime, amp_dtype: str = "float16", compile_backend: str | None = None):
    """(forward, train_step, module or None) for one contender. On CUDA, mixed precision in ``amp_dtype`` (fp16
    with loss scaling; bf16 needs none); ``compile_backend`` (e.g. ``"inductor"``) wraps the model (every unit of
    a units contender) in ``torch.compile``; the vmap contender is never compiled."""
    mode = _mode(kind)
    # torch.vmap cannot query channels_last strides on CUDA ("NYI: querying is_contiguous inside of vmap",
    # seen on an H100), so a vmap contender always runs NCHW.
    if mode == "vmap":
        runtime = replace(runtime, channels_last=False)
    model = runtime.place(_make_model(kind, model_name, alpha, num_estimators, gamma, num_classes))
    if mode == "vmap":
        vmapped, params, _ = _vmapped_ensemble(list(model.members))

        def forward(x):
            return vmapped(x.contiguous())
    else:
        forward, params = model, list(model.parameters())
    units = training_units(model)
    if compile_backend is not None and mode != "vmap":
        forward = torch.compile(model, backend=compile_backend)
        units = [torch.compile(unit, backend=compile_backend) for unit in units]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    mixed_precision = autocast(runtime.amp, AMP_DTYPES[amp_dtype])
    scaler = grad_scaler(runtime.amp and amp_dtype == "float16")

    def run_forward(x):
        with torch.no_grad(), mixed_precision:
            return forward(x)

    def run_train_step(x, y):
        optimizer.zero_grad(set_to_none=True)
        if mode == "units":
            # Units one after another, each with its own backward: how a DE is usually trained.
            for unit in units:
                with mixed_precision:
                    loss = member_loss(unit(x), y, 0.0)
                scaler.scale(loss).backward()
        else:
            with mixed_precision:
                logits = forward(x)
                if kind == REFERENCE:  # it returns (M*B, K), member-major
                    logits = logits.reshape(-1, y.shape[0], logits.shape[-1]).transpose(0, 1)
                loss = member_loss(logits, y, 0.0)
            scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return run_forward, run_train_step, model


def _time(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1000


def measure(model_name: str = "resnet18", *, alpha: float = 2, num_estimators: int = 4, gamma: int = 1,
            batch_size: int = 64, num_classes: int = 10, device: str | torch.device = "cpu",
            contenders: tuple[str, ...] = CONTENDERS, repeats: int = 5, warmup: int = 2,
            channels_last: bool = True, image_size: int = 32, amp_dtype: str = "float16",
            compile_backend: str | None = None) -> list[Cost]:
    """Measure every contender; returns one ``Cost`` per contender, in the order given. ``amp_dtype`` and
    ``compile_backend``: see ``_step_functions`` (measured here before either becomes a training default)."""
    runtime = resolve_runtime(device, None, channels_last)  # AMP on CUDA, in amp_dtype
    check_choice("amp_dtype", amp_dtype, tuple(AMP_DTYPES))
    for kind in contenders:
        valid = (*registered_contenders(), REFERENCE)
        if kind not in valid:
            raise ValueError(f"unknown contender {kind!r}; valid choices: {', '.join(valid)}")
        if kind == REFERENCE and not reference_available():
            raise ValueError("contender 'reference_pe' needs torch-uncertainty (pip install torch-uncertainty)")
    check_int("repeats", repeats, minimum=1)
    check_int("warmup", warmup, minimum=0)
    check_int("batch_size", batch_size, minimum=1)
    check_int("image_size", image_size, minimum=8)
    with cudnn_benchmark(runtime.cuda):
        return _measure(model_name, alpha, num_estimators, gamma, batch_size, num_classes, runtime, contenders,
                        repeats, warmup, image_size, amp_dtype, compile_backend)


def _measure(model_name, alpha, num_estimators, gamma, batch_size, num_classes, runtime: Runtime, contenders, repeats,
             warmup, image_size, amp_dtype, compile_backend) -> list[Cost]:
    device = runtime.device
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device)
    if runtime.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, num_classes, (batch_size,), generator=generator).to(device)
    # A contender that cannot run on this device (e.g. vmap + channels_last on CUDA) is reported in its own
    # row with the reason; it never takes the other rows down with it.
    failures: dict[str, BaseException] = {}
    runners = {}
    for kind in contenders:
        try:
            runner = _step_functions(kind, model_name, alpha, num_estimators, gamma, num_classes, runtime,
                                     amp_dtype, compile_backend)
            for _ in range(warmup):
                runner[0](x)
                runner[1](x, y)
            runners[kind] = runner
        except Exception as error:  # noqa: BLE001 - reported in the table, with its type and message
            failures[kind] = error
            if device.type == "cuda":
                torch.cuda.empty_cache()
    forward_ms: dict[str, list[float]] = {k: [] for k in runners}
    train_ms: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(repeats):  # interleaved: every contender once per round
        for kind, (forward, train_step, _) in runners.items():
            forward_ms[kind].append(_time(lambda f=forward: f(x), device))
            train_ms[kind].append(_time(lambda s=train_step: s(x, y), device))
    costs = []
    for kind in contenders:
        if kind in failures:
            costs.append(Cost.failed(kind, failures[kind]))
            continue
        fresh = _make_model(kind, model_name, alpha, num_estimators, gamma, num_classes).to(device)
        # A model trained unit by unit only ever holds one unit's activations.
        held = training_units(fresh)[0] if _mode(kind) == "units" else fresh
        costs.append(Cost(kind, count_params(fresh), count_flops(fresh, (1, 3, image_size, image_size)),
                          activation_bytes(held, (batch_size, 3, image_size, image_size)),
                          statistics.median(forward_ms[kind]), statistics.median(train_ms[kind])))
        del runners[kind]
    return costs
