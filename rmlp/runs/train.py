"""Training jobs: events, stop, checkpoints, run folders and resume (UI-agnostic).

:func:`train` builds the model for a spec, fits it on a data object (``x_train``/``y_train``,
``x_val``/``y_val``, ``x_test``/``y_test`` float32 arrays plus ``task`` and ``class_names``, as
:mod:`rmlp.data` makes them), writes a run folder as it goes and evaluates on the test split.
A listener receives :class:`TrainEvent` objects in the training thread; a ``threading.Event``
stops training after the current batch. The app runs this in a worker thread, the CLI in the
foreground; Keras global state is thread-local, so everything Keras happens in the calling thread.

Run folder ``runs/<YYYYmmdd-HHMMSS>-<name>/``::

    spec.json  train_config.json  data.json  versions.json  state.json  preprocessor.json
    history.csv  checkpoints/best.keras  checkpoints/last.keras  model.keras  metrics.json
    baseline.json (with ``baseline=True``)

history.csv gets one flushed row per epoch. checkpoints/last.keras is written after an epoch
while checkpoint writing stays within ``TrainConfig.checkpoint_budget`` of the training time (so
long epochs are all saved, many tiny ones are not) and always at the end; state.json says which
epoch it holds, and :func:`resume` continues from there.

``import rmlp.runs.train`` does not import TensorFlow; the Keras callbacks are made on first use.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import functools
import json
import logging
import math
import os
import platform
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rmlp.spec.model import ModelSpec

log = logging.getLogger(__name__)

EventKind = Literal["train_begin", "batch", "epoch", "train_end", "stopped", "error", "baseline_epoch"]
Listener = Callable[["TrainEvent"], None]

SPEC_FILE = "spec.json"
CONFIG_FILE = "train_config.json"
DATA_FILE = "data.json"
VERSIONS_FILE = "versions.json"
STATE_FILE = "state.json"
PREPROCESSOR_FILE = "preprocessor.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
BASELINE_FILE = "baseline.json"
MODEL_FILE = "model.keras"
BEST_CHECKPOINT = "checkpoints/best.keras"
LAST_CHECKPOINT = "checkpoints/last.keras"


class TrainConfig(BaseModel):
    """How to train: epochs, batch size, callbacks, seed and where the run folder goes."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(20, ge=1, le=100000, title="Epochs", description="Passes over the training rows.")
    batch_size: int = Field(32, ge=1, le=1 << 20, title="Batch size", description="Rows per training step.")
    early_stopping: bool = Field(
        True, title="Early stopping",
        description="Stop when the validation loss has not improved for 'patience' epochs and keep the "
        "weights of the best epoch.")
    patience: int = Field(10, ge=0, le=10000, title="Patience",
                          description="Epochs without a better validation loss before early stopping.")
    reduce_lr: bool = Field(False, title="Reduce learning rate on plateau",
                            description="Halve the learning rate after 3 epochs without a better validation loss.")
    seed: int = Field(0, ge=0, title="Seed", description="Seeds weights, shuffling and dropout: same seed, same run.")
    runs_dir: str = Field("runs", title="Runs folder", description="Folder in which each run gets its own folder.")
    run_name: str = Field("", title="Run name", description="Name of the run folder (empty: the model name).")
    multi_gpu: bool = Field(False, title="Use all GPUs",
                            description="Mirror training over every visible GPU (needs more than one).")
    baseline: bool = Field(False, title="Train a plain-MLP baseline",
                           description="Also train a plain MLP with about the same parameter count on the same "
                           "split, to see what the residual bypasses buy.")
    checkpoint_budget: float = Field(
        0.01, gt=0.0, le=1.0, title="Checkpoint time budget",
        description="Largest share of training time spent writing checkpoints/last.keras: long epochs are "
        "all saved, very short ones only as often as this allows (1: after every epoch). The last epoch "
        "is always saved.")
    batch_events_every: float = Field(
        0.5, ge=0.0, title="Progress updates every (s)",
        description="Least seconds between two batch progress events (0: after every batch).")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.model_validate_json(text)


