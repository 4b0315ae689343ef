"""The Train page's "compare with and without the bypass": the button, the progress, what a stop kept, the results."""

from __future__ import annotations

from typing import Any

import streamlit as st

from designer_app import comparison, state, train_session, training
from designer_app.datasets import LoadedData
from rmlp import ModelSpec
from rmlp.spec.metrics import display_name

#: Seconds between two redraws while the comparison runs (or its stopped worker finishes).
POLL_S = 1.0


def draw(loaded: LoadedData | None, prepare: Any) -> None:
    """The button and this session's comparison below it; ``prepare()`` gives (data, config, settings) or None."""
    job, training_job = train_session.ablation_job(), train_session.job()
    busy = (job is not None and job.snapshot().active) or (training_job is not None and
                                                              training_job.snapshot().active)
    st.button("Compare with and without the bypass", key="ablate", icon=":material/compare_arrows:",
              disabled=busy or loaded is None, on_click=_start, args=(prepare,),
              help="Train the current design twice on the same split, seed and budget: once as designed and once "
              "without its bypasses (the plain twin: same Dense layers and widths). Both test results side by side.")
    if job is None:
        return
    first = job.snapshot()
    waiting = first.active or (first.status == "stopped" and first.info.get("outcome", {}).get("busy"))

    @st.fragment(run_every=POLL_S if waiting else None)
    def body() -> None:
        job.touch()
        snap = job.snapshot()
        if snap.status == "error":
            st.error(f"The comparison failed: {snap.error}", icon=":material/error:")
        elif snap.active:
            _progress(snap)
            st.button("Stop the comparison", key="ablate_stop", icon=":material/stop:", on_click=job.stop,
                      disabled=snap.stop_requested)
        else:
            _ended(snap)
        busy_now = snap.info.get("outcome", {}).get("busy")
        if snap.finished and not busy_now and train_session.take_job_end(f"compare-{snap.id}"):
            st.rerun()

    body()


def _start(prepare: Any) -> None:
    prepared = prepare()
    if prepared is not None:
        loaded, config, _ = prepared
        train_session.set_ablation_job(comparison.start(state.spec(), loaded, config, loaded.name))


def _planned(snap: Any) -> int:
    """Epochs each twin trains (as sized by the run, once it said so)."""
    sized = [int(s.event.epochs) for s in snap.events if getattr(s.event, "epochs", 0)]
    return sized[-1] if sized else int(snap.info.get("epochs") or 0)


def _progress(snap: Any) -> None:
    if snap.status == "queued":
        st.info(f"Waiting: this machine trains one model at a time, and {snap.queued_behind or 'another run'} is "
                "running. The comparison starts when it ends.", icon=":material/schedule:")
        return
    events = list(snap.events)
    batch = snap.latest.get("batch")
    if batch is not None:
        events.append(batch)
    variant = comparison.current_variant(events)
    done = comparison.epochs_done(events)
    planned = max(_planned(snap), 1)
    twin = 1 if variant == "residual" else 2
    live = batch.event if batch is not None and batch.variant == variant else None
    if not any(isinstance(s, comparison.Step) and s.variant == variant and s.kind in ("batch", "epoch")
               for s in events):
        text = (f"Comparing, run {twin} of 2 ({comparison.TITLES[variant]}): building the model and tracing its "
                "first training step (a deep design takes a while)…")
        st.progress((twin - 1) / 2, text=text)
        return
    epoch = live.epoch if live is not None and live.epoch > done[variant] else done[variant]
    where = f"epoch {epoch}/{planned}"
    if live is not None and live.epoch > done[variant]:
        where += f", batch {live.batch}/{live.batches}"
    fraction = (twin - 1 + min(done[variant] / planned, 1.0)) / 2
    st.progress(min(max(fraction, 0.0), 1.0),
                text=f"Comparing, run {twin} of 2 ({comparison.TITLES[variant]}): {where}")


