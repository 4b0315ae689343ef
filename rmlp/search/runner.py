"""Running a search: samplers, pruners, local worker processes, stop and resume.

Without a storage, a single process uses ``sqlite:///studies/<study>.db`` and ``workers > 1`` a
journal file ``studies/<study>.journal`` (see :mod:`rmlp.search.storage`). Local workers are
watched by :func:`run_search` itself, which fails and retries a dead worker's trial at once
(journal files have no heartbeat) and starts a replacement worker for the trials it had left.
Studies are created with ``load_if_exists``, so the same command resumes a stopped study;
finished trials are never lost.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import multiprocessing as mp
import os
import queue
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlp.compat import fail_stale_trials, fail_trial, study_storage
from rmlp.data.fit import spec_for_data
from rmlp.search.config import DataSource, SearchConfig, SearchError
from rmlp.search.objective import (
    MetricError,
    SearchStopped,
    TrialFailure,
    check_metric,
    make_objective,
    worker_id,
)
from rmlp.search.sampling import grid_values, spec_params
from rmlp.search.space import SearchSpace, SpaceError, default_space
from rmlp.search.storage import STUDY_ATTR, default_storage, load_study, open_storage, quiet_optuna, retry_callback
from rmlp.spec.display import hook
from rmlp.spec.fields import parse_settings
from rmlp.spec.model import ModelSpec

log = logging.getLogger(__name__)

#: How often one local worker slot is restarted after its process died.
MAX_RESPAWNS = 3
#: Exit status of a worker that met a mistake every worker would meet (a bad metric, storage...).
CONFIG_ERROR = 3
#: Exit status of a worker whose parent process died.
ORPHANED = 4
#: How long a worker whose parent died has to stop on its own before it exits (s).
ORPHAN_GRACE_S = 3.0


def _load(data_source: Any) -> Any:
    if isinstance(data_source, DataSource):
        return data_source.load()
    if isinstance(data_source, (str, Path)):
        raise SearchError("A data file needs a target column: pass DataSource(path, target).")
    if not hasattr(data_source, "x_train"):
        raise SearchError(f"Cannot use {type(data_source).__name__} as data: give a DataSource or loaded data.")
    return data_source


# ----------------------------------------------------------------------------- samplers and pruners
def make_sampler(config: SearchConfig, seed: int | None, space: SearchSpace, spec: ModelSpec,
                 parallel: bool = False) -> Any:
    """A seeded TPE (constant liar with parallel workers), random or grid sampler."""
    import optuna

    if config.sampler == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel,
                                              n_startup_trials=config.n_startup_trials)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(grid_values(space, spec), seed=seed)


def make_pruner(config: SearchConfig) -> Any:
    """Median or Hyperband pruning over epochs; none with two objectives (Optuna cannot prune those)."""
    import optuna

    if config.pruner == "none" or config.two_objectives:
        return optuna.pruners.NopPruner()
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(config.n_epochs, 2), reduction_factor=3)


# ----------------------------------------------------------------------------- progress
@dataclass
class SearchProgress:
    """Where a search stands: this run's finished trials out of ``total``, the study's counts and best."""

    done: int
    total: int
    complete: int
    pruned: int
    failed: int
    rejected: dict[str, int]
    running: list[dict[str, Any]]
    best_value: float | None
    best_trial: int | None
    pareto_size: int
    elapsed_s: float
    finished: bool = False
    #: The study itself, for a display that draws its trials (read in the thread that got this progress).
    study: Any = field(default=None, repr=False, compare=False)


def study_progress(study: Any, own_workers: set[str] | None, total: int, start: float,
                   finished: bool = False) -> SearchProgress:
    """Counts of a study's trials; ``done`` counts finished trials of ``own_workers`` (None: all)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {s: 0 for s in ("COMPLETE", "PRUNED", "FAIL")}
    rejected = {"params_cap": 0, "memory_cap": 0}
    running, done = [], 0
    for t in trials:
        state = t.state.name
        if state in counts:
            counts[state] += 1
        by = t.user_attrs.get("rejected_by")
        if by in rejected and t.state == TrialState.PRUNED:
            rejected[by] += 1
        if t.state == TrialState.RUNNING:
            running.append({"trial": t.number, "worker": t.user_attrs.get("worker", "?"),
                            "epochs": len(t.intermediate_values),
                            "started": t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else ""})
        elif t.state.is_finished() and (own_workers is None or t.user_attrs.get("worker") in own_workers):
            done += 1
    best_value = best_trial = None
    pareto = 0
    if counts["COMPLETE"]:
        if len(study.directions) == 1:
            best = study.best_trial
            best_value, best_trial = best.value, best.number
        else:
            front = study.best_trials
            pareto = len(front)
            first = sorted(front, key=lambda t: t.values[0], reverse=study.directions[0].name == "MAXIMIZE")
            best_value, best_trial = first[0].values[0], first[0].number
    return SearchProgress(done=done, total=total,
                          complete=counts["COMPLETE"], pruned=counts["PRUNED"] - sum(rejected.values()),
                          failed=counts["FAIL"], rejected=rejected, running=running, best_value=best_value,
                          best_trial=best_trial, pareto_size=pareto, elapsed_s=time.time() - start,
                          finished=finished, study=study)


