"""Any array of any dtype, shape or content: a correct fit or a readable ValueError/TypeError.

Anything-goes arrays are almost never fittable (2 in 200, issue 18), so the array test draws
three in four from numeric (n, d) arrays with n >= k, which must fit, and reports the mix with
``hypothesis.event`` (tests/strategies.py).
"""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning
from strategies import ANYTHING, VALID, mostly_valid, record

from engine.kmeans import KMeans

DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.timedelta64_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
)
ANY_ARRAY = hnp.arrays(
    dtype=DTYPES, shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)
)
# What KMeans must fit: real numbers (bool, integers, floats) in (n, d) with n >= k, values
# well inside the range whose squared distances the engine accepts.
NUMERIC_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(sizes=(16, 32, 64)),
)


@st.composite
def _fittable(draw) -> tuple[np.ndarray, int]:
    dtype = draw(NUMERIC_DTYPES, label="dtype")
    n, d = draw(st.integers(1, 6), label="n"), draw(st.integers(1, 6), label="d")
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind in "iu":
        elements = st.integers(0 if dtype.kind == "u" else -100, 100)
    else:
        elements = st.floats(-1e3, 1e3, width=8 * min(dtype.itemsize, 8))
    X = draw(hnp.arrays(dtype, (n, d), elements=elements), label="X")
    return X, draw(st.integers(1, n), label="k")


NESTED = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
    lambda children: st.lists(children, max_size=4),
    max_leaves=20,
)


def _fit_or_readable_error(X, k, init, origin=ANYTHING):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(k, init=init, random_state=0, max_iter=50).fit(X)
    except (ValueError, TypeError) as exc:
        record(origin, "refused")
        assert origin != VALID, f"numbers in (n, d) with n >= k must fit: {exc}"
        message = str(exc)
        assert len(message) > 15 and "Traceback" not in message
        return
    record(origin, "fit")
    assert np.isfinite(km.cluster_centers_).all()
    assert np.isfinite(km.inertia_) and km.inertia_ >= 0
    assert km.labels_.shape == (np.asarray(X).shape[0],)
    assert km.labels_.min() >= 0 and km.labels_.max() < k


@settings(max_examples=200, deadline=None)
@given(
    drawn=mostly_valid(_fittable(), st.tuples(ANY_ARRAY, st.integers(-2, 8))),
    init=st.sampled_from(["k-means++", "random"]),
)
def test_any_numpy_array(drawn, init):
    origin, (X, k) = drawn
    _fit_or_readable_error(X, k, init, origin)


@settings(max_examples=150, deadline=None)
@given(X=NESTED, k=st.integers(1, 3))
def test_any_nested_python_data(X, k):
    _fit_or_readable_error(X, k, "k-means++")


@settings(max_examples=100, deadline=None)
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 20), st.integers(1, 3)),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    k=st.integers(1, 4),
)
def test_any_float_values_including_extremes(X, k):
    _fit_or_readable_error(X, k, "k-means++")
