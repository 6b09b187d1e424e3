"""Which engine trains a run, checked before any data is read: pe-lab's own loop (``training.loop.fit``, one process)
or PyTorch Lightning (``pe_lab.training.lightning``: several processes with DDP, streamed data); and which process
this is (``global_rank``), so that only the first one writes. The engines themselves live in ``loop`` and
``lightning``.

Kept free of a Lightning import so that ``pe-lab experiment`` without the extra fails with the
install command, not with a traceback from deep inside an import.
"""

from __future__ import annotations

import os

import torch

from ..validate import check_choice, check_int

__all__ = ["ENGINES", "STRATEGIES", "LightningMissing", "check_engine", "global_rank", "require_lightning"]

ENGINES = ("pe-lab", "lightning")
# Strategies pe-lab's Lightning engine supports (others train differently: sharded states, spawned processes
# that would not hand the history back) and has run: "ddp" on 2 CPU processes (gloo) in its tests.
STRATEGIES = ("auto", "ddp")


class LightningMissing(ImportError):
    """The Lightning engine was asked for and Lightning is not installed."""


def require_lightning():
    """The ``lightning.pytorch`` package, or ``LightningMissing`` saying how to install it."""
    try:
        import lightning.pytorch as lightning_pytorch
    except ImportError as error:
        raise LightningMissing("the Lightning engine needs PyTorch Lightning, which is not installed: "
                               "pip install 'pe-lab[lightning]' (or pip install lightning), "
                               "or train with --engine pe-lab") from error
    return lightning_pytorch


def check_engine(engine: str, *, devices: int = 1, strategy: str = "auto", accelerator: str = "cpu",
                 batch_size: int | None = None, num_nodes: int = 1) -> None:
    """Refuse an engine, device count or strategy that cannot run here, naming the rule (before any data).

    ``devices`` is the number of processes per machine (one per GPU on CUDA; on CPU, one per core at most),
    ``num_nodes`` the number of machines; the global ``batch_size`` must split evenly over all processes, so
    that N processes see the batches of one.
    """
    check_choice("engine", engine, ENGINES)
    devices = check_int("devices", devices, minimum=1)
    num_nodes = check_int("num_nodes", num_nodes, minimum=1)
    if engine == "lightning" and strategy not in STRATEGIES:
        known = require_lightning().strategies.StrategyRegistry.available_strategies()
        if strategy in known:
            raise ValueError(f"--strategy {strategy} is a Lightning strategy that pe-lab's engine does not run "
                             f"(it supports {', '.join(STRATEGIES)}: data parallel, every process a full copy)")
    check_choice("strategy", strategy, STRATEGIES)
    if engine == "pe-lab":
        if devices != 1 or strategy != "auto" or num_nodes != 1:
            raise ValueError(f"--devices {devices} / --num-nodes {num_nodes} / --strategy {strategy}: pe-lab's own "
                             "loop runs one process; use --engine lightning for several")
        return
    require_lightning()
    available = torch.cuda.device_count() if accelerator == "cuda" else (os.cpu_count() or 1)
    if devices > available:
        what = "CUDA GPUs" if accelerator == "cuda" else "CPU cores"
        raise ValueError(f"--devices {devices} asks for more {what} than this machine has ({available})")
    processes = devices * num_nodes
    if processes > 1 and strategy == "auto":
        raise ValueError(f"{processes} processes (--devices x --num-nodes) need a data-parallel strategy: "
                         "add --strategy ddp")
    if batch_size is not None and batch_size % processes:
        raise ValueError(f"the global --batch-size {batch_size} must be divisible by --devices x --num-nodes = "
                         f"{processes} (each process takes batch_size / {processes} images of every global batch)")


def global_rank() -> int:
    """This process's rank in a multi-process run, from the launchers' environment (torchrun's ``RANK``, SLURM's
    ``SLURM_PROCID``, Lightning's ``LOCAL_RANK`` + ``NODE_RANK``); 0 when alone. Only zero-or-not is relied on:
    rank 0 alone writes reports and checkpoints."""
    if os.environ.get("RANK"):
        return int(os.environ["RANK"])
    if os.environ.get("SLURM_PROCID") and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return int(os.environ["SLURM_PROCID"])
    local, node = int(os.environ.get("LOCAL_RANK") or 0), int(os.environ.get("NODE_RANK") or 0)
    return local + 1000 * node  # nonzero on every process but node 0's first