@dataclass
class TrainEvent:
    """Something that happened during training, for a progress display.

    ``epoch`` counts from 1 (the epoch the event belongs to; for ``train_begin`` the epochs
    already done), ``batch`` from 1 within the epoch; ``progress`` runs from 0 to 1 over all
    configured epochs; ``eta_s`` is None until it can be estimated.
    """

    kind: EventKind
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    progress: float = 0.0
    message: str = ""


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
def safe_name(name: str, default: str = "run") -> str:
    """``name`` made safe for a folder name: letters, digits, ``-``, ``_`` and ``.`` only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).strip("._-")
    return cleaned[:80] or default


def make_run_dir(runs_dir: str | Path, name: str, now: _dt.datetime | None = None) -> Path:
    """Create and return ``runs_dir/<YYYYmmdd-HHMMSS>-<safe name>`` (a suffix -2, -3 ... if taken)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(runs_dir) / f"{stamp}-{safe_name(name)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    for i in range(1, 10000):
        path = base if i == 1 else base.with_name(f"{base.name}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / "checkpoints").mkdir()
        return path
    raise RuntimeError(f"Could not create a run folder next to {base}.")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over the target)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_history(run_dir: str | Path) -> dict[str, list[float]]:
    """Columns of a run's history.csv as lists (``epoch`` counts from 1); empty if none yet."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    out: dict[str, list[float]] = {k: [] for k in rows[0]}
    for row in rows:
        for key in out:
            out[key].append(_to_float(row.get(key)))
    if "epoch" in out:
        out["epoch"] = [int(v) for v in out["epoch"]]  # type: ignore[misc]
    return out


def _truncate_history(path: Path, epochs: int) -> None:
    """Drop history rows after epoch ``epochs`` (written after the last checkpoint before a crash)."""
    if not path.is_file():
        return
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if len(rows) <= epochs + 1:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows[: epochs + 1])
    os.replace(tmp, path)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _float_logs(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """Only the numeric log values, as plain floats."""
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def _emit(listener: Listener | None, event: TrainEvent) -> None:
    """Call the listener; its exceptions never reach training."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:  # noqa: BLE001 - a broken display must not kill a training run
        log.debug("Training listener failed on a %s event", event.kind, exc_info=True)


