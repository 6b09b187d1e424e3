"""What an experiment is, as typed records: the models to train, the data, how they are evaluated, the engine, and
where the outputs go. ``Experiment`` holds one of each plus the ``Recipe`` and the seeds; every record checks its
own fields when it is made (a message naming the field and its rule), and ``check_experiment`` the rules that
involve several records. The command line builds these records from its flags; a notebook builds them directly
(``preset("lenet", epochs=3)``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..methods.registry import METHODS, method_options
from ..nn.models import ARCHITECTURES
from ..training.recipe import Recipe
from ..validate import check_choice, check_int, check_number
from ..version import __version__

__all__ = ["DATA_MODES", "DataSpec", "EngineSpec", "Evaluation", "Experiment", "ModelSettings", "Outputs",
           "check_seeds", "checkpoint_path", "method_option_defaults"]

DATA_MODES = ("auto", "memory", "stream")
MAX_SEED = 2**31 - 1  # NumPy's seed must be < 2**32; pe-lab derives generators as seed * 1000 + member


def method_option_defaults() -> dict[str, float]:
    """The methods' own hyperparameters (MIMO's ``rho``, ``batch_repetition``, Masksembles' ``scale``...) and
    their defaults, as the registry's method records declare them."""
    return {option.name: option.default for option in method_options()}


def _check_optional_int(name: str, value, minimum: int) -> int | None:
    return None if value is None else check_int(name, value, minimum=minimum)


@dataclass(frozen=True)
class ModelSettings:
    """The architecture and every method trained on it: ``methods`` share ``alpha``, ``num_estimators``,
    ``gamma`` and the base-width multiplier ``width``; ``options`` are the methods' own hyperparameters (a method
    ignores those it does not use)."""

    model: str = "resnet20"
    methods: tuple[str, ...] = ("single", "deep", "packed")
    alpha: float = 2.0
    num_estimators: int = 4
    gamma: int = 1
    width: float = 1.0
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choice("model", self.model, ARCHITECTURES)
        methods = tuple(self.methods) if not isinstance(self.methods, str) else tuple(
            m.strip() for m in self.methods.split(",") if m.strip())
        if not methods:
            raise ValueError(f"methods names no method; choose from {', '.join(METHODS)}")
        for method in methods:
            check_choice("method", method, METHODS)
        duplicates = sorted({m for m in methods if methods.count(m) > 1})
        if duplicates:
            raise ValueError(f"methods lists {', '.join(duplicates)} more than once")
        defaults = method_option_defaults()
        for name, value in self.options.items():
            check_choice("method option", name, defaults)
            next(o for o in method_options() if o.name == name).check(value)
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "options", {**defaults, **self.options})
        object.__setattr__(self, "alpha", check_number("alpha", self.alpha, positive=True))
        object.__setattr__(self, "num_estimators", check_int("num_estimators", self.num_estimators, minimum=1))
        object.__setattr__(self, "gamma", check_int("gamma", self.gamma, minimum=1))
        object.__setattr__(self, "width", check_number("width", self.width, positive=True))

    def build(self, method: str, num_classes: int = 10):
        """``method`` of this architecture with these settings (``pe_lab.build``)."""
        from ..methods.registry import build

        return build(self.model, method, alpha=self.alpha, num_estimators=self.num_estimators, gamma=self.gamma,
                     width=self.width, num_classes=num_classes, **self.options)

    def identity(self) -> dict:
        return {"model": self.model, "alpha": self.alpha, "num_estimators": self.num_estimators,
                "gamma": self.gamma, "width": self.width, **self.options}


