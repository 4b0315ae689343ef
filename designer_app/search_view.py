"""The parts of the Search page: readiness, the space field by field, the settings, the cost, the live study.

Every field of the design can be kept as designed (the same control as on the Design page) or
searched (a range or a list of choices); the search settings are drawn from
:class:`rmlp.search.config.SearchConfig`. Before launch the page measures one epoch of the current
design and estimates the cost; while the search runs it shows the trials, the workers and the Optuna
charts; the best design can be opened in the designer. Training happens in spawned worker
processes (:func:`rmlp.search.runner.run_search`), never in the app's own process.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from designer_app import jobs, lifecycle, page_path, server, state
from designer_app.datasets import LoadedData
from designer_app.metric_names import metric_label
from designer_app.search_session import SearchSession, search_session
from designer_app.widgets import field, setting, settings_grid
from rmlp import ModelSpec, field_meta
from rmlp.data import spec_for_data
from rmlp.design.sizing import batch_size_for, trial_epochs_for
from rmlp.search.config import DataSource, SearchConfig
from rmlp.search.objective import search_metrics, time_epochs
from rmlp.search.planning import SpaceRow, estimate_cost, format_list_choices, parse_list_choices, space_rows
from rmlp.search.report import best_trial, figures, metric_name, study_report, trial_spec, trials_frame
from rmlp.search.runner import run_search
from rmlp.search.space import BATCH_SIZE, NUM_BLOCKS, ParamSpace, SearchSpace, SpaceError, default_space
from rmlp.search.storage import default_storage, load_study
from rmlp.spec.fields import parse_settings
from rmlp.spec.units import count, human_seconds

#: Seconds between two redraws of the study while a search runs.
POLL_S = 2.0
#: Seconds between two looks at the timing job while "Measure one epoch" runs.
TIMING_POLL_S = 1.0
#: Where the app's studies go (tests point this at a temporary folder).
STUDIES_DIR_ENV = "RMLP_STUDIES_DIR"
#: Batch sizes offered as choices (powers of two).
BATCH_CHOICES = [2**k for k in range(3, 11)]
#: The fields a new session searches.
DEFAULT_ON = (NUM_BLOCKS, "blocks[].layers", "blocks[].width", "blocks[].decrement", "optimizer.learning_rate")


#: Why a storage URL typed on the Search page is not used.
STORAGE_REFUSED = ("This server keeps studies in its own studies folder. Leave the storage URL empty, or ask "
                   "whoever runs the server to allow that storage (rmlp app --allow-storage URL).")


def _studies_dir() -> str:
    return os.environ.get(STUDIES_DIR_ENV) or SearchConfig.meta("studies_dir").default


def ended_early(snap: Any, done: int, total: int) -> str:
    """Why a finished search ran fewer trials than planned (the time limit, a stop), or "" when it did not."""
    if not snap.finished or snap.status == "error" or done >= total:
        return ""
    limit = snap.info.get("timeout")
    if snap.stop_requested or snap.status == "stopped":
        return f"Stopped by you after {done} of {total} trials; the finished trials stay in the study."
    if limit is not None and snap.elapsed_s >= float(limit) * 0.95:
        return (f"The time limit of {human_seconds(float(limit))} ended the search after {done} of {total} trials "
                "(a trial running at the limit is finished first). Raise or clear the time limit for more.")
    return f"The search ended after {done} of {total} trials."


@dataclass
class SearchPage:
    """One run of the Search page: the data, the design fitted to it and this session's search state."""

    loaded: LoadedData
    fitted: ModelSpec
    notices: list[str]
    session: SearchSession

    # ------------------------------------------------------------------ state
    @property
    def values(self) -> dict[str, Any]:
        return self.session.settings

    @property
    def running(self) -> bool:
        job = self.session.job
        return job is not None and job.snapshot().active

    def key(self, name: str) -> str:
        return f"search{state.rev()}:{name}"

    @property
    def batch(self) -> int:
        """The batch size trials use: the setting, else the one sized to the table in use."""
        given = self.values.get(BATCH_SIZE)
        return int(given) if given else batch_size_for(self.rows)

    @property
    def trial_epochs(self) -> int:
        """Epochs per trial: the setting, else the number sized to the table in use."""
        given = self.values.get("epochs")
        return int(given) if given else trial_epochs_for(self.rows, self.batch)

    @property
    def rows(self) -> int:
        return len(getattr(getattr(self.loaded, "data", None), "x_train", []))

    # ------------------------------------------------------------------ the space, field by field
    def _design_values(self, row: SpaceRow) -> str:
        if row.path == NUM_BLOCKS:
            return str(len(self.fitted.blocks))
        name = row.path.split(".")[-1]
        shown = [getattr(b, name) for b in self.fitted.blocks]
        return ", ".join(format_list_choices([v]) if isinstance(v, list) else str(v) for v in shown)

    def _range_editor(self, row: SpaceRow, entry: dict[str, Any]) -> dict[str, Any]:
        lo_col, hi_col, log_col = st.columns([2, 2, 1])
        cast = int if row.kind == "int" else float
        fmt = "%d" if row.kind == "int" else "%.6g"
        low = lo_col.number_input("from", value=cast(entry.get("low", 0)), format=fmt,
                                  key=self.key(row.path + ":low"), disabled=self.running)
        high = hi_col.number_input("to", value=cast(entry.get("high", 1)), format=fmt,
                                   key=self.key(row.path + ":high"), disabled=self.running)
        log = log_col.checkbox("log", value=bool(entry.get("log", False)), key=self.key(row.path + ":log"),
                               disabled=self.running, help="Draw on a log scale (for widths and learning rates).")
        out: dict[str, Any] = {"low": low, "high": high}
        if log:
            out["log"] = True
        return out

    def _choices_editor(self, row: SpaceRow, entry: dict[str, Any]) -> dict[str, Any]:
        if row.kind == "int_list":
            text = st.text_input("choices", value=format_list_choices(entry.get("choices", [[]])),
                                 key=self.key(row.path + ":choices"), disabled=self.running,
                                 help="Lists of widths separated by ';', widths by ','. 'none' is the empty list.")
            try:
                return {"choices": parse_list_choices(text)}
            except ValueError as exc:
                st.error(str(exc), icon=":material/edit_off:")
                return entry
        options = list(row.choices) if row.choices else (BATCH_CHOICES if row.path == BATCH_SIZE else
                                                          list(entry.get("choices", [])))
        options += [v for v in entry.get("choices", []) if v not in options]
        picked = st.multiselect("choices", options, default=[c for c in entry.get("choices", []) if c in options],
                                key=self.key(row.path + ":choices"), disabled=self.running)
        return {"choices": picked}

    def _row(self, row: SpaceRow, params: dict[str, ParamSpace]) -> None:
        flags, stored = self.session.searched, self.session.entries
        toggle_col, control_col = st.columns([1, 3])
        with toggle_col:
            on = st.toggle("search", value=flags.get(row.path, False), key=self.key(row.path + ":on"),
                           disabled=self.running, help=f"Search {row.label} instead of keeping the design's value.")
            flags[row.path] = on
        with control_col:
            if on:
                st.markdown(f"**{row.label}**", help=row.help)
                entry = stored.get(row.path) or row.searched.to_json_dict()
                entry = self._range_editor(row, entry) if "low" in entry else self._choices_editor(row, entry)
                stored[row.path] = entry
                params[row.path] = ParamSpace.model_validate(entry)
            elif row.path == BATCH_SIZE:
                setting(SearchConfig, BATCH_SIZE, self.values, key_prefix="search", disabled=self.running)
            elif row.block_field or row.path == NUM_BLOCKS:
                st.markdown(f"**{row.label}**: as designed ({self._design_values(row)})", help=row.help)
            else:
                field(row.path, disabled=self.running)  # the Design page's own control

    def space_editor(self) -> SearchSpace | None:
        """Pin/search toggles next to the Design page's controls; the space, or None with its problems shown."""
        params: dict[str, ParamSpace] = {}
        groups: dict[str, list[SpaceRow]] = {"Blocks": [], "Around the blocks": [], "Training": []}
        all_rows = space_rows(self.fitted, self.batch, rows=self.rows)
        for row in all_rows:
            group = "Blocks" if row.block_field or row.path == NUM_BLOCKS else (
                "Training" if row.path in (BATCH_SIZE, "optimizer.learning_rate") else "Around the blocks")
            groups[group].append(row)
        for title, rows in groups.items():
            with st.expander(title, expanded=title == "Blocks"):
                for row in rows:
                    self._row(row, params)
        caps = st.columns(2)
        for col, name in zip(caps, ("max_params", "max_memory_mb"), strict=True):
            with col:
                setting(SearchSpace, name, self.values, key_prefix="search", disabled=self.running)
        try:
            space = SearchSpace(params=params, max_params=self.values["max_params"],
                                max_memory_mb=self.values["max_memory_mb"])
            space.require_valid(self.fitted)
        except SpaceError as exc:
            for problem in exc.problems:
                st.error(f"`{problem.path}`: {problem.message} {problem.fix}", icon=":material/error:")
            return None
        except ValueError as exc:
            st.error(f"The space does not work yet: {exc}", icon=":material/error:")
            return None
        searched = space.searched()
        labels = {row.path: row.label for row in all_rows}
        names = [labels.get(path, path) for path in searched]
        st.caption(f"Searching {count(len(searched), 'field')}: {', '.join(names) or 'none yet'}.")
        return space

    # ------------------------------------------------------------------ settings and cost
    def run_settings(self) -> None:
        """The search settings, drawn from SearchConfig (the metric offered for this task only)."""
        metrics = search_metrics(self.fitted)
        if self.values.get("metric") not in metrics:
            self.values["metric"] = SearchConfig.meta("metric").default
        skip = ("metric", BATCH_SIZE, "max_params", "max_memory_mb")
        settings_grid(SearchConfig, self.values, key_prefix="search", disabled=self.running, skip=skip)
        setting(SearchConfig, "metric", self.values, key_prefix="search", disabled=self.running, options=metrics,
                format_func=metric_label)
        with st.expander("Storage (several machines, resuming)"):
            if not self.values.get("study_name"):
                self.values["study_name"] = f"{self.fitted.name}-{Path(self.loaded.name).stem}".replace(" ", "_")
            settings_grid(SearchConfig, self.values, key_prefix="search", disabled=self.running, group="storage",
                          columns=2)
        with st.expander("More search settings"):
            settings_grid(SearchConfig, self.values, key_prefix="search", disabled=self.running, group="advanced",
                          columns=3)

    def _timing_target(self, spec_json: str, batch_size: int) -> Any:
        data = self.loaded.data

        def target(listener: Any, stop: threading.Event) -> Any:
            return time_epochs(ModelSpec.from_json(spec_json), data, batch_size)

        return target

    def cost_preview(self) -> None:
        """Measure one epoch of the current design, then trials × epochs × seconds per epoch."""
        batch = self.batch
        token = (self.fitted.to_json(indent=None), self.loaded.name, batch)
        left, right = st.columns([1, 3])
        with left:
            if st.button("Measure one epoch", icon=":material/timer:", disabled=self.running,
                         help="Trains the current design for two short epochs to time them (first epoch includes "
                         "building the graph)."):
                self.session.timing_job = jobs.Job(self._timing_target(token[0], batch), name="search timing",
                                                   info={"token": token}).start()
        with right:
            self._timing_status(token)

    def _timing_status(self, token: tuple[str, str, int]) -> None:
        """The timing job's state, polled while it runs; the page reruns once when it has ended."""
        timing_job = self.session.timing_job
        if timing_job is None:
            st.caption("Measure one epoch to see what the search will cost.")
            return
        polling = timing_job.snapshot().active

        @st.fragment(run_every=TIMING_POLL_S if polling else None)
        def timing_status() -> None:
            timing_job.touch()
            snap = timing_job.snapshot()
            if snap.active:
                st.caption("Timing the current design… (TensorFlow starts first, a few seconds)")
                return
            if polling and self.session.timing_seen != snap.id:
                self.session.timing_seen = snap.id
                st.rerun()  # once: the page stops polling and draws the result
            self._timing_result(snap, token)

        timing_status()

    def _timing_result(self, snap: Any, token: tuple[str, str, int]) -> None:
        if snap.status == "error":
            st.error(f"Timing failed: {snap.error}", icon=":material/error:")
            return
        timing = snap.result
        if timing is None:
            return
        limit = self.values.get("timeout")
        cost = estimate_cost(int(self.values["n_trials"]), self.trial_epochs, timing.first_s,
                             timing.next_s, int(self.values["workers"]), os.cpu_count(),
                             timeout=float(limit) if limit else None)
        stale = "" if snap.info.get("token") == token else " (measured on an earlier design)"
        st.info(f"One epoch: {timing.first_s:.1f} s first, {timing.next_s:.2f} s after{stale}. {cost.text()}",
                icon=":material/schedule:")

    # ------------------------------------------------------------------ start and stop
    def config(self) -> SearchConfig:
        """The settings as a SearchConfig (SettingsError when one does not fit)."""
        values = {k: v for k, v in self.values.items() if k in SearchConfig.model_fields}
        return parse_settings(SearchConfig, {**values, "studies_dir": _studies_dir()})

    def where(self) -> tuple[str, str]:
        """(storage URL, study name) of this session's study; ValueError for storage the server does not allow.

        In the server's studies folder the name carries this session's scope (two visitors who type the
        same name get two studies); a storage URL the operator allowed keeps the name as typed (shared).
        """
        values = self.values
        typed = (values.get("storage") or "").strip()
        if typed:
            if typed not in server.allowed_storage():
                raise ValueError(STORAGE_REFUSED)
            return typed, str(values["study_name"])
        name = f"{values['study_name']}-{lifecycle.session_scope()}"
        return default_storage(name, int(values["workers"]), _studies_dir()), name

    def start(self, space: SearchSpace) -> None:
        try:
            storage, name = self.where()
            config = self.config().model_copy(update={"storage": storage, "study_name": name})
        except ValueError as exc:
            state.notify(f"These search settings do not work: {exc}", "error")
            return
        spec, loaded = state.spec(), self.loaded
        source = DataSource(loaded.path, loaded.target or None, loaded.task, loaded.seed,
                            options={"val_size": loaded.val_size, "test_size": loaded.test_size})

        def target(listener: Any, stop: threading.Event) -> Any:
            return run_search(spec, source, space, config, progress=listener, stop_event=stop, in_process=False)

        job = jobs.Job(target, name=f"search {config.study_name}", exclusive=False, coalesce=lambda event: "progress",
                       orphan_after_s=None, info={"storage": config.storage, "study": config.study_name,
                                                  "n_trials": config.n_trials, "timeout": config.timeout})
        self.session.job = job.start()
        self.session.view = (config.storage, config.study_name)

    def stop(self) -> None:
        if self.session.job is not None:
            self.session.job.stop()

    def show_study(self) -> None:
        try:
            self.session.view = self.where()
        except ValueError as exc:
            state.notify(str(exc), "error")

    def actions(self, space: SearchSpace | None) -> None:
        """Start, Stop, and show a study others are running."""
        go, halt, watch = st.columns([1, 1, 2])
        go.button("Start search", type="primary", icon=":material/play_arrow:", disabled=self.running or space is None,
                  on_click=self.start, args=(space,), width="stretch",
                  help="Runs in background worker processes; you can switch pages while it runs.")
        halt.button("Stop", icon=":material/stop:", disabled=not self.running, width="stretch", on_click=self.stop,
                    help="Stops after the running batch; finished trials stay in the study (start again to resume).")
        watch.button("Show this study", icon=":material/visibility:", disabled=self.running, on_click=self.show_study,
                     help="Look at the study named under Storage (e.g. one other machines are running).")

    # ------------------------------------------------------------------ live view
    def live(self) -> None:
        """The study on show: progress, workers, trials, the Optuna charts; redrawn while the search runs."""
        if self.session.view is None:
            return
        storage, name = self.session.view

        @st.fragment(run_every=POLL_S if self.running else None)
        def board() -> None:
            self._board(storage, name)

        board()

    def _progress(self, snap: Any) -> bool:
        """The job's progress bar and workers; False while the search is still creating its study."""
        progress = snap.latest.get("progress")
        if snap.status == "error":
            st.error(f"The search failed: {snap.error}", icon=":material/error:")
        elif progress is not None:
            best = "—" if progress.best_value is None else f"{progress.best_value:.4g} (trial {progress.best_trial})"
            metric = metric_label(self.values["metric"]).lower()
            text = (f"{progress.done}/{progress.total} trials · best {metric} {best} · "
                    f"{progress.pruned} pruned · {sum(progress.rejected.values())} stopped by the caps")
            st.progress(min(progress.done / max(progress.total, 1), 1.0), text=text)
            reason = ended_early(snap, progress.done, progress.total)
            if reason:
                st.info(reason, icon=":material/timer:")
            if progress.running:
                st.markdown("**Workers running trials now**")
                st.dataframe(_readable_running(progress.running), hide_index=True)
        elif snap.active:
            st.progress(0.0, text="Starting the worker processes (TensorFlow takes a few seconds)…")
        return not (snap.active and progress is None)

    def _board(self, storage: str, name: str) -> None:
        current = self.session.job
        snap = current.snapshot() if current is not None else None
        if current is not None and snap is not None:
            current.touch()
            if not self._progress(snap):
                return
        try:
            study = load_study(storage, name)
        except ValueError as exc:
            if snap is None or not snap.active:
                st.caption(str(exc))
            return
        trials = trials_frame(study)
        st.dataframe(readable_trials(trials), hide_index=True, height=260,
                     column_config={"Note": st.column_config.TextColumn("Note", width="large")})
        with st.expander("All columns (as stored)", icon=":material/table_view:"):
            st.dataframe(trials, hide_index=True, height=200, key="search_trials_raw")
            st.download_button("Download the trials (.csv)", trials.to_csv(index=False), file_name=f"{name}-trials.csv",
                               mime="text/csv", icon=":material/download:", on_click="ignore")
        params = sorted({name for t in study.trials for name in t.params})
        figs = {name: readable_figure(fig, self.values["metric"], params) for name, fig in figures(study).items()}
        tabs = [t for t in ("history", "parallel", "importance", "pareto") if t in figs]
        if tabs:
            for tab, fig_name in zip(st.tabs([t.title() for t in tabs]), tabs, strict=True):
                with tab:
                    st.plotly_chart(figs[fig_name], key=f"search_fig_{fig_name}", config={"displaylogo": False})
        report = study_report(study, 5)
        st.caption(f"Caps stopped {count(report.caps['params_cap'], 'sample')} by parameters and "
                   f"{report.caps['memory_cap']} by memory, before anything was built.")
        if report.best_trial is not None and st.button(
                f"Open the best design (trial {report.best_trial}) in the designer", type="primary",
                icon=":material/schema:", key="open_best", help="Makes it the current design and goes to the "
                "Design page."):
            if open_best(storage, name):
                st.switch_page(page_path("design.py"))
        if snap is not None and snap.finished and self.session.seen_end != snap.id:
            self.session.seen_end = snap.id
            st.rerun()  # once: the controls above are enabled again