def _ended(snap: Any) -> None:
    """What the comparison left: both results, or (after a stop) what was kept."""
    result = comparison.result_of(snap)
    outcome = snap.info.get("outcome", {})
    if snap.status == "stopped":
        _stopped(snap, result, bool(outcome.get("busy")))
    if result is None:
        return
    stale = _stale(snap)
    residual, plain = result.residual, result.plain
    shown = [(f"With the bypass{'' if stale else ' (as designed)'}", residual)]
    plain_trained = snap.status != "stopped" or comparison.epochs_done(snap.events)["plain"] > 0
    if plain.test_metrics and plain_trained:
        shown.append(("Without the bypass (plain twin)", plain))
    cols = st.columns(len(shown))
    for col, (title, run) in zip(cols, shown, strict=True):
        with col:
            st.markdown(f"**{title}**")
            metrics = dict(run.test_metrics or {})
            task = "regression" if "rmse" in metrics else "classification"
            for name, value in training.headline_metrics(metrics, task):
                st.metric(f"Test {display_name(name)}", f"{value:.3f}")
    rows = comparison.metric_rows(residual.test_metrics, plain.test_metrics)
    if rows and len(shown) == 2:
        st.dataframe(rows, hide_index=True, column_config={
            "metric": "Test metric", "residual": st.column_config.NumberColumn("With the bypass", format="%.4f"),
            "plain": st.column_config.NumberColumn("Without the bypass", format="%.4f"),
            "difference": st.column_config.NumberColumn("Difference (with − without)", format="%+.4f")})
        st.caption("Same data split, seed and training budget; the only difference is the bypass around each "
                   "block. For loss and errors lower is better; for the others higher is better.")


def _stale(snap: Any) -> bool:
    """Warn (and say True) when the design or the data changed since the comparison was started."""
    try:
        compared = ModelSpec.from_json(snap.info.get("spec_json") or "")
    except ValueError:
        compared = None
    loaded = state.data()
    same_design = compared is not None and compared == state.spec()
    same_data = loaded is None or loaded.name == snap.info.get("data")
    if same_design and same_data:
        return False
    changed = " and ".join(w for w, same in (("design", same_design), ("data", same_data)) if not same)
    st.warning(f"Out of date: this comparison is of the design **{snap.info.get('spec', '?')}** on "
               f"**{snap.info.get('data') or '?'}**. The {changed} changed since; compare again for the current "
               "one.", icon=":material/history:")
    return True


def _stopped(snap: Any, result: Any, busy: bool) -> None:
    """Say, in words, what a stopped comparison kept."""
    done = comparison.epochs_done(snap.events)
    planned = _planned(snap)
    of = f" of {planned}" if planned else ""
    ended_first = any(isinstance(s, comparison.Step) and s.variant == "residual" and s.kind in ("train_end", "stopped")
                      for s in snap.events)

    def epochs(n: int) -> str:
        return f"{n}{of} epoch{'s' if (planned or n) != 1 else ''}"

    if not ended_first and not done["residual"]:
        text = ("Stopped by you before the first epoch of the run with the bypass finished: no epoch was trained, "
                "so there is nothing to compare.")
    elif not ended_first:
        text = (f"Stopped by you after {epochs(done['residual'])} of the run with the bypass. The run without the "
                "bypass was not started, so there is nothing to compare. What the run with the bypass learned is "
                "kept in its run folder and evaluated on the test rows")
        text += (": its results are below." if result is not None else " (its results appear here when ready).")
    elif not done["plain"]:
        text = (f"Stopped by you before the first epoch of the run without the bypass finished: only the run with "
                f"the bypass ({epochs(done['residual'])}) is kept and evaluated, so there is nothing to compare.")
    else:
        text = (f"Stopped by you after {epochs(done['plain'])} of the run without the bypass (the run with the "
                f"bypass trained {epochs(done['residual'])}). Both runs are kept and evaluated, but the plain twin "
                "trained less, so the comparison below is uneven.")
    st.info(text, icon=":material/stop_circle:")
    if busy:
        st.caption("TensorFlow finishes the step it was in, in the background; training again waits until it has.")
