"""Time the Clustering family lab: the grid, each method's view, the recorders against the
library calls they mirror, and t-SNE (openTSNE against scikit-learn).

    .venv/bin/python bench/clustering.py                 # grid, views, recorders
    .venv/bin/python bench/clustering.py --tsne          # also openTSNE vs scikit-learn
    .venv/bin/python bench/clustering.py --repeats 5

Every table prints the load averages before and after: on a shared machine the absolute
times are noisy; ratios come from runs interleaved repeat by repeat, so background load
hits both sides alike. A benchmark, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn import cluster, mixture  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from app_pages.clustering_methods import COLUMNS  # noqa: E402
from charts import clustering as charts  # noqa: E402
from engine import clustering as cl  # noqa: E402

warnings.simplefilter("ignore")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def grid(repeats: int) -> None:
    rows = cl.grid_datasets(cl.GRID_SAMPLES, 0)
    six_rows = [r for r in rows if r.name != "overlapping"]  # the K-means lab's six shapes
    six_methods = [m for m in COLUMNS if m.key != "ward"]
    print(f"\n## Grid, {cl.GRID_SAMPLES:,} points per data set ({load()})")
    print("| grid | cells | median | min | max |\n|---|---|---|---|---|")
    for name, data, methods in (("6 data sets × 6 methods", six_rows, six_methods),
                                ("the page's 7 × 7", rows, COLUMNS)):
        times = [timed(lambda d=data, m=methods: cl.compare(d, m)) for _ in range(repeats)]
        print(f"| {name} | {len(data) * len(methods)} | {statistics.median(times):.2f} s | "
              f"{min(times):.2f} s | {max(times):.2f} s |")
    cells = cl.compare(rows, COLUMNS)
    # A rerun with every cell cached computes only the figure (and Streamlit sends its JSON).
    times = [timed(lambda: charts.grid_figure([(r.title, r.X) for r in rows], cells,
                                              [m.name for m in COLUMNS]).to_json())
             for _ in range(repeats)]
    print(f"| the page's 7 × 7, every cell cached (figure + JSON) | 49 | "
          f"{statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s |")
    per_method = {m.name: [0.0, 0.0] for m in COLUMNS}
    for row in cells:
        for cell in row:
            name = next(m.name for m in COLUMNS if m.key == cell.method)
            per_method[name][0] += cell.choose_seconds
            per_method[name][1] += cell.seconds
    print("\n| method | default rule, 7 data sets | fits, 7 data sets |\n|---|---|---|")
    for name, (choose, fit) in per_method.items():
        print(f"| {name} | {choose:.2f} s | {fit:.2f} s |")
    print(f"({load()})")


def hdbscan_view(X: np.ndarray, mcs: int) -> None:
    """What the page's HDBSCAN view computes and sends for 2-D data, charts included."""
    run = cl.hdbscan_steps(X, mcs)
    cl.size_effects(X[:1500], [mcs // 2, mcs, 2 * mcs], [1, 5, None])
    for fig in (charts.labels_figure(X, run.labels, strength=run.probabilities, title=""),
                charts.condensed_tree_figure(run), charts.mst_figure(X, run),
                charts.single_linkage_figure(run)):
        fig.to_json()


def views(repeats: int) -> None:
    X, _ = make_blobs(10_000, centers=5, cluster_std=1.0, random_state=0)
    mcs = 100
    p = {m.key: m.choose(X).params for m in COLUMNS if m.key in ("dbscan", "birch", "mean_shift")}
    cases = {
        "DBSCAN (growth order + k-distance)": lambda: (
            cl.dbscan_steps(X, p["dbscan"]["eps"], p["dbscan"]["min_samples"]),
            cl.k_distance(X, p["dbscan"]["min_samples"])),
        "HDBSCAN (steps: core distances, MST, trees; size sweep on 1,500)": lambda: (
            cl.hdbscan_steps(X, mcs), cl.size_effects(X[:1500], [50, 100, 200], [1, 5, None])),
        "HDBSCAN, the same and its four figures as JSON": lambda: hdbscan_view(X, mcs),
        "BIRCH (tree + global step + threshold and branching sweeps on 1,500)": lambda: (
            cl.birch_steps(X, p["birch"]["threshold"], 50, p["birch"]["n_clusters"]),
            cl.subcluster_counts(X[:1500], p["birch"]["threshold"] * np.geomspace(0.25, 4, 7)),
            cl.branching_effects(X[:1500], p["birch"]["threshold"], [5, 10, 25, 50, 100])),
        "Mean-Shift (bin seeding, 3,000-point sample)": lambda: cl.MeanShift(
            p["mean_shift"]["bandwidth"], bin_seeding=True).fit(X[:3000]),
        "GMM (EM K=5 full + BIC/AIC table on 3,000)": lambda: (
            cl.GaussianMixture(5, random_state=0).fit(X),
            cl.information_criteria(X[:3000], range(1, 9))),
    }
    print(f"\n## Each method's view on 10,000 points ({load()})")
    print("| view | median | max |\n|---|---|---|")
    with threadpool_limits(limits=1):
        for name, fn in cases.items():
            times = [timed(fn) for _ in range(repeats)]
            print(f"| {name} | {statistics.median(times):.2f} s | {max(times):.2f} s |")
    print(f"({load()})")


def recorders(repeats: int) -> None:
    X1500 = cl.grid_datasets(cl.GRID_SAMPLES, 0)[3].X  # stretched blobs
    X3 = make_blobs(3000, n_features=3, centers=4, random_state=1)[0]
    bw = float(cluster.estimate_bandwidth(X1500, quantile=0.2, n_samples=500, random_state=0))
    pairs = {
        "GMM full K=4, 1,500 × 2": (
            lambda: cl.GaussianMixture(4, random_state=0, tol=1e-6).fit(X1500),
            lambda: mixture.GaussianMixture(4, random_state=0, tol=1e-6).fit(X1500)),
        "GMM diag K=6, n_init=3, 3,000 × 3": (
            lambda: cl.GaussianMixture(6, covariance_type="diag", n_init=3,
                                       random_state=0).fit(X3),
            lambda: mixture.GaussianMixture(6, covariance_type="diag", n_init=3,
                                            random_state=0).fit(X3)),
        "Mean-Shift all points as seeds, 1,500 × 2": (
            lambda: cl.MeanShift(bw).fit(X1500),
            lambda: cluster.MeanShift(bandwidth=bw).fit(X1500)),
        "Mean-Shift bin seeding, 1,500 × 2": (
            lambda: cl.MeanShift(bw, bin_seeding=True).fit(X1500),
            lambda: cluster.MeanShift(bandwidth=bw, bin_seeding=True).fit(X1500)),
        "DBSCAN steps vs DBSCAN, 1,500 × 2": (
            lambda: cl.dbscan_steps(X1500, 0.3, 15),
            lambda: cluster.DBSCAN(eps=0.3, min_samples=15).fit(X1500)),
        "HDBSCAN steps vs HDBSCAN, 1,500 × 2": (
            lambda: cl.hdbscan_steps(X1500, 15),
            lambda: cluster.HDBSCAN(min_cluster_size=15, copy=True).fit(X1500)),
        "BIRCH steps vs Birch, 1,500 × 2": (
            lambda: cl.birch_steps(X1500, 0.2, 50, 3),
            lambda: cluster.Birch(threshold=0.2, n_clusters=3).fit(X1500)),
    }
    print(f"\n## Recorders (history on) vs the library call ({load()})")
    print("| case | recorder | scikit-learn | ratio (median of paired runs) |\n|---|---|---|---|")
    with threadpool_limits(limits=1):
        for name, (ours, theirs) in pairs.items():
            ours(), theirs()  # warm caches and compiled kernels
            a, b = [], []
            for _ in range(repeats):
                a.append(timed(ours))
                b.append(timed(theirs))
            ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
            print(f"| {name} | {statistics.median(a):.3f} s | {statistics.median(b):.3f} s | "
                  f"**{ratio:.2f}** |")
    print(f"({load()})")


def tsne(repeats: int) -> None:
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE

    X = load_digits().data[:1500].astype(np.float64)
    print(f"\n## t-SNE, digits 1,500 × 64, 750 iterations, one thread ({load()})")
    print("| run | openTSNE 1.0.4 | scikit-learn 1.9.1 TSNE | lab's tsne_run (openTSNE, "
          "31 snapshots) |\n|---|---|---|---|")
    for r in range(repeats):
        a = timed(lambda: OpenTSNE(perplexity=30, n_jobs=1, random_state=0).fit(X))
        b = timed(lambda: TSNE(perplexity=30, init="pca", random_state=0, n_jobs=1)
                  .fit_transform(X))
        c = timed(lambda: cl.tsne_run(X, 30.0))
        print(f"| {r + 1} | {a:.2f} s | {b:.2f} s | {c:.2f} s |")
    print(f"({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tsne", action="store_true", help="also time t-SNE (minutes)")
    parser.add_argument("--only", choices=["grid", "views", "recorders", "tsne"])
    args = parser.parse_args()
    parts = {"grid": grid, "views": views, "recorders": recorders, "tsne": tsne}
    chosen = [args.only] if args.only else ["grid", "views", "recorders"] + (
        ["tsne"] if args.tsne else [])
    for name in chosen:
        parts[name](args.repeats)


if __name__ == "__main__":
    main()
