"""Tests for engine/data/: generated data, samples, CSV reading, cleaning, digest, export."""

from __future__ import annotations

import codecs
import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from bad_files import BAD, CASES, GOOD, XSS_IMG, XSS_SCRIPT, load_for_page, upload_name
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets as skdatasets
from sklearn.preprocessing import StandardScaler
from strategies import VALID, csv_files, mostly_valid, record

from engine import data
from engine.data import (
    GENERATED,
    MAX_COLUMNS,
    SAMPLES,
    CsvTable,
    DataError,
    Dataset,
    Features,
    Standardization,
    check_enough_rows,
    content_digest,
    label_columns,
    labelled_rows,
    load_sample,
    make_dataset,
    numeric_columns,
    prepare_features,
    read_csv_bytes,
    standardize,
    to_csv_bytes,
)

# The package and each of its modules (doctests and source checks look at all of them).
DATA_MODULES = [data] + [
    importlib.import_module(f"engine.data.{m.name}") for m in pkgutil.iter_modules(data.__path__)
]

# --------------------------------------------------------------------------------------------
# Generated data
# --------------------------------------------------------------------------------------------


def test_default_blobs_equal_sklearn_make_blobs_exactly():
    X, y = skdatasets.make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    ds = make_dataset("blobs")
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.suggested_k == 4
    assert ds.feature_names == ("x1", "x2")


@pytest.mark.parametrize("kind", sorted(GENERATED))
def test_generated_dataset_is_float64_contiguous_with_note(kind):
    ds = make_dataset(kind, n_samples=120, random_state=3)
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.X.shape == (120, 2)
    assert np.isfinite(ds.X).all()
    assert len(ds.feature_names) == ds.X.shape[1]
    assert ds.kmeans_note and ds.description and ds.title
    assert ds.kmeans_note == GENERATED[kind].kmeans_note
    if kind == "uniform":
        assert ds.labels is None and ds.label_names is None
    else:
        assert ds.labels.dtype == np.int64 and ds.labels.shape == (120,)
        assert set(np.unique(ds.labels)) == set(range(ds.suggested_k))
        assert len(ds.label_names) == ds.suggested_k


@pytest.mark.parametrize("kind", sorted(GENERATED))
def test_generated_dataset_is_reproducible_from_its_seed(kind):
    a = make_dataset(kind, n_samples=50, random_state=7)
    b = make_dataset(kind, n_samples=50, random_state=7)
    c = make_dataset(kind, n_samples=50, random_state=8)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("kind", ["blobs", "anisotropic", "varied", "uniform"])
def test_generated_dataset_honours_n_features(kind):
    ds = make_dataset(kind, n_samples=40, n_features=5, centers=3)
    assert ds.X.shape == (40, 5)
    assert ds.feature_names == ("x1", "x2", "x3", "x4", "x5")


def test_overlapping_gaussians_are_three_fixed_blobs_in_the_plane():
    centers = [[0.0, 0.0], [2.2, 0.4], [1.0, 2.0]]
    X, y = skdatasets.make_blobs(n_samples=500, centers=centers, cluster_std=[1.0, 0.8, 0.9],
                                 random_state=4)  # fmt: skip
    ds = make_dataset("overlapping", n_samples=500, n_features=5, centers=7, random_state=4)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.suggested_k == 3 and ds.label_names == ("group 0", "group 1", "group 2")
    assert set(GENERATED["overlapping"].parameters) == {"n_samples", "random_state"}


@pytest.mark.parametrize("kind", ["moons", "circles"])
def test_moons_and_circles_are_two_dimensional_with_two_groups(kind):
    ds = make_dataset(kind, n_samples=100, n_features=5, noise=0.1)
    assert ds.X.shape == (100, 2)
    assert ds.suggested_k == 2
    assert "n_features" not in GENERATED[kind].parameters


def test_anisotropic_is_blobs_through_the_fixed_transform():
    X, _ = skdatasets.make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    ds = make_dataset("anisotropic")
    np.testing.assert_allclose(ds.X, X @ np.array([[0.6, -0.6], [-0.4, 0.8]]))


