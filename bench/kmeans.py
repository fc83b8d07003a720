"""Time the engine's K-means against scikit-learn (and faiss, when installed), honestly.

Every case fits the same float32 blobs from the same initial centroids for 20
iterations with tol=0, history recording on (the engine always records it). The
libraries are interleaved repeat by repeat, taking turns to go first, so a burst of
background load lands on both; the ratio is the median of the per-repeat ratios
engine / scikit-learn. Each case runs in its own process, so its peak memory is its
own; a second process per case fits the engine alone to measure the engine's peak.

A busy machine flatters the engine: scikit-learn's OpenMP threads lose more to a
neighbour than the engine's do. So before each case the bench waits (up to
``--settle`` seconds) for the 1-minute load average to fall to ``--quiet-load``, and
for each case it records the load average before and after and the CPU the *other*
processes used while it ran (all busy CPU time in /proc/stat minus the bench's own).
A case that started above the quiet load, or next to more than 0.15 of a core of
other work, is marked ⚠ in its row and warned about loudly on stderr: such a row is
not a quiet-machine figure. (The bench's own two threads raise the load average
during a case; that is why "after" is printed but the mark uses the other processes.)

"labels equal" is the share of points the engine and scikit-learn label alike after the
20 iterations; in brackets, the same share between scikit-learn on one OpenMP thread and
on all of them. Float32 runs from the same start drift apart by rounding alone (partial
sums added in another order move a centroid by an ulp, a point on a boundary changes
side, and the change grows), and the bracket shows how far on this data.

The output on stdout is the README's tables, in markdown, with the command that made
them; progress and warnings go to stderr.

    .venv/bin/python bench/kmeans.py                     # cases a-d and the sweep, 5 repeats
    .venv/bin/python bench/kmeans.py --cases abc --no-sweep --repeats 7
    .venv/bin/python bench/kmeans.py --cases "" --plot assets/kmeans_sweep.svg   # sweep only
    .venv/bin/python bench/kmeans.py --one-thread    # one thread each, timed by CPU time

``--elkan`` times the engine's Elkan step (:class:`engine.kmeans.ElkanStep`) against
scikit-learn's ``algorithm="elkan"`` instead, on cases e (1,000,000 × 2, K=8) and f
(100,000 × 16, K=32) unless ``--cases`` says otherwise; the engine's fit keeps its history
and records Elkan's distance counts. ``--sparse`` fits a 1,000,000 × 1,000 CSR matrix at
0.1 % density (one stored value per row, float32) with up to 20 Lloyd steps through
:func:`engine.kmeans.lloyd.fast_step` and with scikit-learn, each in its own process, and
reports the time and the peak memory each fit adds beside the size of X as CSR and dense.

    .venv/bin/python bench/kmeans.py --elkan --no-sweep --repeats 5
    .venv/bin/python bench/kmeans.py --sparse --cases "" --no-sweep

``--one-thread`` is the comparison a shared machine disturbs least: each library on one
thread, timed by the CPU time the process used rather than by the clock. It leaves out
how well each spreads over the cores, so it complements the default table, never replaces it.

The sweep fits N x d data with N·d fixed (4,000,000 values, K=16) for d in 2 ... 128,
so where the engine gains or loses against scikit-learn shows as d grows; ``--plot``
draws its ratios as an SVG for the README.

A benchmark, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_ITER = 20
QUIET_OTHERS = 0.15  # cores of other processes' work beyond which a row is marked


@dataclass(frozen=True)
class Shape:
    n_samples: int
    n_features: int
    n_clusters: int

    def __str__(self) -> str:
        return f"{self.n_samples:,} × {self.n_features}, K={self.n_clusters}"


CASES = {
    "a": Shape(1_000_000, 2, 8),
    "b": Shape(100_000, 64, 64),
    "c": Shape(300_000, 16, 20),
    "d": Shape(10_000_000, 2, 8),
    "e": Shape(1_000_000, 2, 8),  # Elkan's cases (--elkan): the targets
    "f": Shape(100_000, 16, 32),
}
ELKAN_CASES = "ef"
SPARSE = (1_000_000, 1_000, 8)  # N, d, K of the --sparse case: one stored value per row
SWEEP_VALUES = 4_000_000  # N·d of every sweep point
SWEEP_FEATURES = (2, 4, 8, 16, 32, 64, 128)
SWEEP_CLUSTERS = 16


def sweep_shape(n_features: int) -> Shape:
    return Shape(SWEEP_VALUES // n_features, n_features, SWEEP_CLUSTERS)


# ----------------------------------------------------------------------------- child side


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


ALGORITHM = "lloyd"  # "elkan" in a child started with --elkan


def fit_engine(X, init):
    from engine.kmeans import KMeans

    return KMeans(
        len(init), init=init, n_init=1, max_iter=N_ITER, tol=0, algorithm=ALGORITHM
    ).fit(X)


def fit_sklearn(X, init):
    from sklearn.cluster import KMeans

    return KMeans(
        len(init), init=init, n_init=1, max_iter=N_ITER, tol=0, algorithm=ALGORITHM
    ).fit(X)


def fit_faiss(X, init):
    import faiss

    km = faiss.Kmeans(
        X.shape[1], len(init), niter=N_ITER, seed=0, max_points_per_centroid=len(X) + 1
    )
    km.train(X, init_centroids=init)
    return km


def time_case(shape: Shape, repeats: int, one_thread: bool = False) -> dict:
    """Child process: every library on one case, interleaved repeat by repeat.

    ``one_thread``: every library on one thread, timed by the CPU time the process used
    (which other processes on the machine disturb far less than wall time).
    """
    # threadpool_limits limits only the libraries already loaded (scikit-learn's OpenMP
    # comes with sklearn.cluster): import both libraries first.
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_limits

    import engine.kmeans  # noqa: F401

    X, init = make_data(shape.n_samples, shape.n_features, shape.n_clusters)
    peers = {"engine": fit_engine, "sklearn": fit_sklearn}
    try:
        import faiss  # noqa: F401

        if ALGORITHM == "lloyd":  # faiss has no Elkan
            peers["faiss"] = fit_faiss
    except ImportError:
        pass
    if one_thread:
        from engine.kmeans import _lloyd_numba

        _lloyd_numba._N_THREADS = 1
    clock = time.process_time if one_thread else time.perf_counter
    times: dict[str, list[float]] = {p: [] for p in peers}
    models = {}
    with threadpool_limits(1) if one_thread else contextlib.nullcontext():
        # Compile (or load the cached kernels), start the thread pools: outside the timings.
        warm = X[: min(len(X), 100_000)]
        for fit in peers.values():
            fit(warm, init)
        for repeat in range(repeats):
            order = list(peers) if repeat % 2 == 0 else list(peers)[::-1]
            for peer in order:
                start = clock()
                models[peer] = peers[peer](X, init)
                times[peer].append(clock() - start)
    ratios = [e / s for e, s in zip(times["engine"], times["sklearn"], strict=True)]
    # How far float32 runs drift apart by rounding alone: scikit-learn on one OpenMP thread
    # against all of them (its partial sums are then added in another order).
    with contextlib.nullcontext() if one_thread else threadpool_limits(1, user_api="openmp"):
        sklearn_other_threads = fit_sklearn(X, init).labels_
    sklearn_labels = models["sklearn"].labels_
    return {
        "times": times,
        "ratio": statistics.median(ratios),
        "iters": [int(models["engine"].n_iter_), int(models["sklearn"].n_iter_)],
        "label_agreement": float((models["engine"].labels_ == sklearn_labels).mean()),
        "sklearn_self_agreement": float((sklearn_other_threads == sklearn_labels).mean()),
    }


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def rss_case(shape: Shape) -> dict:
    """Child process: the engine alone, for the peak resident memory its fit adds."""
    X, init = make_data(shape.n_samples, shape.n_features, shape.n_clusters)
    # Kernels loaded before the baseline, on a slice too small to leave freed memory behind
    # that the fit could reuse unseen.
    fit_engine(X[:2000], init)
    before = _status_mb("VmRSS")
    # Reset the high-water mark, so the peak below is the fit's and not the data
    # generator's (Linux: writing 5 to clear_refs resets VmHWM).
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    fit_engine(X, init)
    return {"before_mb": before, "peak_mb": _status_mb("VmHWM"), "data_mb": X.nbytes / 2**20}


def make_sparse(n_samples: int, n_features: int, n_clusters: int, seed: int = 0):
    """CSR float32 with one stored value per row (density 1/d), and K rows as the start.

    Built directly from its three arrays: nothing of size N·d is ever made.
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    columns = rng.integers(0, n_features, size=n_samples).astype(np.int32)
    values = (1.0 + rng.standard_normal(n_samples)).astype(np.float32)
    indptr = np.arange(n_samples + 1, dtype=np.int32)
    X = sp.csr_matrix((values, columns, indptr), shape=(n_samples, n_features))
    init = X[rng.choice(n_samples, n_clusters, replace=False)].toarray()  # (K, d): small
    return X, np.ascontiguousarray(init)


