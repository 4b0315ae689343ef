"""Training engine: run folders, events, stop, resume, seeds, baseline and test metrics."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rmlp.design.baseline import plain_mlp_spec_like, stack_params
from rmlp.design.summary import summarize
from rmlp.keras.evaluate import CLASSIFICATION_KEYS, REGRESSION_KEYS, classification_metrics, regression_metrics
from rmlp.runs.config import TrainConfig
from rmlp.runs.events import TrainEvent
from rmlp.runs.folder import RunDir, safe_name
from rmlp.spec.model import BlockSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[1]
WINE = ROOT / "sample_data" / "wine.csv"
RUN_FILES = ("spec.json", "train_config.json", "data.json", "versions.json", "state.json", "history.csv",
             "model.keras", "metrics.json", "checkpoints/best.keras", "checkpoints/last.keras")


def tiny_spec(**changes: Any) -> ModelSpec:
    return ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8], **changes)


def config(tmp_path: Path, **changes: Any) -> TrainConfig:
    base = {"epochs": 2, "batch_size": 32, "runs_dir": str(tmp_path / "runs"), "batch_events_every": 0.0}
    return TrainConfig(**{**base, **changes})


@pytest.fixture
def table(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A small multiclass table: sample_data/wine.csv when present, else a synthetic CSV."""
    from rmlp.data import load_table

    path, target = WINE, "target"
    if not WINE.is_file():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(150, 5))
        label = np.array(["a", "b", "c"])[np.argmax(x[:, :3], axis=1)]
        path, target = tmp_path / "synthetic.csv", "label"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([f"f{i}" for i in range(5)] + ["label"])
            w.writerows([[*map(float, row), lab] for row, lab in zip(x, label, strict=True)])
    source = {"kind": "table", "path": str(path), "target": target, "seed": 0}
    return load_table(path, target, seed=0), source


def regression_table() -> Any:
    import pandas as pd

    from rmlp.data import load_table

    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["y"] = x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=80)
    return load_table(frame, "y", task="regression", seed=0)


# ----------------------------------------------------------------------------- fast (no Keras)
def test_train_config_round_trips_through_json() -> None:
    cfg = TrainConfig(epochs=3, lr_schedule="constant", reduce_lr=True, run_name="x y", baseline=True,
                      checkpoint_budget=1.0)
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)


def test_run_dir_names_are_safe_and_unique(tmp_path: Path) -> None:
    assert safe_name("my model/../v2: best?") == "my_model_.._v2_best"
    assert safe_name("///") == "run"
    first = RunDir.create(tmp_path, "a b").path
    second = RunDir.create(tmp_path, "a b").path
    assert first != second and first.parent == tmp_path == second.parent
    assert first.name.endswith("-a_b") and (first / "checkpoints").is_dir()
    assert RunDir(first).is_run() is False and RunDir(first).progress() == (0, 0)