def test_varied_groups_differ_in_size_and_spread():
    ds = make_dataset("varied", n_samples=300, centers=4, cluster_std=0.6, random_state=0)
    sizes = np.bincount(ds.labels)
    assert sizes.sum() == 300 and sizes.max() >= 4 * sizes.min()
    spreads = [ds.X[ds.labels == g].std(axis=0).mean() for g in range(4)]
    assert max(spreads) > 4 * min(spreads)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "spirals"}, ValueError, "kind='spirals' is not one of"),
        ({"n_samples": 0}, ValueError, "n_samples=0 should be between"),
        ({"n_samples": 2.5}, TypeError, "n_samples must be an integer"),
        ({"n_features": 0}, ValueError, "n_features=0"),
        ({"centers": 0}, ValueError, "centers=0"),
        ({"cluster_std": -1.0}, ValueError, "cluster_std=-1.0"),
        ({"noise": float("nan")}, ValueError, "noise=nan"),
        ({"kind": "varied", "n_samples": 3, "centers": 4}, ValueError, "n_samples=3 should be >="),
    ],
    ids=["kind", "n_samples", "n_samples_float", "n_features", "centers", "std", "noise", "varied"],
)
def test_make_dataset_rejects_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=re.escape(match)):
        make_dataset(**kwargs)


# --------------------------------------------------------------------------------------------
# scikit-learn samples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, loader, k",
    [
        ("iris", skdatasets.load_iris, 3),
        ("wine", skdatasets.load_wine, 3),
        ("breast_cancer", skdatasets.load_breast_cancer, 2),
        ("digits", skdatasets.load_digits, 10),
    ],
)
def test_sample_matches_sklearn_loader(name, loader, k):
    bunch = loader()
    ds = load_sample(name)
    np.testing.assert_array_equal(ds.X, bunch.data)
    np.testing.assert_array_equal(ds.labels, bunch.target)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.suggested_k == k == len(ds.label_names)
    assert len(ds.feature_names) == ds.X.shape[1]
    assert ds.kmeans_note == SAMPLES[name].kmeans_note


def test_samples_never_download():
    source = "".join(inspect.getsource(module) for module in DATA_MODULES)
    assert "fetch_" not in source.replace("never fetch_*", "")


def test_unknown_sample_is_a_value_error():
    with pytest.raises(ValueError, match="name='titanic' is not one of"):
        load_sample("titanic")


# --------------------------------------------------------------------------------------------
# Good CSV files: every separator, decimal, encoding, header and line ending
# --------------------------------------------------------------------------------------------

VALUES = np.array([[1.5, -2.0, 0.1], [3.25, 4.0, 2.675], [-5.0, 6.5, 1e-3], [7.0, 0.0, 12.0]])
TEXTS = [["1.5", "-2", ".1"], ["3.25", "4.0", "2.675"], ["-5", "6.5", "1e-3"], ["7", "0", "12"]]


def _csv(separator: str, decimal: str, header: bool, newline: str) -> str:
    lines = [separator.join(["alpha", "beta", "gamma é"])] if header else []
    for row in TEXTS:
        lines.append(separator.join(cell.replace(".", decimal) for cell in row))
    return newline.join(lines) + newline


