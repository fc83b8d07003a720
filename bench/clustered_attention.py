"""Benchmark: clustered and i-clustered attention against full attention, with their error.

B = 1, H = 8 heads, d = 64, L = S in {1024, 4096, 8192}, C = 100 clusters, k = 32 keys.
Full attention is ``torch.nn.functional.scaled_dot_product_attention`` and the Lab's own
:class:`engine.attention.MultiHeadAttention` (identity projections, so it attends over the
same per-head tensors; it builds every head's L × S weights, which is what the Attention
lab shows). Clustered and i-clustered run without weights (``need_weights=False``), with
the engine's exact K-means and with the paper's 63-bit hashes in Hamming space.

Timings are interleaved: every repeat runs each method once, in a rotating order, so a
burst of load from other processes lands on all of them; the ratio is the median of the
per-repeat ratios to SDPA. Queries come from a mixture of 100 Gaussians (clusterable, as
trained queries tend to be); the error is ‖Ô − O‖_F / ‖O‖_F against SDPA. A last line
measures a trained toy head (the Reverse model's layer 2, head 1, on 64 held-out strings).
"Largest" is the biggest tensor any operation of clustered or i-clustered attention
produced, as a share of the full weights (B · H · L · S), which SDPA never builds either.
Target: clustered ≤ 0.5 × full (SDPA) at L = 8192.

Usage::

    .venv/bin/python bench/clustered_attention.py [--repeats 5] [--lengths 1024 4096 8192]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.attention import MultiHeadAttention  # noqa: E402
from engine.attention.tasks import TASKS  # noqa: E402
from engine.attention.training import sample_batch  # noqa: E402
from engine.attention.weights import load_pretrained  # noqa: E402
from engine.clustered_attention import (  # noqa: E402
    clustered_attention,
    improved_clustered_attention,
)

B, H, D, C, TOPK, BITS = 1, 8, 64, 100, 32, 63
TARGET = 0.5


def mixture_heads(L: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Queries from a mixture of C Gaussians; keys and values standard normal: (B, H, L, D)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(B, H, C, D, generator=g)  # (B, H, C, D)
    which = torch.randint(0, C, (B, H, L), generator=g)
    q = centres.gather(2, which.unsqueeze(-1).expand(B, H, L, D))
    q = q + 0.3 * torch.randn(B, H, L, D, generator=g)
    k, v = torch.randn(B, H, L, D, generator=g), torch.randn(B, H, L, D, generator=g)
    return q, k, v


def lab_module() -> MultiHeadAttention:
    """The Lab's module with identity projections: it attends over the given heads."""
    mha = MultiHeadAttention(H * D, H).eval()
    with torch.no_grad():
        for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            proj.weight.copy_(torch.eye(H * D))
            proj.bias.zero_()
    return mha