@dataclass
class SearchResult:
    """What :func:`run_search` did."""

    study_name: str
    storage: str
    progress: SearchProgress
    stopped: bool = False
    notices: list[str] = field(default_factory=list)
    worker_exits: list[int | None] = field(default_factory=list)
    restarted_workers: int = 0
    recovered_trials: list[int] = field(default_factory=list)

    def load_study(self) -> Any:
        return load_study(self.storage, self.study_name)


# ----------------------------------------------------------------------------- lost trials
def recover_lost_trials(study: Any, workers: set[str], retry: bool = True) -> list[int]:
    """Fail the RUNNING trials of dead ``workers`` (``host:pid``) and queue a retry of each; their numbers."""
    from optuna.trial import TrialState

    if study_storage(study) is None:  # an Optuna rmlp.compat was not written for: its heartbeat check
        fail_stale_trials(study)
        return []
    done = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("worker") not in workers:
            continue
        failed = fail_trial(study, t)
        if failed is None:
            continue  # another worker's heartbeat check got there first (and queued the retry)
        done.append(t.number)
        if retry:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                retry_callback()(study, failed)
    return done


# ----------------------------------------------------------------------------- one worker
@dataclass
class WorkerJob:
    """Everything a spawned worker process needs (picklable)."""

    index: int
    storage: str
    study_name: str
    spec_json: str
    space_json: str
    data: Any
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


def _stop_callback(stop_event: Any) -> Callable[[Any, Any], None]:
    def callback(study: Any, trial: Any) -> None:
        if stop_event is not None and stop_event.is_set():
            study.stop()

    return callback


def run_worker(job: WorkerJob) -> int:
    """Run ``job.n_trials`` trials of a study in this process; 0 when done or stopped, 3 on a config error."""
    import optuna

    quiet_optuna()
    try:
        data = _load(job.data)
        spec = ModelSpec.from_json(job.spec_json)
        space = SearchSpace.from_json(job.space_json)
        storage = open_storage(job.storage)
        study = optuna.load_study(study_name=job.study_name, storage=storage,
                                  sampler=make_sampler(job.config, job.seed, space, spec, job.parallel),
                                  pruner=make_pruner(job.config))
        objective = make_objective(spec, space, data, job.config, job.stop_event)
        timeout = None if job.deadline is None else max(job.deadline - time.time(), 0.001)
        study.optimize(objective, n_trials=job.n_trials, timeout=timeout, catch=(TrialFailure,),
                       callbacks=[_stop_callback(job.stop_event)], gc_after_trial=True)
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


def _worker_process(job: WorkerJob) -> None:
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


# ----------------------------------------------------------------------------- the search
def _create_study(storage: Any, study_name: str, config: SearchConfig, sampler: Any, pruner: Any,
                  record: dict[str, Any]) -> Any:
    import optuna

    study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler, pruner=pruner,
                                directions=config.directions(), load_if_exists=True)
    old = study.user_attrs.get(STUDY_ATTR)
    wanted = [d.upper() for d in config.directions()]
    have = [d.name for d in study.directions]
    if have != wanted or (old and old.get("metric") != config.metric):
        what = old.get("metric") if old else "?"
        raise SearchError(f"The study {study_name!r} already exists with {len(have)} objective(s) ({what}, "
                          f"{'/'.join(h.lower() for h in have)}). Use another --study name, or the same metric, "
                          "direction and objectives to resume it.")
    study.set_user_attr(STUDY_ATTR, record)
    return study


def search_config(config: SearchConfig | None = None, **settings: Any) -> SearchConfig:
    """``config`` with ``settings`` (SearchConfig field names) changed; SettingsError naming any that do not fit."""
    return parse_settings(SearchConfig, {**(config or SearchConfig()).model_dump(), **settings})


