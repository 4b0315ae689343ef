"""The Keras part of a search: one Optuna trial = sample a spec, check caps, build, train, score.

This is the only module of :mod:`rmlp.search` that imports Keras (lazily, inside a trial). A trial
clears Keras state, builds a fresh model (and so a fresh base model) from its sampled spec,
reports the validation metric each epoch to the pruner, and stores on the trial:

* user attributes ``spec`` (the full spec JSON), ``batch_size``, ``params``, ``memory_mb``,
  ``seconds``, ``epochs``, ``worker`` (``host:pid``), ``folds`` (members scored out of fold, 1 for
  the validation split), ``metric`` (the best validation value) and,
  for a sample stopped by a cap, ``rejected_by`` (``params_cap`` / ``memory_cap``);
* its value(s): the best validation metric over the epochs, or (metric, parameter count) with
  two objectives.

An ensemble design (with ``SearchConfig.ensemble_folds``, the default) trains its members on folds of
the pooled training and validation rows, as a training run does, so its metric is an out-of-fold
score over all those rows; on a small table that ranks designs far more reliably than the few dozen
rows of the validation split. Otherwise a trial trains one member and scores it on the validation rows.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmlp.data import spec_for_data
from rmlp.design.summary import DEFAULT_BATCH_SIZE, Summary, summarize
from rmlp.keras import feed
from rmlp.keras.build import build_model, build_uncompiled, compile_model, members_model
from rmlp.keras.fused import fuse_adam
from rmlp.keras.metrics import make_metrics, metric_names
from rmlp.keras.quick import quick_graphs, quick_variables, reset_keras
from rmlp.runs.config import TrainConfig
from rmlp.runs.folds import member_rows, uses_folds
from rmlp.runs.limits import available_memory_bytes, divergence_fix, divergence_message, gib, memory_check
from rmlp.runs.recipe import make_recipe
from rmlp.runs.tensorboard import tensorboard_callback
from rmlp.search.config import SearchConfig
from rmlp.search.sampling import sample_spec
from rmlp.search.space import SearchSpace
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits


class SearchStopped(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a trial when the user asked the search to stop."""


class MetricError(ValueError):
    """The metric to optimise is not logged by Keras for this task."""


class TrialFailure(Exception):
    """A trial that failed on its own (e.g. training diverged); the search goes on."""


#: The search's default metric: the validation error rate, ties broken by the cross-entropy without label
#: smoothing, for classification (as a training run keeps its best epoch); the validation loss for regression.
SCORE = "val_score"
#: The name a trial logs the plain cross-entropy under, beside a smoothed training loss.
_LOG_LOSS = "log_loss"


def search_metrics(spec: ModelSpec) -> list[str]:
    """The metrics a search can optimise for ``spec``: the score, then the validation metrics Keras logs."""
    return [SCORE, *metric_names(spec)]


def check_metric(spec: ModelSpec, metric: str) -> None:
    """Raise :class:`MetricError` with the offered names when ``metric`` is not logged."""
    names = search_metrics(spec)
    if metric not in names:
        raise MetricError(f"The metric {metric!r} is not logged for a {spec.task} task. "
                          f"Use one of: {', '.join(names)}.")


