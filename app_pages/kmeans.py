"""K-means lab: bring data, run Lloyd's algorithm, watch J converge iteration by iteration.

Reads top to bottom like the page: data in (sidebar), K-means settings (sidebar), then the
results in tabs. The engine does the computing (``engine.kmeans``, ``engine.kmeans_analysis``,
``engine.data``) and ``charts.kmeans`` draws; this script only wires them to widgets.

State that survives reruns lives in ``st.session_state`` under ``kmeans_*`` keys: the last
good data set and the last good fit are kept there, so a bad upload or a bad setting shows a
message and leaves the results on the page as they were.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass

import numpy as np
import streamlit as st

from charts import kmeans as charts
from engine import data as data_io
from engine import kmeans as ka
from engine.kmeans import KMeans

# ----------------------------------------------------------------------------- constants

SOURCES = ("Generate", "Sample table", "Upload CSV")
INITS = ("k-means++", "random")
TOLERANCES = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
HALVES = ("assign", "update")
TABS = ("Result", "Convergence", "Step through", "k-means++ seeding", "Several starts",
        "Choosing K", "Cross-check", "Export")
K_MAX = 30
GENERATE_DEFAULTS = {
    "kind": "blobs", "n_samples": 300, "n_features": 2, "centers": 4, "cluster_std": 0.60,
    "noise": 0.05, "random_state": 0,
}
FIT_DEFAULTS = {"k": 4, "init": "k-means++", "n_init": 1, "max_iter": 300, "tol": 1e-4, "seed": 0}
MAX_UPLOAD_MB = st.get_option("server.maxUploadSize")


# ----------------------------------------------------------------------------- helpers


def md_text(text: object) -> str:
    """User text (file names, column names, messages quoting them) shown literally in markdown."""
    # Backslash-escape every character markdown could read as syntax, "&" included: an
    # unescaped "&amp;" would be shown as "&".
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&])", r"\\\1", str(text))


@dataclass(frozen=True, eq=False)
class Fit:
    """The last good fit, with the exact data and settings it was made from."""

    key: tuple
    data: data_io.Dataset
    model: KMeans
    settings: dict
    warnings: tuple[str, ...]


# Caches. Generated and sample data are the same for everyone: shared, for an hour at most.
# Uploads and everything computed from a session's data are private to that session and
# are dropped with it, so the server's memory falls back when students leave.
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


@st.cache_data(max_entries=16, scope="session", show_spinner=False)
def fit_kmeans(digest: str, _X: np.ndarray, k: int, init: str, n_init: int, max_iter: int,
               tol: float, seed: int) -> tuple[KMeans, tuple[str, ...]]:
    """Fit K-means; cached on ``digest`` (all of X's values), never on a sample of X.

    Streamlit hashes large arrays from a sample of their values, so ``_X`` is excluded from
    the key and the full-content digest stands in for it.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                       random_state=seed).fit(_X)
    return model, tuple(str(w.message) for w in caught)


@st.cache_data(max_entries=8, scope="session", show_spinner=False)
def plane_view(digest: str, _X: np.ndarray, feature_names: tuple[str, ...]) -> ka.PlaneView:
    """The display sample and the plane it is drawn on, once per data set (keyed on digest)."""
    return ka.make_plane_view(_X, feature_names)


@st.cache_data(max_entries=8, scope="session",
               show_spinner="Running scikit-learn from the same start…")
def cross_check(fit_key: tuple, _X: np.ndarray, _run, max_iter: int, tol: float) -> ka.CrossCheck:
    """scikit-learn's run from the same start, cached on the fit's key (data digest, settings)."""
    return ka.cross_check(_X, _run, max_iter=max_iter, tol=tol)


def show_error(message: object, *, next_step: str = "") -> None:
    st.error(md_text(message) + (f"  \n{next_step}" if next_step else ""),
             icon=":material/error:")


# ----------------------------------------------------------------------------- state & URL

ss = st.session_state
ss.setdefault("kmeans_source", "Generate")
for name, value in GENERATE_DEFAULTS.items():
    ss.setdefault(f"kmeans_gen_{name}", value)
for name, value in FIT_DEFAULTS.items():
    ss.setdefault(f"kmeans_{name}", value)
