"""Planning a search before it runs: which fields a page offers, list choices as text, the cost.

UI-agnostic and free of Keras: the app's Search page and scripts use these to edit a space one
field at a time and to say, before launch, roughly how long a search will take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.search.space import ParamSpace, default_entries, default_space
from rmlp.spec.fields import parse_int_list
from rmlp.spec.model import ModelSpec


@dataclass(frozen=True)
class SpaceRow:
    """One field a search page offers: its path, label, help, kind and a sensible searched entry."""

    path: str
    label: str
    help: str
    kind: str  # "int", "float", "choice", "bool", "int_list"
    searched: ParamSpace  # the entry used when the user switches the field to "search"
    choices: tuple[object, ...] = ()
    block_field: bool = False


def space_rows(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE, rows: int | None = None) -> list[SpaceRow]:
    """The fields of the default space around ``spec`` (for a table of ``rows``), in page order, with metadata."""
    entries = default_space(spec, batch_size, rows=rows).params
    return [SpaceRow(meta.pattern, meta.label, meta.help, meta.kind, entries[meta.pattern], tuple(meta.choices),
                     block_field=meta.pattern.startswith("blocks[]"))
            for meta, _ in default_entries(spec, batch_size)]


def format_list_choices(choices: list[list[int]]) -> str:
    """``[[], [64], [128, 64]]`` -> ``"none; 64; 128, 64"`` (for a text box)."""
    return "; ".join(", ".join(str(v) for v in c) if c else "none" for c in choices)


def parse_list_choices(text: str) -> list[list[int]]:
    """``"none; 64; 128, 64"`` -> ``[[], [64], [128, 64]]``; ValueError naming a bad item."""
    out: list[list[int]] = []
    for part in [p.strip() for p in text.split(";")]:
        if part.lower() in ("", "none", "[]", "empty"):
            if part or not out:
                out.append([])
            continue
        try:
            out.append(parse_int_list(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a list of whole numbers. Separate lists with ';' and widths "
                             "with ',', e.g. none; 64; 128, 64.") from None
    unique: list[list[int]] = []
    for c in out:
        if c not in unique:
            unique.append(c)
    return unique


@dataclass(frozen=True)
class CostEstimate:
    """A rough upper bound of a search's wall time (pruning and caps only make it shorter)."""

    seconds_per_trial: float
    total_seconds: float
    trials: int
    epochs: int
    workers: int
    #: The search's time limit in seconds (None: none).
    timeout: float | None = None
    #: Trials that run at once (workers, at most one per CPU core).
    parallel: int = 1

    @property
    def limited(self) -> bool:
        """Whether the time limit ends the search before all its trials (by this estimate)."""
        return self.timeout is not None and self.total_seconds > self.timeout

    def text(self) -> str:
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        head = (f"{self.trials} trials × up to {self.epochs} epochs ≈ {_duration(self.seconds_per_trial)} per "
                f"trial")
        if self.limited:
            fits = int(float(self.timeout or 0) // max(self.seconds_per_trial, 1e-9)) * self.parallel
            return (f"{head}: all of them would take about {_duration(self.total_seconds)} with {workers}, so the "
                    f"time limit of {_duration(float(self.timeout or 0))} ends the search after about "
                    f"{min(fits, self.trials)} trials.")
        limit = f", within the time limit of {_duration(float(self.timeout))}" if self.timeout is not None else ""
        return f"{head}, about {_duration(self.total_seconds)} with {workers}{limit} (less with pruning)."


def estimate_cost(n_trials: int, epochs: int, first_epoch_s: float, epoch_s: float, workers: int = 1,
                  cpus: int | None = None, timeout: float | None = None) -> CostEstimate:
    """Trials × (first epoch, with graph building, + further epochs), shared over the workers.

    Workers beyond the number of CPU cores do not run faster, so at most ``cpus`` count.
    """
    per_trial = first_epoch_s + max(epochs - 1, 0) * epoch_s
    useful = max(1, min(workers, cpus or workers))
    total = math.ceil(n_trials / useful) * per_trial if n_trials else 0.0
    return CostEstimate(per_trial, total, n_trials, epochs, workers, timeout, useful)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

