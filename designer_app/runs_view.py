"""The parts of the Runs page: the run table, the selected runs side by side, and what to do with one run.

Runs are listed from the app's runs folder (the one the Train page writes to) through
:func:`rmlp.runs.history.list_runs`, so runs started from the command line in that folder appear
too. While a listed run trains, a fragment polls the folder and redraws the page after each epoch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from designer_app import page_path, predict_view, server, state, training
from designer_app import runs_table as rt
from rmlp import SpecError, parse_spec
from rmlp.export import make_bundle
from rmlp.runs.comparison import Comparison, compare_runs
from rmlp.runs.folder import RunDir
from rmlp.runs.history import RunRecord, delete_run, list_runs

#: Seconds between two looks at the runs folder while a listed run trains.
POLL_S = 2.0
#: Query parameter naming a run to select when the page opens (the Train page's link sets it).
QP_RUN = "run"


def folder() -> Path:
    """The app's runs folder."""
    return Path(training.runs_folder(state.train_settings())).expanduser()


def _visible(runs: list[RunRecord]) -> list[RunRecord]:
    """The runs this visitor may see: all of them, or on a shared server only their own browser's."""
    if not server.runs_private():
        return runs
    mine = server.browser_key()
    return [r for r in runs if mine and server.run_owner(Path(r.path)) == mine]


def records() -> list[RunRecord] | None:
    """The runs in the runs folder this visitor may see, newest first; None (said on the page) when the folder
    cannot be read."""
    try:
        return _visible(list_runs(folder()))
    except (ValueError, OSError) as exc:
        st.error(f"The runs folder cannot be read: {exc}", icon=":material/error:")
        return None


def intro(runs: Sequence[RunRecord]) -> None:
    """Where the runs come from; what to do when there are none yet."""
    where = folder().resolve()
    if server.runs_private():  # a shared server: say whose runs these are, not where the server keeps them
        if not runs:
            st.info("No runs of yours yet. Train a design on the Train page and it appears here.",
                    icon=":material/history:")
        else:
            st.caption(f"Your {len(runs)} run{'s' if len(runs) != 1 else ''} (this server is shared: each visitor "
                       "sees only the runs their own browser started). Tick runs to compare them; click a column "
                       "title to sort.")
        return
    if not runs:
        st.info(f"No runs yet in `{where}`. Train a design on the Train page; runs made with `rmlp train "
                f"--runs-dir {where}` appear here too.", icon=":material/history:")
        link = (page_path("train.py"), "Go to Train", ":material/model_training:")
        try:
            st.page_link(link[0], label=link[1], icon=link[2])
        except Exception:  # noqa: BLE001 - a missing page (custom navigation) just drops the link
            pass
        return
    files = {r.data for r in runs}
    on = f", all trained on {next(iter(files))}" if len(files) == 1 and runs[0].data else ""
    st.caption(f"{len(runs)} run{'s' if len(runs) != 1 else ''} in `{where}`{on}: the Train page's runs and runs "
               "made with `rmlp train` in this folder. Tick runs to compare them; click a column title to sort.")


# ---------------------------------------------------------------------- live
def _signature(runs: Sequence[RunRecord]) -> tuple[Any, ...]:
    return tuple((r.name, r.status, r.epochs_done) for r in runs)


def live(runs: Sequence[RunRecord]) -> None:
    """While a listed run trains: its progress, and a full redraw of the page whenever a run's files change."""
    if not any(r.status == "running" for r in runs):
        return
    drawn = _signature(runs)

    @st.fragment(run_every=POLL_S)
    def watch() -> None:
        try:
            now = _visible(list_runs(folder()))
        except (ValueError, OSError):
            return
        if _signature(now) != drawn:
            st.rerun()  # an epoch ended, a run started or finished: redraw the table and the curves
        for run in now:
            if run.status == "running":
                planned = max(run.epochs_planned, 1)
                st.progress(min(run.epochs_done / planned, 1.0),
                            text=f"**{run.short_name}** is training: epoch {run.epochs_done} of "
                            f"{run.epochs_planned or '?'} done. This page follows it live.")

    watch()