ENCODINGS = {
    "utf-8": lambda s: s.encode("utf-8"),
    "utf-8-sig": lambda s: codecs.BOM_UTF8 + s.encode("utf-8"),
    "utf-16-le": lambda s: codecs.BOM_UTF16_LE + s.encode("utf-16-le"),
    "utf-16-be": lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"),
}
FORMATS = [(",", "."), (";", "."), (";", ","), ("\t", "."), ("\t", ",")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("header", [True, False], ids=["header", "noheader"])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize(
    "separator, decimal", FORMATS, ids=[f"{s!r}-dec{d}".replace("'", "") for s, d in FORMATS]
)
def test_good_csv_reads_exact_numbers(separator, decimal, encoding, header, newline):
    content = ENCODINGS[encoding](_csv(separator, decimal, header, newline))
    table = read_csv_bytes(content, filename="good.csv")
    assert isinstance(table, CsvTable)
    assert (table.separator, table.decimal) == (separator, decimal)
    assert table.encoding == encoding
    assert table.has_header is header
    expected_names = (
        ["alpha", "beta", "gamma é"] if header else ["column 1", "column 2", "column 3"]
    )
    assert list(table.frame.columns) == expected_names
    assert table.n_rows_in_file == 4 and not table.sampled
    features = prepare_features(table.frame, numeric_columns(table.frame))
    np.testing.assert_array_equal(features.X, VALUES)
    assert features.n_dropped == 0


@pytest.mark.parametrize("separator", [";", "\t"], ids=["semicolon", "tab"])
def test_separator_beats_comma_when_every_cell_has_a_decimal_comma(separator):
    # Split on ',' these rows are consistent too (3 fields each): only the priority decides.
    rows = ["1,5 2,5", "3,5 4,25", "5,5 6,5"]
    table = read_csv_bytes("\n".join(r.replace(" ", separator) for r in rows).encode())
    assert (table.separator, table.decimal, table.has_header) == (separator, ",", False)
    np.testing.assert_array_equal(
        prepare_features(table.frame, numeric_columns(table.frame)).X,
        [[1.5, 2.5], [3.5, 4.25], [5.5, 6.5]],
    )


def test_utf16_without_bom_is_recognised():
    table = read_csv_bytes(_csv(";", ",", True, "\n").encode("utf-16-le"))
    assert table.encoding == "utf-16-le"
    np.testing.assert_array_equal(prepare_features(table.frame, ["alpha", "beta"]).X, VALUES[:, :2])


@pytest.mark.parametrize(
    "content, has_header, columns",
    [
        (b"A,1\nB,2\nC,3\n", False, ["column 1", "column 2"]),
        (b"label,x\nA,1\nB,2\n", True, ["label", "x"]),
        (b" x , y \n1,2\n3,4\n", True, ["x", "y"]),
        (b"x,,x\n1,2,3\n4,5,6\n", True, ["x", "column 2", "x (2)"]),
        (b"2019,2020\n1,2\n3,4\n", False, ["column 1", "column 2"]),
        (b'"a,b",c\n"1",2\n3,4\n', True, ["a,b", "c"]),
    ],
    ids=["text-first-column", "label-header", "spaces", "duplicate-empty", "year-header", "quoted"],
)
def test_header_detection(content, has_header, columns):
    table = read_csv_bytes(content)
    assert table.has_header is has_header
    assert list(table.frame.columns) == columns
    assert bool(table.notes) is not has_header


def test_single_column_file_is_one_feature():
    table = read_csv_bytes(b"height\n1.5\n1.7\n1.8\n")
    np.testing.assert_array_equal(
        prepare_features(table.frame, ["height"]).X, [[1.5], [1.7], [1.8]]
    )


def test_thousand_columns_is_the_stated_cap():
    header = ",".join(f"c{j}" for j in range(MAX_COLUMNS))
    row = ",".join("1" for _ in range(MAX_COLUMNS))
    table = read_csv_bytes(f"{header}\n{row}\n{row}\n".encode())
    assert table.frame.shape == (2, MAX_COLUMNS)
    with pytest.raises(DataError, match=f"has 1,001 columns; the limit is {MAX_COLUMNS:,}"):
        read_csv_bytes(f"{header},x\n{row},2\n{row},2\n".encode())


# --------------------------------------------------------------------------------------------
# Bad files (tests/bad_files.py, shared with the browser tests)
# --------------------------------------------------------------------------------------------


def test_bad_files_cover_the_issue_list():
    assert len(CASES) >= 20
    for required in [
        "empty", "header_only", "no_numeric", "one_row", "ragged", "binary", "xlsx_renamed",
        "xls_renamed", "zip_renamed", "latin1", "all_identical", "fewer_rows_than_k",
        "too_many_columns", "too_many_rows", "all_nan_inf", "formula_cells", "html_in_header",
        "html_in_cells", "good_utf16_le",
    ]:  # fmt: skip
        assert required in CASES


@pytest.mark.parametrize("name", BAD)
def test_bad_file_gives_its_message(name):
    content, expected = CASES[name]
    with pytest.raises(DataError, match=re.escape(expected)) as info:
        load_for_page(content, filename=upload_name(name))
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message
    assert len(message) < 400


@pytest.mark.parametrize("name", GOOD)
def test_good_file_loads(name):
    content, _ = CASES[name]
    features = load_for_page(content, filename=upload_name(name))
    assert features.X.shape[0] >= 4 and np.isfinite(features.X).all()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"x,y\n1,2\n3,4,5\n", "line 3 has 3 values but the first row has 2"),
        (b"x;y\n1;2\n\n\n3;4;5;6\n", "line 5 has 4 values"),
        (b"1\t2\n3\t4\n5\t6\t7\n", "line 3 has 3 values"),
        ("x,y\n1,2\n3,4,5\n".encode("utf-16"), "line 3 has 3 values"),
    ],
    ids=["comma", "after-blank-lines", "tab-no-header", "utf16"],
)
def test_ragged_rows_name_the_line(content, match):
    with pytest.raises(DataError, match=re.escape(match)):
        read_csv_bytes(content)


