"""The Learn page's experiments as background jobs: the live twin run and the depth sweep.

The targets run in the job's worker thread; they train in NumPy (:mod:`rmlp.learn.twins`), so they need no
TensorFlow and do not wait for a training on another page (they are not exclusive). The live run's events are
:class:`rmlp.learn.experiment.Snapshot` objects, the sweep's a coalesced ``("progress", fraction, text)``.
Finished sweeps are kept per process, keyed on their settings, with the time they ended, so a second visit (any
session) shows them at once and says when they were run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from designer_app import jobs
from rmlp.learn.experiment import ExperimentConfig, depth_sweep, run_experiment
from rmlp.spec.fields import parse_settings

if TYPE_CHECKING:
    from rmlp.learn.toys import ToyData

#: The depths of the sweep (blocks).
SWEEP_DEPTHS: tuple[int, ...] = (1, 2, 4, 8, 12, 16)

_SWEEPS: dict[str, tuple[list[dict[str, Any]], float]] = {}
_SWEEPS_LOCK = threading.Lock()


def make_config(values: dict[str, Any]) -> Any:
    """The :class:`rmlp.learn.experiment.ExperimentConfig` of the page's values (SettingsError if one does not fit)."""
    return parse_settings(ExperimentConfig, {k: values[k] for k in ExperimentConfig.model_fields if k in values})


def _is_snapshot(event: Any) -> bool:
    return hasattr(event, "variant") and hasattr(event, "surface")


def _coalesce(event: Any) -> str | None:
    return "progress" if isinstance(event, tuple) and event and event[0] == "progress" else None


def _warm_up(stop_event: threading.Event) -> None:
    """TensorFlow's import, then the heap frozen (as training does), unless stopped while queued."""
    if not stop_event.is_set():
        import keras  # noqa: F401 - the first run's "Starting…"

        jobs.freeze_heap()


def start_experiment(config: Any, data: ToyData | None) -> jobs.Job:
    """Train both twins of ``config`` in a background job; its events are the snapshots."""
    def target(listener: jobs.Listener, stop_event: threading.Event) -> Any:
        return run_experiment(config, on_snapshot=listener, stop_event=stop_event, data=data)

    info = {"config": config, "data": data, "kind": "experiment"}
    return jobs.Job(target, name="Learn experiment", info=info, begun=_is_snapshot, exclusive=False).start()


def sweep_key(config: Any, depths: Sequence[int] | None = None) -> str:
    """What a sweep depends on: every setting but the depth, and the depths swept (default :data:`SWEEP_DEPTHS`)."""
    depths = SWEEP_DEPTHS if depths is None else depths
    settings = config.model_dump(mode="json", exclude={"depth", "snapshot_every"})
    return repr((sorted(settings.items()), tuple(depths)))


def cached_sweep(config: Any, depths: Sequence[int] | None = None) -> tuple[list[dict[str, Any]], float] | None:
    """The rows of a finished sweep with these settings and when it ended (``time.time()``), if this process ran
    one."""
    with _SWEEPS_LOCK:
        kept = _SWEEPS.get(sweep_key(config, depths))
    return None if kept is None else (list(kept[0]), kept[1])


def start_sweep(config: Any, depths: Sequence[int] | None = None) -> jobs.Job:
    """Run the depth sweep in a background job; a sweep that ends unstopped is cached."""
    depths = tuple(SWEEP_DEPTHS if depths is None else depths)
    key = sweep_key(config, depths)

    def target(listener: jobs.Listener, stop_event: threading.Event) -> list[dict[str, Any]]:
        listener(("progress", 0.0, "Starting…"))
        rows = depth_sweep(config, depths, on_progress=lambda f, t: listener(("progress", float(f), str(t))),
                           stop_event=stop_event)
        if not stop_event.is_set():
            with _SWEEPS_LOCK:
                _SWEEPS[key] = (list(rows), time.time())
        return rows

    info = {"config": config, "depths": tuple(depths), "kind": "sweep", "key": key}
    return jobs.Job(target, name="Learn depth sweep", info=info, coalesce=_coalesce, exclusive=False).start()


def latest_by_variant(events: Sequence[Any]) -> dict[str, Any]:
    """The newest snapshot of each variant."""
    latest: dict[str, Any] = {}
    for event in events:
        if _is_snapshot(event):
            latest[event.variant] = event
    return latest


def snapshots(events: Sequence[Any]) -> list[Any]:
    return [e for e in events if _is_snapshot(e)]
