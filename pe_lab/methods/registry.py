"""The methods pe-lab compares (Single, Deep Ensemble, Packed-Ensemble and the rivals), each as one record in one
registry.

A *method* is everything that differs between, say, a Deep Ensemble and a Packed-Ensemble of the same
architecture: how the model is built, which hyperparameters name it (``PE(alpha, M, gamma)``) and their types,
defaults and ranges (``Option``), how it is split into training units (one optimiser for a PE, one per member for
a DE), how a batch is handed to it in training and at test time, how its cost is measured, and how figures show it
(colour, place in a table, which weights its members share). Every other module asks this registry, so adding a
method is one new module in ``pe_lab/methods/`` that calls ``register(Method(...))``: ``discover_methods`` imports
every module of the package, and no list of methods is written anywhere else.

The shape contract holds for every method: a model maps images ``(B, 3, H, W)`` to logits ``(B, M, K)``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ..nn.models import (
    ARCHITECTURES,
    EnsembleNet,
    plain_network,
)
from ..validate import check_choice, check_int, check_number

__all__ = ["ENSEMBLE_OPTIONS", "Contender", "HYPERPARAMETERS", "METHODS", "Method", "Option", "Sharing",
           "batch_functions", "build", "build_from_spec", "build_member", "discover_methods", "get_method",
           "label_for", "method_of", "method_options", "options_of", "register", "training_units", "unregister"]


@dataclass(frozen=True)
class Option:
    """One hyperparameter: its ``name`` (``build``'s keyword, ``--batch-repetition`` as ``flag`` on a command
    line), its ``type`` (``int`` or ``float``), ``default``, one line of ``help``, and its range: ``> 0`` when
    ``positive``, within ``[minimum, maximum]`` (``None``: unbounded)."""

    name: str
    type: type
    default: int | float
    help: str
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False

    @property
    def flag(self) -> str:
        """The command-line spelling: ``batch_repetition`` -> ``--batch-repetition``."""
        return "--" + self.name.replace("_", "-")

    def check(self, value) -> int | float:
        """``value`` as this option's type, or a ``TypeError`` / ``ValueError`` naming the option and its range.

        >>> Option("rho", float, 0.6, "", minimum=0, maximum=1).check(1.5)
        Traceback (most recent call last):
        ...
        ValueError: rho must be <= 1, got rho=1.5
        """
        if self.type is not int:
            return check_number(self.name, value, positive=self.positive, minimum=self.minimum, maximum=self.maximum)
        value = check_int(self.name, value, minimum=self.minimum)
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name} must be an integer <= {self.maximum:g}, got {self.name}={value}")
        return value


# The hyperparameters every ensemble method may name (``build``'s own keywords); a method's other ones are its
# ``Method.options``.
ENSEMBLE_OPTIONS = (
    Option("alpha", float, 2.0, "width factor of a Packed-Ensemble (its members' width is alpha/M of the base)",
           positive=True, maximum=64),
    Option("num_estimators", int, 4, "number of members M", minimum=1, maximum=256),
    Option("gamma", int, 1, "groups inside each member of a Packed-Ensemble", minimum=1, maximum=256),
)


def _whole(model: nn.Module) -> list[nn.Module]:
    return [model]


def _same_images(images: torch.Tensor) -> torch.Tensor:
    return images


def _same_batch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return images, labels


@dataclass(frozen=True)
class Contender:
    """One way of running a method in the cost benchmark.

    ``mode``: ``"joint"`` (one forward and backward of the whole model), ``"units"`` (each training unit with
    its own backward, one after another: how a DE is usually trained) or ``"vmap"`` (members vectorised with
    ``torch.func``; needs a model with ``members``).
    """

    name: str
    label: str
    mode: str = "joint"


@dataclass(frozen=True)
class Sharing:
    """Which member uses which weight of one hidden layer, as the sharing figure draws it: ``owner`` ``(out, in)``
    holds the member that owns each weight, -2 where several members share it, -1 where there is no weight;
    ``users`` is the number of members using each weight (a tensor like ``owner``), one number for a layer all
    members share whole, or ``None``."""

    title: str
    owner: torch.Tensor
    users: torch.Tensor | int | None = None


@dataclass(frozen=True)
class Method:
    """One method: its name, how to build it, train it, measure it and show it.

    * ``make(architecture, num_classes, *, alpha, num_estimators, gamma, width, **options)`` returns the model
      (logits ``(B, M, K)``); ``width`` is the architecture's base-width multiplier, for every method;
    * ``hyperparameters``: the names that identify a configuration, in label order (``("alpha", "num_estimators",
      "gamma")`` gives ``PE(2,4,1)``), each one of ``ENSEMBLE_OPTIONS`` or of ``options``;
    * ``options``: the method's own hyperparameters beyond ``ENSEMBLE_OPTIONS`` (MIMO's ``rho``), with type,
      default, help and range; ``build`` checks them and fills in their defaults, command lines offer them;
    * ``units(model)``: the modules that each get their own optimiser, schedule and data order;
    * ``train_batch(model, images, labels, generator)`` / ``test_batch(images)``: what the model is fed and
      the labels its outputs ``(B, M, K)`` answer, ``(B,)`` or one per member ``(B, M)`` (identity for most;
      MIMO feeds each member its own images);
    * ``contenders``: how ``pe_lab.results.cost`` times it;
    * ``ensemble``: whether it has several members (False for the Single: no ensemble gain, no disagreement);
    * ``colour``: its colour in figures (``None``: the palette's colour for its place); ``order``: where tables
      and figures list it (ascending, ties in registration order);
    * ``sharing(channels, **hyperparameters)``: which member uses which weight of a hidden layer (``Sharing``), for
      the sharing figure; ``None`` for a method with nothing to share.
    """

    name: str
    title: str
    summary: str
    make: Callable[..., nn.Module]
    hyperparameters: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    units: Callable[[nn.Module], list[nn.Module]] = _whole
    train_batch: Callable[..., tuple[torch.Tensor, torch.Tensor]] = _same_batch
    test_batch: Callable[[torch.Tensor], torch.Tensor] = _same_images
    contenders: tuple[Contender, ...] = ()
    ensemble: bool = True
    colour: str | None = None
    order: int = 100
    sharing: Callable[..., Sharing] | None = None

    def label(self, spec: dict | None = None) -> str:
        """``"PE(2,4,1)"``, ``"DE(4)"``, ``"Single"``: the title and the hyperparameters of ``spec``; a base
        width other than the published one is part of what the reader must see (``"PE(2,4,1) x2"``)."""
        spec = spec or {}
        suffix = f" x{spec['width']:g}" if spec.get("width", 1) != 1 else ""
        if not self.hyperparameters:
            return self.title + suffix
        values = {**{o.name: o.default for o in options_of(self)}, **spec, **dict(spec.get("options") or {})}
        return f"{self.title}({','.join(f'{values[h]:g}' for h in self.hyperparameters)}){suffix}"


METHODS: dict[str, Method] = {}


def options_of(method: Method | str) -> tuple[Option, ...]:
    """The hyperparameters ``method`` (a record or a name) takes, ``ENSEMBLE_OPTIONS`` it names first, then its own.

    >>> [o.name for o in options_of("mimo")]
    ['num_estimators', 'rho', 'batch_repetition']
    """
    method = get_method(method) if isinstance(method, str) else method
    return (*(o for o in ENSEMBLE_OPTIONS if o.name in method.hyperparameters), *method.options)


def method_options() -> tuple[Option, ...]:
    """Every registered method's own hyperparameters (beyond ``ENSEMBLE_OPTIONS``), each once, in table order:
    what a command line offers as ``--rho``, ``--batch-repetition``, ``--scale``, and what identifies a run's model.

    >>> [o.flag for o in method_options()]
    ['--rho', '--batch-repetition', '--scale']
    """
    found: dict[str, Option] = {}
    for method in METHODS.values():
        for option in method.options:
            found.setdefault(option.name, option)
    return tuple(found.values())


class _Defaults(Mapping):
    """Name -> default of every hyperparameter (``ENSEMBLE_OPTIONS`` and every registered method's own), read from
    the records each time, so a method registered later is seen."""

    def _all(self) -> dict:
        return {o.name: o.default for o in (*ENSEMBLE_OPTIONS, *method_options())}

    def __getitem__(self, name: str):
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


HYPERPARAMETERS: Mapping[str, int | float] = _Defaults()


def register(method: Method) -> Method:
    """Add ``method`` to the registry (a name can be registered once), in its ``order`` among the others. Its
    ``hyperparameters`` must each be an option it has; an option of its own may share a name with another method's
    only if it is the same option."""
    if method.name in METHODS:
        raise ValueError(f"a method named {method.name!r} is already registered")
    shared = {o.name for o in ENSEMBLE_OPTIONS}
    for option in method.options:
        if option.name in shared or option.name in ("width", "num_classes"):
            raise ValueError(f"{method.name}: option {option.name!r} is one of build's own keywords")
        other = next((o for o in method_options() if o.name == option.name), option)
        if other != option:
            raise ValueError(f"{method.name}: option {option.name!r} differs from the registered {other}")
    for name in method.hyperparameters:
        check_choice("hyperparameter", name, [o.name for o in (*ENSEMBLE_OPTIONS, *method.options)])
    ordered = sorted([*METHODS.values(), method], key=lambda m: m.order)  # stable: ties keep registration order
    METHODS.clear()
    METHODS.update((m.name, m) for m in ordered)
    return method


def unregister(name: str) -> Method:
    """Remove the method ``name`` from the registry (a test's own method, after the test) and return it."""
    check_choice("method", name, METHODS)
    return METHODS.pop(name)


def discover_methods() -> list[str]:
    """Import every module of ``pe_lab.methods`` (each registers its method on import; importing the package
    does this): a new module there is found without being listed anywhere. Returns the modules' names."""
    package = importlib.import_module(__package__)
    names = [f"{__package__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    for name in names:
        importlib.import_module(name)
    return names


def get_method(name: str) -> Method:
    """The registered method ``name``, or a ``ValueError`` listing the valid choices."""
    check_choice("method", name, METHODS)
    return METHODS[name]


def build(architecture: str, method: str, *, num_classes: int = 10, alpha: float = 2, num_estimators: int = 4,
          gamma: int = 1, width: float = 1.0, **options) -> nn.Module:
    """``architecture`` (``lenet``, ``resnet20``, ``resnet18``, ``resnet50``, ``wrn28_10``) as ``method`` (a name
    in ``METHODS``). ``options`` are the methods' own hyperparameters (``method_options()``: ``rho``,
    ``batch_repetition``, ``scale``); those ``method`` does not take are ignored, those it takes and are not given
    take their defaults. ``width`` is the base-width multiplier of the architecture, for every method. Output:
    logits ``(B, M, K)``.

    >>> build("lenet", "packed", alpha=2, num_estimators=4)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4, 10])
    >>> build("resnet20", "single")(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 1, 10])
    """
    check_choice("model name", architecture, ARCHITECTURES)
    chosen = get_method(method)
    num_classes = check_int("num_classes", num_classes, minimum=2)  # NumPy and 0-d torch integers too
    given = {"alpha": alpha, "num_estimators": num_estimators, "gamma": gamma}
    shared = {o.name: o.check(given[o.name]) for o in ENSEMBLE_OPTIONS}
    width = check_number("width", width, positive=True)
    for name in options:
        check_choice("hyperparameter", name, [o.name for o in method_options()])
    own = {o.name: o.check(options.get(o.name, o.default)) for o in chosen.options}
    return chosen.make(architecture, num_classes, **shared, width=width, **own)


def build_member(name: str, *, num_classes: int = 10, alpha: float = 2, num_estimators: int = 4,
                 gamma: int = 1, width: float = 1.0) -> EnsembleNet:
    """One member of PE(alpha, num_estimators, gamma) at base width ``width`` as a standalone network: member width
    ``width * alpha/M`` of the architecture's channels, hidden layers in ``gamma`` groups. ``pack`` of M of these is
    that PE.

    >>> build_member("resnet20", alpha=2, num_estimators=4).stem[0]
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """
    # Build the PE first so that every argument and divisibility rule is checked with the packed names and
    # numbers. On the meta device nothing is allocated, so this costs no memory even for resnet18.
    with torch.device("meta"):
        packed = build(name, "packed", num_classes=num_classes, alpha=alpha, num_estimators=num_estimators,
                       gamma=gamma, width=width)
    spec = packed.spec
    return plain_network(name, num_classes, member_width=spec.width * spec.alpha / spec.num_estimators,
                         groups=spec.gamma, kind="member")


def label_for(spec: dict) -> str:
    """The label of a model from its spec (``model.spec.to_dict()``, or a run's ``spec`` in a report):
    ``"PE(2,4,1)"`` for the PE that was actually run, whatever a notebook's settings say now."""
    method = METHODS.get(spec.get("kind"))
    return method.label(spec) if method is not None else str(spec.get("kind"))


def method_of(model: nn.Module) -> Method | None:
    """The registered method that built ``model`` (from its ``spec``), or None for any other model."""
    spec = getattr(model, "spec", None)
    return METHODS.get(spec.kind) if spec is not None else None


def batch_functions(model: nn.Module) -> tuple[Callable, Callable]:
    """``(train_batch, test_batch)`` of ``model``'s method; for a model pe-lab did not build, the identity."""
    method = method_of(model)
    return (method.train_batch, method.test_batch) if method is not None else (_same_batch, _same_images)


def build_from_spec(spec: dict) -> nn.Module:
    """A fresh model like the one ``spec`` describes (``model.spec.to_dict()``, or a run's ``spec`` in a report)."""
    return build(spec["name"], spec["kind"], num_classes=spec["num_classes"], alpha=spec["alpha"],
                 num_estimators=spec["num_estimators"], gamma=spec["gamma"], width=spec.get("width", 1.0),
                 **dict(spec.get("options") or {}))


def training_units(model: nn.Module) -> list[nn.Module]:
    """How ``model`` splits into training units, asked of its method (a model pe-lab did not build: itself)."""
    method = method_of(model)
    return method.units(model) if method is not None else [model]