# ---------------------------------------------------------------------- the table
def _focus(shown: Sequence[RunRecord]) -> None:
    """Select the run named in the URL (the Train page's link) once, then drop it from the URL."""
    name = st.query_params.get(QP_RUN)
    if not name:
        return
    del st.query_params[QP_RUN]
    picked = [str(r.path) for r in shown if r.name == name]
    if picked:
        state.set_ui("runs_selected", picked)
        state.set_ui("runs_table_rev", int(state.ui("runs_table_rev", 0)) + 1)


def _key(shown: Sequence[RunRecord]) -> str:
    """The table's widget key: a new one whenever the listed runs change, so a selection never moves rows."""
    paths = [str(r.path) for r in shown]
    if state.ui("runs_table_paths") != paths:
        state.set_ui("runs_table_paths", paths)
        state.set_ui("runs_table_rev", int(state.ui("runs_table_rev", 0)) + 1)
    return f"runs_table_{state.ui('runs_table_rev', 0)}"


_COLUMNS = {
    "Run": st.column_config.TextColumn("Run", help="The run's name (its folder without the date stamp)."),
    "Started": st.column_config.DatetimeColumn("Started", format="D MMM, HH:mm"),
    "Status": st.column_config.TextColumn("Status", help="Finished, stopped by you, failed, training now, or "
                                          "interrupted (its process ended; `rmlp resume` continues it)."),
    "Parameters": st.column_config.NumberColumn("Parameters", format="localized"),
    "Epochs": st.column_config.TextColumn("Epochs", help="Epochs done of those planned."),
    "Time": st.column_config.TextColumn("Time", help="From the start to the last update."),
}


