"""K-means on dask arrays (engine.kmeans.distributed): parity with the numpy fit, k-means||,
history files, the command line and bad input. Small data: CI has two cores."""

from __future__ import annotations

import json
import time
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from engine.kmeans import KMeans, history_io
from engine.kmeans.__main__ import connect, main

K = 5


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=6_000, centers=K, n_features=3, cluster_std=1.5, random_state=0)
    init = X[np.random.default_rng(1).choice(len(X), K, replace=False)]
    return X, init


def chunked(X, rows=(1_000, 2_500, 1, 2_499)):
    """Uneven row chunks, one of a single row: the reduction must not care."""
    return da.from_array(X).rechunk({0: rows, 1: -1})


def assert_same_fit(a: KMeans, b: KMeans) -> None:
    """The dask fit ``b`` equals the numpy fit ``a``: labels, n_iter_, J and every record."""
    assert b.n_iter_ == a.n_iter_
    np.testing.assert_array_equal(b.labels_.compute(), a.labels_)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-9)
    assert b.history_.stop_reason == a.history_.stop_reason
    for x, y in zip(a.history_.iterations, b.history_.iterations, strict=True):
        assert (y.n_changed, y.empty_clusters, y.relocated_to) == (
            x.n_changed, x.empty_clusters, x.relocated_to)  # fmt: skip
        np.testing.assert_array_equal(y.counts, x.counts)
        assert y.inertia_assign == pytest.approx(x.inertia_assign, rel=1e-9)
        assert y.inertia_update == pytest.approx(x.inertia_update, rel=1e-9)
        np.testing.assert_allclose(y.centers_after, x.centers_after, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(y.center_shift, x.center_shift, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- parity


def test_dask_fit_equals_numpy_fit_on_the_threaded_scheduler(blobs):
    X, init = blobs
    a = KMeans(K, init=init, max_iter=50, tol=0).fit(X)
    b = KMeans(K, init=init, max_iter=50, tol=0).fit(chunked(X))
    assert isinstance(b.labels_, da.Array)  # never gathered by the fit
    assert a.n_iter_ > 2  # the runs did some work
    assert_same_fit(a, b)


def test_dask_fit_relocates_an_empty_cluster_as_the_numpy_fit_does(blobs):
    X, init = blobs
    init = init.copy()
    init[2] = X.max(axis=0) + 100.0  # no point is nearest: cluster 2 is empty at first
    a = KMeans(K, init=init, max_iter=50).fit(X)
    b = KMeans(K, init=init, max_iter=50).fit(chunked(X))
    assert a.history_.iterations[0].empty_clusters == (2,)
    assert_same_fit(a, b)


def test_dask_random_init_draws_the_rows_numpy_draws(blobs):
    X, _ = blobs
    a = KMeans(K, init="random", random_state=3).fit(X)
    b = KMeans(K, init="random", random_state=3).fit(chunked(X))
    np.testing.assert_allclose(b.history_.init_centers, a.history_.init_centers, rtol=1e-12)
    assert_same_fit(a, b)


def test_dask_fit_on_a_two_worker_local_cluster_equals_numpy(blobs):
    import distributed as distributed_
    X, init = blobs
    a = KMeans(K, init=init, max_iter=50, tol=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # port and memory chatter of a test cluster
        cluster = distributed_.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                            dashboard_address=None)  # fmt: skip
    try:
        with distributed_.Client(cluster) as client:
            b = KMeans(K, init=init, max_iter=50, tol=0).fit(chunked(X))
            # The labels were computed on the workers and are still held there.
            assert client.who_has()
            assert_same_fit(a, b)
    finally:
        cluster.close()


def test_predict_transform_score_match_numpy(blobs):
    X, init = blobs
    model = KMeans(K, init=init).fit(X)
    Xd = chunked(X)
    np.testing.assert_array_equal(model.predict(Xd).compute(), model.predict(X))
    # ‖x‖² − 2x·c + ‖c‖² through BLAS: last bits depend on the GEMM's blocking, so rtol, not ==
    np.testing.assert_allclose(model.transform(Xd).compute(), model.transform(X), rtol=1e-9)
    assert model.score(Xd) == pytest.approx(model.score(X), rel=1e-12)
    np.testing.assert_array_equal(KMeans(K, init=init).fit_predict(Xd).compute(), model.labels_)


def test_several_starts_keep_the_best_run_and_its_labels(blobs):
    X, _ = blobs
    model = KMeans(K, init="k-means||", n_init=3, random_state=0).fit(chunked(X))
    assert len(model.runs_) == 3 and sum(r.is_best for r in model.runs_) == 1
    best = next(r for r in model.runs_ if r.is_best)
    assert best is model.history_ and model.inertia_ == min(r.inertia for r in model.runs_)
    # labels_ are the kept run's: the nearest of its final centroids for every point.
    np.testing.assert_array_equal(model.labels_.compute(), model.predict(X))


def test_float32_dask_fit_keeps_float32(blobs):
    X, init = blobs
    model = KMeans(K, init=init.astype(np.float32)).fit(chunked(X.astype(np.float32)))
    assert model.cluster_centers_.dtype == np.float32
    reference = KMeans(K, init=init.astype(np.float32)).fit(X.astype(np.float32))
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=1e-5)


# ----------------------------------------------------------------------------- k-means||


@pytest.fixture(scope="module")
def separated():
    """Five tight, far-apart blobs: any sensible seeding puts one centre in each."""
    X, y = make_blobs(n_samples=5_000, centers=K, n_features=2, cluster_std=0.3,
                      center_box=(-100, 100), random_state=4)  # fmt: skip
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_parallel_seeds_one_centre_per_separated_blob(separated, seed):
    X, y = separated
    model = KMeans(K, init="k-means||", random_state=seed, max_iter=1).fit(chunked(X, 1_000))
    rows = [s.chosen for s in model.history_.seeding]
    assert len(rows) == K
    # Seeds are rows of X (up to the centring round trip, x - mean + mean).
    np.testing.assert_allclose(model.history_.init_centers, X[rows], rtol=1e-12)
    assert sorted(y[rows]) == list(range(K))  # one in every blob


def test_kmeans_parallel_rounds_are_recorded_and_reproducible(separated):
    X, _ = separated
    fit = lambda: KMeans(K, init="k-means||", random_state=7).fit(chunked(X, 1_000))  # noqa: E731
    a, b = fit(), fit()
    rounds = a.seeding_rounds_
    assert [r.round for r in rounds] == list(range(len(rounds)))
    assert rounds[0].n_candidates == 1 and len(rounds) >= 2
    assert all(p.n_candidates <= q.n_candidates for p, q in zip(rounds, rounds[1:], strict=False))
    # φ never rises as candidates join.
    assert all(p.potential >= q.potential for p, q in zip(rounds, rounds[1:], strict=False))
    # The potential after every seeding step is recorded, and falls as centres are added.
    potentials = [s.potential for s in a.history_.seeding]
    assert potentials == sorted(potentials, reverse=True)
    assert a.seeding_rounds_ == b.seeding_rounds_
    np.testing.assert_array_equal(a.history_.init_centers, b.history_.init_centers)


def test_kmeans_plusplus_on_a_dask_array_records_rows_of_x(separated):
    X, y = separated
    model = KMeans(K, init="k-means++", random_state=0, max_iter=1).fit(chunked(X, 1_000))
    rows = [s.chosen for s in model.history_.seeding]
    np.testing.assert_allclose(model.history_.init_centers, X[rows], rtol=1e-12)
    assert sorted(y[rows]) == list(range(K))


# ----------------------------------------------------------------------------- bad input


def test_unknown_chunk_sizes_are_refused_with_the_fix():
    X = da.from_array(np.arange(40.0).reshape(20, 2), chunks=(5, 2))
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        KMeans(2).fit(X[X[:, 0] > 3])


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (da.from_array(np.array([["a", "b"]] * 4)), TypeError, "must contain numbers; got dtype"),
        (da.from_array(np.ones((4, 2), dtype=complex)), TypeError, "real-valued"),
        (da.ones(10, chunks=5), ValueError, "must be 2-D"),
        (da.ones((3, 2), chunks=2), ValueError, r"n_samples=3 should be >= n_clusters=4"),
    ],
    ids=["strings", "complex", "1-D", "fewer-rows-than-K"],
)
def test_bad_dask_arrays_get_clear_messages(X, error, match):
    with pytest.raises(error, match=match):
        KMeans(4).fit(X)


