"""Where a run stands (``state.json``): a typed record that training updates and resume reads back."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["starting", "running", "finished", "stopped", "failed"]

__all__ = ["RunState", "Status", "now"]


def now() -> str:
    """The time, as state.json records it."""
    return _dt.datetime.now().isoformat(timespec="seconds")


@dataclass
class RunState:
    """Everything state.json holds. Epochs count from 1; 0 means none yet."""

    status: Status = "starting"
    epochs_done: int = 0
    epochs: int = 0
    started_at: str = ""
    updated_at: str = ""
    #: The quantity early stopping and the best checkpoint watch (val_loss, or loss without validation rows).
    monitor: str = ""
    #: Its best value so far, the epoch it came from, and epochs since then.
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    #: The epoch checkpoints/last.keras holds, and what writing checkpoints cost.
    checkpoint_epoch: int = 0
    checkpoint_seconds: float = 0.0
    checkpoint_saves: int = 0
    #: (value, epoch) of the weights in checkpoints/best.keras.
    best_checkpoint: list[Any] = field(default_factory=lambda: [None, 0])
    #: The epoch whose weights model.keras holds.
    model_epoch: int = 0
    stopped_early: bool = False
    error: str = ""
    notices: list[str] = field(default_factory=list)
    last_logs: dict[str, float] = field(default_factory=dict)
    #: The process (and machine) that last wrote the state: a run left 'running' by a process that is
    #: gone was interrupted.
    pid: int = 0
    host: str = ""

    def touch(self) -> None:
        self.updated_at = now()
        self.pid, self.host = os.getpid(), socket.gethostname()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunState:
        """The state of a state.json (keys it does not know are ignored, missing ones take defaults)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    def record_epoch(self, epoch: int, value: float | None, logs: dict[str, float]) -> None:
        """After epoch ``epoch`` (from 1): epochs done, the best monitored value and the wait since it."""
        self.epochs_done = epoch
        if value is not None:
            if self.best is None or value < self.best:
                self.best, self.best_epoch, self.wait = value, epoch, 0
            else:
                self.wait += 1
        self.last_logs = dict(logs)
        self.touch()