@dataclass(frozen=True)
class DataSpec:
    """Where the images come from: CIFAR-10 (and SVHN as OOD) under ``root`` (else ``$PE_LAB_DATA``, else a
    download unless ``offline``), synthetic images, or image folders (``train_folder``/``test_folder``, optional
    ``ood_folder``: decoded into memory or streamed, ``mode``); balanced subsets with ``*_per_class``."""

    root: str | None = None
    offline: bool = False
    synthetic: bool = False
    train_per_class: int | None = None
    test_per_class: int | None = None
    ood: bool = True
    train_folder: str | None = None
    test_folder: str | None = None
    ood_folder: str | None = None
    mode: str = "auto"
    image_size: int = 224
    num_workers: int = 0

    def __post_init__(self) -> None:
        _check_optional_int("train_per_class", self.train_per_class, 1)
        _check_optional_int("test_per_class", self.test_per_class, 1)
        check_choice("data mode", self.mode, DATA_MODES)
        check_int("image_size", self.image_size, minimum=8)
        check_int("num_workers", self.num_workers, minimum=0)
        if bool(self.train_folder) != bool(self.test_folder):
            raise ValueError("train_folder and test_folder go together (an image folder for each split)")
        if self.ood_folder and self.ood:
            ood = Path(self.ood_folder).resolve()
            for name, folder in (("test_folder", self.test_folder), ("train_folder", self.train_folder)):
                if folder and Path(folder).resolve() == ood:
                    raise ValueError(f"ood_folder {self.ood_folder} is the {name}: out-of-distribution images must "
                                     "come from another data set (every OOD number would score in-distribution "
                                     "images)")

    @property
    def where(self) -> str:
        """The data's place in words, for messages."""
        return self.train_folder or self.root or "the data root"


@dataclass(frozen=True)
class Evaluation:
    """How trained runs are measured: ECE bins, the OOD criterion of the printed table (every criterion is stored),
    and with ``shift`` the generated corruptions on ``shift_per_class`` test images per class, the far-OOD textures
    (procedural, or ``texture_folder``) and the official CIFAR-10-C files under ``cifar10c``."""

    num_bins: int = 15
    ood_criterion: str = "msp"
    shift: bool = False
    shift_per_class: int = 100
    cifar10c: str | None = None
    texture_folder: str | None = None

    def __post_init__(self) -> None:
        from ..evaluation.metrics import OOD_CRITERIA

        check_int("num_bins", self.num_bins, minimum=1)
        check_choice("OOD criterion", self.ood_criterion, OOD_CRITERIA)
        check_int("shift_per_class", self.shift_per_class, minimum=1)
        for name in ("cifar10c", "texture_folder"):
            if getattr(self, name) is not None and not self.shift:
                raise ValueError(f"{name} is evaluated with the corruption sets: set shift=True (--shift)")


@dataclass(frozen=True)
class EngineSpec:
    """Which loop trains: pe-lab's own (one process) or Lightning (``devices`` processes on ``num_nodes``
    machines, ``strategy``); ``device`` is ``auto``, ``cpu``, ``cuda``, ``cuda:1``..."""

    name: str = "pe-lab"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    device: str = "auto"

    def identity(self) -> dict:
        return {"engine": self.name, "devices": self.devices, "num_nodes": self.num_nodes, "strategy": self.strategy}


@dataclass(frozen=True)
class Outputs:
    """What is written: the report ``out`` (its runs' checkpoints under ``runs_dir``, resumable), whether finished
    runs found in ``out`` are kept (``resume``) or everything restarts (``restart``), the first seed's
    probabilities (``save_predictions``), progress bars, and the time estimate (``eta``; ``eta_only`` stops after
    it)."""

    out: str = "runs/experiment.json"
    runs_dir: str = "runs"
    resume: bool = False
    restart: bool = False
    save_predictions: bool = False
    progress: bool = True
    eta: bool = True
    eta_only: bool = False

    def __post_init__(self) -> None:
        if not str(self.out).strip():
            raise ValueError("out is empty: give the report's file name, e.g. runs/report.json")
        if self.eta_only and not self.eta:
            raise ValueError("eta_only prints the ETA and stops; eta=False skips it: choose one")
        if self.restart and self.resume:
            raise ValueError("resume keeps finished runs and restart discards them: choose one")


def checkpoint_path(out, runs_dir, method: str, seed: int) -> Path:
    """Where a run's checkpoint lives: keyed by the resolved report path ``out``, so the same file name in
    another folder never shares a checkpoint."""
    import hashlib

    out = Path(out).resolve()
    key = hashlib.sha1(str(out).encode()).hexdigest()[:8]
    return Path(runs_dir) / f"{out.stem}-{key}-{method}-seed{seed}.pt"


