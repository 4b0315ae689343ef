"""What rmlp promises about training runs that go wrong.

* A run whose loss becomes NaN or infinite stops at that batch; state.json records it as failed
  with the reason; the message says what to try (a lower learning rate, clipnorm, the data's
  extreme values); ``rmlp train`` exits non-zero with it. A search trial that goes NaN fails with
  that reason and is not scored.
* A design whose estimated training memory is above the memory available is not trained (library,
  CLI, search trials): the message gives the estimate, the limit, the largest batch size that fits,
  and the override (``--no-memory-check``); nothing is allocated to find out.
* A crash (SIGKILL) loses at most max(one epoch, 10 s of training); ``resume`` says which epoch it
  restored and what was lost, and an epoch cut short is trained again, not counted as finished.
* ``rmlp resume --epochs N`` adds N epochs to the plan and never shrinks it.
* A truncated checkpoints/last.keras is named as damaged and resume falls back to an intact
  best.keras (saying so); a damaged state.json is named, with what to do.
* Resume refuses a data file that changed since training (size + sha256 in data.json), and
  ``--data FILE`` is the override.
* The workers of ``rmlp search`` exit within seconds when their parent is killed.
* CLI commands do not print TensorFlow's start-up lines (oneDNN, absl, CPU instructions).
* A ``--runs-dir`` (or ``--studies-dir``) that is a file is refused at once, before TensorFlow
  loads, with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.design.summary import summarize
from rmlp.runs import limits
from rmlp.spec.model import BlockSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
WINE, DIABETES = SAMPLES / "wine.csv", SAMPLES / "diabetes.csv"
runner = CliRunner()


# ----------------------------------------------------------------------------- helpers
def tiny_spec(**changes: Any) -> ModelSpec:
    return ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8], **changes)


def diverging_spec() -> ModelSpec:
    """Plain SGD at learning rate 1 without clipping: diverges on the unscaled diabetes table."""
    return tiny_spec(optimizer={"name": "sgd", "learning_rate": 1.0, "clipnorm": None})


def huge_spec() -> ModelSpec:
    """About 1 TiB of estimated training memory (960 Dense layers of 8192 units)."""
    return ModelSpec(blocks=[BlockSpec(layers=20, width=8192, decrement=0)] * 48, final_layers=[8])


def cli(*args: Any) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output  # stdout and stderr, as a terminal shows them
    assert "Traceback" not in text and "Unexpected error" not in text, text
    return result, text


@contextlib.contextmanager
def no_user_warnings() -> Iterator[None]:
    """Fails when rmlp (or what it drives) emitted a UserWarning or RuntimeWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    bad = [w for w in caught if issubclass(w.category, (UserWarning, RuntimeWarning))]
    assert not bad, [str(w.message) for w in bad]


def read_state(run: Path) -> dict[str, Any]:
    return json.loads((run / "state.json").read_text())


def history_rows(run: Path) -> int:
    path = run / "history.csv"
    if not path.is_file():
        return 0
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return max(len(lines) - 1, 0)


