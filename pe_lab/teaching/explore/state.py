"""An explorer's state space: its controls, the values each allows, and the static site's grid of them; a state's
link (``tab=toy&kind=spirals&hidden=8``) and the rules that read a link back, falling back to the default state
with a message for an unknown tab, an off-grid value or garbage.

A control's allowed values are what its kernel widget can show (a slider's ``low + k * step``, a dropdown's
options); ``site`` is the subset the static site precomputes (every allowed value unless said). A link carries
each value as its token: a number as ``f"{v:g}"``, a text as itself, a selection of several as their tokens
joined by ``~``; tokens are percent-encoded as JavaScript's ``encodeURIComponent`` does, and the site's
``site.js`` reads links by the same rules as :func:`parse_fragment`.
"""

from __future__ import annotations

import html
import itertools
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from ...results.records import Statistics

SELECTION_SEPARATOR = "~"
_URL_SAFE = "-_.!~*'()"  # the characters encodeURIComponent leaves as they are (besides letters and digits)


@dataclass(frozen=True)
class Control:
    """One knob of an explorer. ``kind``: ``int`` / ``float`` (a slider from ``low`` to ``high`` by ``step``),
    ``slider`` (a slider over ``options``), ``choice`` (a dropdown), ``choices`` (several of ``options``).
    ``options``: ``(label, value)`` pairs; ``site``: the values the static site precomputes."""

    name: str
    label: str
    kind: str
    default: Any
    options: tuple = ()
    low: float = 0
    high: float = 0
    step: float = 1
    site: tuple | None = None

    def __post_init__(self) -> None:
        if self.site is not None and self.default not in self.site:
            raise ValueError(f"{self.name}: the default {self.default!r} must be on the site's grid {self.site}")

    def values(self) -> tuple:
        """Every value the kernel widget allows (a selection of several: each single option)."""
        if self.kind in ("int", "float"):
            count = int(round((self.high - self.low) / self.step)) + 1
            grid = [self.low + k * self.step for k in range(count)]
            return tuple(int(round(v)) if self.kind == "int" else round(float(v), 10) for v in grid)
        return tuple(value for _, value in self.options)

    def site_values(self) -> tuple:
        """The values the static site precomputes, in the order its control shows them."""
        if self.site is not None:
            return tuple(self.site)
        if self.kind == "choices":
            values = self.values()
            return tuple(combo for size in range(len(values) + 1) for combo in itertools.combinations(values, size))
        return self.values()

    def label_of(self, value) -> str:
        """The text a control shows for ``value``."""
        if self.kind == "choices":
            return ", ".join(self.label_of_option(v) for v in value) or "none"
        return self.label_of_option(value)

    def label_of_option(self, value) -> str:
        for label, option in self.options:
            if option == value:
                return str(label)
        return token(value)

    def check(self, value) -> None:
        """Refuse a value the widget would clamp or ignore (``M=0`` would be drawn as ``M=1``)."""
        if self.kind in ("int", "float"):
            _check_number(self, value)
        elif self.kind == "choices":
            chosen = tuple(value) if isinstance(value, list | tuple) else (value,)
            unknown = [v for v in chosen if v not in self.values()]
            if unknown:
                raise ValueError(f"{self.name}={value!r} must be a selection of {list(self.values())}")
        elif value not in self.values():
            raise ValueError(f"{self.name}={value!r} is not one of {list(self.values())}")

    def plain(self, value):
        """``value`` as the Python value the widget holds (NumPy numbers as ``int``/``float``, a selection as a
        tuple); call :meth:`check` first."""
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        if self.kind == "choices":
            return tuple(value) if isinstance(value, list | tuple) else (value,)
        return next(option for option in self.values() if option == value)