ss.setdefault("kmeans_sample", "iris")
ss.setdefault("kmeans_standardize", False)
ss.setdefault("kmeans_half", "update")
ss.setdefault("kmeans_gen_spec", dict(GENERATE_DEFAULTS))
ss.setdefault("kmeans_fit_spec", dict(FIT_DEFAULTS))

# Shared links: ?src=generate&kind=blobs&n=300&k=4&...&it=2 reopens the same data, settings
# and iteration. Read once per session; afterwards the page writes its state back.
URL_INTS = {"n": "n_samples", "f": "n_features", "c": "centers", "ds": "random_state"}
URL_FLOATS = {"std": "cluster_std", "noise": "noise"}
URL_FIT_INTS = {"k": "k", "ninit": "n_init", "maxit": "max_iter", "seed": "seed"}
url_problems: list[str] = []
if not ss.get("kmeans_url_read"):
    ss["kmeans_url_read"] = True
    q = st.query_params
    gen, fit = dict(GENERATE_DEFAULTS), dict(FIT_DEFAULTS)
    try:
        if q.get("src") in ("generate", "sample"):
            ss["kmeans_source"] = "Generate" if q["src"] == "generate" else "Sample table"
        if "kind" in q:
            if q["kind"] not in data_io.GENERATED:
                raise ValueError(f"kind={q['kind']}")
            gen["kind"] = q["kind"]
        for key, name in URL_INTS.items():
            if key in q:
                gen[name] = int(q[key])
        for key, name in URL_FLOATS.items():
            if key in q:
                gen[name] = float(q[key])
        if q.get("sample") in data_io.SAMPLES:
            ss["kmeans_sample"] = q["sample"]
        for key, name in URL_FIT_INTS.items():
            if key in q:
                fit[name] = int(q[key])
        if q.get("init") in INITS:
            fit["init"] = q["init"]
        if "tol" in q:
            fit["tol"] = min(TOLERANCES, key=lambda t: abs(t - float(q["tol"])))
        if q.get("z") == "1":
            ss["kmeans_standardize"] = True
        if "it" in q:
            ss["kmeans_iteration"] = max(1, int(q["it"]))
        if q.get("half") in HALVES:
            ss["kmeans_half"] = q["half"]
        # The widgets' own ranges validate the rest: refuse values outside them.
        if not (1 <= gen["n_samples"] <= data_io.MAX_ROWS and 1 <= fit["k"] <= K_MAX
                and 1 <= fit["n_init"] <= 50 and 1 <= fit["max_iter"] <= 1000
                and 1 <= gen["n_features"] <= 50 and 1 <= gen["centers"] <= 20
                and 0 < gen["cluster_std"] <= 20 and 0 <= gen["noise"] <= 2):
            raise ValueError("out of range")
    except (ValueError, KeyError):
        url_problems.append("The link's settings could not all be read, so the defaults are used.")
        gen, fit = dict(GENERATE_DEFAULTS), dict(FIT_DEFAULTS)
    ss["kmeans_gen_spec"], ss["kmeans_fit_spec"] = gen, fit
    for name, value in gen.items():
        ss[f"kmeans_gen_{name}"] = value
    for name, value in fit.items():
        ss[f"kmeans_{name}"] = value


# ----------------------------------------------------------------------------- page: data in

st.title("K-means lab")
st.caption(
    "Bring data, run Lloyd's algorithm and watch the objective "
    "J = Σ‖x − μ‖² fall at every half-step: assign each point to its nearest centroid, "
    "then move each centroid to the mean of its points."
)
messages = st.container()  # errors about data and settings appear here, above the results
for problem in url_problems:
    messages.warning(problem, icon=":material/link_off:")