def versions() -> dict[str, Any]:
    """Versions of Python, TensorFlow, Keras, numpy and rmlp, the platform and visible GPUs."""
    import keras
    import numpy as np
    import tensorflow as tf

    import rmlp

    try:
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    except Exception:  # noqa: BLE001 - device listing is informative only
        gpus = []
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "rmlp": rmlp.__version__, "platform": platform.platform(), "gpus": gpus}


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def data_record(data: Any, source: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """How the data was loaded (for data.json): kind, load arguments, split sizes, class names.

    ``source`` (or the data's own ``load_args``) holds the arguments that reload the same split,
    e.g. ``{"kind": "table", "path": ..., "target": ..., "task": ..., "seed": ...}``.
    """
    load_args = dict(source or getattr(data, "load_args", None) or {})
    kind = load_args.pop("kind", None) or ("images" if hasattr(data, "image_size") or
                                            data.x_train.ndim > 2 else "table")
    path = str(load_args.pop("path", getattr(data, "path", "") or getattr(data, "source", "") or ""))
    if path and Path(path).exists():
        path = str(Path(path).resolve())
    record: dict[str, Any] = {
        "kind": kind,
        "path": path,
        "target": load_args.pop("target", getattr(data, "target", "")),
        "task": load_args.pop("task", getattr(data, "task", None)),
        "seed": load_args.pop("seed", seed),
        "load_args": load_args,
        "split_sizes": {s: int(len(getattr(data, f"x_{s}"))) for s in ("train", "val", "test")},
        "input_shape": [int(v) for v in data.x_train.shape[1:]],
        "class_names": [_plain(c) for c in (getattr(data, "class_names", None) or [])],
        "feature_names": list(getattr(data, "feature_names", None) or []),
    }
    return record


def _plain(value: Any) -> Any:
    """A JSON scalar for a class name (numbers stay numbers, anything else becomes text)."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (int, float, bool, str)) else str(value)


def reload_data(record: Mapping[str, Any], base_dir: Path | None = None) -> Any:
    """Load the data again from a data.json record (same arguments and seed: the same split)."""
    from rmlp import data as data_module

    path = Path(str(record.get("path") or ""))
    if not path.is_absolute() and base_dir is not None and not path.exists() and (base_dir / path).exists():
        path = base_dir / path
    if not str(record.get("path") or "") or not path.exists():
        raise data_module.DataError(
            f"The run's data file {str(record.get('path') or '(none recorded)')!r} cannot be found.",
            "Pass the data to resume(data=...), or put the file back where it was.")
    kwargs = dict(record.get("load_args") or {})
    if record.get("kind") == "images":
        return data_module.load_images(path, task=record.get("task"), seed=record.get("seed", 0), **kwargs)
    return data_module.load_table(path, record.get("target", ""), task=record.get("task"),
                                  seed=record.get("seed", 0), **kwargs)


def gpu_count() -> int:
    """Number of GPUs TensorFlow sees."""
    import tensorflow as tf

    return len(tf.config.list_logical_devices("GPU"))


@contextlib.contextmanager
def _strategy_scope(multi_gpu: bool) -> Iterator[Any]:
    """MirroredStrategy over all GPUs when asked for and more than one is visible; else nothing."""
    if multi_gpu:
        import tensorflow as tf

        if gpu_count() > 1:
            strategy = tf.distribute.MirroredStrategy()
            with strategy.scope():
                yield strategy
            return
    yield None


def _has_rows(data: Any, split: str) -> bool:
    x = getattr(data, f"x_{split}", None)
    return x is not None and len(x) > 0


def _fit_spec_to_data(spec: ModelSpec, data: Any) -> tuple[ModelSpec, list[str]]:
    """The spec adapted to the data (input shape, outputs, task) by rmlp.data, with its notices."""
    try:
        from rmlp.data import spec_for_data
    except ImportError:
        return spec, []
    spec, notices = spec_for_data(spec, data)
    return spec, [str(n) for n in notices]


# ----------------------------------------------------------------------------- Keras callbacks
@functools.cache
def _callbacks() -> Any:
    """The Keras callback classes (Keras is imported on first use)."""
    import keras

    class EventCallback(keras.callbacks.Callback):
        """Turns Keras callbacks into :class:`TrainEvent`s and a stop Event into ``stop_training``.

        Batch events are throttled to one per ``batch_events_every`` seconds; the stop flag is
        checked after every batch. ``epoch_kind`` names epoch events ("epoch" or "baseline_epoch").
        """

        def __init__(self, listener: Listener | None = None, stop_event: threading.Event | None = None, *,
                     batch_events_every: float = 0.5, initial_epoch: int = 0, epoch_kind: str = "epoch",
                     emit_begin: bool = True) -> None:
            super().__init__()
            self.listener = listener
            self.stop_event = stop_event
            self.batch_events_every = batch_events_every
            self.initial_epoch = initial_epoch
            self.epoch_kind = epoch_kind
            self.emit_begin = emit_begin
            self.stopped = False
            self.last_epoch = initial_epoch  # epochs done
            self._t0 = 0.0
            self._last_emit = 0.0
            self._epoch = 0
            self._epochs = 0
            self._steps = 0

        def _progress(self, done: float) -> tuple[float, float | None, float]:
            """(elapsed, eta, progress) when ``done`` epochs (fractional) are complete."""
            elapsed = time.perf_counter() - self._t0
            total = max(self._epochs, 1)
            ran = done - self.initial_epoch
            left = self._epochs - done
            eta = elapsed / ran * left if ran > 0 else None
            return elapsed, eta, min(max(done / total, 0.0), 1.0)

        def on_train_begin(self, logs: dict | None = None) -> None:
            self._t0 = self._last_emit = time.perf_counter()
            self._epochs = int(self.params.get("epochs") or 0)
            self._steps = int(self.params.get("steps") or 0)
            if self.emit_begin:
                _emit(self.listener, TrainEvent(
                    "train_begin", epoch=self.initial_epoch, epochs=self._epochs, batches=self._steps,
                    progress=self.initial_epoch / max(self._epochs, 1)))

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.stop_event is not None and self.stop_event.is_set():
                self.model.stop_training = True
                self.stopped = True
            if self.listener is None or self.epoch_kind != "epoch":
                return
            now = time.perf_counter()
            if now - self._last_emit < self.batch_events_every:
                return
            self._last_emit = now
            steps = self._steps or batch + 1
            elapsed, eta, progress = self._progress(self._epoch + (batch + 1) / steps)
            _emit(self.listener, TrainEvent(
                "batch", epoch=self._epoch + 1, epochs=self._epochs, batch=batch + 1, batches=self._steps,
                logs=_float_logs(logs), elapsed_s=elapsed, eta_s=eta, progress=progress))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.last_epoch = epoch + 1
            elapsed, eta, progress = self._progress(epoch + 1)
            message = "stopped during this epoch" if self.stopped else ""
            _emit(self.listener, TrainEvent(
                self.epoch_kind, epoch=epoch + 1, epochs=self._epochs, batch=self._steps, batches=self._steps,
                logs=_float_logs(logs), elapsed_s=elapsed, eta_s=eta, progress=progress, message=message))

    class HistoryCSV(keras.callbacks.Callback):
        """Appends one row per epoch to a CSV file (``epoch`` from 1) and flushes it at once.

        On resume the existing header is kept, so the columns stay aligned.
        """

        def __init__(self, path: str | Path) -> None:
            super().__init__()
            self.path = Path(path)
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
            values = _float_logs(logs)
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
        """Writes checkpoints/last.keras and checkpoints/best.keras within a time budget.

        last.keras is rewritten after an epoch when checkpoint writing so far (plus one more
        write) stays within ``budget`` of the training time, and always when training ends; so
        long epochs are all saved, and short ones cost at most that share. Files are written to a
        temporary name and renamed, so a crash never leaves a broken checkpoint. best.keras holds
        the epoch with the lowest ``monitor`` value (a copy of last.keras when that epoch was just
        saved, else written from weights kept in memory). With ``restore_best`` the model ends
        with the best epoch's weights.
        """

        def __init__(self, folder: Path, monitor: str, budget: float = 0.01, restore_best: bool = False,
                     best: float | None = None, best_epoch: int = 0, saved_epoch: int = 0) -> None:
            super().__init__()
            self.folder = Path(folder)
            self.monitor = monitor
            self.budget = budget
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
            self.restored = False

        @property
        def last_path(self) -> Path:
            return self.folder / Path(LAST_CHECKPOINT).name

        @property
        def best_path(self) -> Path:
            return self.folder / Path(BEST_CHECKPOINT).name

        def _save(self, target: Path) -> None:
            start = time.perf_counter()
            tmp = target.with_name(f".{target.stem}.tmp.keras")
            self.model.save(tmp)
            os.replace(tmp, target)
            self._last_save_s = time.perf_counter() - start
            self.save_s += self._last_save_s
            self.saves += 1

        def _copy_last_to_best(self) -> None:
            tmp = self.best_path.with_name(".best.tmp.keras")
            shutil.copyfile(self.last_path, tmp)
            os.replace(tmp, self.best_path)
            self.best_on_disk = True
            self.disk_best = (self.best, self.best_epoch)

        def on_train_begin(self, logs: dict | None = None) -> None:
            self._t0 = time.perf_counter()
            self.folder.mkdir(parents=True, exist_ok=True)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch + 1
            value = (logs or {}).get(self.monitor)
            improved = (value is not None and math.isfinite(float(value))
                        and (self.best is None or float(value) < self.best))
            if improved:
                self.best, self.best_epoch, self.best_on_disk = float(value), self.epoch, False
                self.best_weights = None
            elapsed = time.perf_counter() - self._t0
            if self.save_s + self._last_save_s <= self.budget * elapsed:
                self._save(self.last_path)
                self.saved_epoch = self.epoch
                if improved:
                    self._copy_last_to_best()
            if improved and (not self.best_on_disk or self.restore_best):
                self.best_weights = self.model.get_weights()

        def on_train_end(self, logs: dict | None = None) -> None:
            if self.epoch > self.saved_epoch:
                self._save(self.last_path)
                self.saved_epoch = self.epoch
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

    class RunState(keras.callbacks.Callback):
        """Keeps state.json current: epochs done, checkpoint epoch, best value, epochs since the best."""

        def __init__(self, path: Path, state: dict[str, Any], monitor: str, checkpoints: Any = None) -> None:
            super().__init__()
            self.path = path
            self.state = state
            self.monitor = monitor
            self.checkpoints = checkpoints

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            value = (logs or {}).get(self.monitor)
            st = self.state
            st["epochs_done"] = epoch + 1
            if value is not None and math.isfinite(float(value)):
                if st.get("best") is None or float(value) < st["best"]:
                    st["best"], st["best_epoch"], st["wait"] = float(value), epoch + 1, 0
                else:
                    st["wait"] = int(st.get("wait", 0)) + 1
            if self.checkpoints is not None:
                st["checkpoint_epoch"] = self.checkpoints.saved_epoch
                st["checkpoint_seconds"] = round(self.checkpoints.save_s, 4)
                st["best_checkpoint"] = list(self.checkpoints.disk_best)
            st["last_logs"] = _float_logs(logs)
            st["updated_at"] = _now()
            write_json(self.path, st)

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

    return type("Callbacks", (), {"EventCallback": EventCallback, "HistoryCSV": HistoryCSV, "Checkpoints": Checkpoints,
                                  "RunState": RunState, "ResumableEarlyStopping": ResumableEarlyStopping})


def __getattr__(name: str) -> Any:
    if name in _CALLBACK_NAMES:
        return getattr(_callbacks(), name)
    raise AttributeError(f"module 'rmlp.runs.train' has no attribute {name!r}")


_CALLBACK_NAMES = ("EventCallback", "HistoryCSV", "Checkpoints", "RunState", "ResumableEarlyStopping")


# ----------------------------------------------------------------------------- the job
def _seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(int(seed))


@dataclass
class _Fitted:
    """What a fit left behind for :func:`_finish`."""

    events: Any
    checkpoints: Any


def _fit(model: Any, data: Any, config: TrainConfig, run_dir: Path, state: dict[str, Any],
         listener: Listener | None, stop_event: threading.Event | None, initial_epoch: int) -> _Fitted:
    """model.fit with the run's callbacks."""
    import keras

    cb = _callbacks()
    has_val = _has_rows(data, "val")
    monitor = "val_loss" if has_val else "loss"
    state["monitor"] = monitor
    events = cb.EventCallback(listener, stop_event, batch_events_every=config.batch_events_every,
                              initial_epoch=initial_epoch)
    disk_best, disk_best_epoch = state.get("best_checkpoint") or (None, 0)
    checkpoints = cb.Checkpoints(run_dir / "checkpoints", monitor, budget=config.checkpoint_budget,
                                 restore_best=config.early_stopping, best=disk_best,
                                 best_epoch=int(disk_best_epoch or 0), saved_epoch=initial_epoch)
    # Order matters: the learning rate is logged after it changes; the checkpoint epoch is known
    # before the history row and state.json are written.
    callbacks: list[Any] = []
    if config.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=3))
    if config.early_stopping:
        callbacks.append(cb.ResumableEarlyStopping(
            monitor=monitor, patience=config.patience, restore_best_weights=False,
            initial_best=state.get("best"), initial_wait=int(state.get("wait", 0)),
            initial_best_epoch=max(int(state.get("best_epoch") or 0) - 1, 0)))
    callbacks += [checkpoints, cb.HistoryCSV(run_dir / HISTORY_FILE),
                  cb.RunState(run_dir / STATE_FILE, state, monitor, checkpoints), events]
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val) if has_val else None,
              epochs=config.epochs, initial_epoch=initial_epoch, batch_size=config.batch_size,
              callbacks=callbacks, verbose=0, shuffle=True)
    return _Fitted(events, checkpoints)


