"""The benchmarks stay runnable: ``make bench`` finds every one, and the quick ones run to the end."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_ALL = ROOT / "benchmarks" / "run_all.py"


def _run_all() -> object:
    spec = importlib.util.spec_from_file_location("run_all", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_all_finds_every_benchmark_and_knows_their_quick_sizes() -> None:
    module = _run_all()
    found = {p.stem for p in module.benchmarks()}  # type: ignore[attr-defined]
    assert found == {p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")} and len(found) >= 5
    assert set(module.QUICK) <= found  # type: ignore[attr-defined]


@pytest.mark.slow
def test_the_design_benchmarks_run_to_the_end() -> None:
    done = subprocess.run([sys.executable, str(RUN_ALL), "--quick", "design"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "bench_design_path: exit 0" in done.stdout and "bench_design_rerun: exit 0" in done.stdout


def test_the_made_tables_are_written_the_same_every_time_and_load(tmp_path: Path) -> None:
    from rmlp.data import load_table

    spec = importlib.util.spec_from_file_location("made_tables", ROOT / "benchmarks" / "made_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.write(tmp_path / "one")
    again = module.write(tmp_path / "two")
    for first, second in zip(args, again, strict=True):
        assert Path(first.split(":")[0]).read_bytes() == Path(second.split(":")[0]).read_bytes()
    tasks = [load_table(*arg.rsplit(":", 1), seed=0).task for arg in args]
    assert tasks == ["binary", "regression"]