def merged(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(1, 2).reshape(B, t.shape[2], H * D)  # (B, L, H*D)


class Largest(TorchDispatchMode):
    """The largest tensor (elements) any operation produced while active."""

    largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def error(out: torch.Tensor, exact: torch.Tensor) -> float:
    return float((out - exact).norm() / exact.norm())


def toy_head_errors() -> tuple[int, list[tuple[int, float, float]]]:
    """L, and (C, clustered error, i-clustered error with k = 3) for a trained toy head."""
    task = TASKS["reverse"]
    model = load_pretrained("reverse")
    ids, _ = sample_batch(task, np.random.default_rng(0), 64, split="test",
                          length=task.max_letters)  # fmt: skip
    with torch.inference_mode():
        _, traces = model(ids, return_traces=True)
    trace = traces[1]
    q, k, v = (t[:, :1].contiguous() for t in (trace.q, trace.k, trace.v))  # head 1
    exact = trace.head_outputs[:, :1]
    L, rows = q.shape[2], []
    for n_clusters in (2, 4, 8, q.shape[2]):
        out_c, _ = clustered_attention(q, k, v, n_clusters, random_state=0, need_weights=False)
        out_i, _ = improved_clustered_attention(q, k, v, n_clusters, topk=3, random_state=0,
                                                need_weights=False)  # fmt: skip
        rows.append((n_clusters, error(out_c, exact), error(out_i, exact)))
    return L, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 8192])
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.repeats} "
          f"interleaved repeats; load averages {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
          f"{os.cpu_count()} CPUs" + (" (busy machine: noisy timings)"
                                     if load[0] > (os.cpu_count() or 1) / 2 else ""))
    print(f"B={B}, H={H}, d={D}, C={C}, k={TOPK}, LSH {BITS} bits; ms = median; "
          "(×) = median ratio to SDPA\n")
    header = ["L", "SDPA ms", "Lab module ms", "clustered ms", "clustered LSH ms",
              "i-clustered ms", "i-clustered LSH ms", "error clustered / LSH",
              "error i-clustered / LSH", "largest / B·H·L·S"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    mha = lab_module()
    worst = 0.0
    with torch.inference_mode():
        for L in args.lengths:
            q, k, v = mixture_heads(L)
            x_q, x_k, x_v = merged(q), merged(k), merged(v)
            methods = {
                "sdpa": partial(torch.nn.functional.scaled_dot_product_attention, q, k, v),
                "lab": partial(mha, x_q, x_k, x_v),
                "clustered": partial(clustered_attention, q, k, v, C, random_state=0,
                                     need_weights=False),
                "clustered_lsh": partial(clustered_attention, q, k, v, C, hash_bits=BITS,
                                         random_state=0, need_weights=False),
                "improved": partial(improved_clustered_attention, q, k, v, C, topk=TOPK,
                                    random_state=0, need_weights=False),
                "improved_lsh": partial(improved_clustered_attention, q, k, v, C, topk=TOPK,
                                        hash_bits=BITS, random_state=0, need_weights=False),
            }  # fmt: skip
            for fn in methods.values():  # warm up (and compile the K-means kernels)
                fn()
            times = {name: [] for name in methods}
            names = list(methods)
            for r in range(args.repeats):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    start = time.perf_counter()
                    methods[name]()
                    times[name].append(time.perf_counter() - start)
            ms = {n: statistics.median(t) * 1e3 for n, t in times.items()}
            ratio = {n: statistics.median(a / b for a, b in zip(t, times["sdpa"], strict=True))
                     for n, t in times.items()}  # fmt: skip
            exact = methods["sdpa"]()
            errors = {n: error(methods[n]()[0], exact) for n in names[2:]}
            largest = 0
            for n in names[2:]:
                with Largest() as mode:
                    methods[n]()
                largest = max(largest, mode.largest)
            worst = max(worst, ratio["clustered"]) if L == max(args.lengths) else worst
            cell = {n: f"{ms[n]:.0f} ({ratio[n]:.2f}×)" for n in names}
            print(f"| {L} | {ms['sdpa']:.0f} | {cell['lab']} | {cell['clustered']} | "
                  f"{cell['clustered_lsh']} | {cell['improved']} | {cell['improved_lsh']} | "
                  f"{errors['clustered']:.3f} / {errors['clustered_lsh']:.3f} | "
                  f"{errors['improved']:.3f} / {errors['improved_lsh']:.3f} | "
                  f"{largest / (B * H * L * L):.4f} |")  # fmt: skip
    L, rows = toy_head_errors()
    print(f"\nTrained toy head (Reverse, layer 2, head 1; 64 held-out strings, L = {L}; "
          "error clustered / i-clustered with k = 3): "
          + ", ".join(f"C = {c}: {e_c:.3f} / {e_i:.3f}" for c, e_c, e_i in rows))
    verdict = "within" if worst <= TARGET else "ABOVE"
    print(f"clustered / SDPA at L = {max(args.lengths)}: {worst:.2f}, {verdict} the target "
          f"of {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