def test_nan_in_a_chunk_is_found_in_the_first_pass_with_its_row():
    X = np.random.default_rng(0).normal(size=(1_000, 2))
    X[731, 1] = np.nan
    X[900, 0] = np.inf
    reads = []

    def load(i):
        reads.append(i)
        return X[i * 100 : (i + 1) * 100]

    Xd = da.concatenate([da.from_delayed(dask.delayed(load)(i), (100, 2), float)
                         for i in range(10)])  # fmt: skip
    with pytest.raises(ValueError, match=r"2 NaN or infinite.*NaN at row 731, column 1"):
        KMeans(3).fit(Xd)
    assert sorted(reads) == list(range(10))  # every chunk read once, nothing computed twice


def test_predict_on_a_chunk_with_nan_says_so(blobs):
    X, init = blobs
    model = KMeans(K, init=init).fit(X)
    bad = X.copy()
    bad[4_000, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.predict(chunked(bad)).compute()


def test_a_scheduler_that_does_not_answer_fails_fast():
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"No Dask scheduler answered at 'tcp://127.0.0.1:9'"):
        connect("tcp://127.0.0.1:9", timeout=1)
    assert time.perf_counter() - start < 30  # a short timeout, not dask's default of 30 s+


# ----------------------------------------------------------------------------- history files