def open_best(storage: str, name: str) -> bool:
    """Make the best design of a study the current design; a notice for the Design page says which trial."""
    try:
        study = load_study(storage, name)
        trial = best_trial(study)
        spec, batch = trial_spec(trial)
    except ValueError as exc:
        state.notify(f"No best design to open yet: {exc}", "warning")
        return False
    value = trial.values[0] if trial.values else None
    scored = f", {metric_name(study)} {value:.4g}" if value is not None else ""
    state.set_spec(spec)
    state.set_train_setting(BATCH_SIZE, batch)
    state.notify(f"Opened the best design of study {name!r}: trial {trial.number}{scored}, batch size {batch}. "
                 "It is now the current design.", "success")
    return True


#: Trial-table columns shown on the page, in order, with readable names (the others are in the expander).
TRIAL_COLUMNS = {"trial": "Trial", "state": "State", "params": "Parameters", "seconds": "Seconds",
                 "epochs": "Epochs", "batch_size": "Batch size", "note": "Note"}
_STATES = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
           "WAITING": "waiting"}


def readable_figure(fig: Any, metric: str, params: Sequence[str] = ()) -> Any:
    """An Optuna figure with the parameters and the metric named in words (Block 1, not blocks.0).

    ``params``: the study's parameter names, to restore those Optuna shortened on an axis.
    """
    words = metric_label(metric)

    def named(text: str) -> str:
        if text in (metric, "Objective Value"):
            return words
        if text.endswith("...") and text not in params:
            text = next((p for p in params if p.startswith(text[:-3])), text)
        return _param_label(text)

    for trace in fig.data:
        if trace.type == "bar" and trace.y is not None:  # importance: one bar per parameter
            trace.y = [named(str(v)) for v in trace.y]
    axis = fig.layout.xaxis
    if axis.ticktext:  # parallel coordinates: one axis per parameter, the metric first
        axis.ticktext = [named(str(t)).replace(": ", ":<br>").replace(" (", "<br>(") for t in axis.ticktext]
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        if ax.title is not None and ax.title.text and metric in ax.title.text:
            ax.title.text = ax.title.text.replace(metric, words)
    return fig


