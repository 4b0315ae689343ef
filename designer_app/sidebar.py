"""The sidebar every page shares: is the design valid, how big is it, what is training doing."""

from __future__ import annotations

import streamlit as st

from designer_app import state, train_session
from rmlp.design.memory import design_bytes, memory_verdict
from rmlp.spec.units import count, human_bytes, human_count


def draw(page: str = "") -> None:
    """Design status and the training job's progress, in the sidebar (``page``: the title of the page shown)."""
    with st.sidebar:
        spec = state.spec()
        problems = state.problems()
        n_err = sum(p.severity == "error" for p in problems)
        n_warn = len(problems) - n_err
        name = f"**{plain_text(spec.name)}** ({len(spec.blocks)} block{'s' if len(spec.blocks) != 1 else ''})"
        if n_err:
            st.error(f"{name}: {n_err} error{'s' if n_err != 1 else ''}, fix before training",
                     icon=":material/error:")
        elif n_warn:
            st.warning(f"{name}: valid, {n_warn} warning{'s' if n_warn != 1 else ''}", icon=":material/warning:")
        else:
            st.success(f"{name}: valid design", icon=":material/check_circle:")
        _data_fit()
        figures = state.summary()
        if isinstance(figures, str):
            st.caption(figures)
        else:
            verdict = memory_verdict(spec, figures.batch_size, dtype=figures.dtype)
            st.metric("Parameters", human_count(figures.total_params),
                      help=f"{figures.total_params:,} in total, {figures.trainable_params:,} trainable. Training "
                      f"memory ≈ {human_bytes(design_bytes(figures))} at batch {figures.batch_size}. "
                      + (verdict.words() if verdict is not None else ""))
        _job_status(on_train_page=page == "Train")


#: ASCII punctuation: each may start Markdown syntax, and CommonMark reads any of them escaped as itself.
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def plain_text(text: str) -> str:
    """``text`` for a Markdown string, shown as written: no links, emphasis, HTML or lists come of it."""
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in text.replace("\n", " "))


def _data_fit() -> None:
    """Say when the design does not match the data in use, and what Train will change."""
    fit, loaded = state.data_fit(), state.data()
    if fit is None or loaded is None:
        return
    changes = [str(c) for c in fit[1]]
    st.warning(f"Does not match the data in use ({loaded.name}): Train adapts "
               f"{count(len(changes), 'setting')} first.", icon=":material/rule:")
    with st.expander("What Train changes"):
        st.markdown("\n".join(f"- {c}" for c in changes))


def _job_status(on_train_page: bool = False) -> None:
    """The training job's progress; on the Train page, which shows it itself, only a line pointing there.

    Two polling views of one job drift apart (each redraws on its own clock), so the Train page's
    progress is the only one while it is open.
    """
    job = train_session.job()
    if job is None:
        return
    snap = job.snapshot()
    if on_train_page and snap.active:
        st.caption("Training: its progress is shown on this page.")
        return
    every = 2.0 if snap.active else None

    @st.fragment(run_every=every)
    def status() -> None:
        current = job.snapshot()
        job.touch()
        if current.status == "queued":
            st.info(f"Training queued behind {current.queued_behind or 'another run'}", icon=":material/schedule:")
        elif current.active:
            batch = current.latest.get("batch")
            epochs = [e for e in current.events if getattr(e, "kind", "") == "epoch"]
            last = batch if batch is not None and (not epochs or batch.epoch > epochs[-1].epoch) else (
                epochs[-1] if epochs else None)
            if last is not None:
                st.progress(min(max(float(last.progress), 0.0), 1.0),
                            text=f"Training: epoch {last.epoch}/{last.epochs}")
            else:
                st.progress(0.0, text="Training: starting…")
        elif current.status == "error":
            st.error("The last training failed (see Train).", icon=":material/error:")
        elif current.finished and train_session.take_job_end(current.id):
            st.rerun()  # the job just ended: redraw everything once
        elif current.finished:
            words = {"done": "finished", "stopped": "stopped early by you"}.get(current.status, current.status)
            if current.stop_reason:
                words = "stopped by the server (its tab was closed)"
            st.caption(f"Last training: {words}")

    status()
