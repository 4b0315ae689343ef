"""The server's life and its sessions': tidying up once at start-up, and what happens when a session ends.

* :func:`on_start` runs once per server process: run folders a dead server left "running" are marked
  "interrupted" and upload folders whose server is gone are removed;
* :func:`watch_session` has Streamlit report a session's end, when its running jobs get the grace period;
* :func:`session_scope` names a visitor's studies apart from everyone else's.
"""

from __future__ import annotations

import hashlib
import threading

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from designer_app import datasets, jobs, server

_STARTED = threading.Event()
_START_LOCK = threading.Lock()


def on_start() -> None:
    """Once per server process: mark runs a dead server left running, remove orphaned upload folders."""
    if _STARTED.is_set():
        return
    with _START_LOCK:
        if _STARTED.is_set():
            return
        try:
            server.mark_interrupted_runs(server.runs_dir())
            datasets.sweep_uploads(orphans=True)
        finally:
            _STARTED.set()


def _session_gone(session_id: str) -> None:
    """Streamlit ended a session: its running jobs get the grace period, then stop."""
    jobs.session_ended(session_id, server.limits().job_grace_min * 60)


@st.cache_resource(scope="session", on_release=_session_gone, show_spinner=False)
def _session_mark(session_id: str) -> str:
    return session_id


def watch_session() -> None:
    """Have Streamlit tell :func:`_session_gone` when this session ends."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        _session_mark(ctx.session_id)


def session_scope() -> str:
    """A short name for this browser (else this session) that keeps one visitor's studies from another's."""
    key = server.browser_key()
    if not key:
        key = hashlib.sha256(datasets.upload_token().encode("ascii")).hexdigest()
    return key[:10]
