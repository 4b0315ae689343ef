"""Does a design fit this machine's memory to train? One verdict, in one wording, for every place that asks.

The Design page, the sidebar, ``rmlp summary``, ``rmlp validate``, training and search trials all
compare the same estimate (:attr:`Summary.peak_training_bytes`, TensorFlow's fixed overhead
included) with the same memory (:func:`available_memory_bytes`: free memory, a container's cgroup
limit counted). "Training memory" is what the design itself adds (:func:`design_bytes`), the same
figure in the app and the command line. Pure Python: reads ``/proc`` and ``/sys``, never TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rmlp.design.summary import Summary, machine_memory_bytes, summarize
from rmlp.spec.model import ModelSpec

__all__ = ["CGROUP_LIMITS", "MemoryVerdict", "available_memory_bytes", "design_bytes", "gib", "memory_limit_bytes",
           "memory_verdict"]

#: cgroup files (v2, then v1) that limit this process's memory, and what it uses of it.
CGROUP_LIMITS = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
#: A cgroup v1 "limit" at or above this means no limit.
NO_LIMIT = 2**60
#: Above this share of the available memory a design fits, but tightly.
TIGHT_SHARE = 0.5

Level = Literal["error", "warning", "ok"]


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


def memory_limit_bytes() -> int:
    """All the memory this process may use: the machine's, or its container's cgroup limit when smaller."""
    found = [v for v in (machine_memory_bytes(),) if v]
    for limit_file, _ in CGROUP_LIMITS:
        limit = _read_int(limit_file)
        if limit is not None and limit < NO_LIMIT:
            found.append(limit)
            break
    return min(found) if found else 0


def design_bytes(figures: Summary) -> int:
    """"Training memory": what the design adds (weights, gradients and optimizer state, activations)."""
    return figures.design_training_bytes


@dataclass(frozen=True)
class MemoryVerdict:
    """A design's estimated peak training memory at a batch size, against the memory available."""

    needed: int
    available: int  # 0: unknown, and then everything fits
    batch_size: int
    #: The largest batch size that fits, at most ``batch_size`` (0: not even one row fits).
    largest_batch: int

    @property
    def fits(self) -> bool:
        return not self.available or self.needed <= self.available

    @property
    def level(self) -> Level:
        """'error' when it does not fit, 'warning' above half the available memory, else 'ok'."""
        if not self.fits:
            return "error"
        return "warning" if self.available and self.needed > TIGHT_SHARE * self.available else "ok"

    def words(self) -> str:
        """The verdict in one sentence, the same in the app, the command line and training."""
        if not self.fits:
            return self.message()
        needs = (f"The design needs about {gib(self.needed)} of memory to train at batch size {self.batch_size}, "
                 "TensorFlow's fixed overhead included")
        if not self.available:
            return needs + "."
        if self.level == "warning":
            return f"{needs}, over half of the {gib(self.available)} available on this machine."
        return f"{needs}; {gib(self.available)} is available on this machine."

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


def memory_verdict(spec: ModelSpec, batch_size: int, available: int | None = None,
                   dtype: str = "float32") -> MemoryVerdict | None:
    """The verdict for ``spec`` at ``batch_size``; None when no estimate can be made (an uninspected base model).

    ``available`` defaults to :func:`available_memory_bytes`.
    """
    try:
        one = summarize(spec, 1, dtype).peak_training_bytes
        two = summarize(spec, 2, dtype).peak_training_bytes
        needed = summarize(spec, int(batch_size), dtype).peak_training_bytes
    except Exception:  # noqa: BLE001 - no estimate, no verdict: training itself says what is wrong
        return None
    free = available_memory_bytes() if available is None else available
    per_row, fixed = two - one, one - (two - one)
    largest = int((free - fixed) // per_row) if per_row > 0 and free > fixed else 0
    return MemoryVerdict(needed=needed, available=free, batch_size=int(batch_size),
                         largest_batch=max(min(largest, int(batch_size)), 0))
