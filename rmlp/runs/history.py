"""The run history: one typed record per run folder, read from its small files and cached by modification time.

Every surface lists runs through :func:`list_runs` (the command line, the app, a notebook), so a run
made by any of them, or by promoting a search trial, shows up everywhere. A record reads only
spec.json, train_config.json, data.json, state.json, metrics.json and history.csv, never a model;
a folder's record is read again only when one of those files changed.

A run's status is its state.json's, except a run recorded as running whose process has gone
(killed, or the machine restarted): that one is ``interrupted`` and can be resumed.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from rmlp.design.summary import summarize
from rmlp.runs.folder import RunDir
from rmlp.spec.metrics import direction
from rmlp.spec.model import ModelSpec

__all__ = [
    "HISTORY_STATUSES", "AmbiguousRun", "RunNotFound", "RunRecord", "RunStatus", "delete_run", "find_run",
    "higher_is_better", "list_runs", "parse_age", "read_run", "runs_frame",
]

RunStatus = Literal["finished", "stopped", "failed", "running", "interrupted"]
#: Every status a record can have, in the order a listing explains them.
HISTORY_STATUSES: tuple[str, ...] = ("finished", "stopped", "failed", "running", "interrupted")
#: The files a record is read from; a change to any of them makes the record be read again.
_SOURCES = (RunDir.SPEC, RunDir.STATE, RunDir.CONFIG, RunDir.DATA, RunDir.METRICS, RunDir.HISTORY, RunDir.SEARCH)
#: A run recorded as running without a process id counts as interrupted after this long without an update.
STALE_AFTER = _dt.timedelta(hours=6)


class RunNotFound(ValueError):
    """No run folder matches what the user named."""


class AmbiguousRun(ValueError):
    """More than one run folder matches what the user named."""


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` (``val_accuracy``, ``loss``, ``test r2`` ...) is better
    (the project's metric table, :func:`rmlp.spec.metrics.direction`; an unknown name is a loss)."""
    return direction(metric.rsplit(" ", 1)[-1]) == "maximize"


@dataclass(frozen=True)
class RunRecord:
    """What the history knows about one run, read from its folder's small files.

    ``best_metric`` is the validation quantity the run is ranked by (``val_accuracy`` for a
    classifier, else ``val_loss``; ``loss`` without validation rows), ``best_value`` its best
    value over the epochs (higher or lower by :func:`higher_is_better`) and ``best_epoch`` where
    it came from. ``test_metrics`` holds the scalar figures of metrics.json (``loss``,
    ``accuracy``, ``rmse`` ...), on the test rows (``test_split`` says which split scored them).
    ``wall_s`` is the time from the start to the last update of state.json.
    """

    name: str
    path: Path
    started: _dt.datetime | None
    design: str
    data: str
    task: str
    params: int | None
    epochs_done: int
    epochs_planned: int
    status: RunStatus
    best_metric: str = ""
    best_value: float | None = None
    best_epoch: int = 0
    test_metrics: dict[str, float] = field(default_factory=dict)
    test_split: str = ""
    wall_s: float | None = None
    data_path: str = ""
    target: str = ""
    error: str = ""
    notices: tuple[str, ...] = ()
    promoted: bool = False
    updated: _dt.datetime | None = None

    @property
    def short_name(self) -> str:
        """The run's name without the ``YYYYmmdd-HHMMSS-`` stamp its folder starts with."""
        return _STAMP.sub("", self.name) or self.name

    def as_row(self) -> dict[str, Any]:
        """The record as one flat row (what :func:`runs_frame` and ``--format json|csv`` show)."""
        row: dict[str, Any] = {
            "name": self.name, "started": self.started.isoformat(sep=" ") if self.started else "",
            "design": self.design, "data": self.data, "task": self.task, "params": self.params,
            "epochs_done": self.epochs_done, "epochs_planned": self.epochs_planned, "status": self.status,
            "best_metric": self.best_metric, "best_value": self.best_value, "best_epoch": self.best_epoch,
        }
        row.update({f"test_{k}": v for k, v in self.test_metrics.items()})
        row.update({"wall_s": self.wall_s, "path": str(self.path)})
        return row


