"""K-means on Dask (engine.kmeans.distributed) against the numpy engine: parity, overhead,
out of core, and a scaling model. Prints the README's tables (markdown) on stdout.

    .venv/bin/python bench/dask_kmeans.py                       # everything
    .venv/bin/python bench/dask_kmeans.py --skip-ooc            # no 1.6 GB Zarr store
    .venv/bin/python bench/dask_kmeans.py --ooc-rows 50_000_000 # a smaller out-of-core case

1. **Parity** - float64 blobs from the same initial centres: the dask fit on the threaded
   scheduler and on a 2-worker LocalCluster against the numpy fit (labels, n_iter_, J).
2. **Overhead** - 10,000,000 x 2 float32 in memory, chunks of 1,000,000 rows, K = 8, the
   same start, ``tol=0`` and a fixed number of iterations: seconds per iteration of the
   numpy engine, of the dask fit on the threaded scheduler (interleaved repeat by repeat,
   the ratio is the median of per-repeat ratios) and on a 2-worker LocalCluster (processes,
   one thread each, the data persisted on the workers first). Per iteration = the time
   between the first and the last iteration callbacks (dask) or the whole fit's time divided
   by its iterations (numpy, whose fit has no callback; that charges numpy with its
   centring and final pass, so the ratio is if anything flattering to numpy).
3. **Out of core** - N x 2 float32 blobs written chunk by chunk to a Zarr store, fitted on
   a LocalCluster of 2 workers limited to 512 MB each; seconds per iteration and the peak
   resident memory of each worker process (sampled every 0.2 s).
4. **Scaling model** - from the measured time of one chunk and the measured per-iteration
   overhead of the cluster, the expected time per iteration for 10⁹ and 10¹⁰ points on 8
   and 64 workers (assumptions printed with it).

The machine is shared: each figure is printed with the 1-minute load average before and
after it; treat figures taken under load as upper bounds.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import psutil  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from engine.kmeans import KMeans, distributed  # noqa: E402

K = 8
CHUNK = 1_000_000


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def blobs(n: int, d: int, dtype, seed: int) -> np.ndarray:
    """K Gaussian blobs, generated in pieces (no float64 copy of the whole array)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(K, d))
    out = np.empty((n, d), dtype=dtype)
    for s in range(0, n, CHUNK):
        m = min(CHUNK, n - s)
        out[s : s + m] = centres[rng.integers(K, size=m)] + rng.normal(size=(m, d))
    return out


def timed_dask_fit(X, init, max_iter: int) -> tuple[KMeans, float]:
    """Fit; seconds per iteration between the first and the last iteration callbacks."""
    stamps: list[float] = []
    model = KMeans(K, init=init, max_iter=max_iter, tol=0)
    distributed.fit(model, X, on_iteration=lambda r: stamps.append(time.perf_counter()))
    return model, (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def local_cluster(**kwargs) -> tuple[LocalCluster, Client]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                               **kwargs)  # fmt: skip
    return cluster, Client(cluster)


# ----------------------------------------------------------------------------- 1. parity


def parity() -> None:
    X = blobs(200_000, 3, np.float64, 0)
    init = X[np.random.default_rng(1).choice(len(X), K, replace=False)]
    ref = KMeans(K, init=init, max_iter=100, tol=0).fit(X)
    rows = []
    for where in ("threaded", "LocalCluster (2 workers)"):
        Xd = da.from_array(X, chunks=(25_000, -1))
        cluster = client = None
        if where != "threaded":
            cluster, client = local_cluster(processes=True)
            Xd = client.persist(Xd)
        try:
            m = KMeans(K, init=init, max_iter=100, tol=0).fit(Xd)
            same = bool((m.labels_.compute() == ref.labels_).all())
        finally:
            if client is not None:
                client.close()
                cluster.close()
        rows.append(f"| {where} | {same} | {m.n_iter_} / {ref.n_iter_} | "
                    f"{abs(m.inertia_ - ref.inertia_) / ref.inertia_:.1e} |")  # fmt: skip
    print("\n**Parity** (200,000 x 3 float64, K = 8, 8 chunks, same initial centres)\n")
    print("| scheduler | labels identical | n_iter dask / numpy | relative J difference |")
    print("|---|---|---|---|")
    print("\n".join(rows))


# ----------------------------------------------------------------------------- 2. overhead