def _param_label(key: str) -> str:
    """A sampled parameter's key in words: 'blocks.0.width' -> 'Block 1: Width (k)'."""
    if key == NUM_BLOCKS:
        return "Number of blocks"
    found = re.fullmatch(r"blocks\.(\d+)\.(\w+)", key)
    path = f"blocks[].{found.group(2)}" if found else key
    try:
        label = field_meta(path).label
    except (KeyError, ValueError):
        return key
    return f"Block {int(found.group(1)) + 1}: {label}" if found else label


def _readable_running(running: list[dict[str, Any]]) -> Any:
    """The trials running now, with readable column names."""
    names = {"trial": "Trial", "worker": "Worker (host:process)", "epochs": "Epochs done", "started": "Started"}
    return pd.DataFrame(running).rename(columns=names)


def _cell(value: Any) -> Any:
    """A table cell as shown: "" for a missing value, whole numbers without ".0", others to 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.4g}"
    return value


def readable_trials(frame: Any) -> Any:
    """The trials table with readable column names; internal ones (worker, retry_of, rejected_by) left out."""
    metric = next((c for c in frame.columns if c not in TRIAL_COLUMNS and c not in ("rejected_by", "worker",
                                                                                    "retry_of")
                   and not str(c).startswith("p:")), None)
    keep = [c for c in ("trial", "state", metric, *list(TRIAL_COLUMNS)[2:]) if c is not None and c in frame.columns]
    shown = frame[keep + [c for c in frame.columns if str(c).startswith("p:")]].copy()
    if "state" in shown.columns:
        shown["state"] = shown["state"].map(lambda v: _STATES.get(str(v), str(v).lower()))
    if "note" in shown.columns:
        shown["note"] = shown["note"].fillna("").astype(str)
    for column in shown.columns:  # an empty cell is empty, never "None" (a block a trial did not have, say)
        if shown[column].dtype == object or shown[column].isna().any():
            shown[column] = shown[column].map(_cell)
    names = {c: TRIAL_COLUMNS.get(c, c) for c in keep} | {c: _param_label(c[2:]) for c in shown.columns
                                                          if str(c).startswith("p:")}
    if metric is not None:
        names[metric] = metric_label(str(metric))
    return shown.rename(columns=names)


def _defaults(fitted: ModelSpec) -> dict[str, Any]:
    """A new session's settings: SearchConfig's defaults and the default space's caps."""
    space = default_space(fitted)
    return {**SearchConfig().model_dump(), "max_params": space.max_params, "max_memory_mb": space.max_memory_mb}


def ready() -> SearchPage | None:
    """Say what is missing (data, a valid design); the page's parts when a search can be set up."""
    loaded = state.data()
    design_errors = state.errors()
    if loaded is None:
        st.info("Choose a data set on the Data page first: the search trains every design on it.",
                icon=":material/table_chart:")
        return None
    if design_errors:
        st.error(f"The design has {count(len(design_errors), 'error')}; the search starts from a valid design. "
                 f"First: {design_errors[0].message}", icon=":material/error:")
        return None
    fitted, notices = spec_for_data(state.spec(), loaded.data)
    session = search_session()
    if not session.settings:
        session.settings.update(_defaults(fitted))
        session.searched.update(dict.fromkeys(DEFAULT_ON, True))
    st.caption(f"Data **{loaded.name}** ({loaded.data.task}) · starting design **{fitted.name}** with "
               f"{count(len(fitted.blocks), 'block')}. Fields switched to *search* vary between trials; all others "
               "keep the "
               "design's value.")
    for notice in notices:
        st.caption(f"Note: {notice}")
    return SearchPage(loaded, fitted, notices, session)
