"""Training runs: build, fit, checkpoint, evaluate and save (:mod:`rmlp.runs.resume` goes on from where one stopped).

:func:`train` builds the model for a spec, fits it on a data object (``x_train``/``y_train``,
``x_val``/``y_val``, ``x_test``/``y_test`` float32 arrays plus ``task`` and ``class_names``, as
:mod:`rmlp.data` makes them), writes a run folder (:class:`~rmlp.runs.folder.RunDir`) as it goes
and evaluates on the test split. A listener receives :class:`~rmlp.runs.events.TrainEvent` objects
in the training thread; a ``threading.Event`` stops training after the current batch. The app
runs this in a worker thread, the CLI in the foreground; Keras global state is thread-local, so
everything Keras happens in the calling thread.

history.csv gets one flushed row per finished epoch. checkpoints/last.keras is written after an
epoch while checkpoint writing stays within ``TrainConfig.checkpoint_budget`` of the training time,
and in any case often enough that a crash loses at most max(one epoch, 10 s of training), and at
the end; state.json says which epoch it holds, and :func:`rmlp.runs.resume.resume` continues from
there (an epoch cut short is trained again). A batch whose loss is NaN or infinite stops the run at once
(:class:`~rmlp.runs.limits.TrainingDiverged`), and a design whose estimated training memory is
above the memory available is refused before anything is built
(:class:`~rmlp.runs.limits.TooBigForMemory`, unless ``TrainConfig.memory_check`` is off).

``import rmlp.runs.train`` does not import TensorFlow; Keras comes in when a run starts.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmlp.data.fit import spec_for_data
from rmlp.design.sizing import budget_for
from rmlp.keras import feed
from rmlp.keras.baseline import baseline_plan, build_baseline
from rmlp.keras.build import average_members, build_uncompiled, check_buildable, compile_model, members_model
from rmlp.keras.losses import make_loss
from rmlp.keras.quick import quick_graphs
from rmlp.runs.collapse import collapse_notice
from rmlp.runs.config import TrainConfig
from rmlp.runs.devices import gpu_count, gpu_present, strategy_scope
from rmlp.runs.events import Listener, TrainEvent, emit
from rmlp.runs.folder import RunDir, check_runs_dir
from rmlp.runs.folds import member_rows, rows_fitted, uses_folds
from rmlp.runs.limits import TrainingDiverged, TrainingError, check_memory, divergence_fix, divergence_message
from rmlp.runs.provenance import data_record, versions
from rmlp.runs.recipe import make_recipe
from rmlp.runs.state import RunState, now
from rmlp.runs.tensorboard import tensorboard_callback
from rmlp.spec.display import hook
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import SettingsError

if TYPE_CHECKING:
    from rmlp.data.split import Splits

__all__ = ["RunResult", "TrainConfig", "TrainEvent", "finish_run", "fit_run", "preflight", "record_failure",
           "seed_everything", "train"]


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

    def _ipython_display_(self) -> None:
        """In a notebook: status, test metrics and notices, then the loss and metric curves."""
        hook("show_run")(self)


# ----------------------------------------------------------------------------- small helpers
def _has_rows(data: Splits, split: str) -> bool:
    x = getattr(data, f"x_{split}", None)
    return x is not None and len(x) > 0


def seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(int(seed))


def _validation(data: Splits) -> tuple[Any, Any] | None:
    return (data.x_val, data.y_val) if _has_rows(data, "val") else None


def _held_out(data: Splits, trained_on_val: bool = False) -> str | None:
    """The split a model is scored on: test, else validation (unless the model trained on it), else none."""
    if _has_rows(data, "test"):
        return "test"
    return "val" if _has_rows(data, "val") and not trained_on_val else None


@dataclass
class _Fitted:
    """What a fit left behind for :func:`finish_run`."""

    events: Any
    checkpoints: Any
    guard: Any = None

    def check(self, spec: ModelSpec) -> None:
        """Raise :class:`TrainingDiverged` when the loss stopped being a number."""
        if self.guard is not None and self.guard.diverged:
            epoch, batch = self.guard.where
            kept = self.checkpoints.saved_epoch
            tail = (f" The run folder keeps the checkpoint of epoch {kept}." if kept else
                    " No epoch finished, so there is no checkpoint to resume from.")
            raise TrainingDiverged(divergence_message(self.guard.bad_loss, epoch, batch) + tail,
                                   divergence_fix(spec), path="optimizer.learning_rate")


def fit_run(model: Any, spec: ModelSpec, data: Splits, config: TrainConfig, run: RunDir, state: RunState,
         listener: Listener | None, stop_event: threading.Event | None, initial_epoch: int,
         begin_message: str = "") -> _Fitted:
    """model.fit with the run's callbacks."""

    from rmlp.runs import callbacks as cb

    recipe = make_recipe(spec, config, data)
    monitor = state.monitor = recipe.monitor
    guard = cb.RunGuard(stop_event)
    events = cb.EventCallback(listener, stop_event, batch_events_every=config.batch_events_every,
                              initial_epoch=initial_epoch, begin_message=begin_message, guard=guard,
                              first_score_epoch=_first_score_epoch(config, initial_epoch))
    disk_best, disk_best_epoch = state.best_checkpoint or (None, 0)
    checkpoints = cb.Checkpoints(run.checkpoints, monitor, budget=config.checkpoint_budget,
                                 restore_best=config.restore_best, best=disk_best,
                                 best_epoch=int(disk_best_epoch or 0), saved_epoch=initial_epoch, guard=guard)
    # Order matters: the guard's verdict (a NaN loss, an epoch cut short) comes first; the learning
    # rate is logged after it changes; the checkpoint epoch is known before the history row and
    # state.json are written.
    callbacks: list[Any] = [guard, cb.ValidationScore(), *recipe.callbacks(run_state=state)]
    if config.tensorboard and (board := tensorboard_callback(run.tensorboard)) is not None:
        callbacks.append(board)
    callbacks += [checkpoints, cb.HistoryCSV(run.history_file, guard),
                  cb.RunStateWriter(run.file(RunDir.STATE), state, monitor, checkpoints, guard), events]
    rows = member_rows(spec, config, data)
    # A table's run takes a few hundred to a thousand small steps: optimising the graphs (Grappler) costs
    # more than it saves there (a tenth of a run on a few hundred rows). A base model's convolutions keep it.
    with quick_graphs() if spec.base_model is None else contextlib.nullcontext():
        feed.fit(model, rows.x, rows.y, batch_size=recipe.batch_size, sample_weight=rows.weight,
                 validation=rows.validation, held_out=rows.held_out, seed=recipe.seed + initial_epoch,
                 epochs=recipe.epochs, initial_epoch=initial_epoch, callbacks=callbacks)
    return _Fitted(events, checkpoints, guard)


