"""Engine validation beyond ``test_kmeans_fuzz.py``: correct fits, and every other input.

``test_kmeans_fuzz.py`` checks that any array ``X`` fits or raises a readable
``ValueError``/``TypeError``, and that a fit is finite. These properties cover what it leaves
out:

* a fit is *correct*, not only finite: every label is a nearest centroid, every centroid the
  mean of its points, and ``inertia_`` the J of those labels;
* an explicit ``init`` array of any dtype/shape, and any value of the other parameters
  (``n_init``, ``max_iter``, ``tol``, ``n_clusters``);
* ``predict``/``transform``/``score`` on any array after a fit;
* layouts and containers (Fortran order, strided views, read-only, pandas, float32 near the
  overflow limit);
* the data module's other entry points: ``prepare_features`` on any table and
  ``make_dataset`` with any parameters.

Each property draws mostly valid inputs (so its assertion is reached) and some from "anything"
(the error paths), and reports the mix with ``hypothesis.event`` (tests/strategies.py). A hang
fails the test through pytest-timeout (pyproject.toml), not a Hypothesis deadline, which a
cold numba compile on a busy machine would trip.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.exceptions import ConvergenceWarning
from strategies import VALID, mostly_valid, record

from engine.data import (
    GENERATED,
    MAX_COLUMNS,
    MAX_ROWS,
    DataError,
    make_dataset,
    numeric_columns,
    prepare_features,
)
from engine.kmeans import KMeans

SETTINGS = settings(max_examples=120, deadline=None)

ANY_DTYPE = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.timedelta64_dtypes(),
    hnp.unicode_string_dtypes(max_len=4),
)
ANY_ARRAY = hnp.arrays(
    dtype=ANY_DTYPE, shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
)
# Finite, moderately sized points: the inputs that must fit.
GOOD_POINTS = st.integers(1, 4).flatmap(
    lambda d: hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.just(d)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    )
)
ANY_PARAMETER = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.just(np.int64(2)),
    st.just(np.float32(1e-3)),
    st.just([1]),
)


def _readable(exc: BaseException) -> None:
    message = str(exc)
    assert len(message) > 15, f"message too short to help: {message!r}"
    assert "Traceback" not in message


def _fit(X, k, **params) -> KMeans | None:
    """Fit, or check the error is a readable ValueError/TypeError and return None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # explicit init with n_init > 1
            return KMeans(k, **params).fit(X)
    except (ValueError, TypeError) as exc:
        _readable(exc)
        return None


def _assert_is_a_lloyd_fixed_point(X: np.ndarray, km: KMeans) -> None:
    """Labels are nearest centroids, J matches them, centroids are their clusters' means.

    Except after a run that stopped on an iteration that relocated an empty cluster's
    centroid onto a point without changing a label: scikit-learn, our oracle, stops there
    too, unassigned (X = [0, 1, -2, -2], init = [0, -1, -1]: point 0 keeps label 0 while
    centroid 2 sits on it; see the test below). Then J must still be the labels' J.
    """
    X = np.asarray(X, dtype=np.float64)
    centers = km.cluster_centers_
    k = centers.shape[0]
    assert np.isfinite(centers).all() and np.isfinite(km.inertia_)
    unassigned = (
        km.history_.stop_reason == "labels unchanged"
        and len(km.history_.iterations[-1].relocated_to) > 0
    )
    if unassigned:
        event("stopped on an iteration that relocated an empty cluster")
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    chosen = d2[np.arange(len(X)), km.labels_]
    scale = max(1.0, float(np.abs(X).max()) ** 2)
    assert km.inertia_ == pytest.approx(chosen.sum(), rel=1e-6, abs=1e-9 * scale * len(X))
    if unassigned:
        return
    # A label may pick any of several equally near centroids, never a farther one.
    assert (chosen <= d2.min(axis=1) + 1e-9 * scale).all()
    if km.history_.converged:
        for j in range(k):
            members = X[km.labels_ == j]
            if len(members):
                np.testing.assert_allclose(
                    centers[j], members.mean(axis=0), rtol=1e-6, atol=1e-6 * np.sqrt(scale)
                )


