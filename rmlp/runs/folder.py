"""The run folder: its layout and its files, named once, and the JSON/CSV I/O that writes them safely.

``runs/<YYYYmmdd-HHMMSS>-<name>/``::

    spec.json  train_config.json  data.json  versions.json  state.json  preprocessor.json
    history.csv  checkpoints/best.keras  checkpoints/last.keras  model.keras  metrics.json
    tensorboard/ (event files, when TensorBoard is installed)
    baseline.json (with a baseline)  search.json and bundle.zip (a promoted search trial)

Everything that reads or writes a run (training, resume, export, the command line, the app) goes
through :class:`RunDir`, so a file name is written here and nowhere else.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunDir", "check_runs_dir", "read_history", "safe_name", "write_json"]


def safe_name(name: str, default: str = "run") -> str:
    """``name`` made safe for a folder name: letters, digits, ``-``, ``_`` and ``.`` only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).strip("._-")
    return cleaned[:80] or default


def check_runs_dir(runs_dir: str | Path, option: str = "--runs-dir", what: str = "runs folder") -> Path:
    """``runs_dir`` as a folder that exists (made if need be) and can be written; a clear OSError if not.

    Checked before anything heavy (loading TensorFlow, the data), so a wrong folder costs no time.
    """
    path = Path(runs_dir).expanduser()
    blocker = next((p for p in (path, *path.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise NotADirectoryError(f"The {what} {str(path)!r} cannot be used: {str(blocker)!r} is a file, not a "
                                 f"folder. Pass a folder with {option} (it is made if missing), or move the file.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"The {what} {str(path)!r} cannot be made ({exc.strerror or exc}). Pass a folder "
                      f"you can write to with {option}.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"The {what} {str(path)!r} cannot be written to. Pass a folder you can write "
                              f"to with {option}, or change its permissions.")
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over the target)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def read_history(path: Path) -> dict[str, list[float]]:
    """Columns of a history CSV as lists (``epoch`` counts from 1); empty if there is none yet."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    out: dict[str, list[Any]] = {k: [] for k in rows[0]}
    for row in rows:
        for key in out:
            out[key].append(_to_float(row.get(key)))
    if "epoch" in out:
        out["epoch"] = [int(v) for v in out["epoch"]]
    return out


@dataclass(frozen=True)
class RunDir:
    """One run folder: where each of its files is, and reading and writing them."""

    path: Path

    SPEC = "spec.json"
    CONFIG = "train_config.json"
    DATA = "data.json"
    VERSIONS = "versions.json"
    STATE = "state.json"
    PREPROCESSOR = "preprocessor.json"
    HISTORY = "history.csv"
    METRICS = "metrics.json"
    BASELINE = "baseline.json"
    MODEL = "model.keras"
    SEARCH = "search.json"
    BUNDLE = "bundle.zip"
    CHECKPOINTS = "checkpoints"
    BEST = "best.keras"
    LAST = "last.keras"
    #: TensorBoard event files (``train/`` and ``validation/`` inside it), when TensorBoard is installed.
    TENSORBOARD = "tensorboard"
    #: Files a bundle copies from a run as they are, with what each one holds.
    RECORDS = {HISTORY: "per-epoch training history", METRICS: "final metrics",
               CONFIG: "the training settings", VERSIONS: "library versions"}

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    # ------------------------------------------------------------------ making one
    @classmethod
    def create(cls, runs_dir: str | Path, name: str, now: _dt.datetime | None = None) -> RunDir:
        """A new ``runs_dir/<YYYYmmdd-HHMMSS>-<safe name>`` (a suffix -2, -3 ... if taken)."""
        stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        base = Path(runs_dir) / f"{stamp}-{safe_name(name)}"
        base.parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 10000):
            path = base if i == 1 else base.with_name(f"{base.name}-{i}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            (path / cls.CHECKPOINTS).mkdir()
            return cls(path)
        raise RuntimeError(f"Could not create a run folder next to {base}.")

    # ------------------------------------------------------------------ where things are
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoints(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / self.BEST

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / self.LAST

    @property
    def model(self) -> Path:
        return self.path / self.MODEL

    @property
    def tensorboard(self) -> Path:
        return self.path / self.TENSORBOARD

    @property
    def history_file(self) -> Path:
        return self.path / self.HISTORY

    def is_run(self) -> bool:
        """Whether this folder holds a run (it has a spec.json)."""
        return (self.path / self.SPEC).is_file()

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    # ------------------------------------------------------------------ reading and writing
    def write_json(self, name: str, data: Any) -> None:
        write_json(self.path / name, data)

    def read_json(self, name: str, default: Any = None) -> Any:
        """The JSON in one of the run's files; ``default`` when it is missing or unreadable."""
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def write_text(self, name: str, text: str) -> None:
        (self.path / name).write_text(text, encoding="utf-8")

    def history(self) -> dict[str, list[float]]:
        return read_history(self.history_file)

    def truncate_history(self, epochs: int) -> None:
        """Drop history rows after epoch ``epochs`` (written after the last checkpoint before a crash)."""
        path = self.history_file
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

    def progress(self) -> tuple[int, int]:
        """(epochs done, epochs configured); 0 where unknown."""

        def number(name: str, key: str) -> int:
            data = self.read_json(name, {})
            try:
                return int(data.get(key) or 0) if isinstance(data, dict) else 0
            except (TypeError, ValueError):
                return 0

        return number(self.STATE, "epochs_done"), number(self.CONFIG, "epochs")
