"""Resuming a run: from its last intact checkpoint up to its planned epochs, or more.

state.json says which epoch ``checkpoints/last.keras`` holds; :func:`resume` loads it (or
``checkpoints/best.keras`` when the last one is damaged), drops the history rows after it and trains
on with the run's own settings and data, through the same fit and finish as :func:`rmlp.runs.train.train`.
"""

from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rmlp.runs.config import TrainConfig
from rmlp.runs.devices import strategy_scope
from rmlp.runs.events import Listener
from rmlp.runs.folder import RunDir
from rmlp.runs.provenance import data_record, reload_data
from rmlp.runs.recipe import make_recipe
from rmlp.runs.state import RunState
from rmlp.runs.train import RunResult, finish_run, fit_run, record_failure, seed_everything
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits

__all__ = ["resume"]


def _read_state(run: RunDir) -> RunState:
    """The run's state.json; ValueError naming the file when it is missing or damaged."""
    path = run.file(RunDir.STATE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("it holds no JSON object")
        return RunState.from_dict(data)
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, ValueError, TypeError) as exc:
        problem = f"is damaged ({exc})"
    raise ValueError(f"The run's state file {path} {problem}; it says which epoch the checkpoint holds, so the run "
                     "cannot be resumed safely. Train the run again (rmlp train ...), or restore the file from a copy.")


def _read_config(run: RunDir) -> TrainConfig:
    """The run's train_config.json; ValueError naming the file when it is missing or damaged."""
    path = run.file(RunDir.CONFIG)
    try:
        return TrainConfig.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        what = "is missing" if isinstance(exc, FileNotFoundError) else f"is damaged ({str(exc).splitlines()[0]})"
    raise ValueError(f"The run's training settings {path} {what}. Train the run again (rmlp train ...), or restore "
                     "the file from a copy.")


def _damage(path: Path) -> str:
    """What is wrong with a .keras checkpoint file ('' when it looks whole)."""
    try:
        if path.stat().st_size == 0:
            return "empty"
        if not zipfile.is_zipfile(path):
            return "truncated"
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        return f"unreadable: {exc}"
    if bad is not None:
        return f"its part {bad} is corrupt"
    if "config.json" not in names:
        return "it holds no model"
    return ""


@dataclass(frozen=True)
class _RestorePoint:
    path: Path
    epoch: int
    note: str


def _restore_point(run: RunDir, state: RunState) -> _RestorePoint:
    """Which checkpoint a resume loads, the epoch it holds, and what that means for the user."""
    last, best = run.last_checkpoint, run.best_checkpoint
    rel = f"{RunDir.CHECKPOINTS}/{RunDir.LAST}"
    if not last.is_file() and not best.is_file():
        raise ValueError(f"The run {run.path} has no checkpoint ({rel}) to resume from. Train it again instead.")
    damage = _damage(last) if last.is_file() else "missing"
    if not damage:
        epoch = int(state.checkpoint_epoch or state.epochs_done)
        return _RestorePoint(last, epoch, _lost_note(epoch, state, rel))
    best_epoch = int((state.best_checkpoint or [None, 0])[1] or 0)
    if best.is_file() and best_epoch and not _damage(best):
        brel = f"{RunDir.CHECKPOINTS}/{RunDir.BEST}"
        note = f"The checkpoint {rel} is {damage}; resumed from {brel} instead. " + _lost_note(best_epoch, state, brel)
        return _RestorePoint(best, best_epoch, note)
    raise ValueError(f"The checkpoint {last} is {damage}, and there is no intact {RunDir.CHECKPOINTS}/{RunDir.BEST} "
                     "to fall back on. Train the run again (rmlp train ...).")


def _lost_note(epoch: int, state: RunState, rel: str) -> str:
    """'Resumed from epoch 14 (...); epoch 15 was lost and is trained again.'"""
    recorded = int(state.epochs_done)
    if epoch <= 0:
        return f"Resumed from {rel}, saved before any epoch finished; training starts again at epoch 1."
    head = f"Resumed from epoch {epoch} ({rel})"
    if recorded <= epoch:
        return f"{head}; training goes on with epoch {epoch + 1}."
    lost = f"epoch {epoch + 1} was" if recorded == epoch + 1 else f"epochs {epoch + 1}-{recorded} were"
    return f"{head}; {lost} lost (trained but not yet saved) and {'is' if ' was' in lost else 'are'} trained again."


