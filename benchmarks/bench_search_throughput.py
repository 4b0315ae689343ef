"""Search throughput: trials per CPU-minute, and the share of a trial's time spent outside ``fit``.

Two parts, each a fresh journal-file study on the wine table:

* **fixed**: the same small search (a small space, a few epochs per trial, no pruning) in this process,
  in one spawned worker and in two (one TensorFlow thread each). Wall time includes starting the
  workers. This measures the mechanics of a trial: building, compiling, feeding, scoring.
* **defaults**: ``run_search`` with the library's default settings (its own space, epochs, batch size
  and pruner) for ``--budget`` seconds in this process: what a user's minute buys. The design sized to
  wine is an ensemble of 5, so each of its trials trains 5 networks on folds: "networks / CPU-min"
  counts them.

Trials per CPU-minute divide by the cores a variant keeps busy (all of them in this process, one per
worker). Time outside ``fit`` is given two ways: as a share of the variant's wall time (the study's
set-up and TensorFlow's import included) and as a share of the trials' own time (Optuna's start to
end of each trial: sampling, checks, building, compiling, storage).

``--compare DIR`` runs this same benchmark on the rmlp of another checkout (e.g. a worktree of an
older commit: ``git worktree add /tmp/before v0.1``) in a subprocess right after, and prints the
ratios of the two, measured in one run on one machine.

    python benchmarks/bench_search_throughput.py
    python benchmarks/bench_search_throughput.py --trials 6 --epochs 3 --budget 30
    python benchmarks/bench_search_throughput.py --compare /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rmlp import ModelSpec  # noqa: E402
from rmlp.search import DataSource, SearchSpace, choose, pin, run_search, span  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WINE = ROOT / "sample_data" / "wine.csv"
SPEC = ModelSpec(blocks=[{"layers": 3, "width": 64, "decrement": 8}], final_layers=[32])
SPACE = SearchSpace(params={
    "num_blocks": span(1, 2), "blocks[].layers": span(1, 4), "blocks[].width": span(16, 128, log=True),
    "blocks[].decrement": span(0, 16), "activation": choose("relu", "gelu"),
    "optimizer.learning_rate": span(1e-4, 1e-2, log=True), "batch_size": pin(32)})
CORES = os.cpu_count() or 1


def _fit_share(result: Any, wall: float) -> float | None:
    """Share of the wall time spent outside ``model.fit`` (None where trials do not record their fit time)."""
    trials = result.load_study().get_trials(deepcopy=False)
    fits = [t.user_attrs.get("fit_seconds") for t in trials]
    if not trials or any(f is None for f in fits):
        return None
    return max(0.0, 1.0 - sum(fits) / wall)


def _trial_share(result: Any) -> float | None:
    """Share of the finished trials' own time (Optuna's start to end) spent outside ``model.fit``."""
    trials = [t for t in result.load_study().get_trials(deepcopy=False)
              if t.datetime_start and t.datetime_complete and t.user_attrs.get("fit_seconds") is not None]
    spent = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials)
    return max(0.0, 1.0 - sum(t.user_attrs["fit_seconds"] for t in trials) / spent) if spent else None


def fixed(variant: str, trials: int, epochs: int, folder: Path) -> dict[str, Any]:
    workers = 2 if variant == "2 workers" else 1
    start = time.perf_counter()
    result = run_search(SPEC, DataSource(str(WINE), "target"), SPACE, n_trials=trials, epochs=epochs,
                        storage=f"journal:{folder / (variant.replace(' ', '_') + '.journal')}",
                        study_name="throughput", workers=workers, in_process=variant == "in process",
                        pruner="none", seed=0)
    wall = time.perf_counter() - start
    cores = CORES if variant == "in process" else min(workers, CORES)
    return {"variant": variant, "trials": result.progress.done, "wall_s": wall,
            "per_cpu_min": result.progress.done / wall * 60 / cores,
            "outside_fit": _fit_share(result, wall) if variant == "in process" else None,
            "trial_outside_fit": _trial_share(result)}


def defaults(budget: float, folder: Path) -> dict[str, Any]:
    start = time.perf_counter()
    result = run_search(ModelSpec(), DataSource(str(WINE), "target"), n_trials=100_000, timeout=budget,
                        storage=f"journal:{folder / 'defaults.journal'}", study_name="defaults", seed=0)
    wall = time.perf_counter() - start
    study = result.load_study()
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")]
    done = len(trials)
    # A trial of an ensemble design on folds trains all its members (older trials record no folds: one each).
    networks = sum(int(t.user_attrs.get("folds", 1)) for t in trials)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    best = study.best_value if complete else None
    return {"variant": "defaults", "trials": done, "pruned": done - len(complete), "wall_s": wall,
            "per_cpu_min": done / wall * 60 / CORES, "networks_per_cpu_min": networks / wall * 60 / CORES,
            "best_value": best,
            "outside_fit": _fit_share(result, wall), "trial_outside_fit": _trial_share(result)}


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="rmlp-bench-throughput-") as tmp:
        for variant in ("in process", "1 worker", "2 workers"):
            rows.append(fixed(variant, args.trials, args.epochs, Path(tmp)))
            print(f"  {variant}: {rows[-1]['trials']} trials in {rows[-1]['wall_s']:.1f} s", flush=True)
        if args.budget:
            rows.append(defaults(args.budget, Path(tmp)))
            print(f"  defaults: {rows[-1]['trials']} trials in {rows[-1]['wall_s']:.1f} s", flush=True)
    return rows


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def table(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}\n")
    print("| variant | trials | wall s | trials / CPU-min | networks / CPU-min | outside fit (wall) | "
          "outside fit (in trials) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        networks = r.get("networks_per_cpu_min", r["per_cpu_min"])
        print(f"| {r['variant']} | {r['trials']} | {r['wall_s']:.1f} | {r['per_cpu_min']:.1f} | {networks:.1f} | "
              f"{_percent(r.get('outside_fit'))} | {_percent(r.get('trial_outside_fit'))} |")


def compare(mine: list[dict[str, Any]], folder: Path, argv: list[str]) -> None:
    """Run this benchmark on the rmlp of another checkout and print the ratios of trials per CPU-minute."""
    env = {**os.environ, "PYTHONPATH": str(folder)}  # its rmlp comes first on the path
    own = [a for a in argv if a != "--json"]
    cmd = [sys.executable, str(Path(__file__)), *own[: own.index("--compare")], "--json"]
    done = subprocess.run(cmd, env=env, cwd=folder, capture_output=True, text=True, timeout=3600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("JSON:")), None)
    if done.returncode != 0 or line is None:
        print(f"\nThe comparison run failed:\n{done.stderr[-2000:]}")
        return
    theirs = {r["variant"]: r for r in json.loads(line[5:])}
    table(list(theirs.values()), f"The same benchmark from {folder}:")
    print("\n| variant | trials / CPU-min here | there | ratio | networks / CPU-min ratio |")
    print("|---|---|---|---|---|")
    for r in mine:
        other = theirs.get(r["variant"])
        if other and other["per_cpu_min"]:
            networks = r.get("networks_per_cpu_min", r["per_cpu_min"])
            theirs_networks = other.get("networks_per_cpu_min", other["per_cpu_min"])
            print(f"| {r['variant']} | {r['per_cpu_min']:.1f} | {other['per_cpu_min']:.1f} | "
                  f"{r['per_cpu_min'] / other['per_cpu_min']:.2f}× | {networks / theirs_networks:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=12, help="Trials of each fixed variant.")
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of each fixed trial.")
    parser.add_argument("--budget", type=float, default=60.0, help="Seconds of the default-settings search (0: "
                        "skip it).")
    parser.add_argument("--compare", type=Path, default=None, help="Another checkout to run this benchmark from.")
    parser.add_argument("--json", action="store_true", help="Also print the rows as one JSON line.")
    args = parser.parse_args()
    rows = measure(args)
    table(rows, f"{args.trials} fixed trials of {args.epochs} epochs on wine; the default search for "
                f"{args.budget:.0f} s; {CORES} CPU core(s).")
    one = next(r for r in rows if r["variant"] == "1 worker")
    for r in rows:
        if r["variant"].endswith("workers"):
            print(f"\n2 workers against 1: {r['per_cpu_min'] * 2 / one['per_cpu_min']:.2f}× the trials per minute.")
    if args.json:
        print("JSON:" + json.dumps(rows))
    if args.compare is not None:
        compare(rows, args.compare, sys.argv[1:])


if __name__ == "__main__":
    main()