def _first_score_epoch(config: TrainConfig, initial_epoch: int) -> int:
    """The epoch whose validation score is announced as the first one: the 3rd, or a tenth of the way into a
    run of fewer than 30 epochs (at least the 1st); none when a run resumes."""
    if initial_epoch > 0:
        return 0
    return min(3, max(config.n_epochs // 10, 1))


def _test_metrics(model: Any, spec: ModelSpec, data: Splits, batch_size: int, split: str | None) -> dict[str, Any]:
    """Loss and the sklearn metrics on the held-out ``split`` (none: no metrics)."""
    import keras

    from rmlp.keras.evaluate import metrics_for, predict

    if split is None:
        return {}
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    pred = predict(model, x, batch_size=max(batch_size, 256))
    loss_fn, weight = make_loss(spec)
    loss = weight * float(keras.ops.mean(loss_fn(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(pred))))
    out: dict[str, Any] = {"split": split, "n": int(len(x)), "loss": loss}
    out.update(metrics_for(y, pred, getattr(data, "task", spec.task), getattr(data, "class_names", None)))
    return out


def _train_baseline(spec: ModelSpec, data: Splits, config: TrainConfig, run: RunDir, residual_params: int,
                    listener: Listener | None, stop_event: threading.Event | None) -> dict[str, Any]:
    """Train the plain-MLP baseline on the same split and settings; its figures for baseline.json."""

    from rmlp.runs.callbacks import EventCallback, ValidationScore

    plan = baseline_plan(spec)
    recipe = make_recipe(spec, config, data)
    seed_everything(recipe.seed)
    with strategy_scope(config.multi_gpu):
        model = build_baseline(spec, plan, **recipe.compile_kwargs())
    events = EventCallback(listener, stop_event, epoch_kind="baseline_epoch", emit_begin=False)
    callbacks: list[Any] = [ValidationScore(), *recipe.callbacks(keep_best_weights=True), events]
    hist = feed.fit(model, data.x_train, data.y_train, batch_size=recipe.batch_size, validation=_validation(data),
                    seed=recipe.seed, epochs=recipe.epochs, callbacks=callbacks)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out = {
        "params": int(model.count_params()),
        "residual_params": int(residual_params),
        "plan": plan.to_dict(),
        "history": history,
        "epochs_run": len(next(iter(history.values()), [])),
        "stopped": events.stopped,
        "test_metrics": _test_metrics(model, spec, data, config.n_batch, _held_out(data)),
    }
    run.write_json(RunDir.BASELINE, out)
    return out


def finish_run(model: Any, spec: ModelSpec, data: Splits, config: TrainConfig, run: RunDir, state: RunState,
            fitted: _Fitted, listener: Listener | None, stop_event: threading.Event | None, epochs_before: int,
            notices: list[str]) -> RunResult:
    """After fit: save the final model, evaluate, optionally train the baseline, close the run."""
    events, ckpt = fitted.events, fitted.checkpoints
    fitted.check(spec)
    stopped = bool(events.stopped or (stop_event is not None and stop_event.is_set()))
    # The model in memory holds exactly the weights of best.keras (restored) or of last.keras.
    final = ckpt.best_path if ckpt.restore_best and ckpt.best_epoch and ckpt.best_on_disk else ckpt.last_path
    if spec.ensemble > 1:  # the checkpoints hold the members side by side; model.keras averages them

        model = average_members(model)
        model.save(run.model)  # without an optimizer: a model that predicts
        compile_model(model, spec)
    else:
        shutil.copyfile(final, run.model)
    metrics = _test_metrics(model, spec, data, config.n_batch, _held_out(data, uses_folds(spec, config, data)))
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
        message=_end_message(stopped, done, config.n_epochs, state.stopped_early, state.model_epoch)))
    return RunResult(run_dir=run.path, model=model, history=run.history(), test_metrics=metrics, stopped=stopped,
                     baseline=baseline, epochs_run=done - epochs_before, status=state.status, spec=spec,
                     config=config, notices=notices)