def resume(run_dir: str | Path, data: Splits | None = None, listener: Listener | None = None,
           stop_event: threading.Event | None = None, extra_epochs: int | None = None,
           data_path: str | Path | None = None) -> RunResult:
    """Continue a run from its last checkpoint up to its planned epochs, or ``extra_epochs`` beyond them.

    Training restarts after the epoch the checkpoint holds: epochs recorded after it (a crash
    before their checkpoint) and an epoch cut short are trained again, and history rows after it
    are dropped. A damaged checkpoints/last.keras falls back to checkpoints/best.keras when that
    one is intact. ``extra_epochs`` adds epochs to the plan; it never shrinks it. The data is
    reloaded from data.json when not given (same arguments and seed: the same split; the file
    must be unchanged), or from ``data_path`` with the same arguments (data.json then records
    it). What was restored and lost is the first of ``RunResult.notices`` (this call's) and the
    message of the ``train_begin`` event. Raises ValueError when there is nothing left to train
    or a file of the run is damaged.
    """
    run = RunDir(run_dir)
    state = _read_state(run)
    config = _read_config(run)
    point = _restore_point(run, state)
    import keras

    keras.backend.clear_session()
    try:
        spec = ModelSpec.load(run.file(RunDir.SPEC))
        done, planned = point.epoch, config.n_epochs
        notices = [point.note]
        if extra_epochs is not None:
            config = config.model_copy(update={"epochs": planned + int(extra_epochs)})
            notices.append(f"Planned epochs: {planned} + {int(extra_epochs)} = {config.n_epochs}.")
        if done >= config.n_epochs:
            raise ValueError(f"The run {run.name} has already trained all {config.n_epochs} epochs. Add --epochs N "
                             "(extra_epochs=N) to train N more.")
        if data is None:
            record = run.read_json(RunDir.DATA, {})
            data = reload_data(record, base_dir=run.path, path=data_path)
            if data_path is not None:
                source = {k: record.get(k) for k in ("kind", "target", "task", "seed")}
                run.write_json(RunDir.DATA, data_record(data, {**source, **(record.get("load_args") or {}),
                                                               "path": str(data_path)}, config.seed))
        run.truncate_history(done)
        run.write_text(RunDir.CONFIG, config.to_json() + "\n")
        state.status, state.epochs, state.epochs_done, state.error = "running", config.n_epochs, done, ""
        state.checkpoint_epoch = done
        if state.best_epoch > done:
            state.best, state.best_epoch, state.wait = None, 0, 0  # epochs after the checkpoint are trained again
        if (not run.best_checkpoint.is_file() or _damage(run.best_checkpoint)
                or int((state.best_checkpoint or [0, 0])[1] or 0) > done):
            state.best_checkpoint = [None, 0]
        state.notices = [*state.notices, *notices]
        state.touch()
        run.write_json(RunDir.STATE, state.to_dict())
        seed_everything(config.seed + done)
        with strategy_scope(config.multi_gpu):
            try:
                model = keras.saving.load_model(point.path)
            except Exception as exc:  # noqa: BLE001 - a checkpoint Keras cannot read is the user's to fix
                raise ValueError(f"The checkpoint {point.path} cannot be loaded ({type(exc).__name__}: {exc}). "
                                 "Train the run again (rmlp train ...).") from None
        if extra_epochs is not None and (schedule := make_recipe(spec, config, data).rate()) is not None:
            model.optimizer.learning_rate = schedule  # else the added epochs train at the old plan's end, near 0
            notices.append(f"The learning-rate schedule ({config.lr_schedule}) now spans all {config.n_epochs} "
                           f"planned epochs; it goes on from where epoch {done} is on that longer schedule.")
        fitted = fit_run(model, spec, data, config, run, state, listener, stop_event, initial_epoch=done,
                      begin_message=point.note)
        return finish_run(model, spec, data, config, run, state, fitted, listener, stop_event, done, notices)
    except BaseException as exc:
        record_failure(run, state, exc, listener)
        raise
