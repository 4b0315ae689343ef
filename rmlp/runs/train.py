"""Training runs: build, fit, checkpoint, evaluate and save, then resume from where a run stopped.

:func:`train` builds the model for a spec, fits it on a data object (``x_train``/``y_train``,
``x_val``/``y_val``, ``x_test``/``y_test`` float32 arrays plus ``task`` and ``class_names``, as
:mod:`rmlp.data` makes them), writes a run folder (:class:`~rmlp.runs.folder.RunDir`) as it goes
and evaluates on the test split. A listener receives :class:`~rmlp.runs.events.TrainEvent` objects
in the training thread; a ``threading.Event`` stops training after the current batch. The app
runs this in a worker thread, the CLI in the foreground; Keras global state is thread-local, so
everything Keras happens in the calling thread.

history.csv gets one flushed row per epoch. checkpoints/last.keras is written after an epoch
while checkpoint writing stays within ``TrainConfig.checkpoint_budget`` of the training time (so
long epochs are all saved, many tiny ones are not) and always at the end; state.json says which
epoch it holds, and :func:`resume` continues from there.

``import rmlp.runs.train`` does not import TensorFlow; Keras comes in when a run starts.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlp.data.fit import spec_for_data
from rmlp.runs.collapse import collapse_notice
from rmlp.runs.config import TrainConfig
from rmlp.runs.devices import gpu_count, strategy_scope
from rmlp.runs.events import Listener, TrainEvent, emit
from rmlp.runs.folder import RunDir
from rmlp.runs.provenance import data_record, reload_data, versions
from rmlp.runs.state import RunState, now
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import SettingsError

__all__ = ["RunResult", "TrainConfig", "TrainEvent", "resume", "train"]


@dataclass
class RunResult:
    """What one call of :func:`train` or :func:`resume` produced.

    ``history`` is the run's whole history (all epochs in history.csv, resumed ones included);
    ``epochs_run`` counts the epochs this call ran.
    """

    run_dir: Path
    model: Any
    history: dict[str, list[float]]
    test_metrics: dict[str, Any]
    stopped: bool
    baseline: dict[str, Any] | None = None
    epochs_run: int = 0
    status: str = "finished"
    spec: ModelSpec | None = None
    config: TrainConfig | None = None
    notices: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- small helpers
def _has_rows(data: Any, split: str) -> bool:
    x = getattr(data, f"x_{split}", None)
    return x is not None and len(x) > 0


def _monitor(data: Any, spec: ModelSpec, config: TrainConfig) -> str:
    """What early stopping and the best checkpoint watch (lower is better)."""
    from rmlp.runs.callbacks import ValidationScore

    if not _has_rows(data, "val"):
        return "loss"
    if config.monitor == "score" and spec.task != "regression":
        return ValidationScore.NAME
    return "val_loss"


def _seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(int(seed))


def _learning_rate(spec: ModelSpec, config: TrainConfig, data: Any) -> Any:
    """The learning rate to compile with: the spec's number, or a schedule over the planned steps."""
    if config.lr_schedule == "constant":
        return None
    from rmlp.keras.optimizers import cosine_schedule

    steps = max(config.n_epochs, 1) * math.ceil(len(data.x_train) / config.n_batch)
    return cosine_schedule(spec.optimizer.learning_rate, steps, config.warmup)


def _validation(data: Any) -> tuple[Any, Any] | None:
    return (data.x_val, data.y_val) if _has_rows(data, "val") else None


@dataclass
class _Fitted:
    """What a fit left behind for :func:`_finish`."""

    events: Any
    checkpoints: Any


