"""Search: let Optuna find a better residual MLP for the chosen data, in background worker processes.

Every field of the design can be kept as designed (the same control as on the Design page) or
searched (a range or a list of choices). Before launch the page measures one epoch of the current
design and estimates the cost; while the search runs it shows the trials, the workers and the
Optuna charts; the best design can be opened in the designer. Training happens in spawned worker
processes (:func:`rmlp.search.run_search`), never in the app's own process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from designer_app import jobs, state
from designer_app.widgets import field
from rmlp.search.planning import SpaceRow, estimate_cost, format_list_choices, parse_list_choices, space_rows
from rmlp.search.space import BATCH_SIZE, NUM_BLOCKS, ParamSpace, SearchSpace, SpaceError

POLL_S = 2.0
STUDIES_DIR_ENV = "RMLP_STUDIES_DIR"
BATCH_CHOICES = [8, 16, 32, 64, 128, 256, 512, 1024]
DEFAULT_ON = ("num_blocks", "blocks[].layers", "blocks[].width", "blocks[].decrement", "optimizer.learning_rate")


# ---------------------------------------------------------------------- session values (via state.ui)
def settings() -> dict[str, Any]:
    """The search settings of this session (kept across page switches)."""
    values = state.ui("search.settings")
    if values is None:
        values = {"n_trials": 20, "epochs": 10, "workers": 1, "metric": "val_loss", "direction": "auto",
                  "two_objectives": False, "sampler": "tpe", "pruner": "median", "seed": 0, "timeout_min": 0,
                  "storage": "", "study": "", "max_params": 5_000_000, "max_memory_mb": 0, "batch_size": 32}
        state.set_ui("search.settings", values)
    return values


def searched() -> dict[str, bool]:
    flags = state.ui("search.on")
    if flags is None:
        flags = {p: True for p in DEFAULT_ON}
        state.set_ui("search.on", flags)
    return flags


def entries() -> dict[str, dict[str, Any]]:
    found = state.ui("search.entries")
    if found is None:
        found = {}
        state.set_ui("search.entries", found)
    return found


def key(name: str) -> str:
    return f"search{state.rev()}:{name}"


def search_job() -> jobs.Job | None:
    return state.ui("search.job")


# ---------------------------------------------------------------------- readiness
st.title("Search for a better design")
loaded = state.data()
design_errors = state.errors()
if loaded is None:
    st.info("Choose a data set on the Data page first: the search trains every design on it.",
            icon=":material/table_chart:")
    st.stop()
if design_errors:
    st.error(f"The design has {len(design_errors)} error(s); the search starts from a valid design. "
             f"First: {design_errors[0].message}", icon=":material/error:")
    st.stop()

from rmlp.data import spec_for_data  # noqa: E402 - after the cheap checks
from rmlp.search.objective import guess_direction, metric_names  # noqa: E402

fitted, notices = spec_for_data(state.spec(), loaded.data)
values = settings()
job = search_job()
running = job is not None and job.snapshot().active
st.caption(f"Data **{loaded.name}** ({loaded.data.task}) · starting design **{fitted.name}** with "
           f"{len(fitted.blocks)} block(s). Fields switched to *search* vary between trials; all others keep the "
           "design's value.")


# ---------------------------------------------------------------------- the space, field by field
def _design_values(row: SpaceRow) -> str:
    if row.path == NUM_BLOCKS:
        return str(len(fitted.blocks))
    name = row.path.split(".")[-1]
    shown = [getattr(b, name) for b in fitted.blocks]
    return ", ".join(format_list_choices([v]) if isinstance(v, list) else str(v) for v in shown)


def _range_editor(row: SpaceRow, entry: dict[str, Any]) -> dict[str, Any]:
    lo_col, hi_col, log_col = st.columns([2, 2, 1])
    is_int = row.kind == "int"
    cast = int if is_int else float
    fmt = "%d" if is_int else "%.6g"
    low = lo_col.number_input("from", value=cast(entry.get("low", 0)), format=fmt, key=key(row.path + ":low"),
                              disabled=running)
    high = hi_col.number_input("to", value=cast(entry.get("high", 1)), format=fmt, key=key(row.path + ":high"),
                               disabled=running)
    log = log_col.checkbox("log", value=bool(entry.get("log", False)), key=key(row.path + ":log"), disabled=running,
                           help="Draw on a log scale (for widths and learning rates).")
    out: dict[str, Any] = {"low": low, "high": high}
    if log:
        out["log"] = True
    return out


def _choices_editor(row: SpaceRow, entry: dict[str, Any]) -> dict[str, Any]:
    if row.kind == "int_list":
        text = st.text_input("choices", value=format_list_choices(entry.get("choices", [[]])),
                             key=key(row.path + ":choices"), disabled=running,
                             help="Lists of widths separated by ';', widths by ','. 'none' is the empty list.")
        try:
            return {"choices": parse_list_choices(text)}
        except ValueError as exc:
            st.error(str(exc), icon=":material/edit_off:")
            return entry
    options = list(row.choices) if row.choices else (BATCH_CHOICES if row.path == BATCH_SIZE else
                                                      list(entry.get("choices", [])))
    for value in entry.get("choices", []):
        if value not in options:
            options.append(value)
    picked = st.multiselect("choices", options, default=[c for c in entry.get("choices", []) if c in options],
                            key=key(row.path + ":choices"), disabled=running)
    return {"choices": picked}


def space_editor() -> SearchSpace | None:
    """Pin/search toggles next to the Design page's controls; the space, or None with its problems shown."""
    flags, stored = searched(), entries()
    params: dict[str, ParamSpace] = {}
    groups = {"Blocks": [], "Around the blocks": [], "Training": []}
    for row in space_rows(fitted, int(values["batch_size"])):
        group = "Blocks" if row.block_field or row.path == NUM_BLOCKS else (
            "Training" if row.path in (BATCH_SIZE, "optimizer.learning_rate") else "Around the blocks")
        groups[group].append(row)
    for title, rows in groups.items():
        with st.expander(title, expanded=title == "Blocks"):
            for row in rows:
                toggle_col, control_col = st.columns([1, 3])
                with toggle_col:
                    on = st.toggle("search", value=flags.get(row.path, False), key=key(row.path + ":on"),
                                   disabled=running, help=f"Search {row.label} instead of keeping the design's value.")
                    flags[row.path] = on
                with control_col:
                    if on:
                        st.markdown(f"**{row.label}**", help=row.help)
                        entry = stored.get(row.path) or row.searched.to_json_dict()
                        entry = _range_editor(row, entry) if "low" in entry else _choices_editor(row, entry)
                        stored[row.path] = entry
                        params[row.path] = ParamSpace.model_validate(entry)
                    elif row.path == BATCH_SIZE:
                        values["batch_size"] = st.number_input("Batch size", 1, 65536, int(values["batch_size"]),
                                                               key=key("batch_size"), disabled=running)
                    elif row.block_field or row.path == NUM_BLOCKS:
                        st.markdown(f"**{row.label}**: as designed ({_design_values(row)})", help=row.help)
                    else:
                        field(row.path, disabled=running)  # the Design page's own control
    cap1, cap2 = st.columns(2)
    values["max_params"] = cap1.number_input("Parameter cap (0: none)", 0, 10**10, int(values["max_params"]),
                                             step=100_000, key=key("max_params"), disabled=running,
                                             help="Designs with more parameters are rejected before anything "
                                             "is built; the report counts them.")
    values["max_memory_mb"] = cap2.number_input("Training memory cap, MiB (0: none)", 0, 10**8,
                                                int(values["max_memory_mb"]), key=key("max_memory_mb"),
                                                disabled=running, help="Estimated peak memory of one training "
                                                "step; larger designs are rejected before they are built.")
    try:
        space = SearchSpace(params=params, max_params=int(values["max_params"]) or None,
                            max_memory_mb=float(values["max_memory_mb"]) or None)
        space.require_valid(fitted)
    except SpaceError as exc:
        for problem in exc.problems:
            st.error(f"`{problem.path}`: {problem.message} {problem.fix}", icon=":material/error:")
        return None
    except ValueError as exc:
        st.error(f"The space does not work yet: {exc}", icon=":material/error:")
        return None
    st.caption(f"Searching {len(space.searched())} field(s): {', '.join(space.searched()) or 'none yet'}.")
    return space


