"""The parts of the Train page: readiness, settings, Start/Stop, live curves and the results.

The training job lives outside the script run (see :mod:`designer_app.jobs`): a page switch, a
slider move or a reload redraws from the job's snapshot and never touches the job itself.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from designer_app import page_path, predict_view, runs_view, state, train_session, training
from designer_app.datasets import LoadedData
from designer_app.train_session import RunInfo
from designer_app.widgets import settings_grid, shown_settings
from rmlp import ModelSpec
from rmlp.data import DataError
from rmlp.data.split import SplitConfig
from rmlp.design.memory import design_bytes, memory_verdict
from rmlp.runs import charts
from rmlp.runs.config import TrainConfig
from rmlp.spec.metrics import direction
from rmlp.spec.units import count, human_bytes

#: Seconds between two redraws of the live curves while a job runs.
POLL_S = 1.0


def _page_link(page: str, label: str, icon: str) -> None:
    try:
        st.page_link(page, label=label, icon=icon)
    except Exception:  # noqa: BLE001 - a missing page (tests, custom navigation) just drops the link
        st.caption(label)


# ---------------------------------------------------------------------- before training
def readiness() -> LoadedData | None:
    """Say what is missing (data, a valid design); the data set when training can start."""
    loaded = state.data()
    errors = state.errors()
    spec = state.spec()
    if loaded is None:
        st.info("Choose a data set first: a sample or your own file.", icon=":material/table_chart:")
        _page_link(page_path("data.py"), "Go to Data", ":material/table_chart:")
    else:
        summary = loaded.summary()
        split = summary.get("split", {})
        st.caption(f"Data **{loaded.name}** · task {summary.get('task')} · "
                   f"{split.get('train', 0)} training / {split.get('val', 0)} validation / "
                   f"{split.get('test', 0)} test rows · design **{spec.name}**")
    if errors:
        st.error(f"The design has {count(len(errors), 'error')}; nothing is built until it is valid. "
                 f"First: {errors[0].message}", icon=":material/error:")
        _page_link(page_path("design.py"), "Go to Design", ":material/schema:")
        return None
    return loaded


def settings(disabled: bool) -> None:
    """Every training setting the app offers, drawn from TrainConfig and SplitConfig (advanced ones folded)."""
    values = state.train_settings()
    settings_grid(TrainConfig, values, key_prefix="train", disabled=disabled)
    settings_grid(SplitConfig, values, key_prefix="train", disabled=disabled)
    if shown_settings(TrainConfig, "advanced"):
        with st.expander("More training settings"):
            settings_grid(TrainConfig, values, key_prefix="train", disabled=disabled, group="advanced")
    batch = state.batch_size()
    figures = state.summary(batch)
    if not isinstance(figures, str):
        sized = "" if values.get("batch_size") else " (sized to the data)"
        verdict = memory_verdict(state.spec(), batch, dtype=figures.dtype)
        st.caption(f"Training memory at batch {batch}{sized}: {human_bytes(design_bytes(figures))}. "
                   + (verdict.words() if verdict is not None else ""))


def controls(loaded: LoadedData | None) -> None:
    """Start and Stop."""
    job = train_session.job()
    snap = job.snapshot() if job is not None else None
    active = snap is not None and snap.active
    start, stop, _ = st.columns([1, 1, 4])
    with start:
        st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=active or loaded is None,
                  on_click=_start, help="Train the current design on the chosen data in the background. You can "
                  "switch pages or reload; the run goes on.", width="stretch")
    with stop:
        st.button("Stop", icon=":material/stop:", disabled=not active or snap is None or snap.stop_requested,
                  on_click=_stop,
                  width="stretch", help="Stop after the current batch; what was learned so far is kept and "
                  "evaluated. Before the first batch, the run ends at once and nothing is kept.")


def prepared() -> tuple[LoadedData, Any, dict[str, Any]] | None:
    """The data split as the page's settings say, its TrainConfig and the settings; None (said) when they fail."""
    loaded = state.data()
    if loaded is None:
        return None
    values = state.train_settings()
    try:
        loaded = loaded.with_split(values["val_size"], values["test_size"], int(values["seed"]))
    except DataError as exc:
        state.notify(f"The data could not be split that way: {exc}", "error")
        return None
    state.set_data(loaded)
    try:
        config = training.make_config(values)
    except ValueError as exc:
        state.notify(f"These training settings do not work: {exc}", "error")
        return None
    return loaded, config, values


def _start() -> None:
    ready = prepared()
    if ready is not None:
        loaded, config, values = ready
        train_session.set_job(training.start(state.spec(), loaded, config, values))


def _stop() -> None:
    job = train_session.job()
    if job is not None:
        job.stop()


