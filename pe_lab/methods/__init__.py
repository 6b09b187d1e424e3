"""Floor 3, the methods: one registry (``registry``: ``Method``, ``register``, ``build``) and one module per
method, each registering itself when imported: ``single``, ``deep``, ``packed`` (with ``pack``/``unpack``,
DE <-> PE), ``batchensemble``, ``mimo``, ``masksembles``. Importing this package imports all six, in the order
the lab's tables show them."""

# isort: off
# Each module registers its method when imported, so this order is the order of METHODS (and of every table).
from . import single, deep, packed, batchensemble, mimo, masksembles  # noqa: F401
# isort: on
from .registry import (
    HYPERPARAMETERS,
    METHODS,
    Contender,
    Method,
    batch_functions,
    build,
    build_from_spec,
    build_member,
    get_method,
    label_for,
    method_of,
    register,
    training_units,
)

__all__ = ["Contender", "HYPERPARAMETERS", "METHODS", "Method", "batch_functions", "build", "build_from_spec",
           "build_member", "get_method", "label_for", "method_of", "register", "training_units"]