def test_classification_metrics_match_sklearn() -> None:
    from sklearn import metrics as skm

    y = np.array([0, 1, 2, 2, 1, 0, 2, 1])
    prob = np.array([[.8, .1, .1], [.2, .5, .3], [.1, .2, .7], [.3, .4, .3],
                     [.1, .8, .1], [.4, .3, .3], [.2, .1, .7], [.6, .3, .1]])
    out = classification_metrics(np.eye(3)[y], prob, "multiclass", ["x", "y", "z"])
    pred = prob.argmax(axis=1)
    assert set(CLASSIFICATION_KEYS) <= set(out)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert out["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, prob, multi_class="ovr"))
    assert out["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert out["class_names"] == ["x", "y", "z"]
    json.dumps(out)

    yb = np.array([0, 1, 1, 0, 1])
    pb = np.array([[.2], [.7], [.4], [.6], [.9]])
    outb = classification_metrics(yb.reshape(-1, 1).astype("float32"), pb, "binary", ["no", "yes"])
    assert outb["accuracy"] == pytest.approx(skm.accuracy_score(yb, pb[:, 0] >= .5))
    assert outb["f1"] == pytest.approx(skm.f1_score(yb, pb[:, 0] >= .5))
    assert outb["auc"] == pytest.approx(skm.roc_auc_score(yb, pb[:, 0]))
    # one class only: AUC is undefined, not an exception
    assert classification_metrics(np.ones((3, 1)), np.array([[.9], [.8], [.2]]), "binary")["auc"] is None


def test_regression_metrics_match_sklearn() -> None:
    from sklearn import metrics as skm

    y = np.array([[1.0], [2.0], [3.0], [4.5]])
    p = np.array([[1.1], [1.7], [3.4], [4.0]])
    out = regression_metrics(y, p)
    assert set(out) == set(REGRESSION_KEYS)
    assert out["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert out["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert out["r2"] == pytest.approx(skm.r2_score(y, p))
    assert regression_metrics(y[:1], p[:1])["r2"] is None


@pytest.mark.parametrize("spec", [
    tiny_spec(input_shape=[13], num_outputs=3),
    ModelSpec(input_shape=[30], num_outputs=1, task="binary"),
    ModelSpec(input_shape=[8, 8], num_outputs=10, blocks=[BlockSpec(layers=3, width=64, decrement=8)] * 2,
              inter_block_layers=[32], final_layers=[]),
])
def test_baseline_plan_has_about_the_same_parameters(spec: ModelSpec) -> None:
    plan = plain_mlp_spec_like(spec)
    total = summarize(spec).total_params
    assert abs(plan.total_params - total) <= 0.15 * total
    assert 1 <= len(plan.widths) <= 6 and len(set(plan.widths)) == 1
    assert plan.head_params == stack_params(plan.feature_dim, plan.widths, plan.num_outputs)


# ----------------------------------------------------------------------------- training (Keras)
@pytest.mark.slow
def test_train_writes_run_folder_events_and_metrics(tmp_path: Path, table: tuple[Any, dict]) -> None:
    import keras

    from rmlp.runs.resume import resume
    from rmlp.runs.train import train

    data, source = table
    events: list[TrainEvent] = []

    def listener(event: TrainEvent) -> None:
        events.append(event)
        raise RuntimeError("a broken display must not stop training")

    result = train(tiny_spec(), data, config(tmp_path, run_name="wine test"), listener=listener, data_source=source)
    run = result.run_dir
    assert run.parent == tmp_path / "runs" and run.name.endswith("-wine_test")
    for name in RUN_FILES + ("preprocessor.json",):
        assert (run / name).is_file(), name
    assert not result.stopped and result.epochs_run == 2 and result.status == "finished"
    assert RunDir(run).history()["epoch"] == [1, 2] and len(result.history["val_loss"]) == 2
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "finished" and state["epochs_done"] == 2 and state["checkpoint_epoch"] == 2
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(CLASSIFICATION_KEYS) | {"loss", "split", "n"} <= set(metrics)
    assert metrics["split"] == "test" and metrics["n"] == len(data.x_test)
    assert len(metrics["confusion_matrix"]) == len(data.class_names)
    record = json.loads((run / "data.json").read_text())
    assert record["split_sizes"] == {"train": len(data.x_train), "val": len(data.x_val), "test": len(data.x_test)}
    assert record["class_names"] == [str(c) for c in data.class_names]
    versions = json.loads((run / "versions.json").read_text())
    assert {"python", "tensorflow", "keras", "numpy", "rmlp", "platform"} <= set(versions)

    kinds = [e.kind for e in events if e.kind != "batch"]
    assert kinds == ["train_begin", "epoch", "epoch", "train_end"]
    assert any(e.kind == "batch" for e in events)
    epoch_events = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epoch_events] == [1, 2] and epoch_events[-1].progress == pytest.approx(1.0)
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(epoch_events[0].logs)
    assert epoch_events[0].eta_s is not None and epoch_events[0].eta_s >= 0

    reloaded = keras.saving.load_model(run / "model.keras")
    np.testing.assert_allclose(reloaded.predict(data.x_test[:4], verbose=0),
                               result.model.predict(data.x_test[:4], verbose=0), rtol=1e-5, atol=1e-6)

    # a crash after a history row but before its checkpoint: resume drops the row and trains it again
    with (run / "history.csv").open("a") as fh:
        fh.write("3" + ",999" * (len(result.history) - 1) + "\n")
    state.update(status="failed", epochs_done=3)
    (run / "state.json").write_text(json.dumps(state))
    # resume reloads the data from data.json (same split) and appends to history.csv
    more = resume(run, extra_epochs=1)
    assert more.run_dir == run and more.epochs_run == 1
    assert RunDir(run).history()["epoch"] == [1, 2, 3] and RunDir(run).history()["loss"][2] != 999
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 3


@pytest.mark.slow
def test_stop_event_ends_training_and_resume_continues(tmp_path: Path, table: tuple[Any, dict]) -> None:
    import keras

    from rmlp.runs.resume import resume
    from rmlp.runs.train import train

    data, _ = table
    stop = threading.Event()
    events: list[TrainEvent] = []

    def listener(event: TrainEvent) -> None:
        events.append(event)
        if event.kind == "batch":
            stop.set()

    # one step per graph call, so the stop comes between two steps of the first epoch
    result = train(tiny_spec(), data, config(tmp_path, epochs=4, steps_per_execution=1), listener=listener,
                   stop_event=stop)
    # stopped in the first batch: the epoch cut short is not a finished one (resume trains it again)
    assert result.stopped and result.status == "stopped" and result.epochs_run == 0
    assert events[-1].kind == "stopped"
    state = json.loads((result.run_dir / "state.json").read_text())
    assert state["status"] == "stopped" and state["epochs_done"] == 0
    model = keras.saving.load_model(result.run_dir / "model.keras")
    assert model.predict(data.x_test[:2], verbose=0).shape == (2, len(data.class_names))

    after = resume(result.run_dir, data=data)
    assert not after.stopped and after.epochs_run == 4
    assert RunDir(result.run_dir).history()["epoch"] == [1, 2, 3, 4]
    assert json.loads((result.run_dir / "state.json").read_text())["status"] == "finished"
    with pytest.raises(ValueError, match="already trained"):
        resume(result.run_dir, data=data)


def test_a_stop_acts_at_the_end_of_the_current_graph_call(tmp_path: Path, table: tuple[Any, dict]) -> None:
    from rmlp.runs.train import train

    data, _ = table
    stop = threading.Event()
    planned = 40
    result = train(tiny_spec(), data, config(tmp_path, epochs=planned, steps_per_execution=16),
                   listener=lambda e: stop.set() if e.kind == "batch" else None, stop_event=stop)
    # the first call's steps run whole; the stop is seen after the next call at the latest
    assert result.stopped and result.status == "stopped" and result.epochs_run <= 2 < planned


@pytest.mark.slow
def test_same_seed_same_loss(tmp_path: Path, table: tuple[Any, dict]) -> None:
    from rmlp.runs.train import train

    data, _ = table
    first = train(tiny_spec(), data, config(tmp_path, seed=3))
    second = train(tiny_spec(), data, config(tmp_path, seed=3))
    other = train(tiny_spec(), data, config(tmp_path, seed=4, epochs=1))
    assert first.history["loss"][-1] == pytest.approx(second.history["loss"][-1], rel=1e-6)
    assert first.history["val_loss"] == pytest.approx(second.history["val_loss"], rel=1e-6)
    assert other.history["loss"][0] != pytest.approx(first.history["loss"][0], rel=1e-6)


@pytest.mark.slow
def test_regression_run_with_baseline(tmp_path: Path) -> None:
    from rmlp.runs.train import train

    data = regression_table()
    events: list[TrainEvent] = []
    result = train(tiny_spec(), data, config(tmp_path, baseline=True), listener=events.append)
    assert result.spec is not None and result.spec.task == "regression"
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert set(REGRESSION_KEYS) | {"loss"} <= set(metrics) and "accuracy" not in metrics
    base = result.baseline
    assert base is not None and (result.run_dir / "baseline.json").is_file()
    assert abs(base["params"] - base["residual_params"]) <= 0.15 * base["residual_params"]
    assert base["residual_params"] == result.model.count_params()
    assert set(REGRESSION_KEYS) <= set(base["test_metrics"]) and base["epochs_run"] == 2
    kinds = [e.kind for e in events if e.kind != "batch"]
    assert kinds == ["train_begin", "epoch", "epoch", "baseline_epoch", "baseline_epoch", "train_end"]


@pytest.mark.slow
def test_a_cosine_schedule_decays_the_learning_rate_over_the_planned_epochs(tmp_path: Path,
                                                                           table: tuple[Any, dict]) -> None:
    import keras

    from rmlp.runs.train import train

    data, source = table
    spec = tiny_spec(optimizer={"learning_rate": 0.01})
    result = train(spec, data, config(tmp_path, lr_schedule="cosine", warmup=0.5, early_stopping=False),
                   data_source=source)
    schedule = result.model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert schedule.initial_learning_rate == pytest.approx(0.0)  # warms up from zero ...
    assert schedule.warmup_target == pytest.approx(0.01)  # ... to the optimizer's rate
    assert schedule.warmup_steps > 0
    assert float(result.model.optimizer.learning_rate) < 0.01 * 1e-3  # decayed to about zero at the end
    assert json.loads((result.run_dir / "train_config.json").read_text())["lr_schedule"] == "cosine"
    reloaded = keras.saving.load_model(result.run_dir / "checkpoints" / "last.keras")
    assert isinstance(reloaded.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)


@pytest.mark.slow
def test_failure_is_recorded_and_raised(tmp_path: Path, table: tuple[Any, dict]) -> None:
    from rmlp.runs.train import train

    data, _ = table
    data.x_train = data.x_train[:0]
    data.y_train = data.y_train[:0]
    events: list[TrainEvent] = []
    with pytest.raises(ValueError, match="no training rows"):
        train(tiny_spec(), data, config(tmp_path), listener=events.append)
    assert [e.kind for e in events] == ["error"]


@pytest.mark.slow
def test_training_in_a_worker_thread_stops_on_request(tmp_path: Path, table: tuple[Any, dict]) -> None:
    import queue

    from rmlp.runs.train import train

    data, _ = table
    stop = threading.Event()
    seen: queue.Queue[TrainEvent] = queue.Queue()
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(
        train(tiny_spec(), data, config(tmp_path, epochs=200), listener=seen.put, stop_event=stop)))
    worker.start()
    while seen.get(timeout=60).kind != "batch":
        pass
    stop.set()
    worker.join(timeout=120)
    assert not worker.is_alive() and results and results[0].stopped
    assert results[0].epochs_run < 200 and (results[0].run_dir / "model.keras").is_file()


@pytest.mark.slow
def test_checkpoints_keep_best_and_last_within_budget(tmp_path: Path) -> None:
    import keras

    from rmlp.keras.build import build_model
    from rmlp.runs.callbacks import Checkpoints

    model = build_model(tiny_spec(input_shape=[4], num_outputs=2))
    model.fit(np.zeros((4, 4), "float32"), np.eye(2, dtype="float32")[[0, 1, 0, 1]], epochs=1, verbose=0)
    good = model.get_weights()
    worse = [w + 1.0 for w in good]
    ckpt = Checkpoints(tmp_path / "checkpoints", "val_loss", budget=1e-9, restore_best=True)
    ckpt.set_model(model)
    ckpt.on_train_begin()
    ckpt.on_epoch_end(0, {"val_loss": 1.0})  # first epoch: always written (no cost known yet)
    model.set_weights(worse)
    ckpt.on_epoch_end(1, {"val_loss": 2.0})  # over the budget: skipped
    assert (ckpt.saves, ckpt.saved_epoch) == (1, 1)
    ckpt.on_train_end()  # the last epoch is always written; the best weights are restored
    assert (ckpt.saves, ckpt.saved_epoch, ckpt.best_epoch) == (2, 2, 1) and ckpt.restored

    def same(a: list, b: list) -> bool:
        return all(np.allclose(x, y) for x, y in zip(a, b, strict=True))

    assert same(model.get_weights(), good)
    assert same(keras.saving.load_model(ckpt.best_path).get_weights(), good)
    assert same(keras.saving.load_model(ckpt.last_path).get_weights(), worse)
