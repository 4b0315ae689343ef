"""What stops a run before or while it trains: a design too big for the memory, a loss that is no number.

Neither imports TensorFlow: the memory check (the verdict of :mod:`rmlp.design.memory`) runs before
any Keras work (training, a search trial), and the divergence message is shared by training runs and
search trials.
"""

from __future__ import annotations

import math
from typing import Any

from rmlp.design.memory import MemoryVerdict, available_memory_bytes, gib, memory_verdict
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import Problem

__all__ = ["MemoryCheck", "TooBigForMemory", "TrainingDiverged", "TrainingError", "available_memory_bytes",
           "check_memory", "divergence_fix", "divergence_message", "gib", "memory_check"]


class TrainingError(ValueError):
    """A run that cannot go on, said in plain words: what is wrong and how to fix it."""

    def __init__(self, message: str, fix: str = "", *, path: str = "training") -> None:
        self.problem = Problem(path=path, severity="error", message=message, fix=fix)
        super().__init__(f"{message} {fix}".strip())


class TrainingDiverged(TrainingError):
    """The loss became NaN or infinite; training stopped at that batch."""


class TooBigForMemory(TrainingError):
    """The design's estimated training memory is above the memory this machine has free."""


#: The verdict a run refuses on (the same one the Design page, the sidebar and ``rmlp summary`` show).
MemoryCheck = MemoryVerdict


def memory_check(spec: ModelSpec, batch_size: int, available: int | None = None) -> MemoryCheck | None:
    """The memory verdict for ``spec`` at ``batch_size`` against ``available`` (default: what is free now)."""
    return memory_verdict(spec, batch_size, available_memory_bytes() if available is None else available)


def check_memory(spec: ModelSpec, batch_size: int, available: int | None = None) -> MemoryCheck | None:
    """Raise :class:`TooBigForMemory` when ``spec`` will not fit at ``batch_size``; the verdict otherwise."""
    check = memory_check(spec, batch_size, available)
    if check is not None and not check.fits:
        raise TooBigForMemory(check.message(), check.fix(), path="batch_size")
    return check


def divergence_fix(spec: Any = None) -> str:
    """What to try when the loss became NaN or infinite, with the spec's own settings."""
    optimizer = getattr(spec, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    clip = getattr(optimizer, "clipnorm", None)
    rate_text = f", now {rate:g}" if isinstance(rate, (int, float)) else ""
    clip_text = "; now off" if optimizer is not None and clip is None else f"; now {clip:g}" if clip else ""
    return (f"Try a lower learning rate (optimizer.learning_rate in the spec{rate_text}, e.g. a tenth of it), "
            f"gradient clipping (optimizer.clipnorm, e.g. 1.0{clip_text}), or check the data for extreme values "
            "(huge numbers, outliers, unscaled columns).")


def divergence_message(value: float, epoch: int, batch: int) -> str:
    """Where the loss stopped being a number."""
    what = "NaN" if math.isnan(value) else "infinite"
    return f"Training diverged: the loss became {what} at batch {batch} of epoch {epoch}, so training stopped there."