# ---------------------------------------------------------------------- settings and cost
def run_settings() -> None:
    metrics = metric_names(fitted)
    if values["metric"] not in metrics:
        values["metric"] = "val_loss"
    c1, c2, c3, c4 = st.columns(4)
    values["n_trials"] = c1.number_input("Trials", 1, 100_000, int(values["n_trials"]), key=key("n_trials"),
                                         disabled=running)
    values["epochs"] = c1.number_input("Epochs per trial", 1, 10_000, int(values["epochs"]), key=key("epochs"),
                                       disabled=running, help="The pruner may stop bad trials earlier.")
    cpus = os.cpu_count() or 1
    values["workers"] = c2.number_input("Worker processes", 1, max(cpus, 1), min(int(values["workers"]), cpus),
                                        key=key("workers"), disabled=running,
                                        help="Each worker trains one design at a time with one CPU thread.")
    values["seed"] = c2.number_input("Seed", 0, 2**31 - 1, int(values["seed"]), key=key("seed"), disabled=running)
    values["metric"] = c3.selectbox("Metric", metrics, index=metrics.index(values["metric"]), key=key("metric"),
                                    disabled=running)
    directions = ["auto", "minimize", "maximize"]
    values["direction"] = c3.selectbox("Direction", directions, index=directions.index(values["direction"]),
                                       key=key("direction"), disabled=running,
                                       help=f"auto: {guess_direction(values['metric'])} for {values['metric']}.")
    values["two_objectives"] = c4.toggle("Also minimise parameters", bool(values["two_objectives"]),
                                         key=key("two"), disabled=running,
                                         help="Two objectives: a Pareto front of metric against size (no pruning).")
    samplers, pruners = ["tpe", "random", "grid"], ["median", "hyperband", "none"]
    values["sampler"] = c4.selectbox("Sampler", samplers, index=samplers.index(values["sampler"]),
                                     key=key("sampler"), disabled=running)
    values["pruner"] = c4.selectbox("Pruner", pruners, index=pruners.index(values["pruner"]), key=key("pruner"),
                                    disabled=running or values["two_objectives"])
    with st.expander("Storage (several machines, resuming)"):
        default_name = f"{fitted.name}-{Path(loaded.name).stem}".replace(" ", "_")
        values["study"] = st.text_input("Study name", values["study"] or default_name, key=key("study"),
                                        disabled=running, help="The same name and storage resume (or join) a study.")
        values["storage"] = st.text_input("Storage URL (empty: a file under studies/)", values["storage"],
                                          key=key("storage"), disabled=running,
                                          help="sqlite:///FILE.db, journal:FILE.journal, or "
                                          "postgresql+psycopg2://USER@HOST/DB for several machines.")
        values["timeout_min"] = st.number_input("Stop starting trials after (minutes, 0: never)", 0, 100_000,
                                                int(values["timeout_min"]), key=key("timeout"), disabled=running)


