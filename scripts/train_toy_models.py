"""Train the Attention lab's toy transformers and write their weights to assets/attention/.

Usage::

    .venv/bin/python scripts/train_toy_models.py            # every task
    .venv/bin/python scripts/train_toy_models.py sort reverse

Training is seeded (weights and data) and runs on one CPU thread, so a rerun on the
same machine gives the same weights; all four tasks take about two minutes. Each task
writes ``<task>.safetensors`` and its line in ``models.json``: held-out accuracy,
steps, seed and the architecture.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.attention.tasks import TASKS  # noqa: E402
from engine.attention.training import evaluate, train  # noqa: E402
from engine.attention.weights import ASSETS, load_metadata, save_model  # noqa: E402

SEED = 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", metavar="TASK", help=f"any of {list(TASKS)}")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown task(s) {sorted(unknown)}; choose from {list(TASKS)}")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    metadata = load_metadata(args.out)
    for name in args.tasks or list(TASKS):
        task = TASKS[name]
        start = time.perf_counter()
        model = train(task, seed=args.seed)
        accuracy = evaluate(model, task)
        save_model(model, task, args.out / f"{name}.safetensors", accuracy=f"{accuracy:.4f}")
        metadata[name] = {
            "title": task.title,
            "accuracy": round(accuracy, 4),
            "accuracy_note": "token accuracy on held-out strings of every trained length",
            "steps": task.steps,
            "seed": args.seed,
            "parameters": sum(p.numel() for p in model.parameters()),
            "config": asdict(task.config),
        }
        print(f"{name:15s} accuracy {accuracy:.4f}  ({time.perf_counter() - start:.0f} s)")
    (args.out / "models.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
