"""Running a search: storages, samplers, pruners, local worker processes, stop and resume.

Storage is any Optuna storage URL (``sqlite:///studies/x.db``, ``postgresql+psycopg2://...``,
``mysql+pymysql://...``) or a journal file (``journal:studies/x.journal``, or a path ending in
``.journal``/``.log``). Without one, a single process uses ``sqlite:///studies/<study>.db`` and
``workers > 1`` a journal file ``studies/<study>.journal``.

Database storages run Optuna's heartbeat: a worker that dies (on any machine) leaves a trial
whose heartbeat stops; after the grace period the next worker to start a trial marks it FAIL
and queues a copy of it (a retry). Local workers are watched by :func:`run_search` itself, which
fails and retries a dead worker's trial at once (journal files have no heartbeat) and starts a
replacement worker for the trials it had left. Studies are created with ``load_if_exists``, so
the same command resumes a stopped study; finished trials are never lost.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import inspect
import logging
import multiprocessing as mp
import os
import queue
import re
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlp.search.objective import (
    MetricError,
    ObjectiveConfig,
    SearchStopped,
    TrialFailure,
    check_metric,
    guess_direction,
    make_objective,
    worker_id,
)
from rmlp.search.space import SearchSpace, SpaceError, default_space, grid_values, spec_params
from rmlp.spec.model import ModelSpec

log = logging.getLogger(__name__)

STUDIES_DIR = "studies"
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
#: Seconds between heartbeats of a running trial, and without one before it counts as dead
#: (environment variables RMLP_SEARCH_HEARTBEAT_S and RMLP_SEARCH_GRACE_S override them).
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 30
#: How often a failed (dead-worker) trial is queued again.
MAX_RETRY = 2
#: How often one local worker slot is restarted after its process died.
MAX_RESPAWNS = 3
#: Key of the study user attribute holding what the search was run with.
STUDY_ATTR = "rmlp"
#: Exit status of a worker that met a mistake every worker would meet (a bad metric, storage...).
CONFIG_ERROR = 3


class SearchError(ValueError):
    """A search that cannot run as asked (bad storage, study, sampler, metric...), in plain words."""


# ----------------------------------------------------------------------------- data
@dataclass
class DataSource:
    """Where a table (or image set) comes from; each worker process loads it itself (same seed, same split)."""

    path: str
    target: str | None = None
    task: str | None = None
    seed: int = 0
    #: Further arguments of :func:`rmlp.data.load_data` (``val_size``, ``test_size``, ...).
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        from rmlp.data import load_data

        options: dict[str, Any] = {"seed": self.seed, **self.options}
        if self.task:
            options["task"] = self.task
        return load_data(self.path, self.target, **options)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "target": self.target, "task": self.task, "seed": self.seed,
                **self.options}


def _load(data_source: Any) -> Any:
    if isinstance(data_source, DataSource):
        return data_source.load()
    if isinstance(data_source, (str, Path)):
        raise SearchError("A data file needs a target column: pass DataSource(path, target).")
    if not hasattr(data_source, "x_train"):
        raise SearchError(f"Cannot use {type(data_source).__name__} as data: give a DataSource or loaded data.")
    return data_source


# ----------------------------------------------------------------------------- storages
def default_storage(study_name: str, workers: int = 1, directory: str | Path = STUDIES_DIR) -> str:
    """``sqlite:///studies/<name>.db`` for one process, ``journal:studies/<name>.journal`` for several."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", study_name).strip("._") or "study"
    if workers > 1:
        return f"journal:{Path(directory) / (safe + '.journal')}"
    return f"sqlite:///{Path(directory) / (safe + '.db')}"