with st.sidebar:
    st.header("1 · Data")
    source = st.radio("Where the points come from", SOURCES, key="kmeans_source",
                      horizontal=True)
    standardize = st.toggle(
        "Standardise features", key="kmeans_standardize",
        help="Rescale each feature to mean 0 and standard deviation 1, so features measured "
             "in large units do not dominate the distances.",
    )

    wanted = None  # (key, build) of the data the user asked for, built below
    if source == "Generate":
        kind = st.selectbox("Shape", list(data_io.GENERATED), key="kmeans_gen_kind",
                            format_func=lambda k: data_io.GENERATED[k].title)
        uses = data_io.GENERATED[kind].parameters
        with st.form("kmeans_generate_form", border=False):
            st.number_input("Points (n_samples)", 1, data_io.MAX_ROWS, step=100,
                            key="kmeans_gen_n_samples")
            if "centers" in uses:
                st.number_input("Groups (centers)", 1, 20, key="kmeans_gen_centers")
            if "n_features" in uses:
                st.number_input("Features (n_features)", 1, 50, key="kmeans_gen_n_features")
            if "cluster_std" in uses:
                st.number_input("Spread (cluster_std)", 0.01, 20.0, step=0.1, format="%.2f",
                                key="kmeans_gen_cluster_std")
            if "noise" in uses:
                st.number_input("Noise", 0.0, 2.0, step=0.01, format="%.2f",
                                key="kmeans_gen_noise")
            st.number_input("Data seed (random_state)", 0, 2**31 - 1, key="kmeans_gen_random_state")
            if st.form_submit_button("Generate data", icon=":material/casino:", type="primary",
                                     width="stretch"):
                ss["kmeans_gen_spec"] = {name: ss[f"kmeans_gen_{name}"] for name in
                                         GENERATE_DEFAULTS}
        spec = ss["kmeans_gen_spec"]
        st.caption(md_text(data_io.GENERATED[spec["kind"]].description))
        gen_spec = tuple(sorted(spec.items()))
        wanted = (("generate", gen_spec, standardize), lambda: generate(gen_spec, standardize))

    elif source == "Sample table":
        name = st.selectbox("Table (ships with scikit-learn)", list(data_io.SAMPLES),
                            key="kmeans_sample", format_func=lambda k: data_io.SAMPLES[k].title)
        st.caption(data_io.SAMPLES[name].description)
        wanted = (("sample", name, standardize), lambda: sample_table(name, standardize))

    else:
        st.caption(
            f"CSV, comma, semicolon or tab separated; decimal point or comma; UTF-8 or UTF-16; "
            f"header row optional. Up to {MAX_UPLOAD_MB} MB and "
            f"{data_io.MAX_ROWS:,} rows. Rows with missing values are dropped."
        )
        sample_big = st.checkbox(f"Sample {data_io.MAX_ROWS:,} rows of a larger file",
                                 key="kmeans_sample_big")
        uploaded = st.file_uploader("CSV file", type=None, key="kmeans_upload")
        if uploaded is None:
            st.info("Choose a CSV file to cluster.", icon=":material/upload_file:")
        else:
            content = uploaded.getvalue()
            digest = hashlib.blake2b(content, digest_size=16).hexdigest()
            try:
                table = read_upload(digest, content, uploaded.name, sample_big)
            except data_io.DataError as exc:
                table = None
                show_error(exc, next_step="The data and results already on the page are kept.")
                with messages:
                    show_error(exc, next_step="The data and results below are kept.")
            if table is not None:
                numeric = data_io.numeric_columns(table.frame)
                columns = st.multiselect("Columns to cluster", numeric, default=numeric,
                                         key=f"kmeans_columns_{digest}")
                label_choices = ["(none)"] + [c for c in data_io.label_columns(table.frame)
                                              if c not in columns]
                label = st.selectbox("True labels (optional, for the adjusted Rand index)",
                                     label_choices, key=f"kmeans_label_{digest}")
                label = None if label == "(none)" else label
                wanted = (
                    ("upload", digest, tuple(columns), label, standardize, sample_big),
                    lambda: data_io.Dataset.from_upload(
                        table, data_io.prepare_features(
                            table.frame, columns, label_column=label, standardize=standardize)),
                )

    st.header("2 · K-means")
    with st.form("kmeans_fit_form", border=False):
        c1, c2 = st.columns(2)
        c1.number_input("Clusters K", 1, K_MAX, key="kmeans_k")
        c2.selectbox("Initialisation", INITS, key="kmeans_init")
        c1.number_input("Starts (n_init)", 1, 50, key="kmeans_n_init")
        c2.number_input("max_iter", 1, 1000, key="kmeans_max_iter")
        st.select_slider("Tolerance (tol)", TOLERANCES, key="kmeans_tol",
                         format_func=lambda t: "0" if t == 0 else f"{t:.0e}")
        st.number_input("Seed (random_state)", 0, 2**31 - 1, key="kmeans_seed")
        if st.form_submit_button("Run K-means", icon=":material/play_arrow:", type="primary",
                                 width="stretch"):
            ss["kmeans_fit_spec"] = {name: ss[f"kmeans_{name}"] for name in FIT_DEFAULTS}

