"""One parameter table per lab: it drives the lab's widgets, its URL parsing and its range checks.

A lab declares each setting once, as a :class:`Param` (name, URL key, label, default, kind,
range or choices, help). From that single row the page draws the widget with the same
bounds, reads a shared link's value with the same rule, and writes the value back into the
link. A value out of range can therefore never reach the engine from a link that the widget
itself would have refused.

A page reads a shared link once, for all its tables together, with :func:`read_link`: every
value its row accepts is kept, every other one falls back to its default, and the page shows
one notice (:meth:`UrlValues.notice`) naming everything ignored.

>>> FIT = ParamTable("kmeans_", (Param("k", "k", "Clusters K", 4, int, low=1, high=30),))
>>> FIT.from_url({"k": ["99"]}).ignored
('k=99 (Clusters K must be between 1 and 30)',)
>>> read_link({"k": ["3"], "colour": ["red"]}, [FIT]).values
{'kmeans_k': 3}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

_INT = re.compile(r"[+-]?\d{1,30}")

APP_KEYS = frozenset({"present"})
"""Link keys of the whole Lab (``app.py``'s presenter mode), never a page's setting."""
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Param:
    """One setting of a lab.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``. Numbers have ``low``/``high``
    (inclusive) or a fixed tuple of ``choices``; strings always have ``choices``.
    ``url`` is the key in shared links (None: never in a link). ``url_values``, when given,
    spells each choice in a link (None: that choice cannot come from a link, e.g. an upload).
    ``control`` picks another widget than the kind's default: "radio", "slider", "checkbox".
    """

    name: str
    url: str | None
    label: str
    default: Any
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    step: float | None = None
    format: str | None = None
    help: str | None = None
    format_func: Callable[[Any], str] | None = field(default=None, compare=False)
    url_values: tuple[str | None, ...] | None = None
    control: str | None = None

    def __post_init__(self) -> None:
        if self.url_values is not None and (
            self.choices is None or len(self.url_values) != len(self.choices)
        ):
            raise ValueError(f"{self.name}: url_values needs one entry per choice")
        if self.control not in (None, "radio", "slider", "checkbox"):
            raise ValueError(f"{self.name}: control={self.control!r} is not a known widget")

    def check(self, value: Any) -> Any:
        """``value`` if it obeys this row, else ValueError naming the setting and the rule."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.label} must be on or off")
            return value
        if self.choices is not None:
            if value not in self.choices:
                shown = ", ".join(self._show(c) for c in self.choices)
                raise ValueError(f"{self.label} must be one of {shown}")
            return value
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{self.label} must be a whole number")
        if self.kind is float and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{self.label} must be a finite number")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(
                f"{self.label} must be between {self._show(self.low)} and {self._show(self.high)}"
            )
        return value

    def parse(self, text: str) -> Any:
        """The value a link's text stands for, checked; ValueError says why it cannot be used."""
        text = text.strip()
        if self.url_values is not None:
            if text in self.url_values:
                return self.choices[self.url_values.index(text)]
            allowed = ", ".join(v for v in self.url_values if v is not None)
            raise ValueError(f"{self.label} must be one of {allowed}")
        if self.kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(f"{self.label} must be 1 or 0")
        if self.kind is str:
            return self.check(text)
        if self.kind is int:
            if not _INT.fullmatch(text):
                raise ValueError(f"{self.label} must be a whole number")
            return self.check(int(text))
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{self.label} must be a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{self.label} must be a finite number")
        if self.choices is not None:
            # Choices written in a link lose digits ("0.0001" for 1e-4): match to the nearest.
            nearest = min(self.choices, key=lambda c: abs(c - number))
            if not math.isclose(nearest, number, rel_tol=1e-9, abs_tol=1e-300):
                return self.check(number)  # raises, naming the choices
            return nearest
        return self.check(number)

    def to_url(self, value: Any) -> str | None:
        """How a link spells ``value`` (None: this value cannot be put in a link)."""
        if self.url_values is not None:
            return self.url_values[self.choices.index(value)]
        if self.kind is bool:
            return "1" if value else "0"
        return str(value)

    def _show(self, value: Any) -> str:
        if self.format_func is not None:
            return self.format_func(value)
        if isinstance(value, float) and value.is_integer() and self.kind is int:
            return str(int(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)


@dataclass(frozen=True)
class UrlValues:
    """What a shared link said: the values that passed their row's check, and the rest.

    ``values`` is keyed by parameter name (:meth:`ParamTable.from_url`) or by session-state
    key (:func:`read_link`); ``ignored`` describes each value left out, and why.
    """

    values: dict[str, Any]
    ignored: tuple[str, ...]

    def notice(self) -> str | None:
        """One sentence naming every ignored value, or None when the link was clean."""
        if not self.ignored:
            return None
        return (
            "Some of this link's settings could not be used, so their defaults are shown: "
            + "; ".join(self.ignored)
            + "."
        )


@dataclass(frozen=True)
class ParamTable:
    """A lab's settings, keyed ``prefix + name`` in ``st.session_state``."""

    prefix: str
    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        urls = [p.url for p in self.params if p.url is not None]
        if len(set(names)) != len(names) or len(set(urls)) != len(urls):
            raise ValueError(f"duplicate names or URL keys in the {self.prefix!r} table")

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def __iter__(self):
        return iter(self.params)

    def key(self, name: str) -> str:
        return self.prefix + name

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    @property
    def url_keys(self) -> frozenset[str]:
        return frozenset(p.url for p in self.params if p.url is not None)

    def from_url(
        self, query: Mapping[str, Sequence[str]], *, known: Iterable[str] = ()
    ) -> UrlValues:
        """Read the link's values for this table: ``query`` maps each key to all its values.

        A value is kept only if its row accepts it; a repeated key is ignored (which one
        was meant?). Keys that belong to no table of the page (``known`` lists the other
        tables' keys) are named as ignored too.
        """
        values: dict[str, Any] = {}
        ignored: list[str] = []
        by_url = {p.url: p for p in self.params if p.url is not None}
        for key, texts in query.items():
            param = by_url.get(key)
            if param is None:
                if key not in known:
                    ignored.append(f"{_shown(key)} (not a setting of this page)")
                continue
            if len(texts) != 1:
                ignored.append(f"{_shown(key)} (given {len(texts)} times)")
                continue
            try:
                values[param.name] = param.parse(texts[0])
            except ValueError as exc:
                ignored.append(f"{_shown(key)}={_shown(texts[0])} ({exc})")
        return UrlValues(values, tuple(ignored))

    def to_url(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Link entries for ``values`` (name -> value); values a link cannot hold are left out."""
        out = {}
        for p in self.params:
            if p.url and p.name in values and (text := p.to_url(values[p.name])) is not None:
                out[p.url] = text
        return out

    def keep(self, state: MutableMapping[str, Any]) -> None:
        """Give every widget of this table its default in ``state`` where it has none, and
        keep the values of those not drawn in this run.

        Streamlit forgets a widget's value in a run that does not draw it (the settings of
        another shape, the controls of a closed tab); writing the value back first keeps it.
        Call before the table's widgets are drawn.
        """
        for p in self.params:
            key = self.key(p.name)
            state[key] = state[key] if key in state else p.default

    def values(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The table's current widget values in ``state``, by name."""
        return {p.name: state[self.key(p.name)] for p in self.params}

    def widget(self, name: str, container: Any = st, **kwargs: Any) -> Any:
        """Draw the widget of row ``name`` in ``container``, bounded by the row's rule.

        ``kwargs`` go to the Streamlit widget and win over the row (e.g. ``max_value`` of a
        slider whose end depends on the data, ``horizontal=True`` for a radio).
        """
        p = self[name]
        common = dict(key=self.key(name), help=p.help)
        if p.kind is bool:
            draw = container.checkbox if p.control == "checkbox" else container.toggle
            return draw(p.label, **common | kwargs)
        if p.choices is not None:
            options = dict(options=p.choices, format_func=p.format_func or str) | common
            if p.kind is str or p.control == "radio":
                draw = container.radio if p.control == "radio" else container.selectbox
            else:
                draw = container.select_slider
            return draw(p.label, **options | kwargs)
        number = dict(min_value=p.low, max_value=p.high, step=p.step, format=p.format)
        if p.kind is int:
            number = {k: (None if v is None else int(v)) if k != "format" else v
                      for k, v in number.items()}  # fmt: skip
        number = {k: v for k, v in number.items() if v is not None} | common | kwargs
        if p.control == "slider":
            number.pop("format", None)
            return container.slider(p.label, **number)
        return container.number_input(p.label, **number)


def read_link(query: Mapping[str, Sequence[str]], tables: Iterable[ParamTable]) -> UrlValues:
    """A shared link read against every table of a page at once, for one notice.

    ``query`` maps each key to all its values (:func:`query_lists`). The result's ``values``
    are keyed by session-state key (``table.key(name)``), ready for
    ``st.session_state.update``; a key that belongs to no table is named once.
    """
    tables = list(tables)
    mine = [table.url_keys for table in tables]
    if sum(map(len, mine)) != len(frozenset().union(*mine)):
        raise ValueError("two tables of one page share a URL key")
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for table, keys in zip(tables, mine, strict=True):
        read = table.from_url({k: v for k, v in query.items() if k in keys})
        values |= {table.key(name): value for name, value in read.values.items()}
        ignored += read.ignored
    known = frozenset().union(*mine)
    ignored += [f"{_shown(k)} (not a setting of this page)" for k in query if k not in known]
    return UrlValues(values, tuple(ignored))


def query_lists(query_params: Any) -> dict[str, list[str]]:
    """``st.query_params`` (or AppTest's) as key → every value given for it, without the
    Lab's own keys (:data:`APP_KEYS`), which no page reads as a setting."""
    get_all = getattr(query_params, "get_all", None)
    return {
        key: list(get_all(key)) if get_all else [str(query_params[key])]
        for key in query_params
        if key not in APP_KEYS
    }


def _shown(text: str, limit: int = 40) -> str:
    """A link's text for a notice: bounded, so a 10 kB value cannot fill the page."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
