"""The "1 · Data" sidebar every clustering lab shares: generate points, pick a table, or upload.

A lab makes one :class:`DataPanel` with its own session-state prefix and calls
:meth:`DataPanel.show` inside its sidebar; it gets back the :class:`~engine.data.Dataset` to
work on. The panel draws the controls from its two parameter tables (where the data come
from; the generator's settings), builds the data asked for and keeps the last good data
set: when a file is broken, a setting is refused or the lab's own ``check`` turns the data
down, it says why in the lab's message area and returns the data the user already had, so
nothing on the page is lost. Generated and sample data are cached for everyone (they are
the same for all); an uploaded file is parsed once per session and stays private to it.

Every widget and every kept value lives in ``st.session_state`` under the prefix
(``kmeans_source``, ``kmeans_gen_n_samples``, ``kmeans_data``, ...), so two labs never share
state. Use the lab's page prefix: ``app.py`` keeps widget values under it when the user visits
another page. For shared links, put :attr:`DataPanel.tables` beside the lab's own tables in
:func:`~app_pages.components.params.read_link`, and :meth:`DataPanel.link` gives the entries
that reopen the same data.

Usage, as in the K-means page::

    DATA = DataPanel("kmeans_")
    ...
    with st.sidebar:
        data = DATA.show(messages, check=lambda d: check_enough_rows(d.X, k))

A lab with data of its own besides these three (the Clustering lab's grid of standard
shapes) names it as ``lab_source``: it is offered first and chosen by default, and while it
is chosen the panel draws only the choice and the standardise toggle, builds nothing and
returns None; the lab reads :attr:`DataPanel.source` and :attr:`DataPanel.standardize` and
draws that source's controls below. The panel's own data is kept for when the user
switches back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

import streamlit as st

from app_pages.components.params import Param, ParamTable
from app_pages.components.text import md_text, show_error
from engine import data as data_io

SOURCES = ("Generate", "Sample table", "Upload CSV")
"""Where the points come from (the radio's options; links spell them generate/sample)."""

_KEPT = "The data and results below are kept."


class _Wanted(NamedTuple):
    """The data the controls ask for: a key that identifies it, and how to build it."""

    key: tuple
    build: Callable[[], data_io.Dataset]


# Caches. Generated and sample data are the same for everyone: shared, for an hour at most.
# An upload is private to its session and dropped with it.
@st.cache_data(max_entries=8, ttl="1h", show_spinner=False)
def generate(spec: tuple, standardize: bool) -> data_io.Dataset:
    """A generated data set (small arguments: Streamlit's own hash is exact here)."""
    data = data_io.make_dataset(**dict(spec))
    return data.with_standardized_features() if standardize else data


@st.cache_data(max_entries=8, ttl="1h", show_spinner=False)
def sample_table(name: str, standardize: bool) -> data_io.Dataset:
    data = data_io.load_sample(name)
    return data.with_standardized_features() if standardize else data


@st.cache_data(max_entries=4, scope="session", show_spinner="Reading the file…")
def read_upload(digest: str, _content: bytes, filename: str, sample_rows: bool):
    """Parse an upload; keyed on the digest of every byte, the bytes themselves unhashed."""
    return data_io.read_csv_bytes(_content, filename=filename, sample_rows=sample_rows)


def _choice_params(lab_source: tuple[str, str] | None = None) -> tuple[Param, ...]:
    labels, urls = SOURCES, ("generate", "sample", None)
    if lab_source is not None:  # the lab's own source comes first, and is the default
        labels, urls = (lab_source[0], *labels), (lab_source[1], *urls)
    return (
        Param("source", "src", "Where the points come from", labels[0], str, choices=labels,
              url_values=urls, control="radio"),
        Param("standardize", "z", "Standardise features", False, bool,
              help="Rescale each feature to mean 0 and standard deviation 1, so features "
                   "measured in large units do not dominate the distances."),
        Param("sample", "sample", "Table (ships with scikit-learn)", "iris", str,
              choices=tuple(data_io.SAMPLES), format_func=lambda k: data_io.SAMPLES[k].title),
        Param("sample_big", None, f"Sample {data_io.MAX_ROWS:,} rows of a larger file", False,
              bool, control="checkbox",
              help="Cluster a uniform random sample of a file with more rows than the cap."),
    )  # fmt: skip


def _generate_params() -> tuple[Param, ...]:
    return (
        Param("kind", "kind", "Shape", "blobs", str, choices=tuple(data_io.GENERATED),
              format_func=lambda k: data_io.GENERATED[k].title,
              help="The shape of the generated data; the note under the button says how "
                   "K-means fares on it."),
        Param("n_samples", "n", "Points (n_samples)", 300, int, low=1, high=data_io.MAX_ROWS,
              step=100, help="How many points to generate."),
        Param("centers", "c", "Groups (centers)", 4, int, low=1, high=20,
              help="How many groups the points are drawn around."),
        Param("n_features", "f", "Features (n_features)", 2, int, low=1, high=50,
              help="Coordinates per point; more than two are drawn on their first two "
                   "principal components."),
        Param("cluster_std", "std", "Spread (cluster_std)", 0.60, float, low=0.01, high=20.0,
              step=0.1, format="%.2f", help="Standard deviation of each group."),
        Param("noise", "noise", "Noise", 0.05, float, low=0.0, high=2.0, step=0.01,
              format="%.2f", help="Standard deviation of the noise added to every point."),
        Param("random_state", "ds", "Data seed (random_state)", 0, int, low=0, high=2**31 - 1,
              help="The same seed draws the same points."),
    )  # fmt: skip


class DataPanel:
    """The data sidebar of one lab, its state kept under ``prefix`` in ``st.session_state``.

    Attributes
    ----------
    prefix : str
        The lab's session-state prefix, e.g. ``"kmeans_"``.
    choice : ParamTable
        Where the data come from (``source``, ``sample``, ``standardize``, ``sample_big``),
        keyed ``prefix + name``.
    generate : ParamTable
        The generator's settings, keyed ``prefix + "gen_" + name``.
    lab_source : str or None
        The label of the lab's own source, offered first (``None``: only the panel's three).
    """

    def __init__(self, prefix: str, *, lab_source: tuple[str, str] | None = None) -> None:
        """``lab_source``: (label, link spelling) of a source the lab builds itself."""
        self.prefix = prefix
        self.lab_source = None if lab_source is None else lab_source[0]
        self.choice = ParamTable(prefix, _choice_params(lab_source))
        self.generate = ParamTable(f"{prefix}gen_", _generate_params())

    def __repr__(self) -> str:
        return f"DataPanel({self.prefix!r})"

    @property
    def source(self) -> str:
        """The source chosen (one of ``SOURCES``, or the lab's own)."""
        return st.session_state.get(self.choice.key("source"), self.choice["source"].default)

    @property
    def standardize(self) -> bool:
        """Whether the user asked for standardised features."""
        return bool(st.session_state.get(self.choice.key("standardize"), False))

    @property
    def tables(self) -> tuple[ParamTable, ParamTable]:
        """The panel's parameter tables, to read a shared link with the lab's own."""
        return self.choice, self.generate

    def show(
        self, messages: Any, *, check: Callable[[data_io.Dataset], None] | None = None
    ) -> data_io.Dataset | None:
        """Draw the panel where the caller is (its sidebar) and return the data to work on.

        Parameters
        ----------
        messages : streamlit container
            Where problems with the data are said (the lab's message area, above its results).
        check : callable, optional
            The lab's own test of new data, e.g. at least K rows; it raises
            :class:`~engine.data.DataError` saying what to change, and the data is refused.

        Returns
        -------
        Dataset or None
            The data asked for, or the last good data set when that could not be built (the
            reason is in ``messages``); None until there is any, and while the lab's own
            source is chosen.
        """
        ss = st.session_state
        for table in self.tables:
            table.keep(ss)
        # What was last generated: the form's values count only once "Generate data" is pressed.
        ss.setdefault(self._key("gen_spec"), self.generate.values(ss))

        st.header("1 · Data")
        source = self.choice.widget("source", horizontal=True)
        standardize = self.choice.widget("standardize")
        if source == self.lab_source:
            return None
        if source == "Generate":
            wanted = self._generate(standardize)
        elif source == "Sample table":
            wanted = self._sample(standardize)
        else:
            wanted = self._upload(standardize, messages)

        # Build the data asked for, unless it is the data already held.
        if wanted is not None and wanted.key != ss.get(self._key("data_key")):
            self._build(wanted, messages, check, in_sidebar=source == "Upload CSV")
        return ss.get(self._key("data"))

    def link(self) -> dict[str, str]:
        """Link entries that reopen the data on screen (an upload cannot travel in a link)."""
        ss = st.session_state
        source = ss[self.choice.key("source")]
        data = ss.get(self._key("data"))
        out = self.choice.to_url({"source": source})
        if source == "Generate":
            out |= self.generate.to_url(ss[self._key("gen_spec")])
        elif source == "Sample table":
            out |= self.choice.to_url({"sample": ss[self.choice.key("sample")]})
        elif source == self.lab_source:
            return out | self.choice.to_url({"standardize": self.standardize})
        return out | self.choice.to_url({"standardize": bool(data and data.standardized)})

    # -- the three sources -------------------------------------------------------------

    def _generate(self, standardize: bool) -> _Wanted:
        table, ss = self.generate, st.session_state

        def apply() -> None:  # what "Generate data" does, with the form's current values
            ss[self._key("gen_spec")] = table.values(ss)

        # A new shape is drawn at once: the caption below never describes other data.
        kind = table.widget("kind", on_change=apply)
        uses = data_io.GENERATED[kind].parameters
        with st.form(self._key("generate_form"), border=False):
            for param in table:
                if param.name != "kind" and param.name in uses:
                    table.widget(param.name)
            st.form_submit_button(
                "Generate data", icon=":material/casino:", type="primary", width="stretch",
                on_click=apply,
            )
        spec = ss[self._key("gen_spec")]
        st.caption(md_text(data_io.GENERATED[spec["kind"]].description))
        gen_spec = tuple(sorted(spec.items()))
        return _Wanted(("generate", gen_spec, standardize), lambda: generate(gen_spec, standardize))

    def _sample(self, standardize: bool) -> _Wanted:
        name = self.choice.widget("sample")
        st.caption(data_io.SAMPLES[name].description)
        return _Wanted(("sample", name, standardize), lambda: sample_table(name, standardize))

    def _upload(self, standardize: bool, messages: Any) -> _Wanted | None:
        st.caption(
            f"CSV, comma, semicolon or tab separated; decimal point or comma; UTF-8 or UTF-16; "
            f"header row optional. Up to {st.get_option('server.maxUploadSize')} MB and "
            f"{data_io.MAX_ROWS:,} rows. Rows with missing values are dropped."
        )
        sample_big = self.choice.widget("sample_big")
        uploaded = st.file_uploader("CSV file", type=None, key=f"{self.prefix}upload")
        if uploaded is None:
            st.info("Choose a CSV file to cluster.", icon=":material/upload_file:")
            return None
        content = uploaded.getvalue()
        digest = hashlib.blake2b(content, digest_size=16).hexdigest()
        try:
            table = read_upload(digest, content, uploaded.name, sample_big)
        except data_io.DataError as exc:
            show_error(exc, next_step="The data and results already on the page are kept.")
            with messages:
                show_error(exc, next_step=_KEPT)
            return None
        numeric = data_io.numeric_columns(table.frame)
        columns = st.multiselect("Columns to cluster", numeric, default=numeric,
                                 key=self._key(f"columns_{digest}"))
        label_choices = ["(none)"] + [
            c for c in data_io.label_columns(table.frame) if c not in columns
        ]
        label = st.selectbox("True labels (optional, for the adjusted Rand index)",
                             label_choices, key=self._key(f"label_{digest}"))
        label = None if label == "(none)" else label
        return _Wanted(
            ("upload", digest, tuple(columns), label, standardize, sample_big),
            lambda: data_io.Dataset.from_upload(table, data_io.prepare_features(
                table.frame, columns, label_column=label, standardize=standardize)),
        )  # fmt: skip

    # -- building, keeping the last good data -------------------------------------------

    def _build(self, wanted: _Wanted, messages: Any, check, *, in_sidebar: bool) -> None:
        """Build the data asked for; on any problem say what and why, and keep the old data."""
        try:
            with messages, st.spinner("Preparing the data…"):
                candidate = wanted.build()
            if check is not None:
                check(candidate)
        except data_io.DataError as exc:
            with messages:
                show_error(exc, next_step=_KEPT)
            if in_sidebar:
                show_error(exc)
        except ValueError as exc:  # a generator setting the generator refuses
            with messages:
                show_error(exc, next_step="Change that setting and generate again.")
        else:
            st.session_state[self._key("data")] = candidate
            st.session_state[self._key("data_key")] = wanted.key

    def _key(self, name: str) -> str:
        return self.prefix + name