def test_short_rows_are_padded_then_dropped():
    table = read_csv_bytes(b"x,y\n1,2\n3\n4,5\n")
    features = prepare_features(table.frame, ["x", "y"])
    assert features.n_dropped == 1
    np.testing.assert_array_equal(features.X, [[1, 2], [4, 5]])


@pytest.mark.parametrize("filename", [XSS_IMG + ".csv", "a\nb.csv", "x" * 500 + ".csv"])
def test_file_name_in_message_is_plain_text(filename):
    with pytest.raises(DataError) as info:
        read_csv_bytes(b"", filename=filename)
    message = str(info.value)
    assert "\n" not in message
    if filename.startswith("<img"):
        assert XSS_IMG in message and "&lt;" not in message  # not escaped: the page shows text
    else:
        assert len(message) < 200


def test_html_and_formula_cells_stay_literal_strings():
    content, _ = CASES["html_in_header"]
    assert list(read_csv_bytes(content).frame.columns) == [XSS_IMG, XSS_SCRIPT]
    frame = read_csv_bytes(CASES["formula_cells"][0]).frame
    assert numeric_columns(frame) == ["x", "y"]
    assert frame["note"].tolist() == ["=cmd|' /C calc'!A0", "@SUM(A1)", "+1-2", "-A1"]


# --------------------------------------------------------------------------------------------
# Row cap and sampling
# --------------------------------------------------------------------------------------------


