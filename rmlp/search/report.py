"""Reading a study: trial tables, cap counts, the Pareto front, Plotly figures, the best trial.

Everything here works on any stored study (a finished one, a running one, one made on other
machines). Figures come from :mod:`optuna.visualization`; :mod:`rmlp.search.promote` retrains the
best design.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.search.config import SearchError
from rmlp.search.storage import STUDY_ATTR
from rmlp.spec.model import ModelSpec

CAPS = ("params_cap", "memory_cap")


def study_record(study: Any) -> dict[str, Any]:
    """What the search was run with (metric, epochs, spec, space, data), as stored on the study."""
    return dict(study.user_attrs.get(STUDY_ATTR) or {})


def metric_name(study: Any) -> str:
    return str(study_record(study).get("metric", "value"))


def is_multi(study: Any) -> bool:
    return len(study.directions) > 1


# ----------------------------------------------------------------------------- tables
def trials_frame(study: Any) -> pd.DataFrame:
    """One row per trial: number, state, value(s), size, time, worker, cap, and the sampled parameters."""
    metric = metric_name(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
        if is_multi(study):
            row[metric] = t.values[0] if t.values else np.nan
        else:
            row[metric] = t.value if t.value is not None else np.nan
        retry_of = t.system_attrs.get("failed_trial")
        note = (a.get("rejected_by") or ("stopped by the user" if a.get("stopped") else "") or a.get("error", "")
                or a.get("start", ""))
        if retry_of is not None:
            note = f"retry of trial {retry_of}" + (f"; {note}" if note else "")
        row.update({"params": a.get("params"), "seconds": a.get("seconds"), "epochs": a.get("epochs"),
                    "batch_size": a.get("batch_size"), "rejected_by": a.get("rejected_by", ""),
                    "worker": a.get("worker", ""), "retry_of": retry_of, "note": note})
        row.update({f"p:{k}": v for k, v in t.params.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["trial", "state", metric, "params", "seconds", "epochs", "batch_size",
                                     "rejected_by", "worker", "retry_of", "note"])
    return frame


def best_trials(study: Any, n: int = 10) -> pd.DataFrame:
    """The ``n`` best completed trials (by the metric), or the Pareto front with two objectives."""
    frame = trials_frame(study)
    metric = metric_name(study)
    done = frame[frame["state"] == "COMPLETE"]
    if is_multi(study):
        front = {t.number for t in study.best_trials}
        done = done[done["trial"].isin(front)]
    ascending = study.directions[0].name == "MINIMIZE"
    done = done.sort_values(metric, ascending=ascending).head(n)
    keep = ["trial", metric, "params", "seconds", "epochs", "batch_size"]
    return done[keep + [c for c in done.columns if c.startswith("p:")]].reset_index(drop=True)


def cap_counts(study: Any) -> dict[str, int]:
    """How many samples each cap stopped before anything was built."""
    counts = dict.fromkeys(CAPS, 0)
    for t in study.get_trials(deepcopy=False):
        by = t.user_attrs.get("rejected_by")
        if by in counts:
            counts[by] += 1
    return counts


def state_counts(study: Any) -> dict[str, int]:
    """Trials by state; pruned trials without the cap rejections."""
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    caps = sum(cap_counts(study).values())
    if caps:
        counts["PRUNED"] = counts.get("PRUNED", 0) - caps
        counts["REJECTED"] = caps
    return counts


def pareto_front(study: Any) -> pd.DataFrame:
    """Trials on the Pareto front of (metric, parameter count); empty for one objective."""
    metric = metric_name(study)
    if not is_multi(study):
        return pd.DataFrame(columns=["trial", metric, "params"])
    rows = [{"trial": t.number, metric: t.values[0], "params": int(t.values[1])} for t in study.best_trials]
    return pd.DataFrame(rows).sort_values("params").reset_index(drop=True) if rows else pd.DataFrame(
        columns=["trial", metric, "params"])


def running_workers(study: Any) -> pd.DataFrame:
    """The workers running a trial right now: worker, trial, epochs reported, start time."""
    from optuna.trial import TrialState

    rows = [{"worker": t.user_attrs.get("worker", "?"), "trial": t.number, "epochs": len(t.intermediate_values),
             "started": t.datetime_start} for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    return pd.DataFrame(rows, columns=["worker", "trial", "epochs", "started"])


# ----------------------------------------------------------------------------- best
def best_trial(study: Any) -> Any:
    """The best completed trial; with two objectives, the Pareto trial with the best metric."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise SearchError(f"The study {study.study_name!r} has no completed trial yet. Run more trials first.")
    if not is_multi(study):
        return study.best_trial
    reverse = study.directions[0].name == "MAXIMIZE"
    return sorted(study.best_trials, key=lambda t: (t.values[0], t.values[1]), reverse=reverse)[0]