def _check_number(control: Control, value) -> None:
    kind = int if control.kind == "int" else float
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (kind is int and value != int(value)):
        raise ValueError(f"{control.name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    if not control.low <= value <= control.high:
        raise ValueError(f"{control.name}={value} is outside this explorer's range [{control.low}, {control.high}]")
    steps = (value - control.low) / control.step
    if abs(steps - round(steps)) > 1e-9:
        raise ValueError(f"{control.name}={value} is not on the slider's grid (from {control.low} in steps of "
                         f"{control.step})")


def int_slider(name: str, label: str, default: int, low: int, high: int, step: int = 1, site=None) -> Control:
    return Control(name, label, "int", int(default), low=int(low), high=int(high), step=int(step),
                   site=None if site is None else tuple(int(v) for v in site))


def float_slider(name: str, label: str, default: float, low: float, high: float, step: float, site=None) -> Control:
    return Control(name, label, "float", float(default), low=float(low), high=float(high), step=float(step),
                   site=None if site is None else tuple(float(v) for v in site))


def _pairs(options) -> tuple:
    return tuple(o if isinstance(o, tuple) else (str(o), o) for o in options)


def dropdown(name: str, label: str, options, default, site=None) -> Control:
    """A dropdown over ``options`` (values, or ``(label, value)`` pairs)."""
    return Control(name, label, "choice", default, options=_pairs(options), site=site)


def selection_slider(name: str, label: str, options, default) -> Control:
    return Control(name, label, "slider", default, options=_pairs(options))


def several(name: str, label: str, options, default) -> Control:
    """A choice of several of ``options``; a state holds the chosen values as a tuple in the options' order."""
    return Control(name, label, "choices", tuple(default), options=_pairs(options))


@dataclass
class Drawn:
    """One state drawn: its figures in page order (none for a message or a table only), the HTML shown above
    them (numbers, a table, or the rule a configuration breaks), and what the kernel's ``update`` returns."""

    figures: list
    summary: str
    result: dict


@dataclass
class Definition:
    """An explorer: its controls (``update``'s keywords, in the order they are shown), ``draw(**state)``, the
    CSS classes the kernel widget and its summary carry, how many controls go on the first row (``split``; 0:
    one row), and a note the static page shows under the controls."""

    controls: dict[str, Control]
    draw: Callable[..., Drawn]
    css_class: str = ""
    summary_class: str = ""
    split: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)

    def default_state(self) -> dict:
        return {name: control.default for name, control in self.controls.items()}

    def site_states(self):
        """Every state on the static site's grid, as keyword dicts for ``draw``."""
        names = list(self.controls)
        for values in itertools.product(*(self.controls[n].site_values() for n in names)):
            yield dict(zip(names, values, strict=True))


def message_html(text: str, error: bool = False) -> str:
    """A line of text for an explorer's summary; a rule's message in red."""
    colour = "#CC3311" if error else "inherit"
    return f"<span style='color:{colour}'>{html.escape(text)}</span>"


def table_html(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def mean_pm(stats: Statistics, scale: float = 1, digits: int = 3) -> str:
    """``mean ± std`` of a summary over seeds; the mean alone for one seed (no fake ``± 0``)."""
    if stats.n < 2:
        return f"{stats.mean * scale:.{digits}f}"
    return f"{stats.mean * scale:.{digits}f} ± {stats.std * scale:.{digits}f}"


# ------------------------------------------------------------------------------------------------- links
def token(value) -> str:
    """How a link writes one value: a number as ``f"{v:g}"``, a text as itself, a selection joined by ``~``."""
    if isinstance(value, tuple):
        return SELECTION_SEPARATOR.join(token(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):g}"
    return str(value)


def state_key(controls: dict[str, Control], state: dict) -> str:
    """``name=token&...`` of a state in the controls' order, percent-encoded (the site's key of a state)."""
    return "&".join(f"{name}={quote(token(state[name]), safe=_URL_SAFE)}" for name in controls)


def fragment(tab: str, controls: dict[str, Control], state: dict) -> str:
    """The link's part after ``#`` for ``state`` on ``tab``."""
    return f"tab={quote(tab, safe=_URL_SAFE)}&{state_key(controls, state)}".rstrip("&")


def parse_fragment(text: str, tabs: dict[str, Definition], default_tab: str) -> tuple[str, dict, list[str]]:
    """Read a link's fragment: ``(tab, state, problems)``. A missing setting takes its default silently; an
    unknown tab, a value off the site's grid, an unknown setting or an unreadable piece takes the default and
    adds a sentence to ``problems`` (the page shows them)."""
    pairs, problems = {}, []
    for piece in text.lstrip("#").split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        try:
            if re.search(r"%(?![0-9A-Fa-f]{2})", piece):  # a '%' that is not an escape: unreadable
                raise UnicodeDecodeError("utf-8", piece.encode(), 0, 1, "not a percent escape")
            key, value = unquote(key, errors="strict"), unquote(value, errors="strict")
        except UnicodeDecodeError:
            problems.append(f"could not read '{piece}': ignored")
            continue
        if not sep:
            problems.append(f"could not read '{piece}' (no '='): ignored")
            continue
        pairs[key] = value
    tab = pairs.pop("tab", default_tab)
    if tab not in tabs:
        problems.append(f"there is no tab '{tab}': showing '{default_tab}'")
        tab = default_tab
    definition = tabs[tab]
    state = definition.default_state()
    for name, value in pairs.items():
        control = definition.controls.get(name)
        if control is None:
            problems.append(f"'{name}' is not a setting of '{tab}': ignored")
            continue
        by_token = {token(v): v for v in control.site_values()}
        if value in by_token:
            state[name] = by_token[value]
        else:
            allowed = ", ".join(t or "(none)" for t in by_token)
            problems.append(f"{name}={value} is not one of this page's values ({allowed}): showing "
                            f"{name}={token(control.default)}")
    return tab, state, problems