def _end_message(stopped: bool, done: int, planned: int, early: bool, kept_epoch: int | None = None) -> str:
    """How a run ended, in words: "Stopped after 3 of 40 epochs.", "Finished early after 16 of 40 epochs: …",
    with the epoch whose model is kept when that is not the last one."""
    of = f" of {planned}" if planned and done != planned else ""
    epochs = f"{done}{of} epoch{'s' if (planned if of else done) != 1 else ''}"
    kept = f"; the model of epoch {kept_epoch} is kept" if kept_epoch else ""
    if stopped:
        return f"Stopped after {epochs}." if done else "Stopped during the first epoch: no epoch finished."
    if early:
        return f"Finished early after {epochs}: the validation score stopped improving{kept}."
    return f"Finished after {epochs}{kept}."


def record_failure(run: RunDir | None, state: RunState, exc: BaseException, listener: Listener | None) -> None:
    if run is not None and run.path.is_dir():
        state.status, state.error = "failed", f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TrainingError):
            state.notices = [*state.notices, str(exc)]
        state.touch()
        with contextlib.suppress(OSError):
            run.write_json(RunDir.STATE, state.to_dict())
    emit(listener, TrainEvent("error", epoch=state.epochs_done, message=f"{type(exc).__name__}: {exc}"))


def _stop_asked(stop_event: threading.Event | None) -> bool:
    return stop_event is not None and stop_event.is_set()


def _not_begun(run: RunDir | None, state: RunState, spec: ModelSpec, config: TrainConfig, notices: list[str],
               listener: Listener | None) -> RunResult:
    """A run stopped before its first batch: its folder (when made) marked stopped, a 'stopped' event."""
    message = "Stopped before training began."
    if run is not None:
        state.status, state.notices = "stopped", [*state.notices, message]
        state.touch()
        run.write_json(RunDir.STATE, state.to_dict())
    emit(listener, TrainEvent("stopped", epochs=config.n_epochs, message=message))
    return RunResult(run_dir=run.path if run is not None else Path(config.runs_dir), model=None, history={},
                     test_metrics={}, stopped=True, status="stopped", spec=spec, config=config,
                     notices=[*notices, message])


def _checked(config: TrainConfig) -> TrainConfig:
    """The config when every setting fits (one built with ``model_construct`` may not)."""
    found = [p for p in config.problems() if p.severity == "error"]
    if found:
        raise SettingsError(found, what=TrainConfig.what)
    return config