def fit_engine_sparse(X, init):
    """Up to 20 Lloyd steps on CSR through fast_step, stopping when no label changes as
    scikit-learn does with tol=0 (the estimator's CSR path is wip-sklearn's)."""
    from engine.kmeans import lloyd

    centers, labels = init.copy(), None
    for i in range(1, N_ITER + 1):
        step = lloyd.fast_step(X, centers, labels)
        if labels is not None and step.n_changed == 0:  # converged, as scikit-learn stops
            return centers, step.labels, i
        labels = step.labels
        filled = step.counts > 0
        centers[filled] = step.sums[filled] / step.counts[filled, np.newaxis]
    return centers, labels, N_ITER


def fit_sklearn_sparse(X, init):
    from sklearn.cluster import KMeans

    km = KMeans(len(init), init=init, n_init=1, max_iter=N_ITER, tol=0, algorithm="lloyd")
    km.fit(X)  # stops early if no label changes (tol=0 keeps only that rule)
    return km.cluster_centers_, km.labels_, int(km.n_iter_)


def sparse_case(peer: str) -> dict:
    """Child process: one peer's CSR fit, its time and the peak memory it adds."""
    import sklearn.cluster  # noqa: F401

    import engine.kmeans  # noqa: F401

    fit = {"engine": fit_engine_sparse, "sklearn": fit_sklearn_sparse}[peer]
    X, init = make_sparse(*SPARSE)
    fit(X[:2000], init)  # compile / load the kernels outside the measurement
    before = _status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    start = time.perf_counter()
    centers, labels, n_iter = fit(X, init)
    seconds = time.perf_counter() - start
    csr_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    return {
        "seconds": seconds, "before_mb": before, "peak_mb": _status_mb("VmHWM"),
        "csr_mb": csr_mb, "dense_mb": X.shape[0] * X.shape[1] * 4 / 2**20,
        "n_iter": n_iter,
    }  # fmt: skip


