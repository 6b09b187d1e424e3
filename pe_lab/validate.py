"""Argument checks shared by the layers, the metrics and the command lines.

Each check raises ``ValueError`` (``TypeError`` for a value of the wrong kind) whose message names the
argument, the rule it broke and the value it got, so a bad input never reaches deep inside torch.
Integers from NumPy and 0-dimensional integer tensors (``np.int64(10)``, ``torch.tensor(10)``, ``x.argmax()``)
are accepted as integers, real ones as numbers; ``True``/``False`` are not numbers here.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np
import torch

__all__ = ["check_choice", "check_int", "check_number", "check_probabilities", "check_scores"]


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or (isinstance(value, (torch.Tensor, np.ndarray))
                                                   and value.dtype in (torch.bool, np.bool_))


def _scalar(value):
    """A 0-dimensional tensor or array as the Python number it holds; anything else unchanged."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0 and not _is_bool(value):
        return value.item()
    return value


def check_int(name: str, value, *, minimum: int | None = None) -> int:
    """``value`` as a Python ``int`` if it is an integer ``>= minimum``: a Python or NumPy integer, or a
    0-dimensional integer tensor or array (anything with ``__index__`` but a bool).

    >>> check_int("num_estimators", 4, minimum=1)
    4
    >>> check_int("num_classes", torch.tensor(10), minimum=2)
    10
    >>> check_int("num_estimators", True, minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: num_estimators must be an integer, got True (bool)
    """
    number = _scalar(value)
    if _is_bool(value) or not isinstance(number, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = operator.index(number)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {name}={value}")
    return value


def check_number(name: str, value, *, positive: bool = False, minimum: float | None = None,
                 maximum: float | None = None) -> float:
    """``value`` as a finite ``float`` (ints, NumPy numbers and 0-dimensional tensors too), optionally ``> 0`` or
    within ``[minimum, maximum]``.

    >>> check_number("alpha", 2, positive=True)
    2.0
    >>> check_number("alpha", float("inf"), positive=True)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a finite number, got alpha=inf
    """
    number = _scalar(value)
    if _is_bool(value) or not isinstance(number, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    try:
        value = float(number)
    except OverflowError:  # an integer beyond float's range, e.g. 10**400
        raise ValueError(f"{name} must be a finite number, got {name}={number}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {name}={value:g}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {name}={value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {name}={value:g}")
    return value


def check_choice(name: str, value, choices) -> None:
    """``ValueError`` listing the valid choices unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid choices: {', '.join(map(str, choices))}")


# Stored predictions are float16: ten of them sum to 1 within a few 1e-3, softmax in float32 within 1e-6.
SUM_TOLERANCE = 1e-2


def check_probabilities(name: str, probs: torch.Tensor, *, dims: int = 2) -> None:
    """Check that ``probs`` (``(N, K)`` for ``dims=2``, ``(N, M, K)`` for ``dims=3``) holds probability
    vectors: floating point, finite, in ``[0, 1]``, each summing to 1 within ``SUM_TOLERANCE``.

    Logits passed by mistake fail the range or the sum check, with the offending value in the message.

    >>> check_probabilities("probs", torch.tensor([[2.0, -1.0]]))
    Traceback (most recent call last):
    ...
    ValueError: probs must be probabilities in [0, 1]; found -1 (logits passed instead of softmax outputs?)
    """
    shape = "(N, K)" if dims == 2 else "(N, M, K)"
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {shape}, got {type(probs).__name__}")
    if probs.dim() != dims:
        raise ValueError(f"{name} must be {shape}, got shape {tuple(probs.shape)}")
    if probs.shape[0] == 0:
        raise ValueError(f"{name} is empty: no samples to score")
    if not probs.is_floating_point():
        raise ValueError(f"{name} must be floating point probabilities, got dtype {probs.dtype}")
    finite = torch.isfinite(probs)
    if not finite.all():
        bad = int((~finite).any(-1).sum()) if dims == 2 else int((~finite).flatten(1).any(1).sum())
        raise ValueError(f"{name} has non-finite values (NaN or inf) in {bad} of {probs.shape[0]} samples")
    low, high = probs.min().item(), probs.max().item()
    if low < 0 or high > 1:
        value = low if low < 0 else high
        raise ValueError(f"{name} must be probabilities in [0, 1]; found {value:g} "
                         "(logits passed instead of softmax outputs?)")
    sums = probs.double().sum(-1).flatten()
    worst = sums[(sums - 1).abs().argmax()].item()
    if abs(worst - 1) > SUM_TOLERANCE:
        raise ValueError(f"{name} must sum to 1 over the K classes (within {SUM_TOLERANCE:g}); one row sums to "
                         f"{worst:.4g}")


def check_scores(name: str, scores: torch.Tensor) -> None:
    """OOD scores: a non-empty 1-D tensor of finite numbers."""
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (N,), got {type(scores).__name__}")
    if scores.dim() != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {tuple(scores.shape)}")
    if scores.numel() == 0:
        raise ValueError(f"{name} is empty: OOD metrics need at least one in-distribution and one OOD score")
    if not torch.isfinite(scores).all():
        raise ValueError(f"{name} has {int((~torch.isfinite(scores)).sum())} non-finite scores (NaN or inf); "
                         "a ranking metric cannot place them")