def table(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The searchable, sortable run table; returns the runs ticked in it."""
    if not runs:
        return []
    search, refresh = st.columns([5, 1], vertical_alignment="bottom")
    with search:
        text = st.text_input("Search the runs", key="runs_search", placeholder="Part of a run name, design, data "
                             "file, task or status", help="Shows the runs whose name, design, data file, task or "
                             "status contains this text (any case).")
    with refresh:
        st.button("Refresh", icon=":material/refresh:", width="stretch", help="Look at the runs folder again "
                  "(for runs started from the command line meanwhile).")
    shown = [r for r in runs if rt.matches(r, text)]
    if not shown:
        st.info(f"No run matches “{text.strip()}”. Clear the search to see all {len(runs)} runs.",
                icon=":material/search_off:")
        return []
    _focus(shown)
    key = _key(shown)
    remembered = set(state.ui("runs_selected", []) or [])
    default = [i for i, r in enumerate(shown) if str(r.path) in remembered]
    frame = rt.table(shown)
    config = dict(_COLUMNS)
    for column in frame.columns:
        if column.startswith("Test "):
            config[column] = st.column_config.NumberColumn(column, format="%.4f", help="On the run's test rows.")
        elif column.startswith("Best "):
            config[column] = st.column_config.NumberColumn(
                column, format="%.4f", help="The best value over the epochs of the validation figure a run is "
                "ranked by: accuracy for a classifier, else loss.")
    event = st.dataframe(frame, key=key, on_select="rerun", selection_mode="multi-row", hide_index=True,
                         selection_default={"selection": {"rows": default}}, column_config=config, placeholder="—",
                         height=min(38 + 35 * len(shown), 420))
    rows = [i for i in event.selection.rows if 0 <= i < len(shown)]
    selected = [shown[i] for i in rows]
    state.set_ui("runs_selected", [str(r.path) for r in selected])
    return selected


# ---------------------------------------------------------------------- side by side
def labels(runs: Sequence[RunRecord]) -> list[str]:
    """Names for the runs' columns and curves: the short name, with the start time where two share one."""
    short = [r.short_name for r in runs]
    out = [rt.run_label(r) if short.count(r.short_name) > 1 else r.short_name for r in runs]
    seen: dict[str, int] = {}
    for i, label in enumerate(out):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            out[i] = f"{label} ({seen[label]})"
    return out


def _comparison(runs: Sequence[RunRecord]) -> Comparison:
    if len(runs) > 1:
        return compare_runs([r.path for r in runs])
    run = RunDir(runs[0].path)
    spec = run.read_json(RunDir.SPEC, {}) or {}
    return Comparison(runs=(runs[0],), specs=(spec if isinstance(spec, dict) else {},), design_changes=((),),
                      settings=(), histories=(run.history(),))


def _styled(frame: Any, best: dict[int, int], labels_: Sequence[str]) -> Any:
    """The metric table with each row's best run in bold on green."""

    def mark(row: Any) -> list[str]:
        winner = best.get(int(row.name))
        return ["font-weight: bold; background-color: rgba(33, 195, 84, 0.15)"
                if winner is not None and column == labels_[winner] else "" for column in row.index]

    return frame.style.apply(mark, axis=1)


def compare(selected: Sequence[RunRecord]) -> None:
    """The curves of the ticked runs (one chart per metric), their metrics and what differs between them."""
    if not selected:
        st.caption("Tick one or more runs in the table to see their curves and metrics side by side, what differs "
                   "between their designs, and to open, export, predict with or delete a run.")
        return
    selected = sorted(selected, key=lambda r: (r.started is None, r.started or 0, r.name))  # oldest first
    try:
        comparison = _comparison(selected)
    except (ValueError, OSError) as exc:
        st.error(f"These runs cannot be compared: {exc}", icon=":material/error:")
        return
    names = labels(selected)
    st.subheader("Curves" if len(selected) > 1 else f"Curves of {names[0]}", anchor=False)
    metrics = rt.curve_metrics(comparison.histories)
    if not metrics:
        st.caption("No epoch has finished yet, so there is no curve to draw.")
    columns = st.columns(2, gap="medium")
    for i, metric in enumerate(metrics):
        with columns[i % 2]:
            st.plotly_chart(rt.metric_figure(metric, comparison.histories, names), key=f"runs_curve:{metric}",
                            config={"displaylogo": False})
    if metrics:
        st.caption("Validation solid, training dotted; one colour per run.")
    st.subheader("Metrics", anchor=False)
    frame, best = rt.metrics_frame(comparison, names)
    st.dataframe(_styled(frame, best, names), hide_index=True, key="runs_metrics", placeholder="—",
                 height=_height(len(frame)))
    if len(selected) > 1:
        st.caption(f"Best of each row in bold. Validation figures are each run's best epoch; test figures are on "
                   f"its test rows. Differences are counted from {names[0]}.")
        _differences(comparison, names)


def _height(rows: int) -> int:
    """A table's height in pixels that shows all its rows (up to 15) without scrolling."""
    return 38 + 35 * min(max(rows, 1), 15) + 2


def _differences(comparison: Comparison, names: Sequence[str]) -> None:
    st.subheader("Design differences", anchor=False)
    frame = rt.design_frame(comparison, names)
    if frame.empty:
        st.caption("None: every selected run has the same design.")
    else:
        st.dataframe(frame, hide_index=True, key="runs_design_diff", placeholder="—", height=_height(len(frame)))
    st.subheader("Training differences", anchor=False)
    frame = rt.settings_frame(comparison, names)
    if frame.empty:
        st.caption("None: the same training settings and data split.")
    else:
        st.dataframe(frame, hide_index=True, key="runs_settings_diff", placeholder="—", height=_height(len(frame)))


# ---------------------------------------------------------------------- one run
def actions(selected: Sequence[RunRecord]) -> None:
    """Open one of the ticked runs' design, export it, delete it, or predict with it."""
    if not selected:
        return
    st.subheader("Use a run", anchor=False)
    by_path = {str(r.path): r for r in selected}
    names = dict(zip(by_path, labels(selected), strict=True))
    if len(selected) > 1:
        path = st.selectbox("Run", list(by_path), format_func=names.__getitem__, key="runs_action_run",
                            help="Which of the ticked runs the buttons below act on.")
    else:
        path = next(iter(by_path))
    record = by_path[path or next(iter(by_path))]
    name = names[str(record.path)]
    _describe(record)
    open_, export, delete = st.columns(3)
    with open_:
        opened = st.button("Open its design", icon=":material/schema:", width="stretch", key="runs_open",
                           help="Load this run's design into the designer (replacing the current one) and go to the "
                           "Design page.")
    with export:
        st.download_button("Export the bundle (.zip)", _bundle(record.path), file_name=f"{record.short_name}"
                           "-bundle.zip", mime="application/zip", icon=":material/download:", on_click="ignore",
                           width="stretch", key="runs_export", disabled=record.status == "running",
                           help="What the Export page offers for a trained run, in one zip: spec, Keras script, "
                           "predict script, trained model, history, metrics and README.")
    with delete:
        st.button("Delete…", icon=":material/delete:", width="stretch", key="runs_delete",
                  disabled=record.status == "running", on_click=state.set_ui, args=("runs_deleting", path),
                  help="Delete the run's folder and every file in it (asks first). A run still training cannot "
                  "be deleted; stop it first.")
    if opened and _open_design(record, name):
        st.switch_page(page_path("design.py"))
    _confirm_delete(record, name)
    predict_view.expander(record.path, key="runs")


def _describe(record: RunRecord) -> None:
    st.caption(f"{rt.status_label(record.status)} · {rt.task_label(record.task)} on {record.data or 'unknown data'}"
               f" · folder `{record.path}`")
    if record.status == "failed" and record.error:
        st.error(f"This run failed: {record.error}", icon=":material/error:")
    elif record.status == "interrupted":
        st.warning("This run's process ended before it finished. Continue it with `rmlp resume "
                   f"{record.path}`.", icon=":material/warning:")


def _bundle(run_dir: Path) -> Callable[[], bytes]:
    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="rmlp-bundle-") as tmp:
            out = Path(tmp) / "bundle.zip"
            make_bundle(run_dir, out)
            return out.read_bytes()

    return make