def _rows(n: int) -> bytes:
    return ("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(n))).encode()


def test_row_cap_boundary():
    assert read_csv_bytes(_rows(10), max_rows=10).frame.shape == (10, 2)
    with pytest.raises(DataError, match="more than 10 rows"):
        read_csv_bytes(_rows(11), max_rows=10)


def test_sample_rows_keeps_a_seeded_uniform_sample_in_file_order():
    table = read_csv_bytes(_rows(1000), max_rows=100, sample_rows=True, random_state=1)
    frame = table.frame
    assert table.sampled and table.n_rows_in_file == 1000 and len(frame) == 100
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    np.testing.assert_array_equal(frame["x"].to_numpy(), frame.index.to_numpy())  # row i holds i
    assert any("random sample of 100" in note for note in table.notes)
    # Kept rows point back to their rows in the file, for joining cluster labels to them.
    np.testing.assert_array_equal(prepare_features(frame, ["x"]).row_index, frame.index)
    again = read_csv_bytes(_rows(1000), max_rows=100, sample_rows=True, random_state=1)
    other = read_csv_bytes(_rows(1000), max_rows=100, sample_rows=True, random_state=2)
    assert again.frame.index.equals(frame.index)
    assert not other.frame.index.equals(frame.index)


def test_sample_rows_leaves_small_files_whole():
    table = read_csv_bytes(_rows(50), max_rows=100, sample_rows=True)
    assert not table.sampled and len(table.frame) == 50


# --------------------------------------------------------------------------------------------
# From table to features
# --------------------------------------------------------------------------------------------


def test_nan_and_inf_rows_are_dropped_and_counted():
    content = b"x,y,z\n1,2,a\nnan,3,b\n4,inf,c\n5,-inf,d\n,7,e\n8,9,\n10,11,f\n"
    frame = read_csv_bytes(content).frame
    features = prepare_features(frame, ["x", "y"])
    assert isinstance(features, Features)
    assert features.n_rows_in == 7 and features.n_dropped == 4
    np.testing.assert_array_equal(features.X, [[1, 2], [8, 9], [10, 11]])
    np.testing.assert_array_equal(features.row_index, [0, 5, 6])
    # Only the chosen columns count: x alone loses the two rows with x missing.
    assert prepare_features(frame, ["x"]).n_dropped == 2


def test_label_column_gives_codes_and_drops_missing_labels():
    frame = read_csv_bytes(b"x,species\n1,b\n2,a\n3,\n4,b\n5,a\n").frame
    features = prepare_features(frame, ["x"], label_column="species")
    assert features.label_names == ("a", "b")
    np.testing.assert_array_equal(features.labels, [1, 0, 1, 0])
    assert features.n_dropped == 1


def test_standardize_gives_mean_zero_std_one():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [100.0, 300.0, 200.0, 400.0]})
    features = prepare_features(frame, ["a", "b"], standardize=True)
    np.testing.assert_allclose(features.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(features.X.std(axis=0), 1)
    np.testing.assert_allclose(features.mean, [2.5, 250.0])
    np.testing.assert_allclose(features.X * features.scale + features.mean, frame.to_numpy())
    assert features.X.flags.c_contiguous and features.X.dtype == np.float64
    assert prepare_features(frame, ["a"]).mean is None


def test_standardize_leaves_a_constant_column_finite():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": [5.0, 5.0, 5.0]})
    X = prepare_features(frame, ["a", "c"], standardize=True).X
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[:, 1], 0)


FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0], "name": ["p", "q", "r"]})


@pytest.mark.parametrize(
    "columns, label_column, match",
    [
        ([], None, "No column is selected"),
        (["nope"], None, 'There is no column "nope"'),
        (["name"], None, 'Column "name" does not hold numbers'),
        (["x", "x"], None, "selected twice"),
        (["x"], "nope", 'There is no column "nope" to use as labels'),
        (["x", "y"], "y", 'Column "y" is chosen both as a feature and as the true labels'),
    ],
    ids=["none", "unknown", "text", "twice", "unknown-label", "label-is-feature"],
)
def test_prepare_features_rejects_bad_choices(columns, label_column, match):
    with pytest.raises(DataError, match=re.escape(match)):
        prepare_features(FRAME, columns, label_column=label_column)


def test_identical_points_after_cleaning_are_refused():
    frame = pd.DataFrame({"x": [1.0, 1.0, 9.0], "y": [2.0, 2.0, np.nan]})
    with pytest.raises(DataError, match=re.escape("All 2 points are identical (1 rows")):
        prepare_features(frame, ["x", "y"])


def test_numeric_columns_skip_text_booleans_and_all_missing():
    frame = pd.DataFrame(
        {
            "int": [1, 2],
            "float": [0.5, np.inf],
            "text": ["a", "b"],
            "bool": [True, False],
            "empty": [np.nan, np.nan],
        }
    )
    assert numeric_columns(frame) == ["int", "float"]