def _test_metrics(model: Any, spec: ModelSpec, data: Any, batch_size: int) -> dict[str, Any]:
    """Loss and the sklearn metrics on the test split (the validation split when test is empty)."""
    import keras

    from rmlp.keras.evaluate import metrics_for, predict

    split = "test" if _has_rows(data, "test") else "val" if _has_rows(data, "val") else None
    if split is None:
        return {}
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    pred = predict(model, x, batch_size=max(batch_size, 256))
    loss = keras.losses.get(spec.resolved_loss())(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(pred))
    out: dict[str, Any] = {"split": split, "n": int(len(x)), "loss": float(keras.ops.mean(loss))}
    out.update(metrics_for(y, pred, getattr(data, "task", spec.task), getattr(data, "class_names", None)))
    return out


def _train_baseline(spec: ModelSpec, data: Any, config: TrainConfig, run_dir: Path, residual_params: int,
                    listener: Listener | None, stop_event: threading.Event | None) -> dict[str, Any]:
    """Train the plain-MLP baseline on the same split and config; its figures for baseline.json."""
    import keras

    from rmlp.design.baseline import build_baseline, plain_mlp_spec_like

    plan = plain_mlp_spec_like(spec)
    _seed(config.seed)
    with _strategy_scope(config.multi_gpu):
        model = build_baseline(spec, plan)
    has_val = _has_rows(data, "val")
    monitor = "val_loss" if has_val else "loss"
    events = _callbacks().EventCallback(listener, stop_event, epoch_kind="baseline_epoch", emit_begin=False)
    callbacks: list[Any] = [events]
    if config.early_stopping:
        callbacks.insert(0, keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience,
                                                          restore_best_weights=True))
    if config.reduce_lr:
        callbacks.insert(0, keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=3))
    hist = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val) if has_val else None,
                     epochs=config.epochs, batch_size=config.batch_size, callbacks=callbacks, verbose=0)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out = {
        "params": int(model.count_params()),
        "residual_params": int(residual_params),
        "plan": plan.to_dict(),
        "history": history,
        "epochs_run": len(next(iter(history.values()), [])),
        "stopped": events.stopped,
        "test_metrics": _test_metrics(model, spec, data, config.batch_size),
    }
    write_json(run_dir / BASELINE_FILE, out)
    return out


