"""Command line: fit K-means on a Zarr store, a .npy or a CSV file, on any Dask scheduler.

    python -m engine.kmeans fit DATA --k 8 [--scheduler ADDRESS] [--out history.json]

Fits :class:`engine.kmeans.KMeans` on a dask array over DATA (chunks read where the tasks
run: :func:`engine.kmeans.distributed.open_array`), prints one progress line per Lloyd
iteration to stderr and writes the fitted model's history to ``--out`` (.json or .npz,
:mod:`engine.kmeans.history_io`), which the K-means lab opens under "Load a run". Without
``--scheduler`` Dask's threaded scheduler runs in this process; with it, the ``distributed``
scheduler at ADDRESS (``tcp://host:8786``) and its workers do the work.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.kmeans import history_io

CONNECT_TIMEOUT_S = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine.kmeans",
                                     description="K-means on Dask, with its history.")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="fit K-means and write its history")
    fit.add_argument("data", help="a Zarr store (.zarr), a .npy file or a CSV file")
    fit.add_argument("--k", type=int, default=8, help="number of clusters (default 8)")
    fit.add_argument("--init", default="k-means||", choices=("k-means||", "k-means++", "random"))
    fit.add_argument("--n-init", type=int, default=1)
    fit.add_argument("--max-iter", type=int, default=300)
    fit.add_argument("--tol", type=float, default=1e-4)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--chunk-rows", type=int, default=1_000_000,
                     help="rows per chunk for .npy and CSV (a Zarr store keeps its own)")
    fit.add_argument("--scheduler", metavar="ADDRESS",
                     help="a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")
    fit.add_argument("--out", default="kmeans_history.json",
                     help="history file to write: .json or .npz (default kmeans_history.json)")
    return parser


def _progress(max_iter: int, start: float):
    def show(record) -> None:
        done = int(20 * record.iteration / max_iter)
        print(f"[{'#' * done}{'.' * (20 - done)}] iteration {record.iteration:>4}  "
              f"J = {record.inertia_update:.6g}  reassigned {record.n_changed:,}  "
              f"shift {record.center_shift_total:.3g}  ({time.perf_counter() - start:.1f} s)",
              file=sys.stderr, flush=True)  # fmt: skip

    return show


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A distributed Client at ``address``, or a clear error after ``timeout`` seconds."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConnectionError(
            f"No Dask scheduler answered at {address!r} within {timeout:g} s ({exc}). Start one "
            "with `dask scheduler` and workers with `dask worker ADDRESS`, or leave out "
            "--scheduler to run here."
        ) from None


def fit(args: argparse.Namespace) -> int:
    from engine.kmeans import KMeans, distributed

    if not args.out.lower().endswith((".json", ".npz")):  # say so now, not after the fit
        raise ValueError(f"--out {args.out!r} should end in .json or .npz.")
    client = connect(args.scheduler, CONNECT_TIMEOUT_S) if args.scheduler else None
    try:
        X, names = distributed.open_array(args.data, args.chunk_rows)
        model = KMeans(args.k, init=args.init, n_init=args.n_init, max_iter=args.max_iter,
                       tol=args.tol, random_state=args.seed)  # fmt: skip
        where = client.scheduler.address if client else "the threaded scheduler"
        print(f"K-means, K = {args.k}, on {X.shape[0]:,} x {X.shape[1]} ({X.numblocks[0]} "
              f"chunks) with {where}", file=sys.stderr)  # fmt: skip
        start = time.perf_counter()
        distributed.fit(model, X, on_iteration=_progress(args.max_iter, start))
        saved = history_io.SavedRun.of(model, n_samples=X.shape[0], feature_names=names,
                                       sample=distributed.sample_rows(X, seed=args.seed),
                                       source=str(args.data))  # fmt: skip
        path = history_io.save(args.out, saved)
    finally:
        if client is not None:
            client.close()
    print(f"{model.n_iter_} iterations ({model.history_.stop_reason}), J = {model.inertia_:.6g}; "
          f"history written to {path}", file=sys.stderr)  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return fit(args)
    except (ValueError, TypeError, OSError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