_STAMP = re.compile(r"^\d{8}-\d{6}-")
_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[Any, ...], RunRecord, dict[str, Any]]] = {}
#: The history columns a run may be ranked by.
_RANKED = ("val_accuracy", "val_loss", "loss")


# ----------------------------------------------------------------------------- reading one run
def _time(value: Any) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _stamp_time(name: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None


def _params(spec: Mapping[str, Any]) -> int | None:
    """The design's parameter count, counted without Keras (None when it cannot be counted)."""
    try:
        return int(summarize(ModelSpec.model_validate(spec)).total_params)
    except Exception:  # noqa: BLE001 - a design that no longer counts (a base model file gone) lists without it
        return None


def _best(history: Mapping[str, Sequence[float]], task: str) -> tuple[str, float | None, int]:
    """(metric, best value, its epoch) of the quantity a run is ranked by; the first epoch wins a tie."""
    order = ["val_accuracy", "val_loss", "loss"] if task != "regression" else ["val_loss", "loss"]
    epochs = list(history.get("epoch") or [])
    for name in order:
        sign = -1.0 if higher_is_better(name) else 1.0
        best: tuple[float, int] | None = None
        for i, value in enumerate(history.get(name) or []):
            if isinstance(value, float) and math.isfinite(value) and (best is None or sign * value < sign * best[0]):
                best = (value, i)
        if best is not None:
            return name, float(best[0]), int(epochs[best[1]]) if best[1] < len(epochs) else best[1] + 1
    return "", None, 0


def _scalars(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict):
        return {}
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n"}


def _alive(state: Mapping[str, Any]) -> bool | None:
    """Whether the process that wrote a running state.json still runs (None: cannot tell, another machine)."""
    pid, host = _int(state.get("pid")), str(state.get("host") or "")
    if not pid:
        return None
    if host and host != socket.gethostname():
        return None
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` of this machine still runs (one of another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _status(state: Mapping[str, Any], updated: _dt.datetime | None) -> RunStatus:
    final = _final(str(state.get("status") or ""))
    if final != "running":
        return final
    alive = _alive(state)
    if alive is None:  # no process id recorded: judged by the last update
        alive = updated is not None and _dt.datetime.now() - updated < STALE_AFTER
    return "running" if alive else "interrupted"


def _final(raw: str) -> RunStatus:
    """A finished, stopped, failed or interrupted state as it is (a server marks the runs a dead one left
    running as interrupted); any other ('starting', 'running') is 'running' for now."""
    for status in ("finished", "stopped", "failed", "interrupted"):
        if raw == status:
            return status
    return "running"


def _key(folder: str) -> tuple[Any, ...]:
    """(modification time, size) of each file a record is read from (None: absent); the first is spec.json."""
    out: list[tuple[int, int] | None] = []
    for name in _SOURCES:
        try:
            st = os.stat(os.path.join(folder, name))
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def _json(folder: str, name: str) -> tuple[dict[str, Any], str]:
    """A run file's JSON object and its text ({} and '' when missing or damaged)."""
    try:
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            text = fh.read()
        data = json.loads(text)
    except (OSError, ValueError):
        return {}, ""
    return (data, text) if isinstance(data, dict) else ({}, text)


def _columns(folder: str, names: Sequence[str]) -> dict[str, list[float]]:
    """Only the named columns (and ``epoch``) of a run's history.csv, as floats (NaN where unreadable)."""
    try:
        with open(os.path.join(folder, RunDir.HISTORY), newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError:
        return {}
    if not rows:
        return {}
    index = {name: i for i, name in enumerate(rows[0]) if name in names or name == "epoch"}
    out: dict[str, list[float]] = {name: [] for name in index}
    for row in rows[1:]:
        for name, i in index.items():
            try:
                out[name].append(float(row[i]))
            except (IndexError, ValueError):
                out[name].append(math.nan)
    return out


_PARAMS: dict[str, int | None] = {}


def _read(folder: str) -> tuple[RunRecord, dict[str, Any]]:
    """The record (status 'running' for any unfinished run) and the pid/host of the process that wrote it."""
    spec, spec_text = _json(folder, RunDir.SPEC)
    state, _ = _json(folder, RunDir.STATE)
    config, _ = _json(folder, RunDir.CONFIG)
    data, _ = _json(folder, RunDir.DATA)
    metrics, _ = _json(folder, RunDir.METRICS)
    name = os.path.basename(folder)
    task = str(data.get("task") or spec.get("task") or "")
    metric, value, epoch = _best(_columns(folder, _RANKED), task)
    started = _time(state.get("started_at")) or _stamp_time(name)
    updated = _time(state.get("updated_at"))
    wall = (updated - started).total_seconds() if started and updated and updated >= started else None
    data_path = str(data.get("path") or "")
    raw = str(state.get("status") or "")
    if spec_text not in _PARAMS:  # many runs share a design: count each one once
        _PARAMS[spec_text] = _params(spec)
    record = RunRecord(
        name=name, path=Path(folder), started=started, design=str(spec.get("name") or ""),
        data=os.path.basename(data_path) if data_path else "", task=task, params=_PARAMS[spec_text],
        epochs_done=_int(state.get("epochs_done")), epochs_planned=_int(config.get("epochs") or state.get("epochs")),
        status=_final(raw), best_metric=metric, best_value=value, best_epoch=epoch, test_metrics=_scalars(metrics),
        test_split=str(metrics.get("split") or ""), wall_s=wall,
        data_path=data_path, target=str(data.get("target") or ""), error=str(state.get("error") or ""),
        notices=tuple(str(n) for n in state.get("notices") or []),
        promoted=os.path.isfile(os.path.join(folder, RunDir.SEARCH)), updated=updated,
    )
    return record, {"status": raw, "pid": state.get("pid"), "host": state.get("host")}


def _record(folder: str) -> RunRecord | None:
    """The (cached) record of a folder; None when it holds no spec.json (no run)."""
    key = _key(folder)
    if key[0] is None:
        return None
    with _LOCK:
        hit = _CACHE.get(folder)
    if hit is not None and hit[0] == key:
        record, state = hit[1], hit[2]
    else:
        record, state = _read(folder)
        with _LOCK:
            _CACHE[folder] = (key, record, state)
    if record.status == "running":
        record = replace(record, status=_status(state, record.updated))
    return record


def read_run(path: str | Path) -> RunRecord:
    """The record of one run folder (cached until one of its files changes); RunNotFound if it is no run.

    A run recorded as running is checked each time: it is ``interrupted`` once its process is gone.
    """
    record = _record(os.fspath(path))
    if record is None:
        raise RunNotFound(f"{str(path)!r} is not a run folder: it has no {RunDir.SPEC}.")
    return record


# ----------------------------------------------------------------------------- the history
def _folders(runs_dir: Path) -> list[str]:
    """The sub-folders of ``runs_dir`` (run folders or not)."""
    try:
        with os.scandir(runs_dir) as entries:
            return [e.path for e in entries if e.is_dir()]
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise ValueError(f"The runs folder {str(runs_dir)!r} is a file, not a folder. Pass the folder that "
                         "holds the run folders (--runs-dir).") from None


def list_runs(runs_dir: str | Path = "runs", *, data: str | None = None, status: str | Iterable[str] | None = None,
              last: int | None = None) -> list[RunRecord]:
    """The runs in ``runs_dir``, newest first, optionally filtered.

    ``data`` keeps runs whose data file name or path contains it (case-insensitive); ``status``
    keeps runs with that status (or any of several); ``last`` keeps the newest N. A missing runs
    folder is an empty history.
    """
    wanted = {status} if isinstance(status, str) else set(status) if status is not None else None
    if wanted is not None and (unknown := wanted - set(HISTORY_STATUSES)):
        raise ValueError(f"Unknown run status {sorted(unknown)}: use one of {', '.join(HISTORY_STATUSES)}.")
    if last is not None and last < 1:
        raise ValueError(f"--last takes a number of runs of at least 1, not {last}.")
    records = [r for r in map(_record, _folders(Path(runs_dir))) if r is not None]
    if data:
        needle = data.lower()
        records = [r for r in records if needle in r.data.lower() or needle in r.data_path.lower()]
    if wanted is not None:
        records = [r for r in records if r.status in wanted]
    epoch = _dt.datetime.min
    records.sort(key=lambda r: (r.started or epoch, r.name), reverse=True)
    return records[:last] if last else records


def runs_frame(records: Sequence[RunRecord]) -> Any:
    """The records as a pandas DataFrame, one row per run (the columns of :meth:`RunRecord.as_row`)."""
    import pandas as pd  # here, not at the top: `import rmlp` loads this module and stays without pandas

    columns = ["name", "started", "design", "data", "task", "params", "epochs_done", "epochs_planned", "status",
               "best_metric", "best_value", "best_epoch"]
    rows = [r.as_row() for r in records]
    extra = sorted({k for row in rows for k in row if k.startswith("test_")})
    return pd.DataFrame(rows, columns=[*columns, *extra, "wall_s", "path"])


def find_run(ref: str | Path, runs_dir: str | Path = "runs") -> Path:
    """The run folder ``ref`` names: a folder path, or a unique run name or prefix of one in ``runs_dir``.

    A name matches a folder whose name starts with it, with or without the ``YYYYmmdd-HHMMSS-``
    stamp (``wine`` matches ``20250101-120000-wine``); a name that is exactly one run's (with or
    without its stamp) wins over longer ones (``old`` is not ``older``). Raises
    :class:`RunNotFound` or :class:`AmbiguousRun` (ValueErrors) with the candidates and what to do.
    """
    text = str(ref).strip()
    path = Path(text).expanduser()
    if text and path.is_dir():
        if RunDir(path).is_run():
            return path
        raise RunNotFound(f"{text!r} is a folder but not a run folder: it has no {RunDir.SPEC}.")
    if not text or os.sep in text or (os.altsep and os.altsep in text):
        raise RunNotFound(f"No run folder at {text!r}. Give a run folder, or a run name from `rmlp runs`.")
    folders = [Path(f) for f in _folders(Path(runs_dir)) if os.path.isfile(os.path.join(f, RunDir.SPEC))]
    exact = [p for p in folders if p.name == text] or [p for p in folders if _STAMP.sub("", p.name) == text]
    if len(exact) == 1:
        return exact[0]
    if exact:
        found = exact
    else:
        found = [p for p in folders if p.name.startswith(text) or _STAMP.sub("", p.name).startswith(text)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise RunNotFound(f"No run named {text!r} in {str(runs_dir)!r}. List the runs with `rmlp runs` "
                          "(--runs-dir DIR for another folder), or give the run folder's path.")
    names = sorted((p.name for p in found), reverse=True)
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    raise AmbiguousRun(f"{text!r} matches {len(names)} runs: {shown}. Give more of the name (or the full folder "
                       "name) so only one run matches.")


# ----------------------------------------------------------------------------- clean-up
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> _dt.timedelta:
    """``7d`` -> 7 days (units s, m, h, d, w); ValueError saying the format otherwise."""
    match = _AGE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not an age: give a number and a unit, e.g. 30m, 12h, 7d or 2w.")
    return _dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


def delete_run(path: str | Path) -> None:
    """Delete a run folder and everything in it; refuses a folder that is no run, or a run still training."""
    record = read_run(path)
    if record.status == "running":
        raise ValueError(f"The run {record.name} is still training. Stop it first (Ctrl-C, or Stop in the app), "
                         "then delete it.")
    shutil.rmtree(record.path)
    with _LOCK:
        _CACHE.pop(os.fspath(record.path), None)
