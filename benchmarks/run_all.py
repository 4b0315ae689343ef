"""Run every benchmark (``benchmarks/bench_*.py``), one after another, and print what each measured.

Each benchmark prints its own table and the ratios it measured in that one run; this script only
runs them in turn (never two at once: they time the machine) and says which failed.

    python benchmarks/run_all.py                  # everything, at each benchmark's own size
    python benchmarks/run_all.py --quick          # smaller runs, a few minutes in all
    python benchmarks/run_all.py design_path      # only the benchmarks whose name contains this
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Arguments that make a benchmark smaller with --quick (benchmarks not named here run as they are).
QUICK = {
    "bench_app_training": ["--runs", "2"],
    "bench_design_browser": ["--changes", "5"],
    "bench_design_rerun": ["--rounds", "8"],
    "bench_search_quality": ["--budget", "60", "--seeds", "1", "--sets", "wine", "diabetes"],
    "bench_search_throughput": ["--trials", "4", "--epochs", "2", "--budget", "20"],
    "bench_quality": ["--seeds", "1", "--ensemble", "3", "--search-budget", "30"],
    "bench_learn": ["--seeds", "1", "--epochs", "20", "--depths", "1", "4"],
}


def benchmarks() -> list[Path]:
    """Every benchmark script, in name order."""
    return sorted(HERE.glob("bench_*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only benchmarks whose file name contains one of these")
    parser.add_argument("--quick", action="store_true", help="smaller runs (see QUICK in this file)")
    args = parser.parse_args()
    chosen = [p for p in benchmarks() if not args.names or any(n in p.stem for n in args.names)]
    if not chosen:
        print(f"No benchmark matches {args.names}; there are: {', '.join(p.stem for p in benchmarks())}.")
        return 2
    failed = []
    for path in chosen:
        extra = QUICK.get(path.stem, []) if args.quick else []
        print(f"\n## {path.stem} {' '.join(extra)}".rstrip(), flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(path), *extra], cwd=ROOT)
        print(f"({path.stem}: exit {code}, {time.perf_counter() - start:.0f} s)", flush=True)
        if code != 0:
            failed.append(path.stem)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