def storage_kind(url: str) -> tuple[str, str]:
    """("journal", path) or ("rdb", sqlalchemy URL) for a storage string."""
    url = str(url).strip()
    if url.startswith("journal:"):
        return "journal", url.removeprefix("journal:").removeprefix("//")
    if "://" not in url:
        suffix = Path(url).suffix.lower()
        if suffix in (".journal", ".log", ".jsonl"):
            return "journal", url
        if suffix in (".db", ".sqlite", ".sqlite3"):
            return "rdb", f"sqlite:///{url}"
        raise SearchError(f"{url!r} is not a storage URL. Use sqlite:///FILE.db, postgresql+psycopg2://USER@HOST/DB, "
                          "or journal:FILE.journal.")
    return "rdb", url


def _retry_callback() -> Any:
    import optuna

    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(max_retry=MAX_RETRY)


def open_storage(url: str, heartbeat: bool = True) -> Any:
    """An Optuna storage for ``url``: RDB storages get heartbeats and retries of dead workers' trials."""
    import optuna

    kind, target = storage_kind(url)
    try:
        if kind == "journal":
            from optuna.storages.journal import JournalFileBackend

            Path(target).parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(target)))
        kwargs: dict[str, Any] = {}
        if target.startswith("sqlite:///"):
            path = target.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
        if heartbeat:
            params = inspect.signature(optuna.storages.RDBStorage).parameters
            callback_arg = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params
                            else "failed_trial_callback")
            kwargs.update({"heartbeat_interval": int(os.environ.get("RMLP_SEARCH_HEARTBEAT_S", HEARTBEAT_INTERVAL)),
                           "grace_period": int(os.environ.get("RMLP_SEARCH_GRACE_S", GRACE_PERIOD)),
                           callback_arg: _retry_callback()})
        for attempt in range(3):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return optuna.storages.RDBStorage(target, **kwargs)
            except Exception as exc:  # noqa: BLE001 - two processes creating the tables at once: try again
                if "already exists" not in str(exc) or attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")
    except SearchError:
        raise
    except ImportError as exc:
        raise SearchError(f"No database driver for {_safe_url(url)}: {exc}. Install one (psycopg2-binary for "
                          "PostgreSQL, pymysql for MySQL).") from None
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported in plain words
        raise SearchError(f"Cannot open the study storage {_safe_url(url)}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}. Check the URL, that the server runs "
                          "and that the database exists.") from None


def _safe_url(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(url))


def study_names(storage: str) -> list[str]:
    """Names of the studies in a storage."""
    import optuna

    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(storage, heartbeat=False))]


# ----------------------------------------------------------------------------- samplers and pruners
def make_sampler(name: str, seed: int | None, space: SearchSpace, spec: ModelSpec, parallel: bool = False,
                 two_objectives: bool = False) -> Any:
    """A seeded TPE (constant liar with parallel workers), random or grid sampler."""
    import optuna

    if name == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel, n_startup_trials=5)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_values(space, spec), seed=seed)
    raise SearchError(f"Unknown sampler {name!r}. Use one of: {', '.join(SAMPLERS)}.")


def make_pruner(name: str, epochs: int, two_objectives: bool = False) -> Any:
    """Median or Hyperband pruning over epochs; none with two objectives (Optuna cannot prune those)."""
    import optuna

    if name not in PRUNERS:
        raise SearchError(f"Unknown pruner {name!r}. Use one of: {', '.join(PRUNERS)}.")
    if name == "none" or two_objectives:
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 2), reduction_factor=3)


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
                          finished=finished)


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
        from rmlp.search.report import load_study

        return load_study(self.storage, self.study_name)