@SETTINGS
@given(X=GOOD_POINTS, data=st.data(), init=st.sampled_from(["k-means++", "random"]))
def test_a_fit_of_finite_points_is_correct_not_only_finite(X, data, init):
    k = data.draw(st.integers(1, min(6, len(X))), label="k")
    km = _fit(X, k, init=init, random_state=0, max_iter=300, tol=0.0)
    assert km is not None, "finite points with n_samples >= k must fit"
    assert km.labels_.shape == (len(X),)
    assert 0 <= km.labels_.min() and km.labels_.max() < k
    _assert_is_a_lloyd_fixed_point(X, km)
    J = km.history_.inertia_curve
    assert np.isfinite(J).all()
    # Lloyd's iterations never increase J, up to rounding: distances computed as
    # ‖x‖² − 2x·c + ‖c‖² carry an error of about eps·‖x‖² per point.
    rounding = 1e-9 * max(1.0, float(np.abs(X).max()) ** 2) * len(X)
    assert (np.diff(J) <= rounding + 1e-9 * float(J.max())).all()


@st.composite
def _init_arrays(draw, X: np.ndarray) -> np.ndarray:
    """(k, d) float centroids for X, in X's range (duplicates allowed: empty clusters)."""
    k = draw(st.integers(1, min(4, len(X))), label="k")
    dtype = draw(st.sampled_from([np.float64, np.float32]), label="init dtype")
    width = 32 if dtype == np.float32 else 64
    return draw(
        hnp.arrays(dtype, (k, X.shape[1]), elements=st.floats(-1e6, 1e6, width=width)),
        label="init",
    )


@SETTINGS
@given(X=GOOD_POINTS, data=st.data())
def test_any_explicit_init_array_fits_or_is_refused_readably(X, data):
    """(k, d) float centroids fit to a Lloyd fixed point; any other array (any dtype, any
    shape, with k drawn apart from it) fits or is refused readably."""
    origin, (init, k) = data.draw(
        mostly_valid(
            _init_arrays(X).map(lambda init: (init, len(init))),
            st.tuples(ANY_ARRAY, st.integers(1, 4)),
        ),
        label="init, k",
    )
    km = _fit(X, k, init=init, random_state=0)
    record(origin, "refused" if km is None else "fit")
    if origin == VALID:
        assert km is not None, "(k, d) finite float centroids with k <= n_samples must fit"
    if km is not None:
        assert km.cluster_centers_.shape == (k, X.shape[1])
        _assert_is_a_lloyd_fixed_point(X, km)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_that_stops_right_after_relocating_an_empty_cluster_is_scikit_learns():
    """Found by the explicit-init property: duplicate initial centroids leave one empty,
    and the iteration that relocates it changes no label, so the run stops there, like
    scikit-learn's, with point 0 labelled 0 although centroid 2 now sits on it."""
    X, init = np.array([[0.0], [1.0], [-2.0], [-2.0]]), np.array([[0.0], [-1.0], [-1.0]])
    km = _fit(X, 3, init=init)
    ref = SKKMeans(3, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    assert km.history_.iterations[-1].relocated_to == (0,)
    assert km.history_.stop_reason == "labels unchanged"
    np.testing.assert_array_equal(km.predict(X), [2, 0, 1, 1])  # differs from labels_


# Inside the engine's rules (KMeans._check_params), Python or numpy numbers.
VALID_PARAMETERS = st.fixed_dictionaries(
    {
        "n_clusters": st.one_of(st.integers(1, 5), st.integers(1, 5).map(np.int64)),
        "n_init": st.one_of(st.integers(1, 3), st.integers(1, 3).map(np.int32)),
        "max_iter": st.integers(1, 300),
        "tol": st.one_of(
            st.just(0.0), st.floats(0, 1e-1), st.floats(0, 0.125, width=32).map(np.float32)
        ),
        "random_state": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    }
)
ANY_PARAMETERS = st.fixed_dictionaries(
    {
        "n_clusters": ANY_PARAMETER,
        "n_init": ANY_PARAMETER,
        "max_iter": ANY_PARAMETER,
        "tol": ANY_PARAMETER,
        "random_state": st.one_of(st.none(), st.integers(0, 2**32 - 1), st.just(-1), st.just("x")),
    }
)


@SETTINGS
@given(drawn=mostly_valid(VALID_PARAMETERS, ANY_PARAMETERS))
def test_any_parameter_values_fit_or_are_refused_readably(drawn):
    origin, params = drawn
    X = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [1.0, 1.0], [3.0, 3.0]])
    n_clusters = params.pop("n_clusters")
    km = _fit(X, n_clusters, **params)
    record(origin, "refused" if km is None else "fit")
    if origin == VALID:
        assert km is not None, "parameters inside their ranges must fit"
    if km is not None:
        _assert_is_a_lloyd_fixed_point(X, km)


