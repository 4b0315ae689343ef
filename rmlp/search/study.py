"""What a search's runner and its worker processes share about a study: its data, sampler and pruner, where it
stands, what the search gave, and the trials of workers that died.

Optuna is imported inside the functions that need it, so importing this module stays light.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlp.compat import fail_stale_trials, fail_trial, study_storage
from rmlp.search.config import DataSource, SearchConfig, SearchError
from rmlp.search.sampling import grid_values
from rmlp.search.space import SearchSpace
from rmlp.search.storage import load_study, retry_callback
from rmlp.spec.model import ModelSpec


def load_search_data(data_source: Any) -> Any:
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


def stop_callback(stop_event: Any) -> Callable[[Any, Any], None]:
    def callback(study: Any, trial: Any) -> None:
        if stop_event is not None and stop_event.is_set():
            study.stop()

    return callback


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
