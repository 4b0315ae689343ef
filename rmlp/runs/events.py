"""Training events: what a progress display (the app, the command line) hears while a run trains."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

EventKind = Literal["train_begin", "batch", "epoch", "train_end", "stopped", "error", "baseline_epoch"]
Listener = Callable[["TrainEvent"], None]

__all__ = ["EventKind", "Listener", "TrainEvent", "emit", "float_logs"]


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


def float_logs(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """Only the numeric log values, as plain floats."""
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def emit(listener: Listener | None, event: TrainEvent) -> None:
    """Call the listener; its exceptions never reach training."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:  # noqa: BLE001 - a broken display must not kill a training run
        log.debug("Training listener failed on a %s event", event.kind, exc_info=True)