def trial_spec(trial: Any) -> tuple[ModelSpec, int]:
    """The spec and batch size a trial trained."""
    text = trial.user_attrs.get("spec")
    if not text:
        raise SearchError(f"Trial {trial.number} has no stored spec.")
    return ModelSpec.from_json(text), int(trial.user_attrs.get("batch_size", DEFAULT_BATCH_SIZE))


# ----------------------------------------------------------------------------- figures
def figures(study: Any) -> dict[str, Any]:
    """Plotly figures: optimisation history, parallel coordinates, parameter importance, Pareto front.

    A figure that cannot be drawn yet (too few trials) is left out.
    """
    import optuna.visualization as vis
    from optuna.trial import TrialState

    metric = metric_name(study)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return {}
    multi = is_multi(study)
    kwargs: dict[str, Any] = {"target": (lambda t: t.values[0]), "target_name": metric} if multi else {
        "target_name": metric}
    makers = {
        "history": lambda: vis.plot_optimization_history(study, **kwargs),
        "parallel": lambda: vis.plot_parallel_coordinate(study, **kwargs),
    }
    if len(complete) >= 2 and any(t.params for t in complete):
        makers["importance"] = lambda: vis.plot_param_importances(study, **kwargs)
    if multi:
        makers["pareto"] = lambda: vis.plot_pareto_front(study, target_names=[metric, "parameters"])
    out = {}
    for name, make in makers.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = make()
        except (ValueError, RuntimeError, ZeroDivisionError, KeyError, IndexError):
            continue
    return out


# ----------------------------------------------------------------------------- summary text
@dataclass
class StudyReport:
    """A study in numbers and tables, for the command line and the app."""

    study_name: str
    metric: str
    directions: list[str]
    states: dict[str, int]
    caps: dict[str, int]
    best: pd.DataFrame
    pareto: pd.DataFrame
    best_value: float | None
    best_trial: int | None


def study_report(study: Any, n: int = 10) -> StudyReport:
    """Counts, cap counts, the best trials and the Pareto front of a study."""
    best = best_trials(study, n)
    metric = metric_name(study)
    return StudyReport(
        study_name=study.study_name, metric=metric, directions=[d.name.lower() for d in study.directions],
        states=state_counts(study), caps=cap_counts(study), best=best, pareto=pareto_front(study),
        best_value=float(best[metric].iloc[0]) if len(best) else None,
        best_trial=int(best["trial"].iloc[0]) if len(best) else None)


def report_json(study: Any) -> str:
    """The report as JSON (for scripts)."""
    rep = study_report(study)
    return json.dumps({"study": rep.study_name, "metric": rep.metric, "directions": rep.directions,
                       "states": rep.states, "caps": rep.caps, "best_value": rep.best_value,
                       "best_trial": rep.best_trial, "best": rep.best.to_dict(orient="records"),
                       "pareto": rep.pareto.to_dict(orient="records")}, indent=2, default=str)
