"""What stops a run before or while it trains: a design too big for the memory, a loss that is no number.

Neither imports TensorFlow: the memory check runs before any Keras work (training, a search
trial), and the divergence message is shared by training runs and search trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmlp.design.summary import machine_memory_bytes, summarize
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import Problem

__all__ = ["MemoryCheck", "TooBigForMemory", "TrainingDiverged", "TrainingError", "available_memory_bytes",
           "check_memory", "divergence_fix", "divergence_message", "gib", "memory_check"]

#: cgroup files (v2, then v1) that limit this process's memory, and what it uses of it.
CGROUP_LIMITS = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
#: A cgroup v1 "limit" at or above this means no limit.
NO_LIMIT = 2**60


class TrainingError(ValueError):
    """A run that cannot go on, said in plain words: what is wrong and how to fix it."""

    def __init__(self, message: str, fix: str = "", *, path: str = "training") -> None:
        self.problem = Problem(path=path, severity="error", message=message, fix=fix)
        super().__init__(f"{message} {fix}".strip())


class TrainingDiverged(TrainingError):
    """The loss became NaN or infinite; training stopped at that batch."""


class TooBigForMemory(TrainingError):
    """The design's estimated training memory is above the memory this machine has free."""


def gib(n: float) -> str:
    """Bytes as GiB (MiB under one GiB), for messages."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return None


def available_memory_bytes() -> int:
    """Memory this process can still use: the smaller of MemAvailable and its cgroup's free limit.

    Falls back to the machine's physical memory, and 0 when even that is unknown.
    """
    found = [v for v in (_mem_available(),) if v]
    for limit_file, usage_file in CGROUP_LIMITS:
        limit, used = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and limit < NO_LIMIT:
            found.append(max(limit - (used or 0), 0))
            break
    return min(found) if found else machine_memory_bytes()


@dataclass(frozen=True)
class MemoryCheck:
    """A design's estimated training memory at a batch size, against the memory available."""

    needed: int
    available: int
    batch_size: int
    #: The largest batch size that fits (0: not even one row fits).
    largest_batch: int

    @property
    def fits(self) -> bool:
        return not self.available or self.needed <= self.available

    def message(self) -> str:
        return (f"The design needs about {gib(self.needed)} of memory to train at batch size {self.batch_size} "
                f"(weights, optimizer state and activations, as `rmlp summary` estimates them), but only "
                f"{gib(self.available)} is available on this machine.")

    def fix(self) -> str:
        smaller = (f"Use a batch size of at most {self.largest_batch} (--batch-size {self.largest_batch}), or "
                   if self.largest_batch >= 1 else "Even one row at a time does not fit: ")
        return (smaller + "make the design smaller (narrower blocks, fewer layers, a smaller input). To train "
                "anyway, turn off the memory check ('Check the memory first' in the app's training settings, "
                "--no-memory-check on the command line, memory_check=False in Python).")


def memory_check(spec: ModelSpec, batch_size: int, available: int | None = None) -> MemoryCheck | None:
    """The estimate for ``spec`` at ``batch_size``; None when it cannot be made (an uninspected base model)."""
    try:
        one, two = summarize(spec, 1).peak_training_bytes, summarize(spec, 2).peak_training_bytes
        needed = summarize(spec, int(batch_size)).peak_training_bytes
    except Exception:  # noqa: BLE001 - no estimate, no check: training itself says what is wrong
        return None
    free = available_memory_bytes() if available is None else available
    per_row, fixed = two - one, one - (two - one)
    largest = int((free - fixed) // per_row) if per_row > 0 and free > fixed else 0
    return MemoryCheck(needed=needed, available=free, batch_size=int(batch_size),
                       largest_batch=max(min(largest, int(batch_size)), 0))


def check_memory(spec: ModelSpec, batch_size: int, available: int | None = None) -> MemoryCheck | None:
    """Raise :class:`TooBigForMemory` when ``spec`` will not fit at ``batch_size``; the check otherwise."""
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
