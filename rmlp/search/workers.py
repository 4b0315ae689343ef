"""A search's local worker processes: spawned, watched, replaced when one dies, and their entry point.

:func:`run_workers` spawns one process per worker (``spawn`` start method: the entry point
:func:`worker_main` is imported by its module path in the new process), fails and retries a dead
worker's trial at once (journal files have no heartbeat) and starts a replacement worker for the
trials it had left. A worker stops, and exits within a few seconds, when its parent dies.

Optuna and TensorFlow are imported inside the functions that need them, in the worker processes.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rmlp.search.config import DataSource, SearchConfig, SearchError
from rmlp.search.objective import MetricError, SearchStopped, TrialFailure, make_objective
from rmlp.search.space import SearchSpace, SpaceError
from rmlp.search.storage import open_storage, quiet_optuna
from rmlp.search.study import (
    SearchProgress,
    SearchResult,
    load_search_data,
    make_pruner,
    make_sampler,
    recover_lost_trials,
    stop_callback,
    study_progress,
)
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits

log = logging.getLogger(__name__)

#: How often one local worker slot is restarted after its process died.
MAX_RESPAWNS = 3
#: Exit status of a worker that met a mistake every worker would meet (a bad metric, storage...).
CONFIG_ERROR = 3
#: Exit status of a worker whose parent process died.
ORPHANED = 4
#: How long a worker whose parent died has to stop on its own before it exits (s).
ORPHAN_GRACE_S = 3.0


# ----------------------------------------------------------------------------- one worker
@dataclass
class WorkerJob:
    """Everything a spawned worker process needs (picklable)."""

    index: int
    storage: str
    study_name: str
    spec_json: str
    space_json: str
    data: Splits | DataSource
    config: SearchConfig
    n_trials: int
    deadline: float | None
    seed: int
    parallel: bool
    stop_event: Any = None
    messages: Any = None
    threads: int = 1


def threads_per_worker(workers: int) -> int:
    """This machine's cores shared out over ``workers`` (at least one each)."""
    return max(1, (os.cpu_count() or 1) // max(workers, 1))


def limit_threads(threads: int = 1) -> None:
    """One TensorFlow / BLAS thread pool of ``threads`` threads in this process (set before TF starts)."""
    for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised: keep what it has
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def run_worker(job: WorkerJob) -> int:
    """Run ``job.n_trials`` trials of a study in this process; 0 when done or stopped, 3 on a config error."""
    import optuna

    quiet_optuna()
    try:
        data = load_search_data(job.data)
        spec = ModelSpec.from_json(job.spec_json)
        space = SearchSpace.from_json(job.space_json)
        storage = open_storage(job.storage)
        study = optuna.load_study(study_name=job.study_name, storage=storage,
                                  sampler=make_sampler(job.config, job.seed, space, spec, job.parallel),
                                  pruner=make_pruner(job.config))
        objective = make_objective(spec, space, data, job.config, job.stop_event)
        timeout = None if job.deadline is None else max(job.deadline - time.time(), 0.001)
        study.optimize(objective, n_trials=job.n_trials, timeout=timeout, catch=(TrialFailure,),
                       callbacks=[stop_callback(job.stop_event)], gc_after_trial=True)
    except SearchStopped:
        return 0
    except (MetricError, SearchError, SpaceError, ValueError) as exc:
        if job.messages is not None:
            job.messages.put((job.index, f"{type(exc).__name__}: {exc}"))
        return CONFIG_ERROR
    return 0


def _watch_parent(stop_event: Any, grace_s: float = ORPHAN_GRACE_S) -> None:
    """In a worker: when the parent process dies, stop (the running trial ends after its batch), then exit.

    A worker whose parent was killed (SIGKILL, a crash) would otherwise go on starting trials
    nobody waits for. The stop event asks the trial to end cleanly; after ``grace_s`` the
    process exits whatever it is doing.
    """
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: returns when the parent has died
        if stop_event is not None:
            with contextlib.suppress(Exception):  # the event's memory may be gone with the parent
                stop_event.set()
        time.sleep(grace_s)
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="rmlp-parent-watch", daemon=True).start()


def worker_main(job: WorkerJob) -> None:
    """Entry point of a spawned worker process (Ctrl-C is the parent's: it stops workers by their event).

    The worker also stops, and exits within a few seconds, when its parent dies (:func:`_watch_parent`).
    """
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(job.stop_event)
    from rmlp.runs.quiet import quiet_tensorflow_import

    quiet_tensorflow_import()
    limit_threads(job.threads)
    try:
        code = run_worker(job)
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


