"""The comparison grid: defaults from the data, per-cell messages, scores."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import python_output
from sklearn.metrics import adjusted_rand_score

from app_pages.clustering_methods import COLUMNS, KMEANS
from engine.clustering import (
    GRID_SHAPES,
    METHODS,
    Cell,
    compare,
    grid_datasets,
    grid_row,
    run_cell,
)
from engine.data import DataError, Dataset, make_dataset


@pytest.fixture(scope="module")
def small_rows():
    return grid_datasets(n_samples=160, random_state=0)


def test_grid_rows_are_the_catalog_shapes_plus_overlapping_and_the_null_set(small_rows):
    names = [row.name for row in small_rows]
    assert names == ["blobs", "moons", "circles", "anisotropic", "varied", "overlapping",
                     "uniform"] == list(GRID_SHAPES)  # fmt: skip
    assert all(row.X.shape == (160, 2) for row in small_rows)
    assert small_rows[-1].labels is None and small_rows[0].labels is not None
    for row in small_rows:  # the same data the K-means lab generates
        same = make_dataset(row.name, n_samples=160, random_state=0)
        np.testing.assert_array_equal(row.X, same.X)
        assert row.title == same.title


def test_a_large_row_is_sampled_with_its_labels_and_a_note():
    data = make_dataset("blobs", n_samples=500, random_state=1)
    assert grid_row(data) is data
    row = grid_row(data, max_points=120)
    assert row.X.shape == (120, 2) and len(row.labels) == len(row.row_index) == 120
    np.testing.assert_array_equal(row.X, data.X[row.row_index])
    np.testing.assert_array_equal(row.labels, data.labels[row.row_index])
    assert row.digest != data.digest and "120 of the 500 points" in row.notes[-1]
    with pytest.raises(DataError, match="at least 3"):
        grid_row(Dataset.from_points(np.zeros((2, 2))))


def test_every_column_gives_labels_a_rule_and_a_score(small_rows):
    rows = (small_rows[0], small_rows[-1])  # labelled blobs, and the null set
    seen = []
    grid = compare(rows, COLUMNS, on_progress=lambda f, text: seen.append(f))
    assert [c.method for c in grid[0]] == ["kmeans", *METHODS]
    assert seen[-1] == pytest.approx(1.0) and len(seen) == 2 * len(COLUMNS)
    for cell in grid[0]:
        assert cell.error is None, cell.error
        assert cell.labels.shape == (160,) and cell.rule
        assert cell.ari == pytest.approx(adjusted_rand_score(rows[0].labels, cell.labels))
        assert cell.n_clusters == len(np.unique(cell.labels[cell.labels >= 0]))
        assert 0.0 <= cell.noise_share <= 1.0 and cell.seconds >= 0
    for cell in grid[1]:  # no true labels: silhouette (or none for a single cluster)
        assert cell.ari is None
        assert cell.silhouette is None or -1.0 <= cell.silhouette <= 1.0
    assert grid[0][0].ari > 0.9  # K-means finds the four blobs with K chosen by silhouette


def test_rules_state_the_numbers_they_chose(small_rows):
    cell = run_cell(small_rows[0], METHODS["dbscan"])
    assert f"{cell.params['eps']:g}" in cell.rule and "knee" in cell.rule
    gmm = run_cell(small_rows[0], METHODS["gmm"])
    assert "BIC" in gmm.rule and str(gmm.params["n_components"]) in gmm.rule


BAD_CELLS = [
    ("dbscan", {"eps": 0.0}, "must be a number > 0"),
    ("dbscan", {"eps": -2.0}, "must be a number > 0"),
    ("dbscan", {"min_samples": 10_000}, "min_samples = 10000"),
    ("hdbscan", {"min_cluster_size": 1}, "min_cluster_size = 1"),
    ("hdbscan", {"min_samples": 999}, "min_samples = 999"),
    ("mean_shift", {"bandwidth": 0.0}, "bandwidth = 0.0"),
    ("gmm", {"n_components": 161}, "n_components = 161"),
    ("birch", {"threshold": 0.0}, "threshold = 0.0"),
    ("birch", {"threshold": 1e6, "n_clusters": 3}, "only 1 subclusters"),
    ("ward", {"n_clusters": 0}, "n_clusters = 0"),
    ("kmeans", {"n_clusters": 500}, "n_clusters = 500"),
    ("dbscan", {"epsilon": 1.0}, "no parameter epsilon"),
]


@pytest.mark.parametrize(("method", "override", "match"), BAD_CELLS,
                         ids=[f"{m}-{o}" for m, o, _ in BAD_CELLS])  # fmt: skip
def test_a_bad_parameter_fails_only_its_own_cell(small_rows, method, override, match):
    columns = {c.key: c for c in COLUMNS}
    rows = small_rows[:1]
    other = METHODS["dbscan"] if method == "kmeans" else KMEANS
    grid = compare(rows, [columns[method], other], {(rows[0].name, method): override})
    bad, good = grid[0]
    assert bad.labels is None and bad.error is not None
    assert match in bad.error
    assert "Traceback" not in bad.error
    assert good.error is None and good.labels is not None


def test_singular_covariance_is_a_message_for_that_cell():
    X = np.repeat(np.array([[0.0, 0.0], [3.0, 3.0]]), 20, axis=0)
    row = Dataset.from_points(X, name="dupes")
    cell = run_cell(row, METHODS["gmm"], {"n_components": 4, "covariance_type": "full"})
    # scikit-learn's reg_covar keeps a collapsed component defined; four components on two
    # distinct points must either be refused or fitted, never crash the grid.
    assert cell.error is None or "singular" in cell.error or "distinct" in cell.error


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["dbscan", "hdbscan", "mean_shift", "gmm", "birch"]),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10_000), st.none(),
        st.booleans(), st.text(max_size=3),
    ),
)
def test_any_override_value_gives_labels_or_a_message(method, value):
    row = Dataset.from_points(np.random.default_rng(0).normal(size=(40, 2)))
    name = METHODS[method].param_names[0]
    cell = run_cell(row, METHODS[method], {name: value})
    assert (cell.labels is None) != (cell.error is None)
    if cell.labels is not None:
        assert cell.labels.shape == (40,)


def test_rules_on_duplicated_points_give_an_answer_or_say_what_to_set():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]]), [40, 30, 30], axis=0)
    row = Dataset.from_points(X, name="dupes")
    dbscan = run_cell(row, METHODS["dbscan"])
    assert dbscan.labels is None and "Set ε by hand" in dbscan.error
    shift = run_cell(row, METHODS["mean_shift"])  # estimate_bandwidth gives 0 here
    assert shift.error is None and shift.params["bandwidth"] > 0 and shift.n_clusters == 3
    assert "distinct points" in shift.rule


@pytest.mark.parametrize("n", [3, 4, 8])
def test_a_few_points_give_every_cell_labels_or_a_message(n):
    row = grid_row(Dataset.from_points(np.random.default_rng(n).normal(size=(n, 3))))
    for cell in compare([row], COLUMNS)[0]:
        assert (cell.labels is None) != (cell.error is None)
        assert cell.error is None or "Traceback" not in cell.error
    assert compare([row], [METHODS["birch"]])[0][0].error is None  # K capped at the subclusters


def test_the_engine_package_imports_no_other_lab_and_no_display_library():
    code = (
        "import sys, engine.clustering\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')"
        " or m.startswith(('engine.kmeans', 'engine.attention', 'engine.lloyd'))))\n"
    )
    assert python_output(code) == "[]"


@pytest.mark.parametrize(
    ("ari", "silhouette", "text"),
    [(-0.001, None, "ARI 0.00"), (-0.004, 0.5, "ARI 0.00"), (-0.006, None, "ARI -0.01"),
     (0.996, None, "ARI 1.00"), (None, -0.0049, "silh. 0.00"), (None, None, "silh. —")],
)
def test_a_score_just_below_zero_reads_0_00_never_minus_0_00(ari, silhouette, text):
    cell = Cell(method="k-means", data="blobs", params={}, rule="", labels=None, seconds=0.0,
                choose_seconds=0.0, ari=ari, silhouette=silhouette)  # fmt: skip
    assert cell.score_text == text