def worker_id() -> str:
    """``host:pid`` of this process, as stored in each trial's ``worker`` attribute."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _mib(n: float) -> float:
    return round(n / 2**20, 1)


def check_caps(trial: Any, spec: ModelSpec, batch_size: int, space: SearchSpace) -> Summary:
    """Record size figures on the trial; raise TrialPruned (``rejected_by``) when a cap is exceeded."""
    import optuna

    summary = summarize(spec, batch_size)
    trial.set_user_attr("params", int(summary.total_params))
    trial.set_user_attr("memory_mb", _mib(summary.peak_training_bytes))
    if space.max_params is not None and summary.total_params > space.max_params:
        trial.set_user_attr("rejected_by", "params_cap")
        raise optuna.TrialPruned(f"{summary.total_params:,} parameters, above the cap of {space.max_params:,}.")
    if space.max_memory_mb is not None and summary.peak_training_bytes > space.max_memory_mb * 2**20:
        trial.set_user_attr("rejected_by", "memory_cap")
        raise optuna.TrialPruned(f"about {_mib(summary.peak_training_bytes):,.0f} MiB to train, above the cap "
                                 f"of {space.max_memory_mb:,.0f} MiB.")
    check = memory_check(spec, batch_size, available_memory_bytes())
    if check is not None and not check.fits:  # the same estimate and limit a training run refuses on
        trial.set_user_attr("rejected_by", "memory_cap")
        raise optuna.TrialPruned(f"about {gib(check.needed)} to train at batch size {batch_size}, more than the "
                                 f"{gib(check.available)} of memory available on this machine.")
    return summary


def _trial_callback(trial: Any, config: SearchConfig, stop_event: Any, trial_spec: ModelSpec | None = None) -> Any:
    import keras
    import optuna

    report = not config.two_objectives  # epochs reported show progress, and let a pruner act

    class TrialCallback(keras.callbacks.Callback):
        """Reports the metric each epoch (pruning), stops on request, optionally throttles."""

        def __init__(self) -> None:
            super().__init__()
            self.stopped = False
            self.values: list[float] = []

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("loss")
            value = float(loss) if loss is not None else 0.0
            if not math.isfinite(value):  # as TerminateOnNaN, but the trial fails with the reason
                self.model.stop_training = True
                raise TrialFailure(f"{divergence_message(value, len(self.values) + 1, batch + 1)} "
                                   f"{divergence_fix(trial_spec)}")
            if stop_event is not None and stop_event.is_set():
                self.model.stop_training = True
                self.stopped = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = {} if logs is None else logs
            if config.metric == SCORE:  # written into the logs, where early stopping reads it next
                logs[SCORE] = trial_score(logs, trial_spec)
            if config.metric not in logs:
                raise MetricError(f"Keras did not log {config.metric!r}; it logged "
                                  f"{', '.join(sorted(logs))}.")
            value = float(logs[config.metric])
            self.values.append(value)
            if config.throttle_s:
                time.sleep(config.throttle_s)
            if not math.isfinite(value):
                raise TrialFailure(f"{config.metric} became {value} at epoch {epoch + 1} (training diverged).")
            if report:
                trial.report(value, epoch)
                if trial.should_prune():
                    trial.set_user_attr("epochs", epoch + 1)
                    raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({config.metric} = {value:.4g}).")

    return TrialCallback()


def trial_training(config: SearchConfig, batch_size: int) -> TrainConfig:
    """The training settings of a trial: the search's epochs, batch, stopping and folds; a run's defaults
    (schedule, warm-up, ...) for the rest, so a new training setting reaches trials by its default."""
    return TrainConfig(epochs=config.n_epochs, batch_size=int(batch_size), early_stopping=config.early_stopping,
                       patience=config.patience, min_epochs=0, restore_best=False,
                       ensemble_folds=config.ensemble_folds, seed=int(config.seed))


def train_trial(trial: Any, spec: ModelSpec, batch_size: int, data: Splits, config: SearchConfig,
                stop_event: Any = None) -> float:
    """Build a fresh model for ``spec``, train it with pruning reports; the best validation value."""
    import keras


    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes between trials
    # Keras state reset without its full garbage collection (about 0.3 s, a tenth of a short trial)
    # and keeping TensorFlow's kernels; the last trial's model is freed by Python's own collector.
    reset_keras()
    keras.utils.set_random_seed(int(config.seed) + int(getattr(trial, "number", 0) or 0))
    # An ensemble on folds is trained as a run trains it and scored out of fold over the pooled rows; without
    # folds one member is enough to rank the design (the promoted run trains them all).
    if spec.ensemble > 1 and not uses_folds(spec, config, data):
        spec = spec.copy_with(ensemble=1)
    rows = member_rows(spec, config, data)
    recipe = make_recipe(spec, trial_training(config, batch_size), data, monitor=config.metric,
                         goal=config.resolved_direction())
    trial.set_user_attr("folds", recipe.folds)
    # A fresh model (and base model) every trial, trained on a run's recipe (warm-up and cosine schedule),
    # compiled with only the metrics the search reads: each extra metric lengthens the graph tracing.
    with quick_variables():
        model = compile_model(members_model(build_uncompiled(spec)), spec, metrics=trial_metrics(spec, config.metric),
                              **recipe.compile_kwargs())
        # Adam's update as one kernel per weight: the same steps, a third less graph to trace. (Training
        # runs keep Keras's own update, so the exported training script reproduces them bit for bit.)
        fuse_adam(model.optimizer)
    callback = _trial_callback(trial, config, stop_event, spec)
    callbacks: list[Any] = [callback, *recipe.callbacks()]
    if config.tensorboard_dir:

        board = tensorboard_callback(Path(config.tensorboard_dir) / f"trial-{getattr(trial, 'number', 0)}")
        callbacks += [board] if board is not None else []
    fit_start = time.perf_counter()
    try:
        with quick_graphs():
            feed.fit(model, rows.x, rows.y, batch_size=recipe.batch_size, sample_weight=rows.weight,
                     validation=rows.validation, held_out=rows.held_out, seed=recipe.seed, epochs=recipe.epochs,
                     callbacks=callbacks)
    finally:  # a pruned trial stops inside fit: its time there counts too
        trial.set_user_attr("fit_seconds", round(time.perf_counter() - fit_start, 3))
    if callback.stopped:
        raise SearchStopped("The search was asked to stop.")
    trial.set_user_attr("epochs", len(callback.values))
    if not callback.values:
        raise TrialFailure("No epoch finished.")
    best = max(callback.values) if config.resolved_direction() == "maximize" else min(callback.values)
    return float(best)


def trial_score(logs: dict[str, Any], spec: ModelSpec | None) -> float:
    """The :data:`SCORE` of an epoch's logs (lower is better; NaN when they lack what it needs).

    Classification: the error rate, ties broken by the cross-entropy without label smoothing, so a
    design is not ranked by how much smoothing it chose. Regression: the validation loss.
    """
    from rmlp.runs.callbacks import ValidationScore

    if spec is not None and spec.task == "regression":
        return float(logs.get("val_loss", math.nan))
    score = ValidationScore.of(logs.get("val_accuracy"), logs.get(f"val_{_LOG_LOSS}", logs.get("val_loss")))
    return math.nan if score is None else float(score)


def trial_metrics(spec: ModelSpec, metric: str) -> list[Any]:
    """The compiled metrics a trial needs to log ``metric``: none for the loss, else the task's one of that name.

    The score needs the accuracy and the plain cross-entropy (classification) or nothing (regression).
    """
    import keras


    name = metric.removeprefix("val_")
    if name == "loss" or (metric == SCORE and spec.task == "regression"):
        return []
    if metric == SCORE:
        plain = (keras.metrics.BinaryCrossentropy if spec.task == "binary" else keras.metrics.CategoricalCrossentropy)
        return [*trial_metrics(spec, "val_accuracy"), plain(name=_LOG_LOSS)]
    chosen = [m for m in make_metrics(spec) if getattr(m, "name", "") == name]
    return chosen or make_metrics(spec)


def make_objective(base_spec: ModelSpec, space: SearchSpace, data: Splits, config: SearchConfig,
                   stop_event: threading.Event | Any = None) -> Callable[[Any], float | tuple[float, float]]:
    """The Optuna objective: sample, check caps (before any Keras work), train, score.

    Failures of a single trial (a diverging run, an out-of-memory error) raise
    :class:`TrialFailure`, which the study catches and records; a stop request raises
    :class:`SearchStopped`; a wrong metric name raises :class:`MetricError`.
    """
    import optuna

    def objective(trial: Any) -> float | tuple[float, float]:
        if stop_event is not None and stop_event.is_set():
            raise SearchStopped("The search was asked to stop.")
        trial.set_user_attr("worker", worker_id())
        spec, batch_size = sample_spec(trial, base_spec, space, config.n_batch)
        trial.set_user_attr("spec", spec.to_json(indent=None))
        trial.set_user_attr("batch_size", int(batch_size))
        params = check_caps(trial, spec, batch_size, space).total_params
        start = time.perf_counter()
        try:
            value = train_trial(trial, spec, batch_size, data, config, stop_event)
        except SearchStopped:
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
            trial.set_user_attr("stopped", True)  # FAIL because the user stopped it, not because it broke
            raise
        except TrialFailure as exc:
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
            trial.set_user_attr("error", str(exc)[:2000])
            raise
        except (optuna.TrialPruned, MetricError):
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
            raise
        except Exception as exc:  # noqa: BLE001 - one trial's failure (OOM, NaN) must not end the search
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            raise TrialFailure(f"{type(exc).__name__}: {exc}") from exc
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("metric", value)
        if config.two_objectives:
            return value, float(params)
        return value

    return objective


@dataclass(frozen=True)
class EpochTiming:
    """Measured seconds of a design's first epoch (with graph building) and of a further epoch."""

    first_s: float
    next_s: float
    params: int


def time_epochs(spec: ModelSpec, data: Splits, batch_size: int = DEFAULT_BATCH_SIZE) -> EpochTiming:
    """Train ``spec`` for two epochs on ``data`` and time them (for a search's cost preview)."""
    import keras


    spec, _ = spec_for_data(spec, data)
    keras.backend.clear_session()
    model = build_model(spec)
    marks: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            marks.append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            marks.append(time.perf_counter())

    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=2,
              batch_size=batch_size, verbose=0, callbacks=[Clock()])
    params = int(model.count_params())
    keras.backend.clear_session()
    return EpochTiming(first_s=marks[1] - marks[0], next_s=marks[2] - marks[1], params=params)