def _timing_target(spec_json: str, batch_size: int) -> Any:
    from rmlp import ModelSpec
    from rmlp.search.objective import time_epochs

    def target(listener: Any, stop: threading.Event) -> Any:
        return time_epochs(ModelSpec.from_json(spec_json), loaded.data, batch_size)

    return target


def cost_preview() -> None:
    """Measure one epoch of the current design, then trials × epochs × seconds per epoch."""
    batch = int(values["batch_size"])
    token = (fitted.to_json(indent=None), loaded.name, batch)
    timing_job = state.ui("search.timing_job")
    left, right = st.columns([1, 3])
    with left:
        if st.button("Measure one epoch", icon=":material/timer:", disabled=running,
                     help="Trains the current design for two short epochs to time them (first epoch includes "
                     "building the graph)."):
            timing_job = jobs.Job(_timing_target(token[0], batch), name="search timing", info={"token": token}).start()
            state.set_ui("search.timing_job", timing_job)
    with right:
        if timing_job is None:
            st.caption("Measure one epoch to see what the search will cost.")
            return
        snap = timing_job.snapshot()
        if snap.active:
            st.caption("Timing the current design…")
            return
        if snap.status == "error":
            st.error(f"Timing failed: {snap.error}", icon=":material/error:")
            return
        timing = snap.result
        if timing is None:
            return
        cost = estimate_cost(int(values["n_trials"]), int(values["epochs"]), timing.first_s, timing.next_s,
                             int(values["workers"]), os.cpu_count())
        stale = "" if snap.info.get("token") == token else " (measured on an earlier design)"
        st.info(f"One epoch: {timing.first_s:.1f} s first, {timing.next_s:.2f} s after{stale}. {cost.text()}",
                icon=":material/schedule:")


# ---------------------------------------------------------------------- start and stop
def _storage_url() -> str:
    from rmlp.search.runner import default_storage

    folder = os.environ.get(STUDIES_DIR_ENV, "studies")
    return values["storage"].strip() or default_storage(values["study"], int(values["workers"]), folder)


def start(space: SearchSpace) -> None:
    from rmlp.search.runner import DataSource, run_search

    spec = state.spec()
    source = DataSource(loaded.path, loaded.target or None, loaded.task, loaded.seed,
                        options={"val_size": loaded.val_size, "test_size": loaded.test_size})
    storage, name = _storage_url(), values["study"]
    cfg = dict(values)

    def target(listener: Any, stop: threading.Event) -> Any:
        return run_search(
            spec, source, space, n_trials=int(cfg["n_trials"]), epochs=int(cfg["epochs"]),
            workers=int(cfg["workers"]), seed=int(cfg["seed"]), sampler=cfg["sampler"], pruner=cfg["pruner"],
            metric=cfg["metric"], direction=None if cfg["direction"] == "auto" else cfg["direction"],
            objectives=2 if cfg["two_objectives"] else 1, batch_size=int(cfg["batch_size"]), storage=storage,
            study_name=name, timeout=float(cfg["timeout_min"]) * 60 or None, progress=listener, stop_event=stop,
            in_process=False, studies_dir=os.environ.get(STUDIES_DIR_ENV, "studies"))

    new = jobs.Job(target, name=f"search {name}", exclusive=False, coalesce=lambda event: "progress",
                   orphan_after_s=None, info={"storage": storage, "study": name, "n_trials": cfg["n_trials"]})
    state.set_ui("search.job", new.start())
    state.set_ui("search.view", (storage, name))