# ----------------------------------------------------------------------------- lost trials
def recover_lost_trials(study: Any, workers: set[str], retry: bool = True) -> list[int]:
    """Fail the RUNNING trials of dead ``workers`` (``host:pid``) and queue a retry of each; their numbers."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    done = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("worker") not in workers:
            continue
        try:
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker's heartbeat check got there first (and queued the retry)
        done.append(t.number)
        if retry:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _retry_callback()(study, storage.get_trial(t._trial_id))
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
    config: ObjectiveConfig
    n_trials: int
    deadline: float | None
    seed: int
    sampler: str
    pruner: str
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


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def _stop_callback(stop_event: Any) -> Callable[[Any, Any], None]:
    def callback(study: Any, trial: Any) -> None:
        if stop_event is not None and stop_event.is_set():
            study.stop()

    return callback


def run_worker(job: WorkerJob) -> int:
    """Run ``job.n_trials`` trials of a study in this process; 0 when done or stopped, 3 on a config error."""
    import optuna

    _quiet_optuna()
    try:
        data = _load(job.data)
        spec = ModelSpec.from_json(job.spec_json)
        space = SearchSpace.from_json(job.space_json)
        storage = open_storage(job.storage)
        two = job.config.two_objectives
        study = optuna.load_study(
            study_name=job.study_name, storage=storage,
            sampler=make_sampler(job.sampler, job.seed, space, spec, job.parallel, two),
            pruner=make_pruner(job.pruner, job.config.epochs, two))
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


def _worker_process(job: WorkerJob) -> None:
    """Entry point of a spawned worker process (Ctrl-C is the parent's: it stops workers by their event)."""
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(job.threads)
    try:
        code = run_worker(job)
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


# ----------------------------------------------------------------------------- the search
def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SearchError(f"Unknown {name} {value!r}. Use one of: {', '.join(allowed)}.")


def _create_study(storage: Any, study_name: str, config: ObjectiveConfig, sampler: Any, pruner: Any,
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


def run_search(spec: ModelSpec, data_source: Any, space: SearchSpace | None = None, *, n_trials: int = 20,
               timeout: float | None = None, storage: str | None = None, study_name: str | None = None,
               workers: int = 1, seed: int = 0, sampler: str = "tpe", pruner: str = "median",
               metric: str = "val_loss", direction: str | None = None, objectives: int = 1, epochs: int = 10,
               batch_size: int = 32, early_stopping: bool = True, patience: int = 5,
               studies_dir: str | Path = STUDIES_DIR, progress: Callable[[SearchProgress], None] | None = None,
               stop_event: threading.Event | None = None, in_process: bool | None = None,
               throttle_s: float = 0.0, poll_s: float = 0.5, max_params: int | None = None,
               max_memory_mb: float | None = None, sampler_seed: int | None = None, start_from_spec: bool = True,
               on_workers: Callable[[list[int]], None] | None = None) -> SearchResult:
    """Search residual MLP designs for ``data_source`` with Optuna; a :class:`SearchResult`.

    ``spec`` is fitted to the data (input shape, task, outputs); ``space`` defaults to
    :func:`~rmlp.search.space.default_space` around it. ``n_trials`` trials run in this call (split
    over ``workers`` local processes; more machines join by running the same call against the same
    ``storage`` and ``study_name``). ``objectives=2`` optimises (metric, parameter count) for a
    Pareto front. Each local worker process gets ``cpu_count // workers`` TensorFlow threads (one
    when there are as many workers as cores). ``max_params`` / ``max_memory_mb`` override the
    space's caps. ``stop_event`` stops after the running batch; the stopped trial is marked FAIL,
    finished trials stay, and calling again with the same study resumes it. ``on_workers`` gets
    the worker pids as they start. ``seed`` seeds the split and the trials' weights;
    ``sampler_seed`` (default: ``seed``) seeds the sampler, worker ``i`` using ``sampler_seed + i``.
    Give each machine of a shared study its own ``sampler_seed`` (same ``seed``: same split).
    With ``start_from_spec`` a new study's first trial is ``spec`` itself (as far as the space
    reaches), so the search never ends worse, on validation, than the design it started from.
    """
    from rmlp.data import spec_for_data

    _check_choice("sampler", sampler, SAMPLERS)
    _check_choice("pruner", pruner, PRUNERS)
    if objectives not in (1, 2):
        raise SearchError(f"objectives must be 1 (the metric) or 2 (the metric and the parameter count), "
                          f"not {objectives}.")
    if n_trials < 1:
        raise SearchError(f"n_trials must be at least 1 (got {n_trials}).")
    if workers < 1:
        raise SearchError(f"workers must be at least 1 (got {workers}).")
    direction = direction or guess_direction(metric)
    _check_choice("direction", direction, ("minimize", "maximize"))
    data = _load(data_source)
    spec, notices = spec_for_data(spec, data)
    check_metric(spec, metric)
    space = space if space is not None else default_space(spec, batch_size)
    caps = {k: v for k, v in (("max_params", max_params), ("max_memory_mb", max_memory_mb)) if v is not None}
    space = space.model_copy(update=caps) if caps else space
    space.require_valid(spec)
    source_name = Path(str(getattr(data_source, "path", "") or getattr(data, "source", "") or "data")).stem
    study_name = study_name or f"{spec.name}-{source_name}"
    storage = storage or default_storage(study_name, workers, studies_dir)
    config = ObjectiveConfig(metric=metric, direction=direction, two_objectives=objectives == 2, epochs=epochs,
                             batch_size=batch_size, early_stopping=early_stopping, patience=patience, seed=seed,
                             throttle_s=throttle_s)
    in_process = workers == 1 if in_process is None else in_process
    sampler_seed = seed if sampler_seed is None else sampler_seed
    two = config.two_objectives
    record = {"metric": metric, "direction": direction, "objectives": objectives, "epochs": epochs,
              "batch_size": batch_size, "seed": seed, "sampler_seed": sampler_seed, "sampler": sampler,
              "pruner": pruner,
              "spec": spec.to_dict(), "space": space.to_dict(),
              "data": data_source.to_dict() if isinstance(data_source, DataSource) else {"source": source_name},
              "updated_at": _dt.datetime.now().isoformat(timespec="seconds")}
    _quiet_optuna()
    store = open_storage(storage)
    study = _create_study(store, study_name, config, make_sampler(sampler, sampler_seed, space, spec, workers > 1,
                                                                  two),
                          make_pruner(pruner, epochs, two), record)
    if start_from_spec and sampler != "grid" and not study.get_trials(deepcopy=False):
        params = spec_params(space, spec, batch_size)
        if params:
            study.enqueue_trial(params, user_attrs={"start": "the given design"}, skip_if_exists=True)
    start = time.time()
    if in_process:
        return _run_here(study, spec, space, data, config, n_trials, timeout, storage, progress, stop_event,
                         start, notices)
    return _run_workers(study, spec, space, data_source if isinstance(data_source, DataSource) else data, config,
                        n_trials, timeout, storage, workers, sampler_seed, sampler, pruner, progress, stop_event,
                        start, notices, poll_s, on_workers)


def _run_here(study: Any, spec: ModelSpec, space: SearchSpace, data: Any, config: ObjectiveConfig, n_trials: int,
              timeout: float | None, storage: str, progress: Callable[[SearchProgress], None] | None,
              stop_event: threading.Event | None, start: float, notices: list[str]) -> SearchResult:
    own = {worker_id()}

    def report(study_: Any, trial: Any) -> None:
        if progress is not None:
            progress(study_progress(study_, own, n_trials, start))

    objective = make_objective(spec, space, data, config, stop_event)
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


def _run_workers(study: Any, spec: ModelSpec, space: SearchSpace, data: Any, config: ObjectiveConfig,
                 n_trials: int, timeout: float | None, storage: str, workers: int, seed: int, sampler: str,
                 pruner: str, progress: Callable[[SearchProgress], None] | None,
                 stop_event: threading.Event | None, start: float, notices: list[str], poll_s: float,
                 on_workers: Callable[[list[int]], None] | None) -> SearchResult:
    """Spawn local worker processes, replace dead ones (their trial failed and queued again), wait."""
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
                        seed=seed + slot.index + 1000 * slot.respawns, sampler=sampler, pruner=pruner,
                        parallel=workers > 1, stop_event=stop_mp, messages=messages,
                        threads=threads_per_worker(workers))
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
