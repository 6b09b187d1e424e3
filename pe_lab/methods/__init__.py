"""The methods: one registry (``registry``: ``Method``, ``Option``, ``register``, ``build``) and one module per
method, each registering itself when imported (``single``, ``deep``, ``packed`` with ``pack``/``unpack``,
``batchensemble``, ``mimo``, ``masksembles``). Importing this package imports every module in it
(``discover_methods``), so a method added as a new module here is found without being listed anywhere; tables show
the methods in each record's ``order``."""

from .registry import (
    ENSEMBLE_OPTIONS,
    HYPERPARAMETERS,
    METHODS,
    Contender,
    Method,
    Option,
    Sharing,
    batch_functions,
    build,
    build_from_spec,
    build_member,
    discover_methods,
    get_method,
    label_for,
    method_of,
    method_options,
    options_of,
    register,
    training_units,
    unregister,
)

discover_methods()

__all__ = ["Contender", "ENSEMBLE_OPTIONS", "HYPERPARAMETERS", "METHODS", "Method", "Option", "Sharing",
           "batch_functions", "build", "build_from_spec", "build_member", "discover_methods", "get_method", "label_for",
           "method_of", "method_options", "options_of", "register", "training_units", "unregister"]