_FITTED = KMeans(2, random_state=0).fit(np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5]]))


@SETTINGS
@given(X=ANY_ARRAY, method=st.sampled_from(["predict", "transform", "score"]))
def test_any_array_after_a_fit_gives_a_result_or_a_readable_error(X, method):
    try:
        out = getattr(_FITTED, method)(X)
    except (ValueError, TypeError) as exc:
        _readable(exc)
        return
    out = np.asarray(out)
    assert np.isfinite(out).all()
    if method == "predict":
        assert set(np.unique(out)) <= {0, 1}


def _layouts():
    base = np.random.default_rng(3).normal(size=(40, 6))
    return {
        "fortran": np.asfortranarray(base),
        "strided_view": base[::2, ::3],
        "read_only": np.frombuffer(base.tobytes(), dtype=np.float64).reshape(40, 6),
        "dataframe": pd.DataFrame(base, columns=list("abcdef")),
        "int8": (base * 10).astype(np.int8),
        "uint64": np.abs(base * 1000).astype(np.uint64),
        "float16": base.astype(np.float16),
        "bool": base > 0,
        "python_lists": base.tolist(),
    }


@pytest.mark.parametrize("name", list(_layouts()))
def test_layouts_and_containers_fit_like_the_float64_array(name):
    X = _layouts()[name]
    km = _fit(X, 3, random_state=0)
    assert km is not None
    reference = _fit(np.asarray(X, dtype=np.float64), 3, random_state=0)
    np.testing.assert_array_equal(km.labels_, reference.labels_)
    np.testing.assert_allclose(km.cluster_centers_, reference.cluster_centers_, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("fraction", [0.5, 0.99, 1.01, 2.0])
def test_values_near_the_overflow_limit_fit_finite_or_are_refused(dtype, fraction):
    n, d = 20, 2
    limit = np.sqrt(np.finfo(dtype).max / (4.0 * d * n))
    X = np.random.default_rng(0).uniform(-1, 1, size=(n, d)).astype(dtype)
    X[0, 0] = dtype(limit * fraction)
    km = _fit(X, 3, random_state=0)
    if fraction < 1:
        assert km is not None, "values under the stated limit must fit"
        assert np.isfinite(km.inertia_) and np.isfinite(km.cluster_centers_).all()
    else:
        assert km is None


# ------------------------------------------------------------------------- engine.data

CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)
TABLES = st.integers(0, 4).flatmap(
    lambda n_cols: st.lists(
        st.lists(CELL, min_size=n_cols, max_size=n_cols), min_size=0, max_size=12
    ).map(lambda rows, n=n_cols: pd.DataFrame(rows, columns=[f"c{j}" for j in range(n)]))
)


@SETTINGS
@given(frame=TABLES, standardize=st.booleans())
def test_prepare_features_on_any_table_gives_finite_features_or_a_data_error(frame, standardize):
    columns = numeric_columns(frame)
    try:
        features = prepare_features(frame, columns, standardize=standardize)
    except DataError as exc:
        _readable(exc)
        return
    X = features.X
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert X.shape == (len(features.row_index), len(columns))
    assert np.isfinite(X).all()
    assert features.n_rows_in == len(frame)
    assert features.n_dropped == len(frame) - len(X)


@st.composite
def _dataset_parameters(draw) -> dict:
    """make_dataset's parameters inside its rules (few points: the suite stays quick)."""
    n_samples = draw(st.integers(1, min(400, MAX_ROWS)), label="n_samples")
    return {
        "kind": draw(st.sampled_from(sorted(GENERATED)), label="kind"),
        "n_samples": n_samples,
        "n_features": draw(st.integers(1, min(5, MAX_COLUMNS)), label="n_features"),
        # "varied" needs a point per group; the others accept more groups than points.
        "centers": draw(st.integers(1, min(8, n_samples)), label="centers"),
        "cluster_std": draw(st.floats(0, 5), label="cluster_std"),
        "noise": draw(st.floats(0, 1), label="noise"),
        "random_state": draw(st.one_of(st.none(), st.integers(0, 2**32 - 1))),
    }


