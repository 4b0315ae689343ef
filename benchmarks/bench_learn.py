"""The Learn page's experiments on this machine: this checkout alone, or against another checkout.

Each checkout is measured in a fresh process of its own, one after the other, with its own defaults (what a user
gets on pressing Start). TensorFlow is imported before any clock starts where that code uses it ("warm": the
app would have started it already), so no figure includes the import. Prints (no timing assertions):

- **first picture**: seconds from calling the experiment to its first snapshot (the first redraw);
- **experiment**: seconds of the whole default experiment (wall clock and this process's CPU time), and the
  final validation scores of both twins, for each seed;
- **sweep**: seconds of the depth sweep at the defaults (wall and CPU) and its rows;

then a table of both checkouts with the ratio (other / this), the machine's load average and core count.

    python benchmarks/bench_learn.py                                  # this checkout only
    git worktree add /tmp/before HEAD~10                              # an older checkout to compare with
    python benchmarks/bench_learn.py --other /tmp/before              # this checkout against it
    python benchmarks/bench_learn.py --other /tmp/before --other-sweep  # also time its sweep (minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _one_run(experiment: Any, config: Any) -> dict[str, Any]:
    """One default experiment: seconds to its first snapshot and in all (wall and CPU), and the final scores."""
    first: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()

    def on_snapshot(_: Any) -> None:
        if not first:
            first.append(time.perf_counter() - wall)

    result = experiment.run_experiment(config, on_snapshot=on_snapshot)
    return {"seed": config.seed, "first": first[0], "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu, "scores": {v: s.val_score for v, s in result.final.items()}}


def measure(seeds: int, epochs: int | None, depths: list[int] | None, sweep: bool) -> dict[str, Any]:
    """The figures of the code importable as ``rmlp`` in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rmlp.learn import experiment

    if "tensorflow" in Path(experiment.__file__).read_text():
        import tensorflow  # noqa: F401 - warm: the app has started TensorFlow before anyone presses Start

    base = experiment.ExperimentConfig() if epochs is None else experiment.ExperimentConfig(epochs=epochs)
    out: dict[str, Any] = {"config": base.model_dump(mode="json"), "runs": []}
    for seed in range(seeds):
        out["runs"].append(_one_run(experiment, base.model_copy(update={"seed": seed})))
    if sweep:
        wall, cpu = time.perf_counter(), time.process_time()
        rows = experiment.depth_sweep(base) if depths is None else experiment.depth_sweep(base, depths=depths)
        out["sweep"] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rows": rows}
    return out


def _in_fresh_process(checkout: Path, args: argparse.Namespace, sweep: bool) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", "--seeds", str(args.seeds)]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    if args.depths is not None:
        command += ["--depths", *map(str, args.depths)]
    if not sweep:
        command.append("--no-sweep")
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=checkout, check=False)
    if done.returncode:
        raise SystemExit(f"measuring {checkout} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_runs(name: str, found: dict[str, Any]) -> None:
    config = found["config"]
    print(f"\n{name}: depth {config['depth']}, width {config['width']}, epochs {config['epochs']}, "
          f"learning rate {config['learning_rate']}")
    print("| seed | first picture (s) | experiment wall (s) | experiment CPU (s) | val residual | val plain |")
    print("|---|---|---|---|---|---|")
    for run in found["runs"]:
        print(f"| {run['seed']} | {run['first']:.2f} | {run['wall']:.2f} | {run['cpu']:.2f} | "
              f"{run['scores']['residual']:.3f} | {run['scores']['plain']:.3f} |")
    if "sweep" in found:
        sweep = found["sweep"]
        print(f"sweep: {sweep['wall']:.1f} s wall, {sweep['cpu']:.1f} s CPU")
        for row in sweep["rows"]:
            print(f"  depth {row['depth']:>2} {row['variant']:<8} val score {row['val_score']:.3f}")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _summary(this: dict[str, Any], other: dict[str, Any] | None) -> None:
    def figures(found: dict[str, Any] | None) -> dict[str, float | None]:
        if found is None:
            return {}
        runs = found["runs"]
        sweep = found.get("sweep", {})
        return {"first picture (s)": _median([r["first"] for r in runs]),
                "experiment wall (s)": _median([r["wall"] for r in runs]),
                "experiment CPU (s)": _median([r["cpu"] for r in runs]),
                "sweep wall (s)": sweep.get("wall"), "sweep CPU (s)": sweep.get("cpu")}

    mine, theirs = figures(this), figures(other)
    print("\n| figure (median over seeds) | other checkout | this checkout | other / this |")
    print("|---|---|---|---|")
    for name, value in mine.items():
        old = theirs.get(name)
        ratio = f"{old / value:.1f}×" if old is not None and value else "–"
        print(f"| {name} | {'–' if old is None else f'{old:.2f}'} | "
              f"{'–' if value is None else f'{value:.2f}'} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the default experiment")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: each checkout's own)")
    parser.add_argument("--depths", type=int, nargs="+", default=None, help="depths of the sweep (default: own)")
    parser.add_argument("--other", default="none", help="checkout to compare with (default: none)")
    parser.add_argument("--other-sweep", action="store_true", help="also time the other checkout's sweep")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.seeds, args.epochs, args.depths, sweep=not args.no_sweep)))
        return
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)")
    this = _in_fresh_process(ROOT, args, sweep=not args.no_sweep)
    _print_runs(f"this checkout ({ROOT})", this)
    other = None
    other_path = Path(args.other)
    if args.other != "none" and (other_path / "rmlp" / "learn" / "experiment.py").exists():
        other = _in_fresh_process(other_path, args, sweep=args.other_sweep and not args.no_sweep)
        _print_runs(f"other checkout ({other_path})", other)
    _summary(this, other)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
