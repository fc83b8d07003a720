"""Train the Fusion lab's DEC on the 8×8 digits and write it to assets/deep_clustering/.

Usage::

    .venv/bin/python scripts/train_dec.py              # the default settings (what ships)
    .venv/bin/python scripts/train_dec.py --seed 1 --out /tmp/dec   # another seed, elsewhere

Training is seeded (weights, dropped pixels, shuffles, every K-means) and runs on one CPU
thread, so a rerun on the same machine writes the same weights and the same figures.
Writes ``dec_digits.safetensors`` (the pretrained encoder, DEC's encoder and centres) and
``dec_digits.json`` (config, the ARI of K-means on raw pixels, of K-means on the
autoencoder's embedding and of DEC, the loss and ARI of every epoch, this command).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.deep_clustering import DeepClusteringConfig, evaluate, load_digits, train  # noqa: E402
from engine.deep_clustering.weights import ASSETS, save_shipped  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DeepClusteringConfig.seed)
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the same summation order on every run
    config = replace(DeepClusteringConfig(), seed=args.seed)
    digits = load_digits()
    start = time.perf_counter()
    models = train(
        config, digits,
        on_pretrain=lambda e, n, loss: print(f"\rpretraining {e}/{n} loss {loss:.5f}", end=""),
        on_refine=lambda r, n: print(f"\rDEC {r.epoch}/{n} KL {r.loss:.5f} ARI {r.ari:.3f}  ",
                                     end=""),
    )  # fmt: skip
    result = evaluate(models, digits)
    command = "scripts/train_dec.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    save_shipped(models, result, command.strip(), args.out)
    print(f"\n{time.perf_counter() - start:.0f} s; ARI: "
          + ", ".join(f"{name} {value:.4f}" for name, value in result.ari.items()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