# ---------------------------------------------------------------------- while training
def live() -> None:
    """Progress and curves of this session's job, redrawn every second while it runs."""
    job = train_session.job()
    if job is None:
        return
    every = POLL_S if job.snapshot().active else None

    @st.fragment(run_every=every)
    def progress() -> None:
        job.touch()
        snap = job.snapshot()
        if snap.finished and train_session.take_job_end(snap.id):
            st.rerun()  # once, before drawing: the results below and the sidebar come from the finished job
        _status_line(snap)
        batch: Any = snap.latest.get("batch")  # a TrainEvent; drawn only while running_batch
        history = charts.history_from_events(snap.events)
        baseline = charts.history_from_events(snap.events, "baseline_epoch")
        done = len(history["epoch"])
        running_batch = batch is not None and snap.active and batch.epoch > done
        epochs = int(snap.info.get("epochs") or 0)
        if snap.finished and isinstance(snap.result, RunInfo):
            pass  # the results below draw the run's curves
        elif done or running_batch:
            fig = charts.curves_figure(
                history, baseline=baseline if baseline["epoch"] else None,
                live=batch.logs if running_batch else None,
                live_x=(batch.epoch - 1 + batch.batch / max(batch.batches, 1)) if running_batch else None,
                epochs=epochs)
            st.plotly_chart(fig, key="live_curves", config={"displaylogo": False})
        elif snap.active and not snap.stop_requested:
            st.caption("Building the model and starting TensorFlow… the first curve appears after the first steps.")

    progress()


def _status_line(snap: object) -> None:
    status = snap.status  # type: ignore[attr-defined]
    latest = snap.latest.get("batch")  # type: ignore[attr-defined]
    epochs = [e for e in snap.events if getattr(e, "kind", "") == "epoch"]  # type: ignore[attr-defined]
    last = latest if latest is not None and (not epochs or latest.epoch > epochs[-1].epoch) else (
        epochs[-1] if epochs else None)
    if status == "queued":
        st.info(f"Waiting: this machine trains one model at a time, and {snap.queued_behind or 'another run'} "  # type: ignore[attr-defined]
                "is running. Yours starts when it ends.", icon=":material/schedule:")
        return
    if status == "error":
        st.error(f"Training failed: {snap.error}", icon=":material/error:")  # type: ignore[attr-defined]
        with st.expander("Details"):
            st.code(snap.traceback, language="text")  # type: ignore[attr-defined]
        return
    if status in ("new", "running") and snap.stop_requested:  # type: ignore[attr-defined]
        st.progress(float(last.progress) if last is not None else 0.0,
                    text="Stopping… after the current batch; what was learned so far is then evaluated.")
        return
    if status in ("new", "running"):
        if last is None:
            st.progress(0.0, text="Starting…")
            return
        eta = f", about {_duration(last.eta_s)} left" if last.eta_s is not None else ", estimating the time left…"
        where = f"epoch {last.epoch}/{last.epochs}"
        if last.kind == "batch":
            where += f", batch {last.batch}/{last.batches}"
        text = f"Training: {where}{eta}"
        if snap.info.get("baseline"):  # type: ignore[attr-defined]
            text += " (then the plain-MLP baseline)"
        st.progress(min(max(float(last.progress), 0.0), 1.0), text=text)
        _first_score(epochs)
        return
    if status == "stopped":
        _stopped_line(snap, len(epochs))
        return
    end = next((e for e in reversed(snap.events) if getattr(e, "kind", "") == "train_end"), None)  # type: ignore[attr-defined]
    said = str(getattr(end, "message", "") or "")
    if "early" in said:  # early stopping: say how far it got, so the bar's place and the words agree
        st.success(f"{said.rstrip('.')} ({_duration(snap.elapsed_s)}).", icon=":material/check_circle:")  # type: ignore[attr-defined]
        return
    st.success(f"Finished after {_duration(snap.elapsed_s)}.", icon=":material/check_circle:")  # type: ignore[attr-defined]


def _first_score(epochs: list) -> None:
    """The first validation score of the run, as soon as the epoch that carries it has ended."""
    first = next((e.message for e in epochs if str(getattr(e, "message", "")).startswith("First score")), "")
    if first:
        st.caption(first)


