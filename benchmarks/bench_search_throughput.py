"""Search throughput: trials per minute with one and two local worker processes.

The same small search (wine table, a small space, a few epochs per trial, no pruning) runs three
ways on a fresh journal-file study each: in this process (TensorFlow's own thread pools), one
spawned worker process, and two spawned worker processes (one TensorFlow thread each). Wall time
includes starting the workers. Prints a markdown table and the ratios measured in this one run.

    python benchmarks/bench_search_throughput.py            # 12 trials per variant
    python benchmarks/bench_search_throughput.py --trials 6 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rmlp import ModelSpec  # noqa: E402
from rmlp.search import DataSource, SearchSpace, choose, pin, run_search, span  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = ModelSpec(blocks=[{"layers": 3, "width": 64, "decrement": 8}], final_layers=[32])
SPACE = SearchSpace(params={
    "num_blocks": span(1, 2), "blocks[].layers": span(1, 4), "blocks[].width": span(16, 128, log=True),
    "blocks[].decrement": span(0, 16), "activation": choose("relu", "gelu"),
    "optimizer.learning_rate": span(1e-4, 1e-2, log=True), "batch_size": pin(32)})


def run(variant: str, trials: int, epochs: int, folder: Path) -> tuple[float, int]:
    workers = 2 if variant == "2 workers" else 1
    start = time.perf_counter()
    result = run_search(SPEC, DataSource(str(ROOT / "sample_data" / "wine.csv"), "target"), SPACE, n_trials=trials,
                        epochs=epochs, storage=f"journal:{folder / (variant.replace(' ', '_') + '.journal')}",
                        study_name="throughput", workers=workers, in_process=variant == "in process",
                        pruner="none", seed=0)
    return time.perf_counter() - start, result.progress.done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rmlp-bench-throughput-") as tmp:
        for variant in ("in process", "1 worker", "2 workers"):
            seconds, done = run(variant, args.trials, args.epochs, Path(tmp))
            rows.append((variant, done, seconds, done / seconds * 60))
            print(f"  {variant}: {done} trials in {seconds:.1f} s", flush=True)
    print(f"\n{args.trials} trials of {args.epochs} epochs on wine, {os.cpu_count()} CPU core(s).\n")
    print("| variant | trials | wall s | trials / min | vs 1 worker |")
    print("|---|---|---|---|---|")
    one = next(r[3] for r in rows if r[0] == "1 worker")
    for variant, done, seconds, rate in rows:
        print(f"| {variant} | {done} | {seconds:.1f} | {rate:.1f} | {rate / one:.2f}× |")


if __name__ == "__main__":
    main()
