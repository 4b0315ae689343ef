"""The Search page's part of the session: its settings, the space being edited, its jobs and the study on show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from designer_app import jobs

_SEARCH = "rmlp.search"  # SearchSession: the Search page's settings, space entries, jobs and shown study


@dataclass
class SearchSession:
    """What the Search page keeps across page switches: settings, the space being edited, its jobs."""

    #: SearchConfig fields and the space's caps, as the page's controls hold them.
    settings: dict[str, Any] = field(default_factory=dict)
    #: Space path -> searched (True) or kept as designed.
    searched: dict[str, bool] = field(default_factory=dict)
    #: Space path -> the entry being edited (low/high/log or choices).
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    job: jobs.Job | None = None
    timing_job: jobs.Job | None = None
    #: (storage URL, study name) of the study on show.
    view: tuple[str, str] | None = None
    #: Id of the search job whose end already triggered a full rerun.
    seen_end: str = ""
    #: Id of the timing job ("Measure one epoch") whose end already triggered a full rerun.
    timing_seen: str = ""


def search_session() -> SearchSession:
    """This session's Search page state (made on first use)."""
    if _SEARCH not in st.session_state:
        st.session_state[_SEARCH] = SearchSession()
    return st.session_state[_SEARCH]


def reclaim(key: str, owner: str) -> jobs.Job | None:
    """A reload in the same browser takes back its search, and shows its study again; the search job, if any."""
    search = jobs.reclaim(key, owner, "search ")
    if search is not None:
        search_session().job = search
        search_session().view = (search.info.get("storage", ""), search.info.get("study", ""))
    return search