def sparse_table(args: argparse.Namespace) -> None:
    """The --sparse case: the engine and scikit-learn in turns, each in a fresh process."""
    n, d, k = SPARSE
    print(f"CSR {n:,} × {d:,} at {100 / d:.1f} % density (one float32 value per row), K={k}, "
          f"at most {N_ITER} Lloyd iterations, tol=0 (both stop when no label changes); each peer "
          f"in its own process, {args.repeats} "
          "runs in turns:\n")  # fmt: skip
    print("| peer | time (median) | memory the fit adds | X as CSR | X dense would be "
          "| iterations | load average during its runs |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    results: dict[str, list[dict]] = {"engine": [], "sklearn": []}
    loads: dict[str, list[float]] = {"engine": [], "sklearn": []}
    for repeat in range(args.repeats):
        for peer in (["engine", "sklearn"] if repeat % 2 == 0 else ["sklearn", "engine"]):
            loads[peer].append(os.getloadavg()[0])
            results[peer].append(_child(["--child", "sparse", "--shape", peer]))
            loads[peer].append(os.getloadavg()[0])
    for peer, runs in results.items():
        added = max(r["peak_mb"] - r["before_mb"] for r in runs)
        load = f"{min(loads[peer]):.2f} – {max(loads[peer]):.2f}"
        print(f"| {peer} | {statistics.median(r['seconds'] for r in runs):.2f} s "
              f"| {added:.0f} MB (largest of {len(runs)}) | {runs[0]['csr_mb']:.0f} MB "
              f"| {runs[0]['dense_mb']:,.0f} MB | {runs[0]['n_iter']} | {load} |")
    print()


# ----------------------------------------------------------------------------- parent side


@dataclass(frozen=True)
class Load:
    """What else the machine was doing while one case ran."""

    before: float  # 1-minute load average when the case started
    after: float  # ... and when it ended (includes the bench's own threads)
    others: float  # mean cores used by other processes during the case
    quiet: bool  # before <= the quiet load and others <= QUIET_OTHERS


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat, all CPUs)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _settle(quiet_load: float, max_wait: float) -> None:
    """Wait until the 1-minute load average is at most ``quiet_load``, or ``max_wait`` s."""
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] > quiet_load and time.monotonic() < deadline:
        print(
            f"  waiting for a quiet machine: load average {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(10)


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(shape: Shape, args: argparse.Namespace) -> tuple[dict, dict, Load]:
    """Time one case and measure its memory, each in a fresh process, watching the load."""
    _settle(args.quiet_load, args.settle)
    before = os.getloadavg()[0]
    busy, ours, start = _busy_cpu_seconds(), _children_cpu_seconds(), time.monotonic()
    spec = f"{shape.n_samples},{shape.n_features},{shape.n_clusters}"
    elkan = ["--elkan"] if args.elkan else []
    timing = _child(
        ["--child", "time", "--shape", spec, "--repeats", str(args.repeats)]
        + (["--one-thread"] if args.one_thread else [])
        + elkan
    )
    memory = _child(["--child", "rss", "--shape", spec, *elkan])
    wall = time.monotonic() - start
    others = (_busy_cpu_seconds() - busy - (_children_cpu_seconds() - ours)) / wall
    others = max(others, 0.0)
    quiet = before <= args.quiet_load and others <= QUIET_OTHERS
    load = Load(before, os.getloadavg()[0], others, quiet)
    if not load.quiet:
        print(
            f"\n!!! WARNING: {shape} ran on a BUSY machine (load average {load.before:.2f} "
            f"before, other processes used {load.others:.2f} cores while it ran). Its row is "
            "marked ⚠ and is NOT a quiet-machine figure.\n",
            file=sys.stderr,
            flush=True,
        )
    return timing, memory, load


def _seconds(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s"


def _row(label: str, timing: dict, memory: dict, load: Load) -> str:
    t = timing["times"]
    fit_mb = memory["peak_mb"] - memory["before_mb"]
    cells = [
        ("⚠ " if not load.quiet else "") + label,
        _seconds(t["engine"]),
        _seconds(t["sklearn"]),
        f"**{timing['ratio']:.2f}**",
        f"{100 * timing['label_agreement']:.3f} % ({100 * timing['sklearn_self_agreement']:.3f} %)",
        f"{fit_mb / memory['data_mb']:.2f}×",
        f"{load.before:.2f} → {load.after:.2f}",
        f"{load.others:.2f}",
    ]
    if "faiss" in t:
        cells.insert(4, _seconds(t["faiss"]))
    return "| " + " | ".join(cells) + " |"


def _header(first: str, faiss: bool) -> str:
    names = [
        first,
        "engine",
        "scikit-learn",
        "ratio",
        "labels equal (scikit-learn: 1 thread vs all)",
        "memory the fit adds ÷ data",
        "load average before → after",
        "others' cores",
    ]
    if faiss:
        names.insert(4, "faiss")
    return "| " + " | ".join(names) + " |\n|" + " --- |" * len(names)


def write_svg(path: Path, points: list[tuple[int, float, bool]], one_thread: bool = False) -> None:
    """The sweep as a small line chart: ratio engine / scikit-learn against d (log scale).

    ``points`` are (d, ratio, quiet); a point measured on a busy machine is drawn hollow
    and the title says so.
    """
    width, height, left, right, top, bottom = 620, 320, 72, 16, 48, 44
    inset = 28  # keeps the first and last points and their labels off the frame
    top_ratio = max(1.2, max(r for _, r, _ in points) * 1.1)
    log_d = [np.log2(d) for d, _, _ in points]
    busy = sum(not quiet for _, _, quiet in points)

    def x(d: int) -> float:
        span = (max(log_d) - min(log_d)) or 1.0
        return left + inset + (np.log2(d) - min(log_d)) / span * (width - left - right - 2 * inset)

    def y(r: float) -> float:
        return top + (1 - r / top_ratio) * (height - top - bottom)

    note = (
        f"{busy} of {len(points)} points on a busy machine (hollow): not quiet-machine figures"
        if busy
        else "quiet machine at every point: load average ≤ --quiet-load before it, other "
        f"processes under {QUIET_OTHERS} of a core while it ran"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18">K-means {"CPU time on one thread" if one_thread else "time"}, '
        f"engine ÷ scikit-learn, 20 iterations (N·d = {SWEEP_VALUES:,}, K={SWEEP_CLUSTERS}, "
        "float32)</text>",
        f'<text x="{left}" y="36" font-size="11" fill="#555">{note}</text>',
    ]
    for tick in np.arange(0, top_ratio + 1e-9, 0.2):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(1):.1f}" y2="{y(1):.1f}" '
        'stroke="#c0392b" stroke-dasharray="6 4"/>'
    )
    parts.append(
        f'<text x="{left + 6}" y="{y(1) - 6:.1f}" fill="#c0392b">as fast as scikit-learn</text>'
    )
    path_d = " ".join(
        f"{'M' if i == 0 else 'L'}{x(d):.1f},{y(r):.1f}" for i, (d, r, _) in enumerate(points)
    )
    parts.append(f'<path d="{path_d}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>')
    for d, r, quiet in points:
        fill = "#1f77b4" if quiet else "white"
        parts.append(
            f'<circle cx="{x(d):.1f}" cy="{y(r):.1f}" r="4.5" fill="{fill}" '
            'stroke="#1f77b4" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{x(d):.1f}" y="{y(r) - 10:.1f}" text-anchor="middle">{r:.2f}</text>'
        )
        parts.append(
            f'<text x="{x(d):.1f}" y="{height - bottom + 18}" text-anchor="middle">{d}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle">'
        "features d (N = 4,000,000 / d)</text>"
    )
    parts.append(
        f'<text transform="rotate(-90)" x="{-(top + height - bottom) / 2:.1f}" y="18" '
        'text-anchor="middle">time ratio (lower: engine faster)</text>'
    )
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", default=None,
        help="which of a-f (default: abcd; ef with --elkan)",
    )  # fmt: skip
    parser.add_argument(
        "--elkan", action="store_true",
        help="Elkan: the engine's ElkanStep against scikit-learn's algorithm='elkan'",
    )  # fmt: skip
    parser.add_argument(
        "--sparse", action="store_true",
        help="also fit a 1,000,000 x 1,000 CSR matrix at 0.1 %% density (time, peak memory)",
    )  # fmt: skip
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep over d")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--settle",
        type=float,
        default=120.0,
        help="seconds to wait at most for a quiet machine before each case",
    )
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=1.0,
        help="1-minute load average that counts as quiet (default 1.0)",
    )
    parser.add_argument("--plot", type=Path, help="write the sweep's ratios as an SVG here")
    parser.add_argument(
        "--one-thread",
        action="store_true",
        help="every library on one thread, timed by CPU time (steadier on a shared machine)",
    )
    parser.add_argument("--child", choices=["time", "rss", "sparse"], help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases is None:
        args.cases = ELKAN_CASES if args.elkan else "abcd"
    global ALGORITHM
    ALGORITHM = "elkan" if args.elkan else "lloyd"

    if args.child == "sparse":
        print(json.dumps(sparse_case(args.shape)))
        return
    if args.child:
        shape = Shape(*map(int, args.shape.split(",")))
        if args.child == "time":
            result = time_case(shape, args.repeats, args.one_thread)
        else:
            result = rss_case(shape)
        print(json.dumps(result))
        return

    import sklearn

    try:
        import faiss

        faiss_version = f", faiss {faiss.__version__}"
    except ImportError:
        faiss_version = ""
        print(
            "(faiss is not installed: pip install -r requirements-bench.txt to add it)",
            file=sys.stderr,
        )
    command = "python bench/kmeans.py " + " ".join(sys.argv[1:])
    blas_env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP", "MKL"))}
    print(
        f"`{command.strip()}` — {os.cpu_count()} CPUs ({platform.processor() or 'x86_64'}), "
        f"scikit-learn {sklearn.__version__}{faiss_version}, float32, {N_ITER} "
        + ("Elkan (engine: ElkanStep; scikit-learn: algorithm='elkan')" if args.elkan
           else "Lloyd")
        + " iterations "
        "from the same initial centroids, tol=0, history recording on; "
        + ("every library on ONE thread, times in CPU seconds; " if args.one_thread else "")
        + f"times are medians of {args.repeats} interleaved repeats, the ratio the median of "
        f"the per-repeat ratios engine ÷ scikit-learn; "
        f"{blas_env or 'no OPENBLAS/OMP/MKL variables set'}.\n"
    )
    rows_marked = 0
    if args.sparse:
        sparse_table(args)
    if args.cases:
        print(_header("case", bool(faiss_version)))
        for name in args.cases:
            print(f"({name}) {CASES[name]} ...", file=sys.stderr, flush=True)
            timing, memory, load = measure(CASES[name], args)
            rows_marked += not load.quiet
            print(_row(str(CASES[name]), timing, memory, load), flush=True)
        print()
    if not args.no_sweep:
        print(f"Sweep over d at N·d = {SWEEP_VALUES:,}, K={SWEEP_CLUSTERS}:\n")
        print(_header("N × d", bool(faiss_version)))
        points = []
        for n_features in SWEEP_FEATURES:
            shape = sweep_shape(n_features)
            print(f"(sweep) {shape} ...", file=sys.stderr, flush=True)
            timing, memory, load = measure(shape, args)
            rows_marked += not load.quiet
            label = f"{shape.n_samples:,} × {shape.n_features}"
            print(_row(label, timing, memory, load), flush=True)
            points.append((n_features, timing["ratio"], load.quiet))
        if args.plot:
            write_svg(args.plot, points, args.one_thread)
            print(f"\n(sweep plot written to {args.plot})", file=sys.stderr)
    if rows_marked:
        print(
            f"\n⚠ {rows_marked} row(s) were measured on a busy machine: not quiet-machine figures."
        )


if __name__ == "__main__":
    main()