def _open_design(record: RunRecord, name: str) -> bool:
    """Load the run's design into the session; False (said on the page) when it cannot be read."""
    data = RunDir(record.path).read_json(RunDir.SPEC)
    if not isinstance(data, dict) or not data:
        st.error(f"The design of {name} cannot be opened: its {RunDir.SPEC} is missing, empty or not JSON.",
                 icon=":material/error:")
        return False
    try:
        spec = parse_spec(data)
    except (SpecError, ValueError) as exc:
        st.error(f"The design of {name} cannot be opened: {exc}", icon=":material/error:")
        return False
    state.set_spec(spec)
    state.notify(f"Opened the design of the run {name} ({spec.name}). It replaced the design you had; train it "
                 "again on the Train page, or change it here.", "success")
    return True


def _confirm_delete(record: RunRecord, name: str) -> None:
    path = str(record.path)
    error = state.ui("runs_delete_error")
    if error and error[0] == path:
        st.error(error[1], icon=":material/error:")
    if state.ui("runs_deleting") != path:
        return
    with st.container(border=True):
        st.warning(f"Delete the run **{name}** and every file in its folder (model, checkpoints, history, "
                   "metrics)? This cannot be undone.", icon=":material/delete_forever:")
        yes, no, _ = st.columns([1, 1, 2])
        yes.button("Yes, delete it", type="primary", key="runs_delete_yes", on_click=_delete, args=(path, name),
                   width="stretch")
        no.button("Cancel", key="runs_delete_no", on_click=state.set_ui, args=("runs_deleting", None),
                  width="stretch")


def _delete(path: str, name: str) -> None:
    state.set_ui("runs_deleting", None)
    try:
        delete_run(path)
    except (ValueError, OSError) as exc:
        state.set_ui("runs_delete_error", (path, f"The run {name} was not deleted: {exc}"))
        return
    state.set_ui("runs_delete_error", None)
    state.set_ui("runs_selected", [p for p in state.ui("runs_selected", []) or [] if p != path])
    state.notify(f"Deleted the run {name}.", "success")


def link(run_dir: str | Path) -> None:
    """A link to a run on the Runs page, which opens with that run ticked."""
    try:
        st.page_link(page_path("runs.py"), label="See this run on the Runs page", icon=":material/history:",
                     query_params={QP_RUN: Path(run_dir).name})
    except Exception:  # noqa: BLE001 - a missing page (tests, custom navigation) just drops the link
        st.caption(f"Run folder: `{run_dir}`")
