"""The Learn page's part of the session: the experiment's settings and its jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from designer_app import jobs

_LEARN = "rmlp.learn"  # LearnSession: the Learn page's experiment settings and jobs


@dataclass
class LearnSession:
    """What the Learn page keeps across page switches: the experiment's settings and its jobs."""

    #: ExperimentConfig fields, as the page's controls hold them.
    settings: dict[str, Any] = field(default_factory=dict)
    job: jobs.Job | None = None
    sweep: jobs.Job | None = None
    #: Bumped by "Reset": the controls' keys carry it, so they re-read the settings.
    rev: int = 0
    #: Ids of the jobs whose end already triggered a full rerun.
    seen_end: set[str] = field(default_factory=set)
    #: The URL's experiment settings were read (once per session).
    from_url: bool = False


def learn_session() -> LearnSession:
    """This session's Learn page state (made on first use)."""
    if _LEARN not in st.session_state:
        st.session_state[_LEARN] = LearnSession()
    return st.session_state[_LEARN]
