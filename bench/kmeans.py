"""Time the engine's K-means against scikit-learn (and faiss, when installed).

Every case fits the same float32 blobs from the same initial centroids for 20
iterations with tol=0, history recording on (the engine always records it), and
prints the median wall time of each library and the ratio engine / scikit-learn.
Each case runs in its own process, so its peak resident memory (ru_maxrss) is its
own; a second process per case fits the engine alone to measure the engine's peak.

    .venv/bin/python bench/kmeans.py            # all cases, 5 repeats
    .venv/bin/python bench/kmeans.py --cases a --repeats 9

A benchmark, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {
    "a": dict(n_samples=1_000_000, n_features=2, n_clusters=8),
    "b": dict(n_samples=100_000, n_features=64, n_clusters=64),
    "c": dict(n_samples=10_000_000, n_features=2, n_clusters=8),
}
N_ITER = 20


def make_data(n_samples: int, n_features: int, n_clusters: int, seed: int = 0):
    """Overlapping float32 blobs, written in chunks so generating them adds no peak memory."""
    rng = np.random.default_rng(seed)
    blob_centers = rng.uniform(-10, 10, size=(n_clusters, n_features)).astype(np.float32)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for start in range(0, n_samples, 1 << 20):
        rows = min(1 << 20, n_samples - start)
        which = rng.integers(0, n_clusters, size=rows)
        X[start : start + rows] = blob_centers[which] + 2.0 * rng.standard_normal(
            (rows, n_features), dtype=np.float32
        )
    init = X[rng.choice(n_samples, n_clusters, replace=False)].copy()
    return X, init


def fit_engine(X, init):
    from engine.kmeans import KMeans

    return KMeans(len(init), init=init, n_init=1, max_iter=N_ITER, tol=0).fit(X)


def fit_sklearn(X, init):
    from sklearn.cluster import KMeans

    return KMeans(len(init), init=init, n_init=1, max_iter=N_ITER, tol=0, algorithm="lloyd").fit(X)


def fit_faiss(X, init):
    import faiss

    km = faiss.Kmeans(
        X.shape[1], len(init), niter=N_ITER, seed=0, max_points_per_centroid=len(X) + 1
    )
    km.train(X, init_centroids=init)
    return km


def _median_time(fit, X, init, repeats: int) -> tuple[float, object]:
    times, model = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit(X, init)
        times.append(time.perf_counter() - start)
    return statistics.median(times), model


def run_case(name: str, repeats: int) -> dict:
    """Child process: time every library on one case, side by side."""
    X, init = make_data(**CASES[name])
    # Compile (or load the cached kernels) outside the timings.
    fit_engine(X[:1000], init)
    peers = {"engine": fit_engine, "sklearn": fit_sklearn}
    try:
        import faiss  # noqa: F401

        peers["faiss"] = fit_faiss
    except ImportError:
        pass
    result = {}
    # Interleave the libraries repeat by repeat so background load hits them alike.
    times: dict[str, list[float]] = {p: [] for p in peers}
    models = {}
    for _ in range(repeats):
        for peer, fit in peers.items():
            t, models[peer] = _median_time(fit, X, init, 1)
            times[peer].append(t)
    for peer in peers:
        result[peer] = statistics.median(times[peer])
    result["engine_iter"] = int(models["engine"].n_iter_)
    result["sklearn_iter"] = int(models["sklearn"].n_iter_)
    result["label_agreement"] = float(
        (models["engine"].labels_ == models["sklearn"].labels_).mean()
    )
    result["data_mb"] = X.nbytes / 2**20
    return result


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def rss_case(name: str) -> dict:
    """Child process: the engine alone, for its peak resident memory during the fit."""
    X, init = make_data(**CASES[name])
    fit_engine(X[:1000], init)  # kernels loaded before the baseline
    before = _status_mb("VmRSS")
    # Reset the high-water mark, so the peak below is the fit's and not the data
    # generator's (Linux: writing 5 to clear_refs resets VmHWM).
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    fit_engine(X, init)
    return {"rss_before_fit_mb": before, "rss_peak_mb": _status_mb("VmHWM"),
            "data_mb": X.nbytes / 2**20}


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="abc", help="which of a, b, c to run (default: abc)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", choices=["time", "rss"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        (name,) = args.cases
        result = run_case(name, args.repeats) if args.child == "time" else rss_case(name)
        print(json.dumps(result))
        return

    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    print(f"# {os.cpu_count()} CPUs, {N_ITER} iterations, tol=0, float32, repeats={args.repeats}"
          f", env {blas_env or 'no OPENBLAS_* variables'}")  # fmt: skip
    for name in args.cases:
        case = CASES[name]
        t = _child(["--child", "time", "--cases", name, "--repeats", str(args.repeats)])
        m = _child(["--child", "rss", "--cases", name])
        shape = f"{case['n_samples']:,}x{case['n_features']} K={case['n_clusters']}"
        fit_mb = m["rss_peak_mb"] - m["rss_before_fit_mb"]
        faiss = f"  faiss {t['faiss']:.3f}s" if "faiss" in t else "  faiss n/a"
        print(
            f"({name}) {shape:<22} engine {t['engine']:.3f}s  sklearn {t['sklearn']:.3f}s  "
            f"ratio {t['engine'] / t['sklearn']:.2f}{faiss}  "
            f"iters {t['engine_iter']}/{t['sklearn_iter']}  "
            f"labels equal {100 * t['label_agreement']:.3f}%  "
            f"peak RSS {m['rss_peak_mb']:.0f} MB = {m['rss_before_fit_mb']:.0f} MB before the "
            f"fit + {fit_mb:.0f} MB ({fit_mb / m['data_mb']:.2f}x the "
            f"{m['data_mb']:.0f} MB of data)",
            flush=True,
        )


if __name__ == "__main__":
    main()