@pytest.mark.parametrize("fmt", ["json", "npz"])
def test_history_file_round_trip_keeps_every_iteration(blobs, fmt, tmp_path):
    X, init = blobs
    init = init.copy()
    init[2] = X.max(axis=0) + 100.0  # a relocation, so empty_clusters/relocated_to are filled
    model = KMeans(K, init=init).fit(X)
    saved = history_io.SavedRun.of(model, feature_names=("a", "b", "c"), sample=X[:100],
                                   source="blobs.npy")  # fmt: skip
    back = history_io.load(history_io.save(tmp_path / f"run.{fmt}", saved))
    run, old = back.run, model.history_
    assert (back.n_samples, back.feature_names, back.source) == (len(X), ("a", "b", "c"),
                                                                  "blobs.npy")  # fmt: skip
    np.testing.assert_array_equal(back.sample, X[:100])
    assert (run.n_iter, run.stop_reason, run.inertia, run.tol) == (
        old.n_iter, old.stop_reason, old.inertia, old.tol)  # fmt: skip
    np.testing.assert_array_equal(run.inertia_curve, old.inertia_curve)
    for x, y in zip(old.iterations, run.iterations, strict=True):
        np.testing.assert_array_equal(y.centers_before, x.centers_before)
        np.testing.assert_array_equal(y.counts, x.counts)
        assert (y.n_changed, y.empty_clusters, y.relocated_to, y.center_shift_total) == (
            x.n_changed, x.empty_clusters, x.relocated_to, x.center_shift_total)  # fmt: skip


def _good_json(blobs) -> dict:
    X, init = blobs
    saved = history_io.SavedRun.of(KMeans(K, init=init).fit(X))
    return json.loads(history_io.to_bytes(saved, "json"))


def _broken(doc: dict, change) -> bytes:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return json.dumps(doc).encode()


CORRUPT = [
    ("garbage", lambda d: b"\x00\x01binary", "neither a JSON nor an .npz"),
    ("truncated", lambda d: json.dumps(d).encode()[:200], "neither a JSON nor an .npz"),
    ("damaged-npz", lambda d: b"PK\x03\x04" + b"\x00" * 50, "damaged .npz"),
    ("other-json", lambda d: b'{"hello": 1}', "not a K-means history file"),
    ("wrong-format", lambda d: _broken(d, lambda x: x.update(format="x")), "format is 'x'"),
    ("no-n_iter", lambda d: _broken(d, lambda x: x.pop("n_iter")), "'n_iter' is missing"),
    ("counts-off", lambda d: _broken(d, lambda x: x.update(n_samples=7)), "do not add up"),
    ("nan-j", lambda d: _broken(d, lambda x: x["arrays"]["inertia_assign"].__setitem__(0, None)),
     "'inertia_assign' contains NaN"),
    ("short-array", lambda d: _broken(d, lambda x: x["arrays"]["center_shift"].pop()),
     "'center_shift' has shape"),
    ("bad-stop", lambda d: _broken(d, lambda x: x.update(stop_reason="<b>bored</b>")),
     "stop_reason"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "match"), CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_history_files_get_clear_messages(blobs, name, make, match):
    content = make(_good_json(blobs))
    with pytest.raises(history_io.HistoryFileError, match=match) as info:
        history_io.from_bytes(content, "run.json")
    assert "run.json" in str(info.value)


# ----------------------------------------------------------------------------- command line


def test_cli_fits_a_npy_file_and_writes_the_run_the_estimator_gives(blobs, tmp_path, capsys):
    X, _ = blobs
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / "run.json"
    argv = ["fit", str(tmp_path / "X.npy"), "--k", str(K), "--chunk-rows", "1500",
            "--seed", "3", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    saved = history_io.load(out)
    expected = KMeans(K, init="k-means||", random_state=3).fit(chunked(X, 1_500))
    assert saved.run.n_iter == expected.n_iter_
    assert saved.run.inertia == pytest.approx(expected.inertia_, rel=1e-12)
    assert saved.n_samples == len(X) and saved.sample.shape[1] == 3
    err = capsys.readouterr().err
    assert err.count("iteration ") == expected.n_iter_  # one progress line per iteration


def test_cli_reads_a_zarr_store(blobs, tmp_path):
    import zarr
    X, _ = blobs
    store = zarr.create_array(str(tmp_path / "X.zarr"), shape=X.shape, chunks=(1_000, 3),
                              dtype="float64")  # fmt: skip
    store[:] = X
    argv = ["fit", str(tmp_path / "X.zarr"), "--k", "3", "--out", str(tmp_path / "r.npz")]
    assert main(argv) == 0
    assert history_io.load(tmp_path / "r.npz").run.centers.shape == (3, 3)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["fit", "missing.npy"], "No such data file"),
        (["fit", "__X__", "--out", "run.txt"], "should end in .json or .npz"),
        (["fit", "__X__", "--scheduler", "tcp://127.0.0.1:9"], "No Dask scheduler answered"),
    ],
    ids=["missing-file", "bad-out", "dead-scheduler"],
)
def test_cli_reports_bad_input_in_one_line(argv, match, tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "X.npy", np.ones((10, 2)))
    monkeypatch.setattr("engine.kmeans.__main__.CONNECT_TIMEOUT_S", 1)
    argv = [a.replace("__X__", str(tmp_path / "X.npy")) for a in argv]
    assert main(argv) == 2
    assert match in capsys.readouterr().err