settings = ss["kmeans_fit_spec"]

# Build the data asked for, unless it is the data already held. Any problem: say what and
# why, and keep the last good data set.
if wanted is not None and wanted[0] != ss.get("kmeans_data_key"):
    try:
        with st.spinner("Preparing the data…"):
            candidate = wanted[1]()
        data_io.check_enough_rows(candidate.X, settings["k"])
    except data_io.DataError as exc:
        with messages:
            show_error(exc, next_step="The data and results below are kept.")
        if source == "Upload CSV":
            with st.sidebar:
                show_error(exc)
    except ValueError as exc:  # a generator parameter out of range
        with messages:
            show_error(exc, next_step="Change that setting and generate again.")
    else:
        ss["kmeans_data"], ss["kmeans_data_key"] = candidate, wanted[0]

data: data_io.Dataset | None = ss.get("kmeans_data")
if data is None:
    st.info("Generate data, pick a sample table or upload a CSV file to start.")
    st.stop()

# ----------------------------------------------------------------------------- run K-means

fit_key = (data.digest, *(settings[name] for name in FIT_DEFAULTS))
held: Fit | None = ss.get("kmeans_fit")
if held is not None and held.key == fit_key and held.data is not data:
    # Same points, new labels, names or notes (e.g. a label column picked): same fit.
    held = Fit(held.key, data, held.model, held.settings, held.warnings)
    ss["kmeans_fit"] = held
elif held is None or held.key != fit_key:
    try:
        data_io.check_enough_rows(data.X, settings["k"])
        with st.spinner(f"Running K-means on {data.n_samples:,} points…"):
            model, fit_warnings = fit_kmeans(data.digest, data.X, **settings)
    except ValueError as exc:  # DataError included: too few points for K
        with messages:
            show_error(exc, next_step="The results below are from the last run that worked.")
    else:
        held = Fit(fit_key, data, model, dict(settings), fit_warnings)
        ss["kmeans_fit"] = held
        if ss.get("kmeans_iteration", 1) > model.n_iter_:
            ss["kmeans_iteration"] = model.n_iter_

if held is None:
    st.stop()
data, model, run = held.data, held.model, held.model.history_
for text in held.warnings:
    messages.warning(md_text(text), icon=":material/warning:")
if held.data is not ss.get("kmeans_data"):
    messages.info("The results below are for the previous data set: fix the problem above "
                  "and press **Run K-means**.", icon=":material/history:")

# Settings in the URL, so a copied link reopens this page as it is.
query = {"src": {"Generate": "generate", "Sample table": "sample"}.get(source, "upload")}
if source == "Generate":
    g = ss["kmeans_gen_spec"]
    query |= {"kind": g["kind"], "n": g["n_samples"], "f": g["n_features"], "c": g["centers"],
              "std": g["cluster_std"], "noise": g["noise"], "ds": g["random_state"]}
elif source == "Sample table":
    query["sample"] = ss["kmeans_sample"]
query |= {"k": settings["k"], "init": settings["init"], "ninit": settings["n_init"],
          "maxit": settings["max_iter"], "tol": settings["tol"], "seed": settings["seed"],
          "z": int(data.standardized)}
st.query_params.from_dict({k: str(v) for k, v in query.items()}
                          | {k: st.query_params[k] for k in ("it", "half")
                             if k in st.query_params})

# ----------------------------------------------------------------------------- summary

view = plane_view(data.digest, data.X, data.feature_names)
points = view.points(data.X)
notes = charts.plane_notes(view)
k = settings["k"]

st.subheader(md_text(data.title))
st.caption(
    f"{data.n_samples:,} points × {data.n_features} features"
    + (f" · {len(data.label_names)} true groups" if data.label_names else "")
    + (" · standardised" if data.standardized else "")
)
if data.kmeans_note:
    st.markdown(f":material/lightbulb: {md_text(data.kmeans_note)}")
for note in data.notes:
    st.caption(md_text(note))

ari = ka.adjusted_rand(data.labels, model.labels_)
m = st.columns(5)
m[0].metric("Final J", f"{model.inertia_:,.3f}", help="Σ‖x − μ‖² over all points")
m[1].metric("Iterations", model.n_iter_)
m[2].metric("Stopped because", "converged" if run.converged else "max_iter",
            help=run.stop_reason)
