"""Listing the run history with many runs: cold (every folder read) and cached (only modification times checked).

Makes N run folders (default 500) in a temporary folder with the small files a run writes
(spec.json, state.json, train_config.json, data.json, metrics.json and a history.csv of 60 epochs;
no model), then times :func:`rmlp.runs.history.list_runs` on them: the first listing in this process
(cold: every folder's files parsed), the next ones (cached: a stat of each file), one after 10 runs
changed, and ``rmlp runs --format json`` as a user runs it (a fresh process). Goal: cached listing
of 500 runs well under a second. No timing assertions.

    python benchmarks/bench_runs_history.py
    python benchmarks/bench_runs_history.py --runs 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rmlp.runs.folder import RunDir  # noqa: E402
from rmlp.runs.history import list_runs  # noqa: E402
from rmlp.spec.presets import PRESETS  # noqa: E402


def make_runs(runs_dir: Path, n: int, epochs: int = 60) -> None:
    """``n`` run folders with realistic small files (finished, stopped, failed; two data files)."""
    spec = PRESETS["small_tabular"]
    start = dt.datetime(2025, 1, 1)
    header = "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss,val_score\n"
    for i in range(n):
        when = start + dt.timedelta(minutes=7 * i)
        run = RunDir(runs_dir / f"{when:%Y%m%d-%H%M%S}-run{i}")
        run.path.mkdir(parents=True)
        spec.copy_with(name=f"design{i % 7}").save(run.file(RunDir.SPEC))
        status = ("finished", "finished", "stopped", "failed")[i % 4]
        run.write_json(RunDir.STATE, {"status": status, "epochs_done": epochs, "epochs": epochs,
                                      "started_at": when.isoformat(timespec="seconds"),
                                      "updated_at": (when + dt.timedelta(seconds=90)).isoformat(timespec="seconds"),
                                      "monitor": "val_score", "best": 0.1, "notices": ["Training sized to ..."],
                                      "pid": 1, "host": "elsewhere"})
        run.write_json(RunDir.CONFIG, {"epochs": epochs, "batch_size": 32, "seed": i, "runs_dir": str(runs_dir)})
        run.write_json(RunDir.DATA, {"kind": "table", "path": f"/data/{('wine', 'penguins')[i % 2]}.csv",
                                     "target": "target", "task": "multiclass", "seed": i,
                                     "split_sizes": {"train": 124, "val": 27, "test": 27}})
        if status != "failed":
            run.write_json(RunDir.METRICS, {"split": "test", "n": 27, "loss": 0.3, "accuracy": 0.9, "f1": 0.88,
                                            "confusion_matrix": [[9, 0, 0], [0, 9, 1], [0, 1, 7]]})
        rows = "".join(f"{e},0.9,0.001,0.3,{0.5 + e / (2 * epochs):.4f},0.4,0.1\n" for e in range(1, epochs + 1))
        run.history_file.write_text(header + rows, encoding="utf-8")


def timed(fn, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="run folders to make (default 500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp) / "runs"
        t0 = time.perf_counter()
        make_runs(runs_dir, args.runs)
        made = time.perf_counter() - t0
        cold = timed(lambda: list_runs(runs_dir))
        cached = timed(lambda: list_runs(runs_dir), repeat=5)
        for path in sorted(runs_dir.iterdir())[:10]:
            state = path / RunDir.STATE
            state.write_text(state.read_text(encoding="utf-8").replace('"pid": 1', '"pid": 2'), encoding="utf-8")
            os.utime(state)
        changed = timed(lambda: list_runs(runs_dir))
        filtered = timed(lambda: list_runs(runs_dir, data="wine", status="finished", last=20), repeat=5)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rmlp.cli", "runs", "--runs-dir", str(runs_dir), "--format",
                               "json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        cli = time.perf_counter() - t0
        assert done.returncode == 0, done.stderr[-2000:]
        listed = len(list_runs(runs_dir))
    print(f"{'what':<44}{'seconds':>10}")
    for what, seconds in ((f"make {args.runs} run folders", made), ("list, cold (first listing)", cold),
                          ("list, cached (median of 5)", cached), ("list after 10 runs changed", changed),
                          ("list filtered (--data --status --last 20)", filtered),
                          ("rmlp runs --format json (new process)", cli)):
        print(f"{what:<44}{seconds:>10.3f}")
    print(f"listed {listed} runs; cached listing {cached / max(listed, 1) * 1e6:.0f} µs a run, "
          f"cold {cold / max(listed, 1) * 1e3:.2f} ms a run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
