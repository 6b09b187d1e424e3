"""The numeric options of every command line, checked over their whole range by one rule type.

A ``Rule`` is what a parser's ``type=`` calls on the text of an option (``--lr 1e300``, ``--textures 0``,
``--seed 1.5``, ``--width nan``) and what ``validate_args`` calls on a value set in code: finite, an integer where
it must be one, within its bounds. A value a rule lets through is one torch and Python can take; argparse turns a
refusal into exit 2 with the rule, before any data is read.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

__all__ = ["MAX_SEED", "Rule", "apply_rules", "seed_list"]

MAX_SEED = 2**31 - 1  # NumPy's seed must be < 2**32; pe-lab derives generators as seed * 1000 + member


@dataclass(frozen=True)
class Rule:
    """``name`` (the option, for the message) takes a finite number, ``integral`` or not, ``> 0`` when
    ``positive``, within ``[minimum, maximum]``."""

    name: str
    integral: bool = False
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False

    def check(self, value) -> int | float:
        """``value`` (a number set in code) as an ``int`` or ``float``, or a ``ValueError`` / ``TypeError`` naming
        the option and its rule."""
        name = self.name
        if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(value, "__index__") \
                and not hasattr(value, "__float__"):
            raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
        if self.integral:
            if hasattr(value, "__index__"):
                value = int(value.__index__())
            elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
                raise TypeError(f"{name} must be an integer, got {value!r} (a float)")
            else:
                raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {name}={value}")
        kind = "an integer " if self.integral else ""

        def shown(number) -> str:
            return str(int(number)) if self.integral else f"{number:g}"

        if self.positive and value <= 0:
            raise ValueError(f"{name} must be {kind}> 0, got {name}={shown(value)}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{name} must be {kind}>= {shown(self.minimum)}, got {name}={shown(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{name} must be {kind}<= {shown(self.maximum)}, got {name}={shown(value)}")
        return value

    def __call__(self, text: str) -> int | float:
        """The option's text as a checked number (argparse's ``type=``)."""
        if self.integral:
            try:
                value = int(text.strip())
            except ValueError:
                raise argparse.ArgumentTypeError(f"{self.name} must be an integer, got {text!r}") from None
        else:
            try:
                value = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{self.name} must be a number, got {text!r}") from None
        try:
            return self.check(value)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    def __repr__(self) -> str:  # argparse's --help and messages name the type by it
        return "integer" if self.integral else "number"


def seed_list(name: str, text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``: integers in ``[0, MAX_SEED]``, none twice (a duplicate seed would report one
    run as two, with a standard deviation of 0)."""
    parts = [s.strip() for s in str(text).split(",") if s.strip()]
    if not parts:
        raise ValueError(f"{name} names no seed, e.g. {name} 0,1,2")
    try:
        seeds = [int(s) for s in parts]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ValueError(f"{name} lists {', '.join(map(str, duplicates))} more than once")
    if any(s < 0 for s in seeds):
        raise ValueError(f"{name} must be >= 0, got {text!r}")
    if any(s > MAX_SEED for s in seeds):
        raise ValueError(f"{name} must be integers in [0, {MAX_SEED}] (a seed NumPy and torch both take), got "
                         f"{text!r}")
    return seeds


def apply_rules(parser: argparse.ArgumentParser, rules: dict[str, Rule]) -> argparse.ArgumentParser:
    """Give each option of ``parser`` whose destination is in ``rules`` that rule as its ``type=`` (every command
    line declares its options as usual, then states their ranges in one table); an option of ``rules`` missing from
    the parser is an error, so a renamed option cannot silently lose its rule."""
    actions = {action.dest: action for action in parser._actions}
    missing = sorted(set(rules) - set(actions))
    if missing:
        raise KeyError(f"{parser.prog} has no option for the rules of {', '.join(missing)}")
    for dest, rule in rules.items():
        actions[dest].type = rule
    return parser