# ---------------------------------------------------------------------- live view
def _load(storage: str, name: str) -> Any:
    from rmlp.search.report import load_study

    return load_study(storage, name)


def live() -> None:
    view = state.ui("search.view")
    if view is None:
        return
    storage, name = view
    every = POLL_S if running else None

    @st.fragment(run_every=every)
    def board() -> None:
        from rmlp.search.report import figures, study_report, trials_frame

        current = search_job()
        snap = current.snapshot() if current is not None else None
        if snap is not None:
            current.touch()
            progress = snap.latest.get("progress")
            if snap.status == "error":
                st.error(f"The search failed: {snap.error}", icon=":material/error:")
            elif progress is not None:
                best = ("—" if progress.best_value is None
                        else f"{progress.best_value:.4g} (trial {progress.best_trial})")
                text = (f"{progress.done}/{progress.total} trials · best {values['metric']} {best} · "
                        f"{progress.pruned} pruned · {sum(progress.rejected.values())} stopped by the caps")
                st.progress(min(progress.done / max(progress.total, 1), 1.0), text=text)
                if progress.running:
                    st.markdown("**Workers running trials now**")
                    st.dataframe(progress.running, hide_index=True)
            elif snap.active:
                st.progress(0.0, text="Starting the worker processes (TensorFlow takes a few seconds)…")
        if snap is not None and snap.active and snap.latest.get("progress") is None:
            return  # the search is still creating its study
        try:
            study = _load(storage, name)
        except ValueError as exc:
            if snap is None or not snap.active:
                st.caption(str(exc))
            return
        st.dataframe(trials_frame(study), hide_index=True, height=260)
        figs = figures(study)
        tabs = [t for t in ("history", "parallel", "importance", "pareto") if t in figs]
        if tabs:
            for tab, name_ in zip(st.tabs([t.title() for t in tabs]), tabs, strict=True):
                with tab:
                    st.plotly_chart(figs[name_], key=f"search_fig_{name_}", config={"displaylogo": False})
        report = study_report(study, 5)
        st.caption(f"Caps stopped {report.caps['params_cap']} sample(s) by parameters and "
                   f"{report.caps['memory_cap']} by memory, before anything was built.")
        if report.best_trial is not None:
            st.button(f"Open the best design (trial {report.best_trial}) in the designer", type="primary",
                      icon=":material/schema:", on_click=open_best, args=(storage, name), key="open_best")
        if snap is not None and snap.finished and state.ui("search.seen_end") != snap.id:
            state.set_ui("search.seen_end", snap.id)
            st.rerun()  # once: the controls above are enabled again

    board()


def open_best(storage: str, name: str) -> None:
    from rmlp.search.report import best_trial, trial_spec

    try:
        spec, batch = trial_spec(best_trial(_load(storage, name)))
    except ValueError as exc:
        state.notify(f"No best design to open yet: {exc}", "warning")
        return
    state.set_spec(spec)
    state.set_train_setting("batch_size", batch)
    state.notify(f"Opened the best design of study {name!r} (batch size {batch}).", "success")


# ---------------------------------------------------------------------- the page
for notice in notices:
    st.caption(f"Note: {notice}")
with st.container(border=True):
    st.markdown("#### What to search")
    space = space_editor()
with st.container(border=True):
    st.markdown("#### How to search")
    run_settings()
    cost_preview()
go, halt, watch = st.columns([1, 1, 2])
go.button("Start search", type="primary", icon=":material/play_arrow:", disabled=running or space is None,
          on_click=start, args=(space,) if space is not None else (None,), width="stretch",
          help="Runs in background worker processes; you can switch pages while it runs.")
halt.button("Stop", icon=":material/stop:", disabled=not running, width="stretch",
            on_click=lambda: job.stop() if job is not None else None,
            help="Stops after the running batch; finished trials stay in the study (start again to resume).")
if watch.button("Show this study", icon=":material/visibility:", disabled=running,
                help="Look at the study named under Storage (e.g. one other machines are running)."):
    state.set_ui("search.view", (_storage_url(), values["study"]))
live()
