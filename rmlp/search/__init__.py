"""Architecture search over residual MLPs with Optuna (no search engine of our own).

* :mod:`~rmlp.search.config` — :class:`SearchConfig`, every search setting declared once;
* :mod:`~rmlp.search.space` — the search space, made from the spec's field paths and metadata, and
  :mod:`~rmlp.search.sampling`, one trial's values turned into a valid spec (pure Python);
* :mod:`~rmlp.search.planning` — what a search page offers, and a search's cost before it runs;
* :mod:`~rmlp.search.storage` — storages and stored studies;
* :mod:`~rmlp.search.objective` — the Keras part: one trial builds, trains and scores a spec;
* :mod:`~rmlp.search.runner` — :func:`run_search`: a study created or resumed, its trials run;
* :mod:`~rmlp.search.workers` — local worker processes: spawned, watched, replaced;
* :mod:`~rmlp.search.study` — samplers, pruners, a study's progress and result, lost trials;
* :mod:`~rmlp.search.report` — tables, cap counts, Pareto front, figures;
* :mod:`~rmlp.search.promote` — the best design retrained as a run with a bundle.

Names are re-exported here and imported on first use, so ``import rmlp.search`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    **dict.fromkeys(("DataSource", "SearchConfig", "SearchError", "guess_direction"), "config"),
    **dict.fromkeys(("BATCH_SIZE", "NUM_BLOCKS", "ParamSpace", "SampleError", "SearchSpace", "SpaceError",
                     "apply_pins", "choose", "default_space", "pin", "span"), "space"),
    **dict.fromkeys(("param_name", "sample_spec", "spec_params", "grid_values"), "sampling"),
    **dict.fromkeys(("space_rows", "estimate_cost", "parse_list_choices", "format_list_choices"), "planning"),
    **dict.fromkeys(("open_storage", "default_storage", "study_names", "load_study"), "storage"),
    **dict.fromkeys(("SearchStopped", "MetricError", "TrialFailure", "make_objective", "time_epochs",
                     "EpochTiming"), "objective"),
    **dict.fromkeys(("run_search",), "runner"),
    **dict.fromkeys(("SearchProgress", "SearchResult", "recover_lost_trials"), "study"),
    **dict.fromkeys(("run_worker",), "workers"),
    **dict.fromkeys(("trials_frame", "best_trials", "cap_counts", "pareto_front", "figures", "study_report",
                     "best_trial", "trial_spec", "running_workers", "StudyReport"), "report"),
    **dict.fromkeys(("promote", "PromoteResult"), "promote"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"rmlp.search.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rmlp.search' has no attribute {name!r}")
