"""The Keras callbacks of a training run: events and stop, history rows, checkpoints, the run state.

Imported only when a run trains (it imports Keras at the top); :mod:`rmlp.runs.train` wires them.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import keras

from rmlp.runs.events import EventKind, Listener, TrainEvent, emit, float_logs
from rmlp.runs.folder import RunDir, write_json
from rmlp.runs.state import RunState

__all__ = ["Checkpoints", "EventCallback", "HistoryCSV", "ResumableEarlyStopping", "RunGuard", "RunStateWriter"]


def _finite(value: Any) -> float | None:
    """A logged value as a float, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _sync(path: Path) -> None:
    """Flush a written file to disk (before it is renamed over the previous one)."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


class EventCallback(keras.callbacks.Callback):
    """Turns Keras callbacks into :class:`TrainEvent`s and a stop Event into ``stop_training``.

    Batch events are throttled to one per ``batch_events_every`` seconds; the stop flag is
    checked after every batch. ``epoch_kind`` names epoch events ("epoch" or "baseline_epoch").
    The time left (``eta_s``) comes from finished epochs only: the low median of the first epoch's
    batches after its first (which traces TensorFlow's step function) and the later epochs; None
    until an epoch is done.
    """

    def __init__(self, listener: Listener | None = None, stop_event: threading.Event | None = None, *,
                 batch_events_every: float = 0.5, initial_epoch: int = 0, epoch_kind: EventKind = "epoch",
                 emit_begin: bool = True, begin_message: str = "", guard: RunGuard | None = None,
                 first_score_epoch: int = 0) -> None:
        super().__init__()
        self.begin_message = begin_message
        #: The epoch (from 1) whose event carries the first validation score as a message; 0: none.
        self.first_score_epoch = first_score_epoch
        self.guard = guard
        self.listener = listener
        self.stop_event = stop_event
        self.batch_events_every = batch_events_every
        self.initial_epoch = initial_epoch
        self.epoch_kind = epoch_kind
        self.emit_begin = emit_begin
        self.stopped = False
        self.last_epoch = initial_epoch  # epochs done
        self.started = 0.0
        self._last_emit = 0.0
        self._epoch = 0
        self._epochs = 0
        self._steps = 0
        self._epoch_t0 = 0.0
        self._first_batch_end = 0.0  # when this epoch's first batch ended
        self._last_batch_end = 0.0
        self._batches_done = 0
        self._epoch_s: list[float] = []  # seconds of each finished epoch of this fit
        self._steady_first = 0.0  # the first epoch's time without its start-up

    def epoch_seconds(self) -> float | None:
        """What one epoch takes, from finished epochs (None before one is done).

        The samples are the first epoch's steady time and every later epoch; their low median
        (the lower of two) lets one slow epoch, a pause of the machine, not set the estimate.
        """
        if not self._epoch_s:
            return None
        samples = ([self._steady_first] if self._steady_first else []) + self._epoch_s[1:]
        return statistics.median_low(samples) if samples else self._epoch_s[0]

    def _progress(self, done: float) -> tuple[float, float | None, float]:
        """(elapsed, eta, progress) when ``done`` epochs (fractional) are complete."""
        elapsed = time.perf_counter() - self.started
        total = max(self._epochs, 1)
        per_epoch = self.epoch_seconds()
        eta = per_epoch * max(self._epochs - done, 0.0) if per_epoch is not None else None
        return elapsed, eta, min(max(done / total, 0.0), 1.0)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.started = self._last_emit = time.perf_counter()
        self._epochs = int(self.params.get("epochs") or 0)
        self._steps = int(self.params.get("steps") or 0)
        if self.emit_begin:
            emit(self.listener, TrainEvent(
                "train_begin", epoch=self.initial_epoch, epochs=self._epochs, batches=self._steps,
                progress=self.initial_epoch / max(self._epochs, 1), message=self.begin_message))

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._epoch_t0 = time.perf_counter()
        self._batches_done = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            self.model.stop_training = True
            self.stopped = True
        now = time.perf_counter()
        if self._batches_done == 0:
            self._first_batch_end = now
        self._last_batch_end, self._batches_done = now, batch + 1
        if self.listener is None or self.epoch_kind != "epoch":
            return
        if now - self._last_emit < self.batch_events_every:
            return
        self._last_emit = now
        steps = self._steps or batch + 1
        elapsed, eta, progress = self._progress(self._epoch + (batch + 1) / steps)
        emit(self.listener, TrainEvent(
            "batch", epoch=self._epoch + 1, epochs=self._epochs, batch=batch + 1, batches=self._steps,
            logs=float_logs(logs), elapsed_s=elapsed, eta_s=eta, progress=progress))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if _cut_short(self.guard):  # not a finished epoch: nothing to show for it
            return
        self.last_epoch = epoch + 1
        self._time_epoch()
        elapsed, eta, progress = self._progress(epoch + 1)
        message = "stopped during this epoch" if self.stopped else ""
        if not message and epoch + 1 == self.first_score_epoch:
            message = first_score_message(epoch + 1, elapsed, logs)
        emit(self.listener, TrainEvent(
            self.epoch_kind, epoch=epoch + 1, epochs=self._epochs, batch=self._steps, batches=self._steps,
            logs=float_logs(logs), elapsed_s=elapsed, eta_s=eta, progress=progress, message=message))

    def _time_epoch(self) -> None:
        """Record the epoch that just ended; for the first, also its time without the start-up.

        The first batch of a fit traces the training step and the first validation traces the
        evaluation step, so the first epoch's steady time is its later batches scaled to the epoch.
        """
        now = time.perf_counter()
        if not self._epoch_s and self._batches_done > 1:
            per_batch = (self._last_batch_end - self._first_batch_end) / (self._batches_done - 1)
            self._steady_first = per_batch * (self._steps or self._batches_done)
        self._epoch_s.append(now - self._epoch_t0)


def first_score_message(epoch: int, elapsed_s: float, logs: dict | None) -> str:
    """'First score after 3 epochs (4 s): validation accuracy 0.93' from an epoch's logs ("" without one)."""
    logs = logs or {}
    for key, words in (("val_accuracy", "validation accuracy"), ("val_rmse", "validation RMSE"),
                       ("val_loss", "validation loss")):
        value = logs.get(key)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        return (f"First score after {epoch} epoch{'s' if epoch != 1 else ''} ({elapsed_s:.0f} s): {words} "
                f"{number:.4g}; training goes on and keeps the best epoch.")
    return ""


class RunGuard(keras.callbacks.Callback):
    """Stops training at the batch whose loss is NaN or infinite (as Keras's ``TerminateOnNaN``), or on request.

    Knows whether the epoch that ended was cut short (``partial``): such an epoch is not a finished
    one, so the run's callbacks do not write it to history.csv, state.json or a checkpoint, and a
    resume trains it again. Goes first in the callback list, so the others see its verdict.
    """

    def __init__(self, stop_event: threading.Event | None = None) -> None:
        super().__init__()
        self.stop_event = stop_event
        self.diverged = False
        self.stopped = False
        self.partial = False
        self.bad_loss = float("nan")
        self.where = (0, 0)  # (epoch, batch) from 1 where the loss stopped being a number
        self._epoch = 0
        self._steps = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._steps = int(self.params.get("steps") or 0)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self.partial = epoch, False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        value = float(loss) if loss is not None else 0.0
        if not math.isfinite(value):
            self.diverged = self.partial = self.model.stop_training = True
            self.bad_loss, self.where = value, (self._epoch + 1, batch + 1)
        elif self.stop_event is not None and self.stop_event.is_set():
            self.stopped = self.model.stop_training = True
            self.partial = not (self._steps and batch + 1 >= self._steps)


def _cut_short(guard: RunGuard | None) -> bool:
    return guard is not None and guard.partial


class ValidationScore(keras.callbacks.Callback):
    """Adds ``val_score`` to the epoch logs: the validation error rate, ties broken by the validation loss.

    Lower is better. A classifier is kept for what it gets right, not for the confidence of its
    loss; of two epochs with the same accuracy the one with the lower loss wins. The loss enters
    squashed into [0, 1) and weighted by 1e-4, so it never outvotes one row of a validation split
    under 10,000 rows.
    """

    NAME = "val_score"
    TIE_WEIGHT = 1e-4

    @classmethod
    def of(cls, accuracy: Any, loss: Any) -> float | None:
        """The score of a validation accuracy and loss (None without a finite accuracy)."""
        accuracy, loss = _finite(accuracy), _finite(loss)
        if accuracy is None:
            return None
        tie = 0.0 if loss is None or loss < 0 else loss / (1.0 + loss)
        return (1.0 - accuracy) + cls.TIE_WEIGHT * tie

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        score = self.of(logs.get("val_accuracy"), logs.get("val_loss"))
        if score is not None:
            logs[self.NAME] = score


class HistoryCSV(keras.callbacks.Callback):
    """Appends one row per epoch to a CSV file (``epoch`` from 1) and flushes it at once.

    On resume the existing header is kept, so the columns stay aligned. Keras's
    ``CSVLogger(append=True)`` does not do this job: it counts epochs from 0, takes its columns from
    the first epoch it sees rather than the file's header (a resumed run that logs another column
    would shift every value after it), and writes the epoch a stop or a NaN cut short.
    """

    def __init__(self, path: str | Path, guard: RunGuard | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.guard = guard
        self._fh: Any = None
        self._writer: csv.DictWriter | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        fields: list[str] | None = None
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open(newline="", encoding="utf-8") as fh:
                fields = next(csv.reader(fh), None) or None
        self._fh = self.path.open("a", newline="", encoding="utf-8")
        self._writer = None
        if fields:
            self._writer = csv.DictWriter(self._fh, fieldnames=fields, extrasaction="ignore", restval="")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if _cut_short(self.guard):
            return
        values = float_logs(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._fh, fieldnames=["epoch", *sorted(values)],
                                          extrasaction="ignore", restval="")
            self._writer.writeheader()
        self._writer.writerow({"epoch": epoch + 1, **{k: repr(v) for k, v in values.items()}})
        self._fh.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

class Checkpoints(keras.callbacks.Callback):
    """Writes checkpoints/last.keras and checkpoints/best.keras, so a crash loses little training.

    last.keras is rewritten after an epoch when checkpoint writing so far (plus one more write)
    stays within ``budget`` of the training time (cheap saves: every epoch), and also whenever
    waiting for the next epoch would leave more than ``max_lost_s`` seconds of training unsaved;
    so a crash loses at most max(one epoch, ``max_lost_s``). It is always written when training
    ends, except after a diverged batch (the last good checkpoint stays) or after an epoch cut
    short on request when the finished epoch is already saved. Files are written to a temporary
    name in the same folder, flushed to disk and renamed, so a crash never leaves a broken
    checkpoint. Epochs that a :class:`RunGuard` says were cut short are not saved. best.keras holds
    the epoch with the lowest ``monitor`` value (a copy of last.keras when that epoch was just
    saved, else written from weights kept in memory). With ``restore_best`` the model ends
    with the best epoch's weights.
    """

    #: The most seconds of training a crash may lose, beyond one epoch.
    MAX_LOST_S = 10.0

    def __init__(self, folder: Path, monitor: str, budget: float = 0.01, restore_best: bool = False,
                 best: float | None = None, best_epoch: int = 0, saved_epoch: int = 0,
                 guard: RunGuard | None = None, max_lost_s: float = MAX_LOST_S) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.monitor = monitor
        self.budget = budget
        self.guard = guard
        self.max_lost_s = max_lost_s
        self.restore_best = restore_best
        self.best = best
        self.best_epoch = best_epoch  # counts from 1; 0: none yet
        self.best_weights: list | None = None  # best epoch's weights when not on disk or not current
        self.best_on_disk = best_epoch > 0
        self.disk_best = (best, best_epoch)  # (value, epoch) of the weights in best.keras
        self.saved_epoch = saved_epoch  # epoch held by last.keras
        self.epoch = saved_epoch  # epochs done
        self.save_s = 0.0
        self.saves = 0
        self._last_save_s = 0.0
        self._t0 = 0.0
        self._unsaved_from = 0.0  # when the training not yet in last.keras began
        self._epoch_start = 0.0
        self._epoch_s = 0.0  # how long the last epoch took
        self.restored = False

    @property
    def last_path(self) -> Path:
        return self.folder / RunDir.LAST

    @property
    def best_path(self) -> Path:
        return self.folder / RunDir.BEST

    def _save(self, target: Path) -> None:
        start = time.perf_counter()
        tmp = target.with_name(f".{target.stem}.tmp.keras")
        self.model.save(tmp)
        _sync(tmp)
        os.replace(tmp, target)
        self._last_save_s = time.perf_counter() - start
        self.save_s += self._last_save_s
        self.saves += 1

    def _copy_last_to_best(self) -> None:
        tmp = self.best_path.with_name(".best.tmp.keras")
        shutil.copyfile(self.last_path, tmp)
        _sync(tmp)
        os.replace(tmp, self.best_path)
        self.best_on_disk = True
        self.disk_best = (self.best, self.best_epoch)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._t0 = self._unsaved_from = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def _due(self) -> bool:
        """Whether to write last.keras now: cheap enough for the budget, or the next epoch would lose too much."""
        now = time.perf_counter()
        within_budget = self.save_s + self._last_save_s <= self.budget * (now - self._t0)
        return within_budget or (now - self._unsaved_from) + self._epoch_s > self.max_lost_s

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if _cut_short(self.guard):
            return
        self._epoch_s = time.perf_counter() - self._epoch_start if self._epoch_start else 0.0
        self.epoch = epoch + 1
        value = _finite((logs or {}).get(self.monitor))
        improved = value is not None and (self.best is None or value < self.best)
        if improved:
            self.best, self.best_epoch, self.best_on_disk = value, self.epoch, False
            self.best_weights = None
        if self._due():
            self._save(self.last_path)
            self.saved_epoch = self.epoch
            self._unsaved_from = time.perf_counter()
            if improved:
                self._copy_last_to_best()
        if improved and (not self.best_on_disk or self.restore_best):
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: dict | None = None) -> None:
        diverged = self.guard is not None and self.guard.diverged
        if not diverged and (self.epoch > self.saved_epoch or not self.last_path.is_file()):
            self._save(self.last_path)
            self.saved_epoch = self.epoch
        elif _cut_short(self.guard) and not diverged:
            self.model.load_weights(self.last_path)  # back to the finished epoch's weights, as saved
        if self.best_epoch and not self.best_on_disk:
            if self.best_epoch == self.epoch:
                self._copy_last_to_best()
            elif self.best_weights is not None:
                current = self.model.get_weights()
                self.model.set_weights(self.best_weights)
                self._save(self.best_path)
                self.best_on_disk = True
                self.disk_best = (self.best, self.best_epoch)
                if not self.restore_best:
                    self.model.set_weights(current)
        if self.restore_best and self.best_epoch and self.best_epoch != self.epoch:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            else:  # the best epoch is from before a resume: only on disk
                self.model.load_weights(self.best_path)
            self.restored = True

class RunStateWriter(keras.callbacks.Callback):
    """Keeps state.json current after every epoch: epochs done, checkpoint epoch, best value, wait."""

    def __init__(self, path: Path, state: RunState, monitor: str, checkpoints: Checkpoints | None = None,
                 guard: RunGuard | None = None) -> None:
        super().__init__()
        self.path = path
        self.state = state
        self.monitor = monitor
        self.checkpoints = checkpoints
        self.guard = guard

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if _cut_short(self.guard):
            return
        self.state.record_epoch(epoch + 1, _finite((logs or {}).get(self.monitor)), float_logs(logs))
        if self.checkpoints is not None:
            self.state.checkpoint_epoch = self.checkpoints.saved_epoch
            self.state.checkpoint_seconds = round(self.checkpoints.save_s, 4)
            self.state.best_checkpoint = list(self.checkpoints.disk_best)
        write_json(self.path, self.state.to_dict())


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that can start from a previous best value and wait count (after a resume)."""

    def __init__(self, *args: Any, initial_best: float | None = None, initial_wait: int = 0,
                 initial_best_epoch: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._initial = (initial_best, initial_wait, initial_best_epoch)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        best, wait, best_epoch = self._initial
        if best is not None:
            self.best, self.wait, self.best_epoch = best, wait, best_epoch