def _finish(model: Any, spec: ModelSpec, data: Any, config: TrainConfig, run_dir: Path, state: dict[str, Any],
            fitted: _Fitted, listener: Listener | None, stop_event: threading.Event | None, epochs_before: int,
            notices: list[str]) -> RunResult:
    """After fit: save the final model, evaluate, optionally train the baseline, close the run."""
    events, ckpt = fitted.events, fitted.checkpoints
    stopped = bool(events.stopped or (stop_event is not None and stop_event.is_set()))
    # The model in memory holds exactly the weights of best.keras (restored) or of last.keras.
    final = ckpt.best_path if ckpt.restore_best and ckpt.best_epoch and ckpt.best_on_disk else ckpt.last_path
    shutil.copyfile(final, run_dir / MODEL_FILE)
    metrics = _test_metrics(model, spec, data, config.batch_size)
    write_json(run_dir / METRICS_FILE, metrics)
    done = int(state.get("epochs_done", 0))
    state.update(checkpoint_epoch=ckpt.saved_epoch, checkpoint_seconds=round(ckpt.save_s, 4),
                 checkpoint_saves=ckpt.saves, best_checkpoint=list(ckpt.disk_best),
                 model_epoch=ckpt.best_epoch if final == ckpt.best_path else done)
    baseline = None
    if config.baseline and not stopped:
        baseline = _train_baseline(spec, data, config, run_dir, int(model.count_params()), listener, stop_event)
        stopped = bool(stop_event is not None and stop_event.is_set())
    state["status"] = "stopped" if stopped else "finished"
    state["stopped_early"] = bool(not stopped and done < config.epochs)
    state["updated_at"] = _now()
    write_json(run_dir / STATE_FILE, state)
    history = read_history(run_dir)
    elapsed = time.perf_counter() - events._t0 if events._t0 else 0.0
    numeric = {k: float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    _emit(listener, TrainEvent(
        "stopped" if stopped else "train_end", epoch=done, epochs=config.epochs, logs=numeric, elapsed_s=elapsed,
        eta_s=0.0, progress=1.0 if not stopped else done / max(config.epochs, 1),
        message=f"Stopped after {done} epoch(s)." if stopped else f"Finished after {done} epoch(s)."))
    return RunResult(run_dir=run_dir, model=model, history=history, test_metrics=metrics, stopped=stopped,
                     baseline=baseline, epochs_run=done - epochs_before, status=state["status"], spec=spec,
                     config=config, notices=notices)


def _fail(run_dir: Path | None, state: dict[str, Any], exc: BaseException, listener: Listener | None) -> None:
    if run_dir is not None and run_dir.is_dir():
        state.update(status="failed", error=f"{type(exc).__name__}: {exc}", updated_at=_now())
        with contextlib.suppress(OSError):
            write_json(run_dir / STATE_FILE, state)
    _emit(listener, TrainEvent("error", epoch=int(state.get("epochs_done", 0)), message=f"{type(exc).__name__}: "
                               f"{exc}"))


def train(spec: ModelSpec | dict, data: Any, config: TrainConfig | None = None, listener: Listener | None = None,
          stop_event: threading.Event | None = None, data_source: Mapping[str, Any] | None = None) -> RunResult:
    """Build, fit, checkpoint, evaluate and save a model for ``spec`` on ``data``, in this thread.

    The spec is first fitted to the data (input shape, task, outputs: :func:`rmlp.data.spec_for_data`);
    what changed is in ``RunResult.notices`` and state.json. ``data_source`` says how to reload the
    data for :func:`resume` (``{"kind": "table", "path": ..., "target": ..., "task": ..., "seed": ...,
    "val_size": ..., "test_size": ...}``); without it the data's own ``load_args`` are used.
    Raises what went wrong after recording it (state.json ``failed``, an ``error`` event).
    """
    import keras

    from rmlp.keras.build import build_model, check_buildable

    config = config or TrainConfig()
    keras.backend.clear_session()
    run_dir: Path | None = None
    state: dict[str, Any] = {"status": "starting", "epochs_done": 0, "epochs": config.epochs}
    try:
        spec = check_buildable(spec)
        spec, notices = _fit_spec_to_data(spec, data)
        if config.multi_gpu and (gpus := gpu_count()) < 2:
            notices.append(f"Multi-GPU training needs more than one GPU ({gpus} visible); training on one device.")
        if not _has_rows(data, "train"):
            raise ValueError("The data has no training rows. Load a table or image set with more rows.")
        run_dir = make_run_dir(config.runs_dir, config.run_name or spec.name)
        state.update(status="running", started_at=_now(), updated_at=_now(), best=None, best_epoch=0, wait=0,
                     checkpoint_epoch=0, notices=notices)
        write_json(run_dir / STATE_FILE, state)
        spec.save(run_dir / SPEC_FILE)
        (run_dir / CONFIG_FILE).write_text(config.to_json() + "\n", encoding="utf-8")
        write_json(run_dir / DATA_FILE, data_record(data, data_source, config.seed))
        write_json(run_dir / VERSIONS_FILE, versions())
        pre = getattr(data, "preprocessor", None)
        if pre is not None and hasattr(pre, "to_dict"):
            write_json(run_dir / PREPROCESSOR_FILE, pre.to_dict())
        _seed(config.seed)
        with _strategy_scope(config.multi_gpu):
            model = build_model(spec)
        fitted = _fit(model, data, config, run_dir, state, listener, stop_event, initial_epoch=0)
        return _finish(model, spec, data, config, run_dir, state, fitted, listener, stop_event, 0, notices)
    except BaseException as exc:
        _fail(run_dir, state, exc, listener)
        raise


def resume(run_dir: str | Path, data: Any = None, listener: Listener | None = None,
           stop_event: threading.Event | None = None, extra_epochs: int | None = None) -> RunResult:
    """Continue a run from checkpoints/last.keras up to its configured epochs (or ``extra_epochs`` more).

    Training restarts after the epoch held by last.keras (history rows after it are dropped). The
    data is reloaded from data.json when not given (same arguments and seed: the same split);
    history.csv grows by the new epochs. Raises ValueError when there is nothing left to train.
    """
    import keras

    run_dir = Path(run_dir)
    keras.backend.clear_session()
    state: dict[str, Any] = read_json(run_dir / STATE_FILE) if (run_dir / STATE_FILE).is_file() else {}
    try:
        last = run_dir / LAST_CHECKPOINT
        if not last.is_file():
            raise ValueError(f"The run {run_dir} has no checkpoint ({LAST_CHECKPOINT}) to resume from. "
                             "Train it again instead.")
        config = TrainConfig.from_json((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        spec = ModelSpec.load(run_dir / SPEC_FILE)
        done = int(state.get("checkpoint_epoch") or state.get("epochs_done") or 0)
        if extra_epochs is not None:
            config = config.model_copy(update={"epochs": done + int(extra_epochs)})
        if done >= config.epochs:
            raise ValueError(f"The run {run_dir.name} has already trained all {config.epochs} epochs. "
                             "Pass extra_epochs to train longer.")
        if data is None:
            data = reload_data(read_json(run_dir / DATA_FILE), base_dir=run_dir)
        _truncate_history(run_dir / HISTORY_FILE, done)
        (run_dir / CONFIG_FILE).write_text(config.to_json() + "\n", encoding="utf-8")
        state.update(status="running", epochs=config.epochs, epochs_done=done, updated_at=_now())
        state.pop("error", None)
        if int(state.get("best_epoch") or 0) > done:
            state.update(best=None, best_epoch=0, wait=0)  # epochs after the checkpoint are trained again
        if not (run_dir / BEST_CHECKPOINT).is_file() or int((state.get("best_checkpoint") or [0, 0])[1]) > done:
            state["best_checkpoint"] = [None, 0]
        write_json(run_dir / STATE_FILE, state)
        _seed(config.seed + done)
        with _strategy_scope(config.multi_gpu):
            model = keras.saving.load_model(last)
        fitted = _fit(model, data, config, run_dir, state, listener, stop_event, initial_epoch=done)
        return _finish(model, spec, data, config, run_dir, state, fitted, listener, stop_event, done,
                       list(state.get("notices") or []))
    except BaseException as exc:
        _fail(run_dir, state, exc, listener)
        raise
