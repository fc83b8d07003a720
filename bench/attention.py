"""Benchmark: the engine's MultiHeadAttention against torch.nn.MultiheadAttention.

Both return per-head weights (torch: ``need_weights=True, average_attn_weights=False``),
self-attention, no mask, eval mode under ``torch.inference_mode``. Prints the median
time of each over repeats and the ratio engine / torch (target: at most 1.2).

Usage::

    .venv/bin/python bench/attention.py [--repeats 30] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.attention import MultiHeadAttention  # noqa: E402

SHAPES = [(1, 128, 512, 8), (8, 512, 512, 8)]  # (B, L, d_model, heads)
TARGET = 1.2


def _paired_times(ours, theirs, repeats: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Time the two callables back to back, alternating which goes first.

    Pairing keeps a burst of load from other processes from landing on one side only;
    the ratio reported is the median of the per-pair ratios.
    """
    for _ in range(warmup):
        ours(), theirs()
    t_ours, t_theirs = [], []
    for i in range(repeats):
        order = [(ours, t_ours), (theirs, t_theirs)]
        for fn, sink in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - start)
    return t_ours, t_theirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.repeats} paired "
        f"repeats; load average {load:.1f} on {os.cpu_count()} CPUs"
        + (" (busy machine: expect noisy ratios)" if load > (os.cpu_count() or 1) else "")
    )
    header = ("B", 3), ("L", 5), ("d_model", 7), ("heads", 5), ("engine ms", 10), ("torch ms", 9)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'ratio':>6}")
    worst = 0.0
    for B, L, d_model, heads in SHAPES:
        torch.manual_seed(0)
        ref = torch.nn.MultiheadAttention(d_model, heads, batch_first=True).eval()
        ours = MultiHeadAttention.from_torch(ref).eval()
        x = torch.randn(B, L, d_model)
        with torch.inference_mode():
            t_ours, t_ref = _paired_times(
                partial(ours, x, x, x),
                partial(ref, x, x, x, need_weights=True, average_attn_weights=False),
                args.repeats,
            )
        engine_s, torch_s = statistics.median(t_ours), statistics.median(t_ref)
        ratio = statistics.median(a / b for a, b in zip(t_ours, t_ref, strict=True))
        worst = max(worst, ratio)
        print(
            f"{B:>3} {L:>5} {d_model:>7} {heads:>5} {engine_s * 1e3:>10.2f} "
            f"{torch_s * 1e3:>9.2f} {ratio:>6.2f}"
        )
    verdict = "within" if worst <= TARGET else "ABOVE"
    print(f"worst ratio {worst:.2f}: {verdict} the target of {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