def overhead(repeats: int, iters: int) -> dict:
    X = blobs(10_000_000, 2, np.float32, 2)
    init = X[np.random.default_rng(3).choice(len(X), K, replace=False)]
    Xd = da.from_array(X, chunks=(CHUNK, -1))
    KMeans(K, init=init, max_iter=2, tol=0).fit(X[:100_000])  # compile the kernels once
    numpy_s, dask_s, ratios, loads = [], [], [], []
    for r in range(repeats):
        before = load()
        t0 = time.perf_counter()
        ref = KMeans(K, init=init, max_iter=iters, tol=0).fit(X)
        t_np = (time.perf_counter() - t0) / ref.n_iter_
        m, t_dask = timed_dask_fit(Xd, init, iters)
        if m.n_iter_ != ref.n_iter_:
            log(f"note: dask ran {m.n_iter_} iterations, numpy {ref.n_iter_} (float32 rounding)")
        numpy_s.append(t_np)
        dask_s.append(t_dask)
        ratios.append(t_dask / t_np)
        loads.append(f"{before}→{load()}")
        log(f"overhead repeat {r + 1}: numpy {t_np:.3f} s/it, dask threaded {t_dask:.3f} s/it")

    # One chunk alone, as a task sees it: the per-chunk time the scaling model starts from.
    block = np.ascontiguousarray(X[:CHUNK])
    mean = X[:CHUNK].mean(axis=0)
    chunk_s = []
    for _ in range(5):
        t0 = time.perf_counter()
        distributed._assign_block(block, None, mean=mean, centers=init - mean)
        chunk_s.append(time.perf_counter() - t0)

    cluster, client = local_cluster(processes=True)
    try:
        Xc = client.persist(Xd)
        from distributed import wait

        wait(Xc)
        timed_dask_fit(Xc, init, 2)  # warm the workers' kernels
        before = load()
        cl = [timed_dask_fit(Xc, init, iters)[1] for _ in range(max(1, repeats // 2))]
        cluster_load = f"{before}→{load()}"
    finally:
        client.close()
        cluster.close()

    res = {
        "numpy": statistics.median(numpy_s), "dask": statistics.median(dask_s),
        "ratio": statistics.median(ratios), "cluster": statistics.median(cl),
        "chunk": statistics.median(chunk_s), "loads": ", ".join(loads),
        "cluster_load": cluster_load,
    }  # fmt: skip
    print(f"\n**Overhead** (10,000,000 x 2 float32 in memory, 10 chunks of 1,000,000 rows, K = 8, "
          f"{iters} iterations, median of {repeats} interleaved repeats)\n")
    print("| engine | s / iteration | vs numpy | load average (1 min, before→after) |")
    print("|---|---|---|---|")
    print(f"| numpy engine (`KMeans.fit(ndarray)`) | {res['numpy']:.3f} | 1.00 | {res['loads']} |")
    print(f"| dask, threaded scheduler | {res['dask']:.3f} | {res['ratio']:.2f}x | (same runs) |")
    print(f"| dask, LocalCluster 2 workers x 1 thread | {res['cluster']:.3f} | "
          f"{res['cluster'] / res['numpy']:.2f}x | {cluster_load} |")  # fmt: skip
    print(f"\nOne 1,000,000 x 2 chunk's assignment task alone: {res['chunk'] * 1e3:.1f} ms "
          f"(median of 5, load {load()}).")
    return res


# ----------------------------------------------------------------------------- 3. out of core


def write_zarr(path: Path, n: int) -> None:
    import zarr

    store = zarr.create_array(str(path), shape=(n, 2), chunks=(CHUNK, 2), dtype="float32",
                              overwrite=True)  # fmt: skip
    rng = np.random.default_rng(4)
    centres = rng.uniform(-20, 20, size=(K, 2))
    for s in range(0, n, CHUNK):
        m = min(CHUNK, n - s)
        store[s : s + m] = (centres[rng.integers(K, size=m)] + rng.normal(size=(m, 2))
                            ).astype(np.float32)  # fmt: skip


def out_of_core(n: int, iters: int, folder: Path) -> dict:
    path = folder / "blobs.zarr"
    t0 = time.perf_counter()
    write_zarr(path, n)
    log(f"wrote {n:,} x 2 float32 to {path} in {time.perf_counter() - t0:.0f} s")
    on_disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    cluster, client = local_cluster(processes=True, memory_limit="512MB")
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                for w, rss in client.run(lambda: psutil.Process().memory_info().rss).items():
                    peaks[w] = max(peaks.get(w, 0), rss)
            except Exception:  # noqa: BLE001  (a worker restarting: keep sampling)
                pass
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        X = da.from_zarr(str(path))
        sampler.start()
        before = load()
        t0 = time.perf_counter()
        model, per_iter = timed_dask_fit(X, "random", iters)
        total = time.perf_counter() - t0
        after = load()
    finally:
        stop.set()
        sampler.join()
        client.close()
        cluster.close()
        shutil.rmtree(path, ignore_errors=True)
    res = {"n": n, "per_iter": per_iter, "total": total, "iters": model.n_iter_,
           "peaks": sorted(peaks.values()), "disk": on_disk, "load": f"{before}→{after}"}
    print(f"\n**Out of core** ({n:,} x 2 float32 = {n * 8 / 1e9:.1f} GB in memory, "
          f"{on_disk / 1e9:.2f} GB in a Zarr store, chunks of 1,000,000 rows; LocalCluster of "
          f"2 workers x 1 thread, memory_limit 512 MB each; K = 8, init random, tol=0)\n")
    print("| s / iteration | whole fit (s, incl. first pass + final pass) | iterations | "
          "peak RSS per worker | load average |")
    print("|---|---|---|---|---|")
    print(f"| {per_iter:.2f} | {total:.1f} | {model.n_iter_} | "
          f"{' / '.join(f'{p / 2**20:.0f} MB' for p in res['peaks'])} | {res['load']} |")
    return res


# ----------------------------------------------------------------------------- 4. the model


def scaling_model(chunk_s: float, cluster_iter_s: float, cores_per_worker: int = 1) -> None:
    """t_iter(N, W) = ceil(N / (C · W · c)) · t_chunk + n_tasks · t_task + depth · t_hop."""
    t_task = 1e-3  # scheduler time per task (dask's documented order of magnitude)
    t_hop = 5e-3  # one level of the reduction tree: a message of K·d floats, plus latency
    # What the 2-worker cluster measured beyond its compute is its overhead per iteration.
    measured_overhead = max(cluster_iter_s - 5 * chunk_s, 0.0)
    print("\n**Scaling model** (per Lloyd iteration; d = 2, K = 8, float32, chunks of "
          "1,000,000 rows)\n")
    print(f"- t_chunk = {chunk_s * 1e3:.0f} ms: one chunk's assignment task, measured above "
          "(it used this machine's 2 cores; taken as the time of one worker core, which "
          "overstates it).")
    print(f"- the 2-worker LocalCluster's overhead beyond compute, measured: "
          f"{measured_overhead:.3f} s per iteration for 10 chunks.")
    print(f"- t_task = {t_task * 1e3:.0f} ms of scheduler time per task (2 tasks per chunk: "
          f"assign, and 1/8 of a reduction node), t_hop = {t_hop * 1e3:.0f} ms per level of "
          "the fan-in-8 reduction tree; per chunk only K·d + K + 2 = 26 numbers (208 bytes) "
          "travel, so bandwidth never matters.")
    rate = CHUNK * 2 * 4 / chunk_s / 1e6  # MB of float32 x 2 a core consumes per second
    print(f"- data read from local disk or memory at the rate the step consumes it, "
          f"{rate:.0f} MB/s per core (a slower file system would set the pace instead); "
          "labels stay on the workers (1 byte per point).")
    per_chunk_overhead = measured_overhead / 10
    print(f"- pessimistic column: the measured overhead taken as {per_chunk_overhead * 1e3:.0f} "
          "ms of worker time per chunk (it was measured on this loaded 2-core machine, where "
          "the scheduler, both workers and the client share the cores).\n")
    print("| points | workers (1 core each) | chunks | compute | scheduler + tree | "
          "s / iteration | pessimistic s / iteration |")
    print("|---|---|---|---|---|---|---|")
    for n in (10**9, 10**10):
        for w in (8, 64):
            chunks = n // CHUNK
            waves = math.ceil(chunks / (w * cores_per_worker))
            compute = waves * chunk_s
            sched = chunks * (1 + 1 / 8) * t_task + math.ceil(math.log(chunks, 8)) * t_hop
            worst = waves * (chunk_s + per_chunk_overhead) + sched
            print(f"| {n:.0e} | {w} | {chunks:,} | {compute:.1f} s | {sched:.1f} s | "
                  f"{compute + sched:.1f} | {worst:.1f} |")
    print("\nThe scheduler term grows with the number of chunks, not of workers: at 10¹⁰ "
          "points, chunks of 10,000,000 rows (80 MB of float32 x 2) cut it tenfold.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--ooc-rows", type=int, default=200_000_000)
    parser.add_argument("--ooc-iters", type=int, default=5)
    parser.add_argument("--skip-ooc", action="store_true")
    parser.add_argument("--skip-parity", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true",
                        help="also skips the scaling model, which starts from its figures")
    args = parser.parse_args()
    dask.config.set({"distributed.worker.daemon": False})
    print(f"`.venv/bin/python bench/dask_kmeans.py {' '.join(sys.argv[1:])}` — "
          f"{os.cpu_count()} cores, dask {dask.__version__}, load average {load()} at start")
    if not args.skip_parity:
        parity()
    res = None if args.skip_overhead else overhead(args.repeats, args.iters)
    if not args.skip_ooc:
        with tempfile.TemporaryDirectory() as folder:
            out_of_core(args.ooc_rows, args.ooc_iters, Path(folder))
    if res is not None:
        scaling_model(res["chunk"], res["cluster"])


if __name__ == "__main__":
    main()