m[3].metric("Clusters K", k)
m[4].metric("Adjusted Rand index", "—" if ari is None else f"{ari:.3f}",
            help="Agreement of the clusters with the true labels: 1 is perfect, 0 is chance.")

# Lazy tabs: a rerun runs, and sends to the browser, only the tab on screen. With every
# tab drawn on each run, 1,000,000 points took seconds more per Run than the fit itself.
tabs = dict(zip(TABS, st.tabs(TABS, key="kmeans_tab", on_change="rerun"), strict=True))


def in_tab(name: str):
    """Decorator: draw the decorated function in tab ``name`` now, if that tab is open."""
    def draw(content):
        if tabs[name].open:
            with tabs[name]:
                content()
        return content
    return draw


def result_picture(step: ka.HalfStep, counts: np.ndarray, *, title: str, key: str) -> None:
    """Points, centroids and (for 2-D data) Voronoi regions of one half-step."""
    centers = view.project(step.centers)
    voronoi = None
    if data.n_features == 2:
        x_range, y_range = ka.plane_ranges(np.vstack([points, centers]))
        voronoi = ka.voronoi_grid(centers, x_range, y_range, resolution=120)
    fig = charts.result_figure(
        points, step.labels, centers, distances=step.distances, row_numbers=view.index,
        voronoi=voronoi, axis_titles=view.axis_titles, title=title, notes=notes,
        counts=counts,  # cluster sizes over all points, not the display sample
    )
    st.plotly_chart(fig, key=key, theme=None)


# ----------------------------------------------------------------------------- Result
@in_tab("Result")
def result_tab() -> None:
    final = ka.half_step(run, data.X, view.index, run.n_iter, "update")
    result_picture(
        ka.HalfStep(run.n_iter, "update", run.centers,
                    model.labels_[view.index], final.distances, run.inertia),
        np.bincount(model.labels_, minlength=k),
        title=f"{k} clusters · J = {model.inertia_:,.3f}", key="kmeans_result_chart",
    )
    st.caption("Hover over a point to see its distance to every centroid: it belongs to the "
               "nearest. Shaded regions are the points of the plane nearest each centroid "
               "(Voronoi regions)." if data.n_features == 2 else
               "Hover over a point to see its distance to every centroid: it belongs to the "
               "nearest.")

# ----------------------------------------------------------------------------- Convergence
@in_tab("Convergence")
def convergence_tab() -> None:
    log_y = st.toggle("Log scale for J", key="kmeans_log_j")
    left, right = st.columns(2)
    left.plotly_chart(charts.convergence_figure(run, log_y=log_y), key="kmeans_j_chart",
                      theme=None)
    right.plotly_chart(charts.shift_figure(run), key="kmeans_shift_chart", theme=None)
    st.markdown(
        f"**Stopped:** {run.stop_reason} after {run.n_iter} iteration(s). The tolerance "
        f"{settings['tol']:g} × mean feature variance = {run.tol:.3g} is compared with "
        "Σ‖Δμ‖², the squared distance all centroids moved."
    )
    st.dataframe(ka.iteration_table(run), hide_index=True, key="kmeans_iteration_table")

# ----------------------------------------------------------------------------- Step through


@st.fragment
def step_through() -> None:
    """Slider over iterations and the half-step toggle: moving them never re-fits.

    A fragment: a step reruns this function alone and sends only the step chart. The fit is
    held in session state, so K-means never reruns for a step.
    """
    n_iter = run.n_iter
    left, right = st.columns([3, 2])
    with left:
        if n_iter > 1:
            ss["kmeans_iteration"] = min(max(ss.get("kmeans_iteration", 1), 1), n_iter)
            t = st.slider("Iteration", 1, n_iter, key="kmeans_iteration")
        else:
            t = 1
            st.caption("The run took a single iteration.")
    with right:
        half = st.radio("Half-step", HALVES, key="kmeans_half", horizontal=True,
                        format_func=lambda h: "1 · assignment" if h == "assign" else
                        "2 · update")
    st.query_params["it"], st.query_params["half"] = str(t), half
    step = ka.half_step(run, data.X, view.index, t, half)
    record = run.iterations[t - 1]
    c = st.columns(4)
    c[0].metric("J at this half-step", f"{step.inertia:,.3f}")
    c[1].metric("Points reassigned", f"{record.n_changed:,}")
    c[2].metric("Centroid shift Σ‖Δμ‖²", f"{record.center_shift_total:.3g}")
    c[3].metric("Empty clusters", ", ".join(str(e + 1) for e in record.empty_clusters) or "none")
    what = ("**Assignment:** every point joins its nearest centroid (the stars)."
            if half == "assign" else
            "**Update:** every centroid moves to the mean of the points that joined it.")
    st.markdown(what)
    result_picture(step, record.counts, title=f"Iteration {t} of {n_iter} · "
                   f"{'after assignment' if half == 'assign' else 'after update'}",
                   key="kmeans_step_chart")