def _stopped_line(snap: object, done: int) -> None:
    """What a stop left: nothing (before the first batch), or the epochs done, kept and evaluated."""
    reason = getattr(snap, "stop_reason", "")
    if reason:  # not by the user: say who stopped it and why
        st.warning(f"{reason} {done} epoch{'s' if done != 1 else ''} finished.", icon=":material/timer_off:")
        return
    if snap.ended_before_start:  # type: ignore[attr-defined]
        st.info("Stopped before training began: nothing was trained or kept.", icon=":material/stop_circle:")
        return
    if not done:
        st.info(f"Stopped by you during the first epoch ({_duration(snap.elapsed_s)}): no epoch "  # type: ignore[attr-defined]
                "finished.", icon=":material/stop_circle:")
        return
    planned = int(snap.info.get("epochs") or 0)  # type: ignore[attr-defined]
    of = f" of {planned}" if planned else ""
    st.info(f"Stopped by you after {done}{of} epoch{'s' if (planned or done) != 1 else ''} "
            f"({_duration(snap.elapsed_s)}); what was learned so far is kept and evaluated.",  # type: ignore[attr-defined]
            icon=":material/stop_circle:")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + " h"


# ---------------------------------------------------------------------- after training
def run_is_current(run: RunInfo) -> tuple[bool, bool]:
    """(same design, same data): does the run belong to the current design (fitted as Train fits it) and data?"""
    fit = state.data_fit()
    current = fit[0] if fit is not None else state.spec()
    try:
        trained = ModelSpec.from_json(run.spec_json) if run.spec_json else None
    except ValueError:
        trained = None
    loaded = state.data()
    same_data = loaded is None or not run.data_name or loaded.name == run.data_name
    return trained is not None and trained == current, same_data


def _belongs_to(run: RunInfo) -> None:
    """Name the design and data the results belong to; mark them when the design or data changed since."""
    try:
        trained = ModelSpec.from_json(run.spec_json) if run.spec_json else None
    except ValueError:
        trained = None
    name = trained.name if trained is not None else "?"
    blocks = f", {len(trained.blocks)} block{'s' if len(trained.blocks) != 1 else ''}" if trained else ""
    same_design, same_data = run_is_current(run)
    what = f"design **{name}**{blocks} trained on **{run.data_name or '?'}**"
    if same_design and same_data:
        st.caption(f"These results belong to the current {what}.")
        return
    changed = " and ".join(w for w, same in (("design", same_design), ("data", same_data)) if not same)
    head = "From an earlier design" if not same_design else "From other data"
    st.warning(f"{head}: these results belong to the {what}. The {changed} changed since; "
               "start training again for results of the current one.", icon=":material/history:")


def results() -> None:
    """Test metrics, confusion matrix or predicted-vs-actual, and the baseline next to the model."""
    run = train_session.last_run()
    if run is None:
        return
    st.subheader("Results", anchor=False)
    _belongs_to(run)
    for notice in run.notices:
        st.info(notice, icon=":material/info:")
    st.caption(f"Run folder: `{run.run_dir}` · status {run.status} · data {run.data_name}")
    headline = training.headline_metrics(run.test_metrics, run.task)
    split = run.test_metrics.get("split", "test")
    if headline:
        cols = st.columns(len(headline))
        base = (run.baseline or {}).get("test_metrics", {}) if run.baseline else {}
        for col, (name, value) in zip(cols, headline, strict=True):
            other = base.get(name)
            delta = None
            if isinstance(other, (int, float)) and not isinstance(other, bool):
                delta = f"{value - float(other):+.3f} vs plain MLP"
            col.metric(f"{split} {name}", f"{value:.3f}", delta=delta,
                       delta_color="inverse" if direction(name) == "minimize" else "normal")
    left, right = st.columns(2)
    with left:
        st.markdown("**Training curves**")
        history = {k: v for k, v in run.history.items()}
        baseline_history = (run.baseline or {}).get("history") if run.baseline else None
        if baseline_history:
            baseline_history = {"epoch": list(range(1, len(next(iter(baseline_history.values()), [])) + 1)),
                                **baseline_history}
        st.plotly_chart(charts.curves_figure(history, baseline=baseline_history), key="final_curves",
                        config={"displaylogo": False})
    with right:
        if run.task == "regression" and run.y_true is not None:
            st.markdown(f"**Predicted against actual ({split} rows)**")
            st.plotly_chart(charts.predicted_figure(run.y_true, run.y_pred), key="pred_actual",
                            config={"displaylogo": False})
        elif run.test_metrics.get("confusion_matrix") is not None:
            st.markdown(f"**Confusion matrix ({split} rows)**")
            names = run.test_metrics.get("class_names") or run.class_names
            st.plotly_chart(charts.confusion_figure(run.test_metrics["confusion_matrix"], names), key="confusion",
                            config={"displaylogo": False})
    if run.baseline:
        params = run.baseline.get("params")
        own = run.baseline.get("residual_params")
        st.caption(f"Plain-MLP baseline: {params:,} parameters against the residual MLP's {own:,}, same split "
                   "and settings; its curves are the grey dotted and dashed lines.")
    _page_link(page_path("export.py"), "Export the trained model and code", ":material/download:")
    runs_view.link(run.run_dir)
    predict_view.expander(run.run_dir, key="train")

