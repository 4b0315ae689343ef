"""Architecture search over residual MLPs with Optuna (no search engine of our own).

* :mod:`rmlp.search.space` — the search space, made from the spec's field paths and metadata
  (pure Python, no Optuna or Keras needed to build or check one);
* :mod:`rmlp.search.objective` — the Keras part: one trial builds, trains and scores a spec;
* :mod:`rmlp.search.runner` — :func:`run_search`: storages, samplers, pruners, local workers;
* :mod:`rmlp.search.report` — tables, cap counts, Pareto front, figures and :func:`promote`.

Names are re-exported here and imported on first use, so ``import rmlp.search`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from rmlp.search.space import (
    BATCH_SIZE,
    NUM_BLOCKS,
    ParamSpace,
    SampleError,
    SearchSpace,
    SpaceError,
    apply_pins,
    choose,
    default_space,
    param_name,
    pin,
    sample_spec,
    span,
)

_LAZY = {
    "ObjectiveConfig": "objective", "SearchStopped": "objective", "MetricError": "objective",
    "TrialFailure": "objective", "make_objective": "objective", "metric_names": "objective",
    "guess_direction": "objective", "time_epochs": "objective", "EpochTiming": "objective",
    "space_rows": "planning", "estimate_cost": "planning", "parse_list_choices": "planning",
    "format_list_choices": "planning",
    "DataSource": "runner", "SearchError": "runner", "SearchProgress": "runner", "SearchResult": "runner",
    "run_search": "runner", "open_storage": "runner", "default_storage": "runner", "run_worker": "runner",
    "recover_lost_trials": "runner", "study_names": "runner",
    "load_study": "report", "trials_frame": "report", "best_trials": "report", "cap_counts": "report",
    "pareto_front": "report", "figures": "report", "study_report": "report", "promote": "report",
    "best_trial": "report", "trial_spec": "report", "running_workers": "report", "PromoteResult": "report",
    "StudyReport": "report",
}

__all__ = [
    "BATCH_SIZE", "NUM_BLOCKS", "ParamSpace", "SampleError", "SearchSpace", "SpaceError", "apply_pins", "choose",
    "default_space", "param_name", "pin", "sample_spec", "span", *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"rmlp.search.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rmlp.search' has no attribute {name!r}")