@in_tab("Step through")
def step_through_tab() -> None:
    step_through()
    st.subheader("Playback")
    anim_rows = view.index[ka.display_sample(len(view.index), ka.ANIMATION_MAX_POINTS, 1)]
    steps = ka.half_steps(run, data.X, anim_rows)
    anim_notes = list(notes[:1])
    if len(anim_rows) < data.n_samples:
        anim_notes.append(f"Animating a random sample of {len(anim_rows):,} of "
                          f"{data.n_samples:,} points; K-means ran on all of them.")
    if run.n_iter > ka.ANIMATION_MAX_ITERATIONS:
        anim_notes.append(f"First {ka.ANIMATION_MAX_ITERATIONS} of {run.n_iter} iterations.")
    st.plotly_chart(
        charts.playback_figure(view.project(data.X[anim_rows]), steps, project=view.project,
                               row_numbers=anim_rows, axis_titles=view.axis_titles,
                               notes=anim_notes),
        key="kmeans_playback_chart", theme=None,
    )
    st.caption("Press ▶ Play: the animation runs in your browser. Dotted lines are the paths "
               "the centroids took.")

# ----------------------------------------------------------------------------- Seeding
@in_tab("k-means++ seeding")
def seeding_tab() -> None:
    if not run.seeding:
        st.info(f"This run started from **{run.init}** initial centroids, which are K distinct "
                "points drawn uniformly: choose init = k-means++ to see its seeding.")
    else:
        s = st.slider("Seeding step", 1, k, min(2, k), key="kmeans_seed_step") if k > 1 else 1
        seed_step = run.seeding[s - 1]
        probs = (seed_step.probabilities if seed_step.probabilities is not None
                 else run.seeding_probabilities(data.X, s - 1))[view.index]
        earlier = data.X[[q.chosen for q in run.seeding[: s - 1]]]
        st.plotly_chart(
            charts.seeding_figure(
                points, probs, view.project(earlier).reshape(-1, 2),
                view.project(data.X[seed_step.candidates]),
                view.project(data.X[[seed_step.chosen]])[0], step=s - 1, n_clusters=k,
                axis_titles=view.axis_titles, notes=notes),
            key="kmeans_seeding_chart", theme=None,
        )
        st.caption(
            f"Each new centroid is drawn with probability ∝ D², the squared distance to the "
            f"nearest centroid so far. Greedy k-means++ draws {len(seed_step.candidates)} "
            f"candidate(s) and keeps the one that lowers Σ D² most "
            f"(now {seed_step.potential:,.3f})."
        )

# ----------------------------------------------------------------------------- Several starts
@in_tab("Several starts")
def several_starts_tab() -> None:
    if len(model.runs_) > 1:
        st.plotly_chart(charts.runs_figure(model.runs_), key="kmeans_runs_chart", theme=None)
    else:
        st.info("Set **Starts (n_init)** above 1 and run again to see every start's J curve "
                "on one chart.")
    st.markdown("**Restart study:** many seeds, random vs k-means++ starts.")
    n_seeds = st.slider("Seeds per initialisation", 10, 200, 40, step=10,
                        key="kmeans_study_seeds")
    study_key = (data.digest, k, n_seeds, settings["max_iter"], settings["tol"])
    if st.button("Run restart study", key="kmeans_study_button", icon=":material/repeat:"):
        bar = st.progress(0.0, text="Restart study…")
        study = ka.restart_study(data.X, k, n_seeds, max_iter=settings["max_iter"],
                                 tol=settings["tol"],
                                 on_progress=lambda f, text: bar.progress(f, text=text))
        bar.empty()
        ss["kmeans_study"] = (study_key, study)
    if ss.get("kmeans_study", (None,))[0] == study_key:
        study = ss["kmeans_study"][1]
        minima = ka.distinct_minima(study)
        st.plotly_chart(charts.restart_figure(study, minima), key="kmeans_study_chart",
                        theme=None)
        st.dataframe(minima, hide_index=True)

