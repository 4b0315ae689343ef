"""The sidebar every page shares: is the design valid, how big is it, what is training doing."""

from __future__ import annotations

import streamlit as st

from designer_app import state
from rmlp.design.memory import design_bytes, memory_verdict
from rmlp.spec.units import human_bytes, human_count


def draw() -> None:
    """Design status and the training job's progress, in the sidebar."""
    with st.sidebar:
        spec = state.spec()
        problems = state.problems()
        n_err = sum(p.severity == "error" for p in problems)
        n_warn = len(problems) - n_err
        name = f"**{spec.name}** ({len(spec.blocks)} block{'s' if len(spec.blocks) != 1 else ''})"
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
        _job_status()


def _data_fit() -> None:
    """Say when the design does not match the data in use, and what Train will change."""
    fit, loaded = state.data_fit(), state.data()
    if fit is None or loaded is None:
        return
    st.warning(f"Does not match the data in use ({loaded.name}): Train will change it first. "
               + " ".join(fit[1]), icon=":material/rule:")


def _job_status() -> None:
    job = state.job()
    if job is None:
        return
    snap = job.snapshot()
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
        elif current.finished and state.take_job_end(current.id):
            st.rerun()  # the job just ended: redraw everything once
        elif current.finished:
            words = {"done": "finished", "stopped": "stopped early by you"}.get(current.status, current.status)
            st.caption(f"Last training: {words}")

    status()