# ----------------------------------------------------------------------------- the workers of one search
def split_trials(n_trials: int, workers: int) -> list[int]:
    """``n_trials`` shared out over ``workers`` (the first ones take one more)."""
    return [n_trials // workers + (1 if i < n_trials % workers else 0) for i in range(workers)]


@dataclass
class _Slot:
    index: int
    left: int
    process: Any = None
    wid: str = ""
    respawns: int = 0
    ids: list[str] = field(default_factory=list)


def run_workers(study: Any, spec: ModelSpec, space: SearchSpace, data: Splits | DataSource, config: SearchConfig,
                storage: str, seed: int, progress: Callable[[SearchProgress], None] | None,
                stop_event: threading.Event | None, start: float, notices: list[str], poll_s: float,
                on_workers: Callable[[list[int]], None] | None) -> SearchResult:
    """Spawn local worker processes, replace dead ones (their trial failed and queued again), wait."""
    n_trials, timeout, workers = config.n_trials, config.timeout, config.workers
    ctx = mp.get_context("spawn")
    stop_mp = ctx.Event()
    messages = ctx.Queue()
    deadline = None if timeout is None else start + timeout
    host = socket.gethostname()
    slots = [_Slot(i, q) for i, q in enumerate(split_trials(n_trials, workers)) if q > 0]
    spec_json, space_json = spec.to_json(indent=None), space.to_json(indent=None)
    exits: list[int | None] = []
    recovered: list[int] = []
    errors: list[str] = []
    restarted = 0

    def launch(slot: _Slot) -> None:
        job = WorkerJob(index=slot.index, storage=storage, study_name=study.study_name, spec_json=spec_json,
                        space_json=space_json, data=data, config=config, n_trials=slot.left, deadline=deadline,
                        seed=seed + slot.index + 1000 * slot.respawns, parallel=workers > 1, stop_event=stop_mp,
                        messages=messages, threads=threads_per_worker(workers))
        proc = ctx.Process(target=worker_main, args=(job,), name=f"rmlp-search-worker-{slot.index}",
                           daemon=False)
        proc.start()
        slot.process, slot.wid = proc, f"{host}:{proc.pid}"
        slot.ids.append(slot.wid)
        if on_workers is not None:
            on_workers([s.process.pid for s in slots if s.process is not None])

    def own() -> set[str]:
        return {i for s in slots for i in s.ids}

    for slot in slots:
        launch(slot)
    interrupted = False
    try:
        while any(s.process is not None for s in slots):
            time.sleep(poll_s)
            if stop_event is not None and stop_event.is_set():
                stop_mp.set()
            while not messages.empty():
                _, text = messages.get_nowait()
                errors.append(text)
                stop_mp.set()
            for slot in slots:
                proc = slot.process
                if proc is None or proc.is_alive():
                    continue
                proc.join()
                exits.append(proc.exitcode)
                slot.process = None
                if proc.exitcode == CONFIG_ERROR:
                    stop_mp.set()  # a mistake every worker would make: stop them all, report it
                if proc.exitcode == 0 or stop_mp.is_set():
                    continue
                lost = recover_lost_trials(study, {slot.wid}, retry=True)
                recovered += lost
                finished = sum(1 for t in study.get_trials(deepcopy=False)
                               if t.user_attrs.get("worker") == slot.wid and t.state.is_finished()
                               and t.number not in lost)
                slot.left -= finished
                out_of_time = deadline is not None and time.time() >= deadline
                log.warning("Search worker %s died (exit %s); trial(s) %s queued again.", slot.wid, proc.exitcode,
                            lost)
                if slot.left > 0 and slot.respawns < MAX_RESPAWNS and not out_of_time:
                    slot.respawns += 1
                    restarted += 1
                    launch(slot)
            if progress is not None:
                progress(study_progress(study, own(), n_trials, start))
    except KeyboardInterrupt:
        interrupted = True
        stop_mp.set()
        for slot in slots:
            if slot.process is not None:
                slot.process.join(timeout=30)
                if slot.process.is_alive():
                    slot.process.terminate()
                    slot.process.join(timeout=5)
    finally:
        recovered += recover_lost_trials(study, own(), retry=not (stop_mp.is_set() or interrupted))
    if interrupted:
        raise KeyboardInterrupt
    with contextlib.suppress(queue.Empty, OSError, ValueError):  # a last message may come with its worker's exit
        while True:
            errors.append(messages.get(timeout=0.2)[1])
    if errors:
        raise SearchError(errors[0].split(": ", 1)[-1])
    final = study_progress(study, own(), n_trials, start, finished=True)
    if progress is not None:
        progress(final)
    stopped = bool(stop_event is not None and stop_event.is_set())
    return SearchResult(study.study_name, storage, final, stopped=stopped, notices=notices, worker_exits=exits,
                        restarted_workers=restarted, recovered_trials=recovered)
