"""The run history: records read from run folders, finding a run by name, comparing and deleting runs, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import rmlp
from rmlp.cli import app
from rmlp.runs import history
from rmlp.runs.comparison import compare_runs
from rmlp.runs.folder import RunDir
from rmlp.runs.history import AmbiguousRun, RunNotFound, find_run, list_runs, parse_age, read_run
from rmlp.spec.model import BlockSpec, ModelSpec

runner = CliRunner()


def cli(*args: Any, input: str | None = None) -> Any:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output + (result.stderr or "")
    return result


def fake_run(runs_dir: Path, name: str, *, when: dt.datetime, status: str = "finished", task: str = "multiclass",
             history_rows: list[dict[str, float]] | None = None, spec: ModelSpec | None = None,
             data: str = "wine.csv", pid: int | None = None, seed: int = 0) -> Path:
    """A run folder with the small files a run writes (no model)."""
    path = runs_dir / f"{when:%Y%m%d-%H%M%S}-{name}"
    path.mkdir(parents=True)
    run = RunDir(path)
    (spec or ModelSpec(name=name, task=task, num_outputs=3 if task == "multiclass" else 1)).save(run.file(RunDir.SPEC))
    state = {"status": status, "epochs_done": len(history_rows or []), "epochs": 10,
             "started_at": when.isoformat(timespec="seconds"),
             "updated_at": (when + dt.timedelta(seconds=42)).isoformat(timespec="seconds"),
             "error": "ValueError: boom" if status == "failed" else ""}
    if pid is not None:
        state.update(pid=pid, host=__import__("socket").gethostname())
    run.write_json(RunDir.STATE, state)
    run.write_json(RunDir.CONFIG, {"epochs": 10, "batch_size": 32, "seed": seed, "runs_dir": str(runs_dir)})
    run.write_json(RunDir.DATA, {"kind": "table", "path": f"/data/{data}", "target": "target", "task": task,
                                 "seed": seed})
    if status == "finished":
        run.write_json(RunDir.METRICS, {"split": "test", "n": 27, "loss": 0.5, "accuracy": 0.9})
    rows = history_rows or []
    if rows:
        keys = list(rows[0])
        lines = [",".join(["epoch", *keys])] + [",".join([str(i + 1), *(str(r[k]) for k in keys)])
                                                 for i, r in enumerate(rows)]
        run.history_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


T0 = dt.datetime(2025, 1, 1, 12, 0, 0)


# ----------------------------------------------------------------------------- records
def test_the_best_validation_score_follows_the_metrics_direction(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "cls", when=T0, history_rows=[
        {"val_accuracy": 0.7, "val_loss": 0.9}, {"val_accuracy": 0.9, "val_loss": 0.8},
        {"val_accuracy": 0.8, "val_loss": 0.3}])
    fake_run(runs, "reg", when=T0 + dt.timedelta(minutes=1), task="regression", history_rows=[
        {"val_loss": 4.0}, {"val_loss": 1.5}, {"val_loss": 2.5}])
    by_name = {r.short_name: r for r in list_runs(runs)}
    cls, reg = by_name["cls"], by_name["reg"]
    assert (cls.best_metric, cls.best_value, cls.best_epoch) == ("val_accuracy", 0.9, 2)  # higher is better
    assert (reg.best_metric, reg.best_value, reg.best_epoch) == ("val_loss", 1.5, 2)  # lower is better
    assert cls.test_metrics == {"loss": 0.5, "accuracy": 0.9} and cls.test_split == "test"
    assert cls.wall_s == 42.0 and cls.data == "wine.csv" and reg.task == "regression"
    assert cls.epochs_done == 3 and cls.epochs_planned == 10 and cls.params and cls.params > 0


def test_listing_is_newest_first_and_filters_by_data_status_and_count(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for i, (status, data) in enumerate([("finished", "wine.csv"), ("failed", "wine.csv"),
                                        ("stopped", "diabetes.csv"), ("finished", "diabetes.csv")]):
        fake_run(runs, f"r{i}", when=T0 + dt.timedelta(hours=i), status=status, data=data)
    (runs / "not-a-run").mkdir()
    (runs / "notes.txt").write_text("x")
    assert [r.short_name for r in list_runs(runs)] == ["r3", "r2", "r1", "r0"]
    assert [r.short_name for r in list_runs(runs, data="WINE")] == ["r1", "r0"]
    assert [r.short_name for r in list_runs(runs, status="finished")] == ["r3", "r0"]
    assert [r.short_name for r in list_runs(runs, last=2)] == ["r3", "r2"]
    assert list_runs(tmp_path / "missing") == []
    with pytest.raises(ValueError, match="Unknown run status"):
        list_runs(runs, status="done")
    frame = rmlp.runs.list(runs)
    assert isinstance(frame, pd.DataFrame) and list(frame["status"]) == ["finished", "stopped", "failed", "finished"]


def test_a_record_is_cached_until_one_of_its_files_changes(tmp_path: Path) -> None:
    path = fake_run(tmp_path / "runs", "a", when=T0, status="stopped")
    first = read_run(path)
    assert read_run(path) is first
    state = json.loads((path / RunDir.STATE).read_text())
    state["status"] = "finished"
    (path / RunDir.STATE).write_text(json.dumps(state) + "\n")  # another size: seen even within one mtime tick
    assert read_run(path).status == "finished"


def test_a_run_whose_process_is_gone_is_interrupted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    fake_run(runs, "dead", when=T0, status="running", pid=int(gone.stdout))
    fake_run(runs, "alive", when=T0 + dt.timedelta(seconds=1), status="running", pid=os.getpid())
    fake_run(runs, "old", when=T0 + dt.timedelta(seconds=2), status="running")  # no pid: judged by its age
    status = {r.short_name: r.status for r in list_runs(runs)}
    assert status == {"dead": "interrupted", "alive": "running", "old": "interrupted"}
    with pytest.raises(ValueError, match="still training"):
        history.delete_run(find_run("alive", runs))


# ----------------------------------------------------------------------------- finding a run
def test_a_run_is_found_by_folder_name_prefix_or_name_without_its_stamp(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    a = fake_run(runs, "wine-a", when=T0)
    b = fake_run(runs, "wine-b", when=T0 + dt.timedelta(minutes=1))
    c = fake_run(runs, "wine", when=T0 + dt.timedelta(minutes=2))
    assert find_run("wine-a", runs) == a and find_run("wine-b", runs) == b
    assert find_run(c.name, runs) == c and find_run(str(a), runs) == a
    assert find_run("20250101-1200", runs) == a
    assert find_run("wine", runs) == c  # exactly its name, not the start of the others
    with pytest.raises(AmbiguousRun, match="'win' matches 3 runs"):
        find_run("win", runs)
    with pytest.raises(RunNotFound, match="No run named 'beer'"):
        find_run("beer", runs)
    with pytest.raises(RunNotFound, match="not a run folder"):
        find_run(str(tmp_path), runs)


def test_ages_are_numbers_with_a_unit() -> None:
    assert parse_age("7d") == dt.timedelta(days=7) and parse_age("12h") == dt.timedelta(hours=12)
    assert parse_age("2w") == dt.timedelta(weeks=2) and parse_age("30m") == dt.timedelta(minutes=30)
    for bad in ("7", "d", "-1d", "7 days"):
        with pytest.raises(ValueError, match="not an age"):
            parse_age(bad)


# ----------------------------------------------------------------------------- comparing
def test_compare_names_metrics_design_changes_and_settings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one = ModelSpec(name="x", blocks=[BlockSpec(width=128, layers=2, decrement=8)], final_dropout=0.1)
    two = one.copy_with(blocks=[BlockSpec(width=64, layers=2, decrement=8)], final_dropout=0.3)
    fake_run(runs, "one", when=T0, spec=one, history_rows=[{"val_accuracy": 0.8, "val_loss": 0.5}])
    fake_run(runs, "two", when=T0 + dt.timedelta(minutes=1), spec=two, seed=3,
             history_rows=[{"val_accuracy": 0.85, "val_loss": 0.6}])
    comparison = compare_runs(["one", "two"], runs)
    said = [str(c) for c in comparison.design_changes[1]]
    assert said == ["blocks[0].width: 128 → 64", "final_dropout: 0.1 → 0.3"]
    assert {s.path: s.values for s in comparison.settings} == {"seed": (0, 3), "data.seed": (0, 3)}
    rows = {name: (values, best) for name, values, best in comparison.metric_rows()}
    assert rows["best val_accuracy"] == ([0.8, 0.85], 1)
    frame = comparison.metrics_frame()
    assert list(frame.columns) == [r.name for r in comparison.runs]
    with pytest.raises(ValueError, match="at least two runs"):
        compare_runs(["one"], runs)
    # a notebook shows the comparison as HTML with the differences and the overlaid curves
    page = rmlp.runs.compare("one", "two", runs_dir=runs)._repr_html_()
    assert page is not None and "blocks[0].width" in page and "plotly" in page.lower() and "[2]" in page


# ----------------------------------------------------------------------------- the command line
def test_rmlp_runs_lists_filters_and_prints_json_and_csv(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "a", when=T0, history_rows=[{"val_accuracy": 0.5, "val_loss": 1.0}])
    fake_run(runs, "b", when=T0 + dt.timedelta(hours=1), status="failed")
    table = cli("runs", "--runs-dir", runs)
    assert table.exit_code == 0 and "20250101-120000-a" in table.output and "failed" in table.output
    rows = json.loads(cli("runs", "--runs-dir", runs, "--format", "json").output)
    assert [r["name"] for r in rows] == ["20250101-130000-b", "20250101-120000-a"]
    assert rows[1]["best_value"] == 0.5 and rows[1]["test_accuracy"] == 0.9
    finished = cli("runs", "--runs-dir", runs, "--status", "finished", "--format", "csv").output.splitlines()
    assert len(finished) == 2 and finished[1].startswith("20250101-120000-a,")
    empty = cli("runs", "--runs-dir", tmp_path / "none")
    assert empty.exit_code == 0 and "No runs" in empty.output
    wrong = cli("runs", "--runs-dir", runs, "--status", "done")
    assert wrong.exit_code != 0


def test_show_and_compare_refuse_unknown_and_ambiguous_runs_in_words(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "wine-a", when=T0)
    fake_run(runs, "wine-b", when=T0 + dt.timedelta(minutes=1))
    shown = cli("runs", "show", "wine-a", "--runs-dir", runs)
    assert shown.exit_code == 0 and "Design 'wine-a'" in shown.output and "Test metrics (test)" in shown.output
    for args in (("runs", "show", "wine"), ("runs", "show", "nope"), ("runs", "compare", "wine-a", "nope"),
                 ("predict", "wine", tmp_path / "x.csv")):
        result = cli(*args, "--runs-dir", runs)
        assert result.exit_code == 1, args
        assert "matches 2 runs" in result.output or "No run named 'nope'" in result.output
    page = tmp_path / "c.html"
    compared = cli("runs", "compare", "wine-a", "wine-b", "--runs-dir", runs, "--html", page)
    assert compared.exit_code == 0 and "name: wine-a → wine-b" in compared.output
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_delete_asks_first_and_cleans_up_by_age(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    now = dt.datetime.now().replace(microsecond=0)
    old = fake_run(runs, "old", when=now - dt.timedelta(days=10))
    older = fake_run(runs, "older", when=now - dt.timedelta(days=20))
    new = fake_run(runs, "new", when=now - dt.timedelta(hours=1))
    kept = cli("runs", "delete", "old", "--runs-dir", runs, input="n\n")
    assert kept.exit_code == 1 and old.is_dir() and "Nothing deleted" in kept.output
    gone = cli("runs", "delete", "old", "--runs-dir", runs, input="y\n")
    assert gone.exit_code == 0 and not old.exists()
    aged = cli("runs", "delete", "--older-than", "7d", "--yes", "--runs-dir", runs)
    assert aged.exit_code == 0 and not older.exists() and new.is_dir()
    assert cli("runs", "delete", "--runs-dir", runs).exit_code == 1
    assert cli("runs", "delete", "--older-than", "soon", "--runs-dir", runs).exit_code == 1


# ----------------------------------------------------------------------------- really trained runs
@pytest.mark.slow
def test_the_history_lists_finished_stopped_and_failed_runs_as_they_ended(tiny_runs: dict[str, Path]) -> None:
    from rmlp.runs.tensorboard import tensorboard_available

    runs_dir = tiny_runs["alpha"].parent
    records = {r.short_name: r for r in list_runs(runs_dir)}
    assert set(records) == {"alpha", "beta", "stopped", "failed"}
    alpha, stopped, failed = records["alpha"], records["stopped"], records["failed"]
    assert alpha.status == "finished" and alpha.epochs_done == alpha.epochs_planned == 3
    assert alpha.best_metric == "val_accuracy" and 0 < alpha.best_value <= 1 and 1 <= alpha.best_epoch <= 3
    assert {"loss", "accuracy", "f1"} <= set(alpha.test_metrics) and alpha.data == "wine.csv"
    assert alpha.task == "multiclass" and alpha.design == "tiny" and alpha.wall_s is not None
    assert stopped.status == "stopped" and stopped.epochs_done == 1 and stopped.test_metrics
    assert failed.status == "failed" and "evaluation failed" in failed.error and failed.test_metrics == {}
    # TensorBoard event files exactly when TensorBoard is installed
    assert (tiny_runs["alpha"] / RunDir.TENSORBOARD).is_dir() == tensorboard_available()
    listed = json.loads(cli("runs", "--runs-dir", runs_dir, "--format", "json").output)
    assert sorted(r["status"] for r in listed) == ["failed", "finished", "finished", "stopped"]
    comparison = compare_runs(["alpha", "beta"], runs_dir)
    said = [str(c) for c in comparison.design_changes[1]]
    assert "blocks[0].width: 16 → 8" in said and "final_dropout: 0.1 → 0.3" in said
    assert {"seed", "patience"} <= {s.path for s in comparison.settings}


def test_runs_write_tensorboard_scalars_only_and_nothing_without_tensorboard(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path) -> None:
    from rmlp.runs import tensorboard

    monkeypatch.setattr(tensorboard, "tensorboard_available", lambda: False)
    assert tensorboard.tensorboard_callback(tmp_path / "tb") is None
    monkeypatch.setattr(tensorboard, "tensorboard_available", lambda: True)
    board = tensorboard.tensorboard_callback(tmp_path / "tb")
    assert type(board).__name__ == "TensorBoard" and board.log_dir == str(tmp_path / "tb")
    assert board.histogram_freq == 0 and not board.write_graph and board.update_freq == "epoch"


def test_a_comparison_shows_itself_in_a_notebook_after_a_plain_import_rmlp(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "one", when=T0, history_rows=[{"val_accuracy": 0.8, "val_loss": 0.5}])
    fake_run(runs, "two", when=T0 + dt.timedelta(minutes=1), seed=2,
             history_rows=[{"val_accuracy": 0.9, "val_loss": 0.4}])
    code = ("import sys, rmlp\n"
            f"c = rmlp.runs.compare('one', 'two', runs_dir={str(runs)!r})\n"
            "page = c._repr_html_()\n"
            "print('rmlp.notebook.runs' in sys.modules, 'tensorflow' in sys.modules, 'seed' in page,\n"
            "      'plotly' in page)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "True", "True"]