def _fit(model: Any, spec: ModelSpec, data: Any, config: TrainConfig, run: RunDir, state: RunState,
         listener: Listener | None, stop_event: threading.Event | None, initial_epoch: int) -> _Fitted:
    """model.fit with the run's callbacks."""
    import keras

    from rmlp.keras import feed
    from rmlp.keras.build import repeat_for_members
    from rmlp.runs import callbacks as cb

    monitor = _monitor(data, spec, config)
    state.monitor = monitor
    events = cb.EventCallback(listener, stop_event, batch_events_every=config.batch_events_every,
                              initial_epoch=initial_epoch)
    disk_best, disk_best_epoch = state.best_checkpoint or (None, 0)
    checkpoints = cb.Checkpoints(run.checkpoints, monitor, budget=config.checkpoint_budget,
                                 restore_best=config.restore_best, best=disk_best,
                                 best_epoch=int(disk_best_epoch or 0), saved_epoch=initial_epoch)
    # Order matters: the learning rate is logged after it changes; the checkpoint epoch is known
    # before the history row and state.json are written.
    callbacks: list[Any] = [cb.ValidationScore()]
    if config.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=3, mode="min"))
    if config.early_stopping:
        callbacks.append(cb.ResumableEarlyStopping(
            monitor=monitor, mode="min", patience=config.patience, start_from_epoch=int(config.min_epochs or 0),
            restore_best_weights=False, initial_best=state.best,
            initial_wait=state.wait, initial_best_epoch=max(state.best_epoch - 1, 0)))
    callbacks += [checkpoints, cb.HistoryCSV(run.history_file),
                  cb.RunStateWriter(run.file(RunDir.STATE), state, monitor, checkpoints), events]
    val = _validation(data)
    if val is not None:
        val = (val[0], repeat_for_members(val[1], spec))
    feed.fit(model, data.x_train, repeat_for_members(data.y_train, spec), batch_size=config.n_batch,
             validation=val, seed=config.seed + initial_epoch, epochs=config.n_epochs, initial_epoch=initial_epoch,
             callbacks=callbacks)
    return _Fitted(events, checkpoints)


def _test_metrics(model: Any, spec: ModelSpec, data: Any, batch_size: int) -> dict[str, Any]:
    """Loss and the sklearn metrics on the test split (the validation split when test is empty)."""
    import keras

    from rmlp.keras.evaluate import metrics_for, predict
    from rmlp.keras.losses import make_loss

    split = "test" if _has_rows(data, "test") else "val" if _has_rows(data, "val") else None
    if split is None:
        return {}
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    pred = predict(model, x, batch_size=max(batch_size, 256))
    loss_fn, weight = make_loss(spec)
    loss = weight * float(keras.ops.mean(loss_fn(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(pred))))
    out: dict[str, Any] = {"split": split, "n": int(len(x)), "loss": loss}
    out.update(metrics_for(y, pred, getattr(data, "task", spec.task), getattr(data, "class_names", None)))
    return out


def _train_baseline(spec: ModelSpec, data: Any, config: TrainConfig, run: RunDir, residual_params: int,
                    listener: Listener | None, stop_event: threading.Event | None) -> dict[str, Any]:
    """Train the plain-MLP baseline on the same split and settings; its figures for baseline.json."""
    import keras

    from rmlp.keras import feed
    from rmlp.keras.baseline import baseline_plan, build_baseline
    from rmlp.runs.callbacks import EventCallback, ValidationScore

    plan = baseline_plan(spec)
    _seed(config.seed)
    with strategy_scope(config.multi_gpu):
        model = build_baseline(spec, plan, learning_rate=_learning_rate(spec, config, data))
    monitor = _monitor(data, spec, config)
    events = EventCallback(listener, stop_event, epoch_kind="baseline_epoch", emit_begin=False)
    callbacks: list[Any] = [ValidationScore()]
    if config.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=3, mode="min"))
    if config.early_stopping or config.restore_best:
        patience = config.patience if config.early_stopping else config.n_epochs + 1
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, mode="min", patience=patience, restore_best_weights=config.restore_best,
            start_from_epoch=int(config.min_epochs or 0) if config.early_stopping else 0))
    callbacks.append(events)
    hist = feed.fit(model, data.x_train, data.y_train, batch_size=config.n_batch, validation=_validation(data),
                    seed=config.seed, epochs=config.n_epochs, callbacks=callbacks)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out = {
        "params": int(model.count_params()),
        "residual_params": int(residual_params),
        "plan": plan.to_dict(),
        "history": history,
        "epochs_run": len(next(iter(history.values()), [])),
        "stopped": events.stopped,
        "test_metrics": _test_metrics(model, spec, data, config.n_batch),
    }
    run.write_json(RunDir.BASELINE, out)
    return out