# ----------------------------------------------------------------------------- Choosing K
@in_tab("Choosing K")
def choosing_k_tab() -> None:
    k_max = st.slider("Largest K to try", 2, K_MAX, min(10, K_MAX), key="kmeans_elbow_kmax")
    elbow_key = (data.digest, k_max, settings["init"], settings["seed"])
    if st.button("Compute elbow and silhouette", key="kmeans_elbow_button",
                 icon=":material/show_chart:"):
        bar = st.progress(0.0, text="Fitting K = 1…")
        sweep = ka.elbow_sweep(data.X, k_max, init=settings["init"],
                               random_state=settings["seed"], max_iter=settings["max_iter"],
                               tol=settings["tol"],
                               on_progress=lambda f, text: bar.progress(f, text=text))
        bar.empty()
        ss["kmeans_elbow"] = (elbow_key, sweep)
    if ss.get("kmeans_elbow", (None,))[0] == elbow_key:
        st.plotly_chart(charts.elbow_figure(ss["kmeans_elbow"][1], chosen_k=k),
                        key="kmeans_elbow_chart", theme=None)
        st.caption("J always falls as K grows; look for the bend (the elbow). The silhouette "
                   "compares each point's distance to its own cluster with the next nearest: "
                   "the K with the highest score separates the data best.")
        if data.n_samples > ka.STUDY_MAX_POINTS:
            st.caption(f"Computed on a random sample of {ka.STUDY_MAX_POINTS:,} points.")

# ----------------------------------------------------------------------------- Cross-check
@in_tab("Cross-check")
def cross_check_tab() -> None:
    st.markdown("The same run through **scikit-learn** (`KMeans(algorithm=\"lloyd\")`) from "
                "the same initial centroids, max_iter and tol.")
    check = cross_check(held.key, data.X, run, settings["max_iter"], settings["tol"])
    c = st.columns(4)
    c[0].metric("J, this engine", f"{check.engine_inertia:,.6f}")
    c[1].metric("J, scikit-learn", f"{check.sklearn_inertia:,.6f}")
    c[2].metric("Largest centroid difference", f"{check.max_center_difference:.2e}")
    c[3].metric("Labels that agree", f"{check.label_agreement:.2%}")
    st.caption(f"Iterations: engine {check.engine_n_iter}, scikit-learn {check.sklearn_n_iter}. "
               f"Relative difference in J: {check.relative_inertia_difference:.1e}.")

# ----------------------------------------------------------------------------- Export
@in_tab("Export")
def export_tab() -> None:
    st.markdown("Download the results as CSV files (UTF-8, open in any spreadsheet).")
    stem = "kmeans" if data.source != "upload" else re.sub(r"[^\w-]+", "_", data.title)[:40]
    c = st.columns(3)
    c[0].download_button(
        "Rows with their cluster", key="kmeans_dl_labels", icon=":material/download:",
        data=lambda: data_io.to_csv_bytes(ka.labelled_rows(data, model.labels_)),
        file_name=f"{stem}_labels.csv", mime="text/csv",
    )
    centroids = ka.centroids_table(data, model.cluster_centers_,
                                   np.bincount(model.labels_, minlength=k))
    c[1].download_button(
        "Centroids", key="kmeans_dl_centroids", icon=":material/download:",
        data=data_io.to_csv_bytes(centroids), file_name=f"{stem}_centroids.csv",
        mime="text/csv",
    )
    c[2].download_button(
        "Per-iteration history", key="kmeans_dl_history", icon=":material/download:",
        data=lambda: data_io.to_csv_bytes(ka.history_table(run, data.feature_names)),
        file_name=f"{stem}_history.csv", mime="text/csv",
    )
    st.dataframe(centroids, hide_index=True)
    st.caption("This page's settings are in its address: copy the link to reopen the same "
               "generated data, parameters and iteration.")