def test_label_columns_prefer_text_then_integers():
    frame = pd.DataFrame(
        {
            "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "group": [1, 2, 1, 2, 1, 2],
            "id": [1, 2, 3, 4, 5, 6],
            "species": ["a", "b", "a", "c", "b", "a"],
            "const": ["k"] * 6,
        }
    )
    assert label_columns(frame) == ["species", "group"]
    assert label_columns(frame, max_classes=2) == ["group"]


def test_check_enough_rows():
    check_enough_rows(np.zeros((4, 2)), 4)
    with pytest.raises(DataError, match="There are 3 points but K = 4.*Lower K to 3"):
        check_enough_rows(np.zeros((3, 2)), 4)


def test_results_are_frozen():
    ds = make_dataset("blobs", n_samples=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.X = np.zeros((1, 1))
    table = read_csv_bytes(b"x\n1\n2\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.separator = ";"
    assert "CsvTable(" in repr(table) and "Dataset(" in repr(ds)


# --------------------------------------------------------------------------------------------
# The data a lab works on, and its one standardisation
# --------------------------------------------------------------------------------------------


def test_standardize_is_standard_scaler_with_its_mean_and_scale_kept():
    X = np.random.default_rng(0).normal([5.0, -300.0, 2.0], [1.0, 50.0, 0.0], size=(200, 3))
    Z, scaling = standardize(X)
    scaler = StandardScaler().fit(X)
    np.testing.assert_array_equal(Z, scaler.transform(X))
    np.testing.assert_array_equal(scaling.mean, scaler.mean_)
    np.testing.assert_array_equal(scaling.scale, scaler.scale_)
    assert Z.flags.c_contiguous and Z.dtype == np.float64
    np.testing.assert_array_equal(Z[:, 2], 0)  # a constant feature is only centred
    np.testing.assert_allclose(scaling.inverse_transform(Z), X, rtol=1e-12)
    np.testing.assert_array_equal(scaling.transform(X), Z)


def test_uploads_and_generated_data_are_standardised_by_the_same_function():
    ds = make_dataset("anisotropic", n_samples=150, random_state=2)
    frame = pd.DataFrame(ds.X, columns=list(ds.feature_names))
    features = prepare_features(frame, list(ds.feature_names), standardize=True)
    generated = ds.with_standardized_features()
    np.testing.assert_array_equal(features.X, generated.X)
    np.testing.assert_array_equal(features.mean, generated.standardization.mean)
    np.testing.assert_array_equal(features.scale, generated.standardization.scale)


def test_standardised_dataset_keeps_raw_points_and_says_so():
    ds = make_dataset("blobs", n_samples=50)
    z = ds.with_standardized_features()
    assert not ds.standardized and ds.raw is ds.X and ds.standardization is None
    assert z.standardized and isinstance(z.standardization, Standardization)
    assert z.raw is ds.X  # original units kept exactly, for export
    np.testing.assert_allclose(z.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.X.std(axis=0), 1)
    assert z.digest == content_digest(z.X) != ds.digest
    assert any("standardised" in note for note in z.notes) and not ds.notes
    assert z.with_standardized_features() is z
    assert (z.name, z.source, z.feature_names) == ("blobs", "generated", ds.feature_names)
    np.testing.assert_array_equal(z.row_index, np.arange(50))
    assert repr(z) == (
        "Dataset(name='blobs', X.shape=(50, 2), source='generated', standardized=True)"
    )
    assert load_sample("iris").source == "sample"


def test_dataset_from_an_upload_keeps_the_table_and_the_rows_it_came_from():
    table = read_csv_bytes(b"a,b,kind\n1,10,x\n2,,y\n3,30,x\n5,20,y\n", filename="up.csv")
    features = prepare_features(table.frame, ["a", "b"], label_column="kind", standardize=True)
    ds = Dataset.from_upload(table, features)
    assert (ds.name, ds.source, ds.title, ds.suggested_k) == ("upload", "upload", "up.csv", 2)
    assert ds.table is table.frame and ds.standardization is features.standardization
    np.testing.assert_array_equal(ds.row_index, [0, 2, 3])
    np.testing.assert_allclose(ds.raw, [[1, 10], [3, 30], [5, 20]], rtol=1e-12)
    assert ds.X is features.X and ds.digest == content_digest(features.X)
    assert any("1 of 4 rows" in note for note in ds.notes)


def test_dataset_refuses_raw_points_or_rows_that_do_not_match_x():
    ds = make_dataset("blobs", n_samples=20)
    with pytest.raises(ValueError, match="raw of the same shape"):
        replace(ds, raw=ds.X[:10])
    with pytest.raises(ValueError, match="row_index has 3 rows, X has 20"):
        replace(ds, row_index=np.arange(3))


def test_digest_changes_with_one_value_of_a_large_data_set():
    X = np.random.default_rng(0).normal(size=(500_000, 2))
    Y = X.copy()
    Y[312_345, 1] += 1e-9
    a = _as_dataset(X)
    b = _as_dataset(Y)
    assert a.digest != b.digest


def _as_dataset(X):
    ds = make_dataset("blobs")
    return replace(ds, X=X, raw=None, row_index=None, labels=None, label_names=None)


# --------------------------------------------------------------------------------------------
# Digest and export
# --------------------------------------------------------------------------------------------


def test_content_digest_sees_a_single_changed_value_in_a_million():
    a = np.random.default_rng(0).normal(size=1_000_000)
    b = a.copy()
    b[654_321] = np.nextafter(b[654_321], np.inf)
    assert content_digest(a) != content_digest(b)
    assert content_digest(a) == content_digest(a.copy())


def test_content_digest_depends_on_shape_and_dtype_not_layout():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert content_digest(a) != content_digest(a.reshape(4, 3))
    assert content_digest(a) != content_digest(a.astype(np.float32))
    assert content_digest(a.T) == content_digest(np.ascontiguousarray(a.T))
    assert re.fullmatch(r"[0-9a-f]{32}", content_digest(a))
    with pytest.raises(TypeError, match="numeric array"):
        content_digest(np.array(["a", None], dtype=object))


def test_to_csv_bytes_neutralises_formulas_but_not_numbers():
    frame = pd.DataFrame(
        {
            "=HYPERLINK()": [1, 2, 3, 4],
            "value": [-1.5, 2.0, -3.0, 4.0],
            "note": ["=cmd|' /C calc'!A0", "-2.5", "@SUM(A1)", "+A1"],
            "ok": ["plain", "a=b", "-", None],
        }
    )
    text = to_csv_bytes(frame).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "'=HYPERLINK(),value,note,ok"
    assert lines[1] == "1,-1.5,'=cmd|' /C calc'!A0,plain"
    assert lines[2] == "2,2.0,-2.5,a=b"
    assert lines[3] == "3,-3.0,'@SUM(A1),'-"
    assert lines[4] == "4,4.0,'+A1,"
    assert frame.loc[0, "note"] == "=cmd|' /C calc'!A0"  # the caller's frame is untouched


def test_to_csv_bytes_round_trips_numbers():
    ds = make_dataset("blobs", n_samples=20)
    frame = pd.DataFrame(ds.X, columns=list(ds.feature_names)).assign(cluster=ds.labels)
    table = read_csv_bytes(to_csv_bytes(frame))
    np.testing.assert_array_equal(prepare_features(table.frame, ["x1", "x2"]).X, ds.X)


def test_labelled_rows_names_noise_and_leaves_unseen_rows_empty():
    text = "a,b,name\n0,0,p\n1,1,q\n,2,r\n9,9,s\n"  # row 2 is dropped (missing a)
    table = read_csv_bytes(text.encode())
    data = Dataset.from_upload(table, prepare_features(table.frame, ["a", "b"]))
    out = labelled_rows(data, np.array([0, 1, -1]))  # the last kept row is noise
    assert list(out.columns) == ["a", "b", "name", "cluster"]
    assert out["name"].tolist() == ["p", "q", "r", "s"]  # every uploaded row, own columns
    assert out["cluster"].tolist()[:2] == [1, 2] and out["cluster"].iloc[3] == "noise"
    assert pd.isna(out["cluster"].iloc[2])
    whole = labelled_rows(data, np.array([0, 1, 1]))  # no noise: whole numbers
    assert str(whole["cluster"].dtype) == "Int64"
    csv_lines = to_csv_bytes(out).decode("utf-8-sig").splitlines()
    assert csv_lines[1:] == ["0.0,0,p,1", "1.0,1,q,2", ",2,r,", "9.0,9,s,noise"]  # as uploaded


def test_labelled_rows_of_generated_data_keep_the_true_group():
    ds = make_dataset("blobs", n_samples=12)
    out = labelled_rows(ds, np.where(np.arange(12) < 6, 0, -1))
    assert list(out.columns) == [*ds.feature_names, "true label", "cluster"]
    np.testing.assert_array_equal(out[list(ds.feature_names)].to_numpy(), ds.raw)
    assert out["cluster"].tolist() == [1] * 6 + ["noise"] * 6


# --------------------------------------------------------------------------------------------
# Properties: a table of numbers in any supported dialect reads back; any other bytes give a
# table or a DataError, never another exception
# --------------------------------------------------------------------------------------------

CSV_ALPHABET = "0123456789.,;\t\n\r\"' -+eEinfaNxy=@<>é"


def _assert_reads_back(table_or_features, numbers):
    np.testing.assert_allclose(
        np.asarray(table_or_features, dtype=np.float64), numbers, rtol=1e-12, atol=1e-300
    )


@settings(max_examples=300, deadline=None)
@given(mostly_valid(csv_files(), st.binary(max_size=400)))
def test_any_bytes_give_a_table_or_a_data_error(drawn):
    """A CSV file of numbers (comma, semicolon or tab; decimal point or comma; UTF-8 or
    UTF-16; header or not) reads back its numbers; any other bytes give a table or a
    DataError, never another exception."""
    origin, content = drawn
    if origin == VALID:
        content, numbers, has_header = content
    try:
        table = read_csv_bytes(content)
    except DataError as exc:
        record(origin, "DataError")
        assert origin != VALID, f"a valid CSV file was refused: {exc}"
        assert str(exc)
        return
    record(origin, "table")
    assert len(table.frame) >= 2 and numeric_columns(table.frame)
    if origin == VALID:
        assert table.has_header == has_header
        assert table.frame.shape == numbers.shape
        _assert_reads_back(table.frame, numbers)


@settings(max_examples=300, deadline=None)
@given(
    mostly_valid(
        # The page needs two distinct points (K=2); all-equal rows are refused, rightly.
        csv_files(distinct_rows=True),
        st.tuples(
            st.text(alphabet=CSV_ALPHABET, max_size=300),
            st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"]),
        ).map(lambda t: t[0].encode(t[1])),
    )
)
def test_any_csv_like_text_loads_cleanly_or_gives_a_data_error(drawn):
    """What the page does with an upload: a CSV file of numbers gives exactly those numbers
    as features; any CSV-like text gives clean features or a DataError."""
    origin, content = drawn
    if origin == VALID:
        content, numbers, _ = content
    try:
        features = load_for_page(content, k=2)
    except DataError as exc:
        record(origin, "DataError")
        assert origin != VALID, f"a valid CSV file was refused: {exc}"
        assert str(exc)
        return
    record(origin, "features")
    assert features.X.dtype == np.float64 and features.X.flags.c_contiguous
    assert np.isfinite(features.X).all() and features.X.shape[0] >= 2
    assert features.n_rows_in - features.n_dropped == features.X.shape[0]
    if origin == VALID:
        assert features.n_dropped == 0
        _assert_reads_back(features.X, numbers)


def test_docstring_examples_run():
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in DATA_MODULES]
    result = doctest.TestResults(*map(sum, zip(*results, strict=True)))
    assert result.attempted > 10 and result.failed == 0