def only_run(runs: Path) -> Path:
    found = [p for p in runs.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def child_env() -> dict[str, str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command itself must silence TensorFlow
    return env


# ----------------------------------------------------------------------------- 1. NaN stops at once
@pytest.mark.slow
def test_a_diverging_run_stops_at_the_bad_batch_and_is_recorded_as_failed(tmp_path: Path) -> None:
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    data = load_table(DIABETES, "progression", seed=0)
    events: list[Any] = []
    config = TrainConfig(epochs=5, batch_size=32, lr_schedule="constant", runs_dir=str(tmp_path / "runs"))
    with no_user_warnings(), pytest.raises(limits.TrainingDiverged) as caught:
        train(diverging_spec(), data, config, listener=events.append)
    text = str(caught.value)
    assert "Training diverged" in text and "batch" in text and "epoch 1" in text
    assert "learning rate" in text and "clipnorm" in text and "extreme values" in text
    run = only_run(tmp_path / "runs")
    state = read_state(run)
    assert state["status"] == "failed" and "diverged" in state["error"]
    assert any("learning rate" in n for n in state["notices"])
    assert not (run / "model.keras").exists()  # no NaN model is written
    assert history_rows(run) == 0  # the cut-short epoch is not a finished one
    assert events[-1].kind == "error"


@pytest.mark.slow
def test_rmlp_train_exits_non_zero_when_the_loss_becomes_nan(tmp_path: Path) -> None:
    spec = tmp_path / "sgd.json"
    diverging_spec().save(spec)
    result, text = cli("train", spec, "--data", DIABETES, "--target", "progression", "--epochs", 5,
                       "--batch-size", 32, "--lr-schedule", "constant", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1, text
    assert "Error: Training diverged" in text and "clipnorm" in text
    assert "Run finished" not in text


@pytest.mark.slow
def test_a_search_trial_that_goes_nan_fails_with_the_reason_and_is_not_scored(tmp_path: Path) -> None:
    import optuna

    from rmlp.data import load_table
    from rmlp.search.config import SearchConfig
    from rmlp.search.objective import TrialFailure, train_trial

    data = load_table(DIABETES, "progression", seed=0)
    spec = diverging_spec().copy_with(input_shape=[int(data.x_train.shape[1])], num_outputs=1, task="regression")
    trial = optuna.trial.FixedTrial({})
    with pytest.raises(TrialFailure, match="Training diverged.*learning rate"):
        train_trial(trial, spec, 32, data, SearchConfig(epochs=3, metric="val_loss", early_stopping=False))


# ----------------------------------------------------------------------------- 2. too big for the memory
def test_the_memory_check_suggests_the_largest_batch_that_fits() -> None:
    spec = tiny_spec(input_shape=[4000], num_outputs=3)
    one, two = summarize(spec, 1).peak_training_bytes, summarize(spec, 2).peak_training_bytes
    limit = one + 49 * (two - one)  # room for 50 rows, no more
    check = limits.memory_check(spec, 256, available=limit)
    assert check is not None and not check.fits and check.largest_batch == 50
    assert summarize(spec, 50).peak_training_bytes <= limit < summarize(spec, 51).peak_training_bytes
    assert "--batch-size 50" in check.fix() and "--no-memory-check" in check.fix()
    assert limits.memory_check(spec, 32, available=limit).fits  # type: ignore[union-attr]
    assert limits.available_memory_bytes() > 0


@pytest.mark.slow
def test_training_refuses_a_design_too_big_for_the_memory(tmp_path: Path) -> None:
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    data = load_table(WINE, "target", seed=0)
    with no_user_warnings(), pytest.raises(limits.TooBigForMemory) as caught:
        train(huge_spec(), data, TrainConfig(epochs=1, batch_size=32, runs_dir=str(tmp_path / "runs")))
    text = str(caught.value)
    assert "GiB of memory to train at batch size 32" in text and "available" in text
    assert "--no-memory-check" in text and "Even one row at a time does not fit" in text
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no run folder


def test_a_design_too_big_is_refused_before_tensorflow_loads(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from rmlp.data import load_table
        from rmlp.runs.config import TrainConfig
        from rmlp.runs.limits import TooBigForMemory
        from rmlp.runs.train import train
        from rmlp.spec.model import BlockSpec, ModelSpec
        spec = ModelSpec(blocks=[BlockSpec(layers=20, width=8192, decrement=0)] * 48, final_layers=[8])
        try:
            train(spec, load_table({str(WINE)!r}, "target"), TrainConfig(epochs=1, runs_dir={str(tmp_path)!r}))
        except TooBigForMemory as exc:
            print("refused", "tensorflow" in sys.modules, exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(),
                         timeout=120, check=False)
    assert out.stdout.startswith("refused False"), out.stdout + out.stderr
    assert not list(tmp_path.iterdir())  # no run folder either


@pytest.mark.slow
def test_rmlp_train_refuses_too_big_and_no_memory_check_overrides(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "tiny.json"
    tiny_spec().save(spec)
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 100 * 2**20)  # 100 MiB free
    base = ("train", spec, "--data", WINE, "--target", "target", "--epochs", 1, "--batch-size", 16,
            "--runs-dir", tmp_path / "runs")
    result, text = cli(*base)
    assert result.exit_code == 1, text
    assert "of memory to train at batch size 16" in text and "100 MiB is available" in text
    assert "--no-memory-check" in text
    result, text = cli(*base, "--no-memory-check")
    assert result.exit_code == 0, text


def test_a_search_trial_too_big_for_the_memory_is_pruned_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna

    from rmlp.search.objective import check_caps
    from rmlp.search.space import SearchSpace

    monkeypatch.setattr("rmlp.search.objective.available_memory_bytes", lambda: 2**30)
    trial = optuna.trial.FixedTrial({})
    spec = huge_spec().copy_with(input_shape=[13], num_outputs=3)
    with pytest.raises(optuna.TrialPruned, match="of memory available on this machine"):
        check_caps(trial, spec, 32, SearchSpace())
    assert trial.user_attrs["rejected_by"] == "memory_cap"


# ----------------------------------------------------------------------------- 3. crash durability
def _write_table(path: Path, rows: int = 3000) -> Path:
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 8))
    frame = pd.DataFrame(x, columns=list("abcdefgh"))
    frame["y"] = x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=rows)
    frame.to_csv(path, index=False)
    return path


_TRAIN_CHILD = """
import sys
from rmlp.data import load_table
from rmlp.runs.config import TrainConfig
from rmlp.runs.train import train
from rmlp.spec.model import BlockSpec, ModelSpec
path, runs = sys.argv[1], sys.argv[2]
data = load_table(path, "y", task="regression", seed=0)
spec = ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
source = {"kind": "table", "path": path, "target": "y", "task": "regression", "seed": 0}
# A checkpoint budget so small that only the 10-second rule makes checkpoints after the first.
train(spec, data, TrainConfig(epochs=200, batch_size=4, early_stopping=False, runs_dir=runs,
                              checkpoint_budget=1e-6), data_source=source)
"""


@pytest.mark.slow
def test_sigkill_loses_at_most_an_epoch_or_ten_seconds_and_resume_says_what_it_restored(tmp_path: Path) -> None:
    table, runs = _write_table(tmp_path / "table.csv"), tmp_path / "runs"
    child = subprocess.Popen([sys.executable, "-c", _TRAIN_CHILD, str(table), str(runs)], env=child_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: dict[int, float] = {}  # history rows -> when first seen
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            run = next((p for p in runs.iterdir() if p.is_dir()), None) if runs.is_dir() else None
            rows = history_rows(run) if run is not None else 0
            seen.setdefault(rows, time.monotonic())
            # kill after 12 s of training, whatever the machine's speed: the 10-second rule has saved by then
            if rows >= 3 and time.monotonic() - min(t for r, t in seen.items() if r >= 1) > 12.0:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    run = only_run(runs)
    finished = history_rows(run)
    first = min(r for r in seen if r >= 1)  # the first epoch the poll saw finished
    epoch_s = (seen[max(seen)] - seen[first]) / max(max(seen) - first, 1)
    allowed = max(1, math.floor(10.0 / epoch_s))
    restored = read_state(run)["checkpoint_epoch"]
    print(f"killed after {finished} epochs of {epoch_s:.2f} s; checkpoint of epoch {restored}")
    assert restored >= finished - allowed, (restored, finished, epoch_s)
    assert restored > 1  # the old 1%-of-time budget resumed from epoch 1

    # resume says which epoch it restored; Ctrl-C while the next epoch trains cuts it short
    proc = subprocess.Popen([sys.executable, "-m", "rmlp.cli", "resume", str(run)], env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "Resumed from epoch" in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + err + out
    assert f"Resumed from epoch {restored} (checkpoints/last.keras)" in text, text
    if finished > restored:
        assert "lost" in text and "trained again" in text
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    state = read_state(run)
    assert state["status"] == "stopped" and state["epochs_done"] == restored  # the cut-short epoch is not done
    assert history_rows(run) == restored


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    """A finished 2-epoch run on a copy of the wine table (so the test may change the file)."""
    import shutil

    table = tmp_path / "wine.csv"
    shutil.copyfile(WINE, table)
    spec = tmp_path / "tiny.json"
    tiny_spec().save(spec)
    result, text = cli("train", spec, "--data", table, "--target", "target", "--epochs", 2, "--batch-size", 32,
                       "--runs-dir", tmp_path / "runs", "--no-early-stopping")
    assert result.exit_code == 0, text
    return only_run(tmp_path / "runs")


@pytest.mark.slow
def test_resume_epochs_adds_to_the_plan_and_never_shrinks_it(finished_run: Path) -> None:
    result, text = cli("resume", finished_run)
    assert result.exit_code == 1 and "already trained all 2 epochs" in text and "--epochs N" in text
    with no_user_warnings():
        result, text = cli("resume", finished_run, "--epochs", 1)
    assert result.exit_code == 0, text
    assert "Resumed from epoch 2" in text and "Planned epochs: 2 + 1 = 3" in text
    assert json.loads((finished_run / "train_config.json").read_text())["epochs"] == 3
    assert history_rows(finished_run) == 3 and read_state(finished_run)["epochs_done"] == 3
    # the cosine schedule was stretched over the 3 planned epochs, so the added one did not train at lr 0
    import keras

    optimizer = keras.saving.load_model(finished_run / "checkpoints" / "last.keras").optimizer
    schedule = optimizer._learning_rate
    assert schedule.decay_steps + schedule.warmup_steps == int(optimizer.iterations), schedule.get_config()
    assert "now spans all 3 planned epochs" in text
    result, _ = cli("resume", "--help")
    assert "Add N epochs to the run's plan" in result.output


@pytest.mark.slow
def test_a_truncated_checkpoint_falls_back_to_best_and_a_damaged_state_is_named(finished_run: Path) -> None:
    last = finished_run / "checkpoints" / "last.keras"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    result, text = cli("resume", finished_run, "--epochs", 1)
    assert result.exit_code == 0, text
    assert "checkpoints/last.keras is truncated; resumed from checkpoints/best.keras instead" in text

    for name in ("last.keras", "best.keras"):  # both damaged: the message says to retrain
        path = finished_run / "checkpoints" / name
        path.write_bytes(path.read_bytes()[:100])
    result, text = cli("resume", finished_run, "--epochs", 1)
    assert result.exit_code == 1 and "last.keras is truncated" in text and "Train the run again" in text

    (finished_run / "state.json").write_text('{"status": "runn')
    result, text = cli("resume", finished_run, "--epochs", 1)
    assert result.exit_code == 1
    assert "state.json is damaged" in text and str(finished_run / "state.json") in text
    assert "Train the run again" in text


@pytest.mark.slow
def test_resume_refuses_changed_data_and_data_option_overrides(finished_run: Path) -> None:
    record = json.loads((finished_run / "data.json").read_text())
    table = Path(record["path"])
    assert record["file"]["size"] == table.stat().st_size and len(record["file"]["sha256"]) == 64
    table.write_text(table.read_text().replace("\n", "\n", 1) + table.read_text().splitlines()[1] + "\n")
    result, text = cli("resume", finished_run, "--epochs", 1)
    assert result.exit_code == 1
    assert "has changed since the run was trained" in text and "--data FILE" in text
    result, text = cli("resume", finished_run, "--epochs", 1, "--data", table)
    assert result.exit_code == 0, text
    assert json.loads((finished_run / "data.json").read_text())["file"]["size"] == table.stat().st_size


@pytest.mark.slow
def test_a_stop_during_the_first_epoch_leaves_no_finished_epoch(tmp_path: Path) -> None:
    import threading

    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.resume import resume
    from rmlp.runs.train import train

    data = load_table(WINE, "target", seed=0)
    stop = threading.Event()
    # one step per graph call: the stop comes between two steps of the first epoch
    config = TrainConfig(epochs=2, batch_size=16, runs_dir=str(tmp_path / "runs"), batch_events_every=0.0,
                         steps_per_execution=1)
    result = train(tiny_spec(), data, config, listener=lambda e: stop.set() if e.kind == "batch" else None,
                   stop_event=stop)
    assert result.stopped and result.epochs_run == 0 and history_rows(result.run_dir) == 0
    after = resume(result.run_dir, data=data)
    assert "training starts again at epoch 1" in after.notices[-1] or any(
        "starts again at epoch 1" in n for n in after.notices)
    assert after.epochs_run == 2 and history_rows(result.run_dir) == 2


# ----------------------------------------------------------------------------- 4. search workers
_SEARCH_CHILD = """
import sys
from pathlib import Path
from rmlp import ModelSpec
from rmlp.search import DataSource, run_search
out = Path(sys.argv[2])
def on_workers(pids):
    out.write_text(" ".join(map(str, pids)))
if __name__ == "__main__":
    spec = ModelSpec.from_json('{"blocks": [{"layers": 1, "width": 8, "decrement": 0}], "final_layers": [4]}')
    run_search(spec, DataSource(sys.argv[1], "target"), n_trials=400, workers=2, epochs=50, throttle_s=0.05,
               studies_dir=sys.argv[3], study_name="orphans", on_workers=on_workers)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


@pytest.mark.slow
def test_search_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "search_child.py"
    script.write_text(textwrap.dedent(_SEARCH_CHILD))
    pids_file, studies = tmp_path / "pids.txt", tmp_path / "studies"
    parent = subprocess.Popen([sys.executable, str(script), str(WINE), str(pids_file), str(studies)],
                              env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 180
        journal = studies / "orphans.journal"
        while time.monotonic() < deadline:  # until both workers run trials
            if pids_file.is_file() and journal.is_file():
                pids = [int(p) for p in pids_file.read_text().split()]
                if len(pids) == 2 and journal.read_bytes().count(b'"worker"') >= 2:
                    break
            time.sleep(0.2)
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        killed = time.monotonic()
        while any(_alive(p) for p in pids) and time.monotonic() - killed < 15:
            time.sleep(0.1)
        gone_after = time.monotonic() - killed
        print(f"workers gone {gone_after:.1f} s after their parent was killed")
        assert not any(_alive(p) for p in pids), f"workers still running {gone_after:.1f} s after the parent died"
        assert gone_after < 8, gone_after
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


# ----------------------------------------------------------------------------- 5. TensorFlow's start-up lines
@pytest.mark.slow
def test_rmlp_train_prints_no_tensorflow_start_up_lines(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.json"
    tiny_spec().save(spec)
    done = subprocess.run([sys.executable, "-m", "rmlp.cli", "train", str(spec), "--data", str(WINE), "--target",
                           "target", "--epochs", "1", "--runs-dir", str(tmp_path / "runs")],
                          env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for chatter in ("oneDNN", "absl", "This TensorFlow binary", "cpu_feature_guard"):
        assert chatter not in done.stderr, done.stderr
    assert "epoch 1/1" in done.stderr  # what rmlp itself says still shows


# ----------------------------------------------------------------------------- 6. the runs folder
def test_a_runs_dir_that_is_a_file_is_refused_before_anything_heavy(tmp_path: Path) -> None:
    spec, blocker = tmp_path / "tiny.json", tmp_path / "not_a_folder"
    tiny_spec().save(spec)
    blocker.write_text("x")
    for where in (blocker, blocker / "sub"):
        start = time.perf_counter()
        result, text = cli("train", spec, "--data", WINE, "--target", "target", "--runs-dir", where)
        assert result.exit_code == 1, text
        assert f"{str(blocker)!r} is a file, not a folder" in text and "--runs-dir" in text
        assert time.perf_counter() - start < 5  # no TensorFlow, no data loaded
    result, text = cli("search", spec, "--data", WINE, "--target", "target", "--studies-dir", blocker)
    assert result.exit_code == 1 and "studies folder" in text and "--studies-dir" in text


def test_the_library_checks_the_runs_folder_too(tmp_path: Path) -> None:
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        train(tiny_spec(), object(), TrainConfig(runs_dir=str(blocker)))


def test_a_stop_before_training_began_leaves_nothing_to_resume(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from rmlp.cli.training import report
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    stop = threading.Event()
    stop.set()  # Ctrl-C (or the app's Stop) while TensorFlow is still loading
    result = train(tiny_spec(), load_table(WINE, "target"), TrainConfig(epochs=2, runs_dir=str(tmp_path / "runs")),
                   stop_event=stop)
    assert result.stopped and result.model is None and result.epochs_run == 0
    report(result)
    out = capsys.readouterr()
    assert "Stopped before training began" in out.err and "Nothing was trained or saved" in out.out
    assert "rmlp resume" not in out.out and "rmlp export" not in out.out
