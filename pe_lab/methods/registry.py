"""The methods pe-lab compares (Single, Deep Ensemble, Packed-Ensemble), each as one record in one registry.

A *method* is everything that differs between, say, a Deep Ensemble and a Packed-Ensemble of the same
architecture: how the model is built, which hyperparameters name it (``PE(alpha, M, gamma)``), how it is
split into training units (one optimiser for a PE, one per member for a DE), how a batch is handed to it
in training and at test time, and how its cost is measured. Every other module (``build`` here,
``fit``, ``cli.experiment``, ``bench``, ``cost``, ``viz``, ``explorers``) asks this registry, so adding
a method is one ``register(Method(...))`` call, and no method is special-cased anywhere else.

The shape contract holds for every method: a model maps images ``(B, 3, H, W)`` to logits ``(B, M, K)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..nn.models import (
    ARCHITECTURES,
    EnsembleNet,
    plain_network,
)
from ..validate import check_choice, check_int, check_number

__all__ = ["Contender", "HYPERPARAMETERS", "METHODS", "Method", "batch_functions", "build", "build_from_spec",
           "build_member", "get_method", "label_for", "method_of", "register", "training_units"]


# The hyperparameters a method may take, with pe-lab's defaults; a method names the ones it uses.
# rho, batch_repetition: MIMO's input and batch repetition; scale: Masksembles' mask overlap control.
HYPERPARAMETERS = {"alpha": 2.0, "num_estimators": 4, "gamma": 1, "rho": 0.6, "batch_repetition": 2, "scale": 2.0}


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
class Method:
    """One method: its name, how to build it, train it and measure it.

    * ``make(architecture, num_classes, **hyperparameters)`` returns the model (logits ``(B, M, K)``);
    * ``hyperparameters``: the names (from ``HYPERPARAMETERS``) that identify a configuration, in label order;
    * ``units(model)``: the modules that each get their own optimiser, schedule and data order;
    * ``train_batch(model, images, labels, generator)`` / ``test_batch(images)``: what the model is fed and
      the labels its outputs ``(B, M, K)`` answer, ``(B,)`` or one per member ``(B, M)`` (identity for most;
      MIMO feeds each member its own images);
    * ``contenders``: how ``pe_lab.results.cost`` times it.
    """

    name: str
    title: str
    summary: str
    make: Callable[..., nn.Module]
    hyperparameters: tuple[str, ...] = ()
    units: Callable[[nn.Module], list[nn.Module]] = _whole
    train_batch: Callable[..., tuple[torch.Tensor, torch.Tensor]] = _same_batch
    test_batch: Callable[[torch.Tensor], torch.Tensor] = _same_images
    contenders: tuple[Contender, ...] = ()
    # the spec's width is the architecture's base width (as ``build(..., width=)`` sets it), shown in the label
    width_is_base: bool = False

    def label(self, spec: dict | None = None) -> str:
        """``"PE(2,4,1)"``, ``"DE(4)"``, ``"Single"``: the title and the hyperparameters of ``spec``; a base
        width other than the published one is part of what the reader must see (``"PE(2,4,1) x2"``)."""
        spec = spec or {}
        suffix = f" x{spec['width']:g}" if self.width_is_base and spec.get("width", 1) != 1 else ""
        if not self.hyperparameters:
            return self.title + suffix
        values = {**HYPERPARAMETERS, **spec, **(spec.get("options") or {})}
        return f"{self.title}({','.join(f'{values[h]:g}' for h in self.hyperparameters)}){suffix}"


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry (a name can be registered once)."""
    if method.name in METHODS:
        raise ValueError(f"a method named {method.name!r} is already registered")
    for name in method.hyperparameters:
        check_choice("hyperparameter", name, HYPERPARAMETERS)
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method ``name``, or a ``ValueError`` listing the valid choices."""
    check_choice("method", name, METHODS)
    return METHODS[name]


def build(architecture: str, method: str, *, num_classes: int = 10, alpha: float = 2, num_estimators: int = 4,
          gamma: int = 1, width: float = 1.0, **options) -> nn.Module:
    """``architecture`` (``lenet``, ``resnet20``, ``resnet18``, ``resnet50``, ``wrn28_10``) as ``method``
    (``single``, ``deep``, ``packed``, ``batch``, ``mimo``, ``masksembles``). ``options`` are the other
    ``HYPERPARAMETERS`` (``rho``, ``batch_repetition``, ``scale``); those a method does not use are ignored.
    ``width`` is the base-width multiplier of the architecture, for every method. Output: logits ``(B, M, K)``.

    >>> build("lenet", "packed", alpha=2, num_estimators=4)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4, 10])
    >>> build("resnet20", "single")(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 1, 10])
    """
    from ..nn.layers import check_pe_hyperparameters

    check_choice("model name", architecture, ARCHITECTURES)
    chosen = get_method(method)
    num_classes = check_int("num_classes", num_classes, minimum=2)  # NumPy and 0-d torch integers too
    alpha, num_estimators, gamma = check_pe_hyperparameters(alpha, num_estimators, gamma)
    width = check_number("width", width, positive=True)
    others = [h for h in HYPERPARAMETERS if h not in ("alpha", "num_estimators", "gamma")]
    for name in options:
        check_choice("hyperparameter", name, others)
    used = {k: v for k, v in options.items() if k in chosen.hyperparameters}
    return chosen.make(architecture, num_classes, alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                       width=width, **used)


def build_member(name: str, *, num_classes: int = 10, alpha: float = 2, num_estimators: int = 4,
                 gamma: int = 1, width: float = 1.0) -> EnsembleNet:
    """One member of PE(alpha, num_estimators, gamma) at base width ``width`` as a standalone network: width
    ``width * alpha/M`` of the base, hidden layers in ``gamma`` groups. ``pack`` of M of these is that PE.

    >>> build_member("resnet20", alpha=2, num_estimators=4).stem[0]
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """
    # Build the PE first so that every argument and divisibility rule is checked with the packed names and
    # numbers. On the meta device nothing is allocated, so this costs no memory even for resnet18.
    with torch.device("meta"):
        packed = build(name, "packed", num_classes=num_classes, alpha=alpha, num_estimators=num_estimators,
                       gamma=gamma, width=width)
    spec = packed.spec
    return plain_network(name, num_classes, spec.width * spec.alpha / spec.num_estimators, spec.gamma, "member")


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