def _finish(model: Any, spec: ModelSpec, data: Any, config: TrainConfig, run: RunDir, state: RunState,
            fitted: _Fitted, listener: Listener | None, stop_event: threading.Event | None, epochs_before: int,
            notices: list[str]) -> RunResult:
    """After fit: save the final model, evaluate, optionally train the baseline, close the run."""
    events, ckpt = fitted.events, fitted.checkpoints
    stopped = bool(events.stopped or (stop_event is not None and stop_event.is_set()))
    # The model in memory holds exactly the weights of best.keras (restored) or of last.keras.
    final = ckpt.best_path if ckpt.restore_best and ckpt.best_epoch and ckpt.best_on_disk else ckpt.last_path
    if spec.ensemble > 1:  # the checkpoints hold the members side by side; model.keras averages them
        from rmlp.keras.build import average_members, compile_model

        model = average_members(model)
        model.save(run.model)  # without an optimizer: a model that predicts
        compile_model(model, spec)
    else:
        shutil.copyfile(final, run.model)
    metrics = _test_metrics(model, spec, data, config.n_batch)
    run.write_json(RunDir.METRICS, metrics)
    warning = collapse_notice(data, metrics, getattr(data, "task", spec.task))
    if warning:
        notices = [*notices, warning]
        state.notices = [*state.notices, warning]
    done = state.epochs_done
    state.checkpoint_epoch, state.checkpoint_seconds = ckpt.saved_epoch, round(ckpt.save_s, 4)
    state.checkpoint_saves, state.best_checkpoint = ckpt.saves, list(ckpt.disk_best)
    state.model_epoch = ckpt.best_epoch if final == ckpt.best_path else done
    baseline = None
    if config.baseline and not stopped:
        baseline = _train_baseline(spec, data, config, run, int(model.count_params()), listener, stop_event)
        stopped = bool(stop_event is not None and stop_event.is_set())
    state.status = "stopped" if stopped else "finished"
    state.stopped_early = bool(not stopped and done < config.n_epochs)
    state.touch()
    run.write_json(RunDir.STATE, state.to_dict())
    elapsed = time.perf_counter() - events.started if events.started else 0.0
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    emit(listener, TrainEvent(
        "stopped" if stopped else "train_end", epoch=done, epochs=config.n_epochs, logs=numeric, elapsed_s=elapsed,
        eta_s=0.0, progress=1.0 if not stopped else done / max(config.n_epochs, 1),
        message=f"Stopped after {done} epoch(s)." if stopped else f"Finished after {done} epoch(s)."))
    return RunResult(run_dir=run.path, model=model, history=run.history(), test_metrics=metrics, stopped=stopped,
                     baseline=baseline, epochs_run=done - epochs_before, status=state.status, spec=spec,
                     config=config, notices=notices)


def _fail(run: RunDir | None, state: RunState, exc: BaseException, listener: Listener | None) -> None:
    if run is not None and run.path.is_dir():
        state.status, state.error = "failed", f"{type(exc).__name__}: {exc}"
        state.touch()
        with contextlib.suppress(OSError):
            run.write_json(RunDir.STATE, state.to_dict())
    emit(listener, TrainEvent("error", epoch=state.epochs_done, message=f"{type(exc).__name__}: {exc}"))


def _checked(config: TrainConfig) -> TrainConfig:
    """The config when every setting fits (one built with ``model_construct`` may not)."""
    found = [p for p in config.problems() if p.severity == "error"]
    if found:
        raise SettingsError(found, what=TrainConfig.what)
    return config