def run_search(spec: ModelSpec, data_source: Any, space: SearchSpace | None = None,
               config: SearchConfig | None = None, *, progress: Callable[[SearchProgress], None] | None = None,
               stop_event: threading.Event | None = None, in_process: bool | None = None, poll_s: float = 0.5,
               on_workers: Callable[[list[int]], None] | None = None, display: bool = False,
               **settings: Any) -> SearchResult:
    """Search residual MLP designs for ``data_source`` with Optuna; a :class:`SearchResult`.

    How is a :class:`~rmlp.search.config.SearchConfig` (``config``, with any of its fields given
    as keywords: ``n_trials=30, workers=2, metric="val_accuracy"``...). ``spec`` is fitted to the
    data (input shape, task, outputs); ``space`` defaults to
    :func:`~rmlp.search.space.default_space` around it. ``n_trials`` trials run in this call (split
    over ``workers`` local processes; more machines join by running the same call against the same
    ``storage`` and ``study_name``). ``two_objectives`` optimises (metric, parameter count) for a
    Pareto front. Each local worker process gets ``cpu_count // workers`` TensorFlow threads (one
    when there are as many workers as cores). ``max_params`` / ``max_memory_mb`` override the
    space's caps. ``stop_event`` stops after the running batch; the stopped trial is marked FAIL,
    finished trials stay, and calling again with the same study resumes it. ``on_workers`` gets
    the worker pids as they start. ``seed`` seeds the split and the trials' weights;
    ``sampler_seed`` (default: ``seed``) seeds the sampler, worker ``i`` using ``sampler_seed + i``.
    Give each machine of a shared study its own ``sampler_seed`` (same ``seed``: same split).
    With ``start_from_spec`` a new study's first trial is ``spec`` itself (as far as the space
    reaches), so the search never ends worse, on validation, than the design it started from.
    ``display=True`` (in a notebook) draws the progress, the trial table and the best value so far
    live in the running cell, with a Stop button; the kernel's interrupt stops the search too.
    """
    config = search_config(config, **settings)
    if display:
        found: SearchResult = hook("search_live")(spec, data_source, space, config, progress=progress,
                                                  stop_event=stop_event, in_process=in_process, poll_s=poll_s,
                                                  on_workers=on_workers)
        return found
    data = _load(data_source)
    rows = len(data.x_train)
    config = config.sized(rows)
    spec, notices = spec_for_data(spec, data)
    check_metric(spec, config.metric)
    space = space if space is not None else default_space(spec, config.n_batch, rows=rows)
    caps = {k: v for k, v in (("max_params", config.max_params), ("max_memory_mb", config.max_memory_mb))
            if v is not None}
    space = space.model_copy(update=caps) if caps else space
    space.require_valid(spec)
    source_name = Path(str(getattr(data_source, "path", "") or getattr(data, "source", "") or "data")).stem
    study_name = config.study_name or f"{spec.name}-{source_name}"
    storage = config.storage or default_storage(study_name, config.workers, config.studies_dir)
    in_process = config.workers == 1 if in_process is None else in_process
    sampler_seed = config.seed if config.sampler_seed is None else config.sampler_seed
    record = {**config.record(), "sampler_seed": sampler_seed, "spec": spec.to_dict(), "space": space.to_dict(),
              "data": data_source.to_dict() if isinstance(data_source, DataSource) else {"source": source_name},
              "updated_at": _dt.datetime.now().isoformat(timespec="seconds")}
    quiet_optuna()
    store = open_storage(storage)
    study = _create_study(store, study_name, config,
                          make_sampler(config, sampler_seed, space, spec, config.workers > 1), make_pruner(config),
                          record)
    if config.start_from_spec and config.sampler != "grid" and not study.get_trials(deepcopy=False):
        params = spec_params(space, spec, config.n_batch)
        if params:
            study.enqueue_trial(params, user_attrs={"start": "the given design"}, skip_if_exists=True)
    start = time.time()
    if in_process:
        return _run_here(study, spec, space, data, config, storage, progress, stop_event, start, notices)
    return _run_workers(study, spec, space, data_source if isinstance(data_source, DataSource) else data, config,
                        storage, sampler_seed, progress, stop_event, start, notices, poll_s, on_workers)


def _run_here(study: Any, spec: ModelSpec, space: SearchSpace, data: Any, config: SearchConfig, storage: str,
              progress: Callable[[SearchProgress], None] | None, stop_event: threading.Event | None, start: float,
              notices: list[str]) -> SearchResult:
    own = {worker_id()}
    n_trials, timeout = config.n_trials, config.timeout

    def report(study_: Any, trial: Any) -> None:
        if progress is not None:
            progress(study_progress(study_, own, n_trials, start))

    objective = make_objective(spec, space, data, config, stop_event)
    import keras  # noqa: F401 - loaded before the first trial, as a worker does, so a trial's time is its own
    stopped = False
    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(TrialFailure,),
                       callbacks=[report, _stop_callback(stop_event)], gc_after_trial=True)
    except SearchStopped:
        stopped = True
    stopped = stopped or bool(stop_event is not None and stop_event.is_set())
    final = study_progress(study, own, n_trials, start, finished=True)
    if progress is not None:
        progress(final)
    return SearchResult(study.study_name, storage, final, stopped=stopped, notices=notices)


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


def _run_workers(study: Any, spec: ModelSpec, space: SearchSpace, data: Any, config: SearchConfig, storage: str,
                 seed: int, progress: Callable[[SearchProgress], None] | None, stop_event: threading.Event | None,
                 start: float, notices: list[str], poll_s: float,
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
        proc = ctx.Process(target=_worker_process, args=(job,), name=f"rmlp-search-worker-{slot.index}",
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
