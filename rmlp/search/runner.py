"""Running a search: :func:`run_search` creates (or resumes) the study, then runs its trials here or in workers.

Without a storage, a single process uses ``sqlite:///studies/<study>.db`` and ``workers > 1`` a
journal file ``studies/<study>.journal`` (see :mod:`rmlp.search.storage`). Local workers are
watched by :func:`run_search` itself (:mod:`rmlp.search.workers`), which fails and retries a dead
worker's trial at once (journal files have no heartbeat) and starts a replacement worker for the
trials it had left. Samplers, pruners, progress and results are :mod:`rmlp.search.study`'s.
Studies are created with ``load_if_exists``, so the same command resumes a stopped study;
finished trials are never lost.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmlp.data.fit import spec_for_data
from rmlp.search.config import DataSource, SearchConfig, SearchError
from rmlp.search.objective import SearchStopped, TrialFailure, check_metric, make_objective, worker_id
from rmlp.search.sampling import spec_params
from rmlp.search.space import SearchSpace, default_space
from rmlp.search.storage import STUDY_ATTR, default_storage, open_storage, quiet_optuna
from rmlp.search.study import (
    SearchProgress,
    SearchResult,
    load_search_data,
    make_pruner,
    make_sampler,
    stop_callback,
    study_progress,
)
from rmlp.search.workers import run_workers
from rmlp.spec.display import hook
from rmlp.spec.fields import parse_settings
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits


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
    data = load_search_data(data_source)
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
    return run_workers(study, spec, space, data_source if isinstance(data_source, DataSource) else data, config,
                        storage, sampler_seed, progress, stop_event, start, notices, poll_s, on_workers)


def _run_here(study: Any, spec: ModelSpec, space: SearchSpace, data: Splits, config: SearchConfig, storage: str,
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
                       callbacks=[report, stop_callback(stop_event)], gc_after_trial=True)
    except SearchStopped:
        stopped = True
    stopped = stopped or bool(stop_event is not None and stop_event.is_set())
    final = study_progress(study, own, n_trials, start, finished=True)
    if progress is not None:
        progress(final)
    return SearchResult(study.study_name, storage, final, stopped=stopped, notices=notices)