# ----------------------------------------------------------------------------- train and resume
def train(spec: ModelSpec | dict[str, Any], data: Any, config: TrainConfig | None = None,
          listener: Listener | None = None, stop_event: threading.Event | None = None,
          data_source: Mapping[str, Any] | None = None) -> RunResult:
    """Build, fit, checkpoint, evaluate and save a model for ``spec`` on ``data``, in this thread.

    The spec is first fitted to the data (input shape, task, outputs: :func:`rmlp.data.spec_for_data`);
    what changed is in ``RunResult.notices`` and state.json. ``data_source`` says how to reload the
    data for :func:`resume` (``{"kind": "table", "path": ..., "target": ..., "task": ..., "seed": ...,
    "val_size": ..., "test_size": ...}``); without it the data's own ``load_args`` are used.
    Raises what went wrong after recording it (state.json ``failed``, an ``error`` event).
    """
    import keras

    from rmlp.keras.build import build_uncompiled, check_buildable, compile_model, members_model

    config = _checked(config or TrainConfig())
    keras.backend.clear_session()
    run: RunDir | None = None
    state = RunState(epochs=config.n_epochs)
    try:
        spec = check_buildable(spec)
        spec, fit_notices = spec_for_data(spec, data)
        notices = [str(n) for n in fit_notices]
        config, size_notices = config.sized(len(data.x_train) if _has_rows(data, "train") else 0)
        notices += size_notices
        state.epochs = config.n_epochs
        if config.multi_gpu and (gpus := gpu_count()) < 2:
            notices.append(f"Multi-GPU training needs more than one GPU ({gpus} visible); training on one device.")
        if not _has_rows(data, "train"):
            raise ValueError("The data has no training rows. Load a table or image set with more rows.")
        run = RunDir.create(config.runs_dir, config.run_name or spec.name)
        state.status, state.started_at, state.notices = "running", now(), notices
        state.touch()
        run.write_json(RunDir.STATE, state.to_dict())
        spec.save(run.file(RunDir.SPEC))
        run.write_text(RunDir.CONFIG, config.to_json() + "\n")
        run.write_json(RunDir.DATA, data_record(data, data_source, config.seed))
        run.write_json(RunDir.VERSIONS, versions())
        pre = getattr(data, "preprocessor", None)
        if pre is not None and hasattr(pre, "to_dict"):
            run.write_json(RunDir.PREPROCESSOR, pre.to_dict())
        _seed(config.seed)
        with strategy_scope(config.multi_gpu):
            model = compile_model(members_model(build_uncompiled(spec)), spec,
                                  learning_rate=_learning_rate(spec, config, data))
        fitted = _fit(model, spec, data, config, run, state, listener, stop_event, initial_epoch=0)
        return _finish(model, spec, data, config, run, state, fitted, listener, stop_event, 0, notices)
    except BaseException as exc:
        _fail(run, state, exc, listener)
        raise


def resume(run_dir: str | Path, data: Any = None, listener: Listener | None = None,
           stop_event: threading.Event | None = None, extra_epochs: int | None = None) -> RunResult:
    """Continue a run from checkpoints/last.keras up to its configured epochs (or ``extra_epochs`` more).

    Training restarts after the epoch held by last.keras (history rows after it are dropped). The
    data is reloaded from data.json when not given (same arguments and seed: the same split);
    history.csv grows by the new epochs. Raises ValueError when there is nothing left to train.
    """
    import keras

    run = RunDir(run_dir)
    keras.backend.clear_session()
    state = RunState.from_dict(run.read_json(RunDir.STATE, {}))
    try:
        if not run.last_checkpoint.is_file():
            raise ValueError(f"The run {run.path} has no checkpoint ({RunDir.CHECKPOINTS}/{RunDir.LAST}) to resume "
                             "from. Train it again instead.")
        config = TrainConfig.from_json(run.file(RunDir.CONFIG).read_text(encoding="utf-8"))
        spec = ModelSpec.load(run.file(RunDir.SPEC))
        done = state.checkpoint_epoch or state.epochs_done
        if extra_epochs is not None:
            config = config.model_copy(update={"epochs": done + int(extra_epochs)})
        if done >= config.n_epochs:
            raise ValueError(f"The run {run.name} has already trained all {config.n_epochs} epochs. "
                             "Pass extra_epochs to train longer.")
        if data is None:
            data = reload_data(run.read_json(RunDir.DATA, {}), base_dir=run.path)
        run.truncate_history(done)
        run.write_text(RunDir.CONFIG, config.to_json() + "\n")
        state.status, state.epochs, state.epochs_done, state.error = "running", config.n_epochs, done, ""
        if state.best_epoch > done:
            state.best, state.best_epoch, state.wait = None, 0, 0  # epochs after the checkpoint are trained again
        if not run.best_checkpoint.is_file() or int((state.best_checkpoint or [0, 0])[1] or 0) > done:
            state.best_checkpoint = [None, 0]
        state.touch()
        run.write_json(RunDir.STATE, state.to_dict())
        _seed(config.seed + done)
        with strategy_scope(config.multi_gpu):
            model = keras.saving.load_model(run.last_checkpoint)
        fitted = _fit(model, spec, data, config, run, state, listener, stop_event, initial_epoch=done)
        return _finish(model, spec, data, config, run, state, fitted, listener, stop_event, done, list(state.notices))
    except BaseException as exc:
        _fail(run, state, exc, listener)
        raise