ANY_DATASET_PARAMETERS = st.fixed_dictionaries(
    {
        "kind": st.one_of(st.sampled_from(sorted(GENERATED)), st.text(max_size=3)),
        "n_samples": st.one_of(st.integers(-2, 400), ANY_PARAMETER),
        "n_features": st.one_of(st.integers(0, 5), ANY_PARAMETER),
        "centers": st.one_of(st.integers(0, 8), ANY_PARAMETER),
        "cluster_std": st.one_of(st.floats(-1, 5), ANY_PARAMETER),
        "noise": st.one_of(st.floats(-1, 1), ANY_PARAMETER),
    }
)


@SETTINGS
@given(drawn=mostly_valid(_dataset_parameters(), ANY_DATASET_PARAMETERS))
def test_make_dataset_with_any_parameters_gives_finite_data_or_a_readable_error(drawn):
    origin, params = drawn
    try:
        ds = make_dataset(**params)
    except (ValueError, TypeError) as exc:
        record(origin, "refused")
        assert origin != VALID, f"parameters inside their ranges were refused: {exc}"
        _readable(exc)
        return
    record(origin, "data")
    n_samples = params["n_samples"]
    assert ds.X.shape[0] == n_samples
    assert np.isfinite(ds.X).all()
    assert ds.suggested_k >= 1
    if origin == VALID:
        two_d = params["kind"] in ("moons", "circles", "overlapping")
        assert ds.X.shape == (n_samples, 2 if two_d else params["n_features"])
        if ds.labels is not None:
            assert ds.labels.shape == (n_samples,) and ds.labels.min() >= 0


NAME = st.text(
    # Mostly the characters a CSV reader must get right, and any other printable one.
    alphabet=st.one_of(
        st.sampled_from(list("ab;,\"' &<>=#.")),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and not _number_like(s))


def _number_like(text: str) -> bool:
    """Names a header sniffer may fairly take for data (numbers, nan, inf, true/false)."""
    if text.lower() in ("true", "false"):
        return True
    try:
        float(text.replace(",", "."))
    except ValueError:
        return not any(c.isalpha() for c in text)
    return True


@SETTINGS
@given(
    names=st.lists(NAME, min_size=2, max_size=4, unique_by=str.casefold),
    values=st.integers(3, 12).flatmap(
        lambda n: hnp.arrays(
            np.float64, (n, 4), elements=st.floats(-1e6, 1e6, allow_nan=False, width=32)
        )
    ),
    quoting=st.sampled_from([0, 1, 2]),  # csv.QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC
)
def test_a_numeric_table_written_as_csv_reads_back_with_its_names(names, values, quoting):
    """What pandas writes, the reader reads: same column names, same numbers, any names
    (HTML, entities like ``&amp;``, separators inside quotes)."""
    from engine.data import read_csv_bytes

    frame = pd.DataFrame(values[:, : len(names)], columns=names)
    content = frame.to_csv(index=False, quoting=quoting).encode()
    table = read_csv_bytes(content, filename="table.csv")
    assert list(table.frame.columns) == names
    np.testing.assert_array_equal(table.frame.to_numpy(dtype=np.float64), frame.to_numpy())


@pytest.mark.parametrize(
    "header",
    ['"a","&amp;"', '"<script>alert(1)</script>","&amp;"', '"x","y;"'],
    ids=["entity", "script-entity", "semicolon-last"],
)
def test_quoted_names_ending_in_a_semicolon_keep_the_comma_separator(header):
    """Found by the XSS browser test: a quoted name with ``;"`` made the ``;`` split swallow
    the file in one quoted field, so a valid table was refused as "no data rows"."""
    from engine.data import read_csv_bytes

    content = f"{header}\n1,2\n3,4\n5,6\n".encode()
    table = read_csv_bytes(content, filename="names.csv")
    assert table.separator == ","
    assert table.frame.shape == (3, 2)
