"""The Train page's part of the session: its training job, the last finished run and the bypass comparison.

The session core (:mod:`designer_app.state`) keeps the design, the data in use and the training settings;
this module keeps what the training job produced, under keys of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from designer_app import jobs

_JOB = "rmlp.job"  # designer_app.jobs.Job | None: this session's training job
_RUN = "rmlp.run"  # RunInfo | None: the last finished run
_SEEN_END = "rmlp.seen_end"  # id of the job whose end already triggered a full rerun
_ABLATION = "rmlp.ablation"  # designer_app.jobs.Job | None: the Train page's with/without-bypass comparison


@dataclass
class RunInfo:
    """What the app keeps of a finished training run (the model itself stays in its folder)."""

    run_dir: str
    task: str
    class_names: list[Any]
    history: dict[str, list[float]]
    test_metrics: dict[str, Any]
    status: str
    baseline: dict[str, Any] | None = None
    y_true: Any = None
    y_pred: Any = None
    notices: list[str] = field(default_factory=list)
    spec_json: str = ""
    data_name: str = ""


def reclaim(key: str, owner: str) -> jobs.Job | None:
    """A reload in the same browser takes back its training and its bypass comparison; the training job, if any.

    The training job's data and settings are the session core's to take back (:func:`designer_app.state.init`).
    """
    job = jobs.reclaim(key, owner, "training")
    if job is not None:
        st.session_state[_JOB] = job
    compare = jobs.reclaim(key, owner, "bypass comparison")
    if compare is not None:  # the Train page's with/without-bypass comparison, found again after a reload
        st.session_state[_ABLATION] = compare
    return job


def job() -> jobs.Job | None:
    """This session's training job (running or finished), if any."""
    return st.session_state.get(_JOB)


def set_job(new: jobs.Job | None) -> None:
    st.session_state[_JOB] = new
    st.session_state.pop(_SEEN_END, None)
    st.session_state[_RUN] = None


def take_job_end(job_id: str) -> bool:
    """True the first time it is asked about a finished job: the caller then reruns the app once."""
    if st.session_state.get(_SEEN_END) == job_id:
        return False
    st.session_state[_SEEN_END] = job_id
    return True


def last_run() -> RunInfo | None:
    """The last finished run of this session (also found again through a reloaded job)."""
    run = st.session_state.get(_RUN)
    current = job()
    if run is None and current is not None and current.finished:
        result = current.snapshot().result
        if isinstance(result, RunInfo):
            run = result
            st.session_state[_RUN] = run
    return run


def set_last_run(run: RunInfo | None) -> None:
    st.session_state[_RUN] = run


def ablation_job() -> jobs.Job | None:
    """This session's with/without-bypass comparison on the Train page, if any."""
    return st.session_state.get(_ABLATION)


def set_ablation_job(new: jobs.Job | None) -> None:
    st.session_state[_ABLATION] = new