def check_seeds(seeds) -> tuple[int, ...]:
    """Seeds as a tuple of integers in ``[0, MAX_SEED]``, none twice (a duplicate would report one run as two)."""
    if isinstance(seeds, int):
        seeds = (seeds,)
    seeds = tuple(check_int("seed", s, minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds names no seed, e.g. seeds=(0, 1, 2)")
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ValueError(f"seeds lists {', '.join(map(str, duplicates))} more than once")
    if any(s > MAX_SEED for s in seeds):
        raise ValueError(f"seeds must be integers in [0, {MAX_SEED}] (a seed NumPy and torch both take)")
    return seeds


@dataclass(frozen=True)
class Experiment:
    """One experiment: every method of ``models`` trained with ``recipe`` once per seed on ``data``, measured as
    ``evaluation`` says, by ``engine``, written as ``outputs`` says. ``command`` is what the provenance records as
    the way it was made (the command line, or the Python call)."""

    recipe: Recipe
    models: ModelSettings = field(default_factory=ModelSettings)
    seeds: tuple[int, ...] = (0, 1, 2)
    data: DataSpec = field(default_factory=DataSpec)
    evaluation: Evaluation = field(default_factory=Evaluation)
    engine: EngineSpec = field(default_factory=EngineSpec)
    outputs: Outputs = field(default_factory=Outputs)
    command: str = ""

    def __post_init__(self) -> None:
        for name, kind in (("recipe", Recipe), ("models", ModelSettings), ("data", DataSpec),
                           ("evaluation", Evaluation), ("engine", EngineSpec), ("outputs", Outputs)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a pe_lab {kind.__name__}, got {type(getattr(self, name)).__name__}")
        object.__setattr__(self, "seeds", check_seeds(self.seeds))
        if self.data.mode == "stream" and self.engine.name != "lightning":
            raise ValueError("data mode stream reads images from disk with DataLoader workers, which only the "
                             "Lightning engine does: use engine 'lightning' (--engine lightning)")
        if self.data.train_folder and self.data.synthetic:
            raise ValueError("train_folder cannot be combined with synthetic data")
        if self.data.train_folder and self.evaluation.shift:
            raise ValueError("image folders cannot be evaluated with the shift sets (CIFAR-10 only)")

    def replace(self, **changes) -> Experiment:
        """This experiment with ``changes``; a change may name a field of a part (``epochs=3``, ``alpha=4``,
        ``out="runs/x.json"``), which is applied to the one part that has it, or a method's own hyperparameter
        (``rho=0``)."""
        parts = {name: getattr(self, name) for name in ("recipe", "models", "data", "evaluation", "engine",
                                                          "outputs")}
        own, by_part = {}, {}
        for name, value in changes.items():
            if name in {f.name for f in dataclasses.fields(self)}:
                own[name] = value
                continue
            owner = [p for p, record in parts.items() if name in {f.name for f in dataclasses.fields(record)}]
            if owner:
                by_part.setdefault(owner[0], {})[name] = value
            elif name in method_option_defaults():  # a method's own hyperparameter (``rho=0``)
                options = by_part.setdefault("models", {}).setdefault("options", dict(self.models.options))
                options[name] = value
            else:
                raise TypeError(f"an Experiment has no setting {name!r}")
        for part, values in by_part.items():
            own.setdefault(part, dataclasses.replace(parts[part], **values))
        return dataclasses.replace(self, **own)

    def identity(self, train, test, ood) -> dict:
        """The report's identity (what its runs *are*, as it reads back from JSON): the recipe (seed aside), the
        models' settings, the data's fingerprints, the evaluation and the engine."""
        from ..training.checkpoint import data_fingerprint

        recipe = self.recipe.to_dict()
        del recipe["seed"]
        evaluation = {"num_bins": self.evaluation.num_bins, "no_ood": not self.data.ood,
                      "shift": self.evaluation.shift, "shift_per_class": self.evaluation.shift_per_class,
                      "cifar10c": self.evaluation.cifar10c, "texture_folder": self.evaluation.texture_folder}
        data = {"data_mode": self.data.mode, "image_size": self.data.image_size, "train": data_fingerprint(train),
                "test": data_fingerprint(test), "ood": data_fingerprint(ood) if ood is not None else None}
        identity = {"recipe": recipe, "model": self.models.identity(), "data": data, "evaluation": evaluation,
                    "engine": self.engine.identity(), "pe_lab": __version__}
        return json.loads(json.dumps(identity))
