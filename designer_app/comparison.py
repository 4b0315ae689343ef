"""The Train page's "compare with and without the bypass": its background job and what the page shows of it.

The job trains the design twice (:func:`rmlp.learn.ablate.ablate`). Stop ends the job on screen at
once, at any moment: what was finished by then (the epochs of each twin) stays in the job's events,
and whatever TensorFlow was still doing (tracing a deep model's first step, say) finishes in the
background; its result is added to the job's ``info["outcome"]`` when it arrives. The job's id is
kept in the URL (``compare``), so a reload shows what happened.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from designer_app import jobs
from designer_app.metric_names import metric_label
from rmlp.learn.ablate import ablate
from rmlp.spec.metrics import metric_facts

if TYPE_CHECKING:
    from rmlp.data.split import Splits

#: The twins, in the order they train, and how the page names them.
VARIANTS = ("residual", "plain")
TITLES = {"residual": "with the bypass", "plain": "without the bypass"}

@dataclass(frozen=True)
class Step:
    """One training event of one twin."""

    variant: str
    event: Any

    @property
    def kind(self) -> str:
        return str(getattr(self.event, "kind", ""))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def metric_rows(residual: dict[str, Any] | None, plain: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per test metric of either twin (the metric table's): {metric, residual, plain, difference}."""
    a, b = dict(residual or {}), dict(plain or {})
    rows = []
    for name in [*a, *(k for k in b if k not in a)]:
        if metric_facts(name) is None:  # the row count, the split's name, the confusion matrix: not metrics
            continue
        x, y = _number(a.get(name)), _number(b.get(name))
        if x is None and y is None:
            continue
        rows.append({"metric": metric_label(name), "residual": x, "plain": y,
                     "difference": x - y if x is not None and y is not None else None})
    return rows


def start(spec: Any, loaded: Any, config: Any, data_name: str) -> jobs.Job:
    """Train ``spec`` with and without its bypasses on ``loaded`` (same seed, split and budget) in a job."""
    outcome: dict[str, Any] = {"busy": True}

    def target(listener: jobs.Listener, stop_event: threading.Event) -> Any:
        try:
            return _compare(spec, loaded.data, config, listener, stop_event, outcome)
        finally:
            outcome["busy"] = False

    info = {"epochs": config.epochs, "data": data_name, "spec": spec.name, "spec_json": spec.to_json(indent=None),
            "outcome": outcome}
    # never "begun": Stop ends the job on screen at once; the worker finishes its step in the background
    return jobs.Job(target, name=f"bypass comparison of {spec.name}", info=info, begun=lambda _: False,
                    coalesce=lambda e: "batch" if isinstance(e, Step) and e.kind == "batch" else None).start()


def _compare(spec: Any, data: Splits, config: Any, listener: jobs.Listener, stop_event: threading.Event,
             outcome: dict[str, Any]) -> Any:
    """The job's work: both twins, their events tagged with the twin; the result also kept in ``outcome``."""
    if stop_event.is_set():
        return None
    import keras  # noqa: F401 - TensorFlow's import, before the first event

    jobs.freeze_heap()
    ends = [0]

    def tagged(event: Any) -> None:
        variant = VARIANTS[min(ends[0], 1)]
        if getattr(event, "kind", "") in ("train_end", "stopped", "error"):
            ends[0] += 1
        listener(Step(variant, event))

    outcome["result"] = ablate(spec, data, config, listener=tagged, stop_event=stop_event)
    return outcome["result"]


def epochs_done(events: Any) -> dict[str, int]:
    """Finished epochs of each twin, from the job's events."""
    done = dict.fromkeys(VARIANTS, 0)
    for step in events:
        if isinstance(step, Step) and step.kind == "epoch":
            done[step.variant] = max(done[step.variant], int(step.event.epoch))
    return done


def current_variant(events: Any) -> str:
    """The twin in training: the residual one until its run has ended."""
    ended = any(isinstance(s, Step) and s.variant == "residual" and s.kind in ("train_end", "stopped", "error")
                for s in events)
    return "plain" if ended else "residual"


def result_of(snap: Any) -> Any:
    """The comparison's result: the job's, or (after a stop) what the worker finished in the background."""
    return snap.result if snap.result is not None else snap.info.get("outcome", {}).get("result")