# ----------------------------------------------------------------------------- train and resume
def preflight(spec: ModelSpec | dict[str, Any], data: Splits,
              config: TrainConfig | None = None) -> tuple[ModelSpec, TrainConfig, list[str]]:
    """Everything :func:`train` checks before it builds anything, without TensorFlow.

    Returns the spec fitted to the data, the config sized to it and the notices saying what changed.
    Raises on a design with errors (SpecError), an unusable runs folder, data without training rows
    and a design too big for the memory available (:class:`~rmlp.runs.limits.TooBigForMemory`).
    """

    config = _checked(config or TrainConfig())
    check_runs_dir(config.runs_dir)
    spec = check_buildable(spec)
    spec, fit_notices = spec_for_data(spec, data)
    notices = [str(n) for n in fit_notices]
    rows = rows_fitted(spec, config, data) if _has_rows(data, "train") else 0
    on_folds = uses_folds(spec, config, data)
    config, size_notices = config.sized(rows, budget_for(spec.ensemble, spec.ensemble_layout),
                                        "training and validation rows" if on_folds else "training rows")
    notices += size_notices
    if on_folds:
        k = spec.ensemble
        notices.append(f"Ensemble members on folds: the {rows} training and validation rows "
                       f"are split into {k} folds; each member trains on {k - 1} of them and is validated on its "
                       "own, so early stopping watches an out-of-fold score"
                       + (" and the run is scored on the test rows." if _has_rows(data, "test") else
                          "; there are no test rows, so the run reports no held-out metrics."))
    if config.multi_gpu and (gpus := gpu_count()) < 2:
        notices.append(f"Multi-GPU training needs more than one GPU ({gpus} visible); training on one device.")
    if not _has_rows(data, "train"):
        raise ValueError("The data has no training rows. Load a table or image set with more rows.")
    if config.memory_check and not gpu_present():
        check_memory(spec, config.n_batch)
    return spec, config, notices


def train(spec: ModelSpec | dict[str, Any], data: Splits, config: TrainConfig | None = None,
          listener: Listener | None = None, stop_event: threading.Event | None = None,
          data_source: Mapping[str, Any] | None = None, display: bool = False) -> RunResult:
    """Build, fit, checkpoint, evaluate and save a model for ``spec`` on ``data``, in this thread.

    The spec is first fitted to the data (input shape, task, outputs: :func:`rmlp.data.spec_for_data`);
    what changed is in ``RunResult.notices`` and state.json. ``data_source`` says how to reload the
    data for :func:`resume` (``{"kind": "table", "path": ..., "target": ..., "task": ..., "seed": ...,
    "val_size": ..., "test_size": ...}``); without it the data's own ``load_args`` are used.
    Raises what went wrong after recording it (state.json ``failed``, an ``error`` event). A stop
    asked before the first batch ends the run there (``model`` None, the folder, if made, stopped).
    ``display=True`` (in a notebook) draws live curves, a progress bar and a Stop button in the
    running cell; the fit then runs in a worker thread, and the kernel's interrupt stops it cleanly.
    """
    if display:
        result: RunResult = hook("train_live")(spec, data, config, listener, stop_event, data_source)
        return result
    run: RunDir | None = None
    state = RunState(epochs=(config or TrainConfig()).n_epochs)
    try:
        spec, config, notices = preflight(spec, data, config)
        state.epochs = config.n_epochs
        if _stop_asked(stop_event):
            return _not_begun(None, state, spec, config, notices, listener)
        import keras


        keras.backend.clear_session()
        if _stop_asked(stop_event):  # asked during TensorFlow's import: no run folder is made
            return _not_begun(None, state, spec, config, notices, listener)
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
        seed_everything(config.seed)
        with strategy_scope(config.multi_gpu):
            model = compile_model(members_model(build_uncompiled(spec)), spec,
                                  **make_recipe(spec, config, data).compile_kwargs())
        if _stop_asked(stop_event):
            return _not_begun(run, state, spec, config, notices, listener)
        fitted = fit_run(model, spec, data, config, run, state, listener, stop_event, initial_epoch=0)
        return finish_run(model, spec, data, config, run, state, fitted, listener, stop_event, 0, notices)
    except BaseException as exc:
        record_failure(run, state, exc, listener)
        raise
