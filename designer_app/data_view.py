"""The parts of the Data page: choose a sample or upload a file, look at it, use it for the design."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from designer_app import datasets, state
from designer_app.datasets import LoadedData
from rmlp.data import DataError, spec_for_data, suggest_target
from rmlp.data.limits import LoadConfig
from rmlp.data.samples import sample, sample_dir, samples
from rmlp.spec.fields import field_table
from rmlp.spec.tasks import TASKS

TASK_CHOICES = ("auto", *TASKS)
_SOURCES = {"sample": "Sample data set", "upload": "Upload a file"}


# ---------------------------------------------------------------------- choosing a file
def in_use() -> None:
    """What the design is trained on now."""
    loaded = state.data()
    if loaded is None:
        st.caption("No data set in use yet: pick one below and press **Use this data**.")
    else:
        target = f", target **{loaded.target}**" if loaded.target else ""
        st.success(f"In use: **{loaded.name}**{target} ({loaded.data.task}).", icon=":material/check_circle:")


def _start_at_in_use() -> None:
    """The first time the chooser is drawn in a session, it starts at the data set in use (if any)."""
    if state.ui("data_chooser_started"):
        return
    state.set_ui("data_chooser_started", True)
    loaded = state.data()
    if loaded is None:
        return
    path = Path(loaded.path)
    if path.parent == sample_dir() and sample(path.name) is not None:
        state.set_ui("data_source", "sample")
        state.set_ui("data_sample", path.name)
    elif path.parent == datasets.upload_dir() and path.is_file():
        state.set_ui("data_source", "upload")
        state.set_ui("data_upload_path", str(path))
        state.set_ui("data_upload_name", loaded.name)
        state.set_ui("data_upload_error", "")


def _not_in_use_note(path: Path) -> None:
    """Say so when the file shown below is not the one in use."""
    loaded = state.data()
    if loaded is not None and Path(loaded.path) != path:
        st.info(f"Shown below: **{shown_name(path)}**, not the data in use (**{loaded.name}**).",
                icon=":material/swap_horiz:")


def choose_file() -> Path | None:
    """A sample or an uploaded file (saved under our own name); None until there is one.

    It starts at the data set in use, and says so when the file shown is another one.
    """
    _start_at_in_use()
    path = _chosen_file()
    if path is not None:
        _not_in_use_note(path)
    return path


def _chosen_file() -> Path | None:
    source = st.segmented_control("Where from", list(_SOURCES), default=state.ui("data_source", "sample"),
                                  format_func=lambda key: _SOURCES[key], required=True, key="data_source",
                                  on_change=_keep, args=("data_source",),
                                  help="The shipped sample data sets work offline; or upload a CSV table, a .zip "
                                  "of images in one folder per class, or a .npz of arrays (x, y).")
    if source == "upload":
        return _upload()
    options = [s.file for s in samples()]
    if not options:
        st.warning("No sample data on this machine (run `make sample-data`).")
        return None
    current = state.ui("data_sample", options[0])
    choice = st.selectbox("Sample data set", options, index=options.index(current) if current in options else 0,
                          format_func=_sample_title,
                          key="data_sample", on_change=_keep, args=("data_sample",),
                          help="Small classic data sets bundled with scikit-learn (see sample_data/README.md).")
    return None if choice is None else sample_dir() / choice


def _sample_title(file: str) -> str:
    found = sample(file)
    return found.title if found else file


def _keep(key: str) -> None:
    state.set_ui(key, st.session_state.get(key))


def _upload() -> Path | None:
    st.file_uploader("Upload a CSV table, an image .zip or a .npz", key="data_upload", on_change=_take_upload,
                     type=[s.lstrip(".") for s in datasets.TABLE_SUFFIXES + datasets.IMAGE_SUFFIXES],
                     help="CSV: one row per example, a header row, one column to predict. ZIP: one folder of "
                     "images per class. NPZ: arrays x (examples) and y (labels).")
    error = state.ui("data_upload_error")
    if error:
        st.error(error, icon=":material/error:")
        return None
    path = state.ui("data_upload_path")
    if path and Path(path).is_file():
        st.caption(f"Uploaded: {state.ui('data_upload_name', Path(path).name)}")
        return Path(path)
    return None


def _take_upload() -> None:
    upload = st.session_state.get("data_upload")
    state.set_ui("data_upload_error", "")
    state.set_ui("data_upload_path", "")
    if upload is None:
        return
    try:
        path = datasets.save_upload(upload.getvalue(), upload.name,
                                    datasets.TABLE_SUFFIXES + datasets.IMAGE_SUFFIXES)
    except ValueError as exc:
        state.set_ui("data_upload_error", f"This file cannot be used: {exc}")
        return
    state.set_ui("data_upload_path", str(path))
    state.set_ui("data_upload_name", upload.name)


# ---------------------------------------------------------------------- looking at it
def _error(exc: Exception, path: Path | None = None, shown_name: str = "") -> None:
    message = getattr(exc, "message", str(exc))
    fix = getattr(exc, "fix", "")
    if path is not None and shown_name:  # say the name the user uploaded, not our own file name
        message, fix = message.replace(path.name, shown_name), fix.replace(path.name, shown_name)
    st.error(f"{message}" + (f"  \n**Fix:** {fix}" if fix else ""), icon=":material/error:")


def table_options(path: Path) -> tuple[str, str | None, str] | None:
    """Preview the raw table; pick the target column, the task and what becomes of non-finite numbers.

    None when the file is unusable.
    """
    try:
        frame = datasets.read_table(path)
    except DataError as exc:
        _error(exc, path, shown_name(path))
        return None
    st.markdown(f"**Preview** ({len(frame):,} rows × {len(frame.columns)} columns, first 20 shown)")
    st.dataframe(frame.head(20), hide_index=True, height=250)
    columns = [str(c) for c in frame.columns]
    shipped = sample(path.name) if path.parent == sample_dir() else None
    default = shipped.target if shipped and shipped.target in columns else suggest_target(columns)
    left, right = st.columns(2)
    with left:
        target = st.selectbox("Target column", columns, index=columns.index(default) if default in columns else 0,
                              key=f"data_target:{path.name}",
                              help="The column the model learns to predict. Every other column is an input: "
                              "numbers are standardised, text is one-hot encoded, gaps are filled.")
    with right:
        task = _task_choice(f"data_task:{path.name}")
    return target, task, _non_finite_choice(f"data_non_finite:{path.name}")


def _non_finite_choice(key: str) -> str:
    """What becomes of numbers that are not finite (inf, overflowing values): LoadConfig's own field."""
    meta = field_table(LoadConfig)["non_finite"]
    return str(st.selectbox(meta.label, meta.choices, key=key, help=meta.help))


def _task_choice(key: str) -> str | None:
    task = st.selectbox("Task", TASK_CHOICES, key=key,
                        format_func=lambda t: "infer from the target" if t == "auto" else t,
                        help="Inferred from the target (text or few whole-number values: classification, binary "
                        "when there are two; other numbers: regression). Choose one to override it.")
    return None if task == "auto" else task


def shown_name(path: Path) -> str:
    """The name to show for a file: the uploaded file's own name, or the sample's."""
    if path.parent == datasets.upload_dir() and str(path) == state.ui("data_upload_path"):
        return str(state.ui("data_upload_name") or path.name)
    return path.name


def _load_cached(path: str, mtime: float, kind: str, target: str, task: str | None, val_size: float,
                 test_size: float, seed: int, name: str, non_finite: str) -> LoadedData:
    """The data set, kept within the server's cache budget (released when the session ends)."""
    key = ("loaded", path, mtime, kind, target, task, val_size, test_size, seed, name, non_finite)

    def make() -> LoadedData:
        with st.spinner("Loading the data…"):
            return datasets.load(Path(path), kind=kind, target=target, task=task, val_size=val_size,
                                 test_size=test_size, seed=seed, name=name, non_finite=non_finite)

    return datasets.CACHE.get(key, make, datasets.session_owner())


def load(path: Path, target: str = "", task: str | None = None, non_finite: str = "refuse") -> LoadedData | None:
    """The data set, split as the training settings say; None (with the message shown) when it fails."""
    settings = state.train_settings()
    kind = datasets.kind_of(path)
    name = shown_name(path)
    try:
        return _load_cached(str(path), path.stat().st_mtime, kind, target, task, float(settings["val_size"]),
                            float(settings["test_size"]), int(settings["seed"]), name, non_finite)
    except DataError as exc:
        _error(exc, path, name)
    except (OSError, ValueError) as exc:
        _error(ValueError(f"The file could not be read: {exc}"), path, name)
    return None


def image_options(path: Path) -> str | None:
    return _task_choice(f"data_task:{path.name}")


def describe(loaded: LoadedData) -> None:
    """Rows, task, split, column types, missing values and class balance."""
    summary: dict[str, Any] = loaded.summary()
    split = summary.get("split", {})
    cols = st.columns(4)
    cols[0].metric("Rows", f"{summary.get('rows', 0):,}")
    if summary.get("kind") == "table":
        cols[1].metric("Input features", f"{summary.get('features', 0):,}",
                       help="Columns after encoding: one per numeric column, one per category of a text column.")
    else:
        cols[1].metric("Image shape", "×".join(str(d) for d in summary.get("input_shape", [])))
    cols[2].metric("Task", str(summary.get("task")), help=summary.get("task_reason") or None)
    cols[3].metric("Train / val / test", f"{split.get('train', 0)} / {split.get('val', 0)} / {split.get('test', 0)}")
    if summary.get("task_reason"):
        st.caption(f"Task: {summary['task_reason']}.")
    for warning in summary.get("warnings", []):
        st.warning(warning, icon=":material/warning:")
    left, right = st.columns(2)
    if summary.get("column_types"):
        with left:
            st.markdown("**Column types**")
            missing = summary.get("missing_values", {})
            st.dataframe(pd.DataFrame({"column": list(summary["column_types"]),
                                       "type": list(summary["column_types"].values()),
                                       "missing": [missing.get(c, 0) for c in summary["column_types"]]}),
                         hide_index=True, height=250)
    with right:
        if summary.get("class_balance"):
            st.markdown("**Class balance**")
            balance = summary["class_balance"]
            st.bar_chart(pd.DataFrame({"class": list(balance), "rows": list(balance.values())}), x="class", y="rows",
                         height=250)
        elif summary.get("target_range"):
            rng = summary["target_range"]
            st.markdown("**Target range**")
            st.write(f"from {rng['min']:.4g} to {rng['max']:.4g}, mean {rng['mean']:.4g}")


USED = "data_used"  # (name, notices) of the data set the last "Use this data" switched to


def use_button(loaded: LoadedData) -> None:
    """The button, what it will switch from, and (after a click) what it did, right under it."""
    current = state.data()
    same = current is not None and (current.path, current.target, current.task) == (
        loaded.path, loaded.target, loaded.task)
    if current is not None and not same:
        st.caption(f"Press **Use this data** to train on {loaded.name} instead of {current.name}.")
    st.button("Use this data", type="primary", icon=":material/done:", on_click=_use, args=(loaded,),
              disabled=same, help="Train on this data. The design's input shape, task, outputs and loss follow "
              "it; a notice says what changed.")
    used = state.ui(USED)
    if same and used and used[0] == loaded.name:
        st.success(f"Using {loaded.name} for training.", icon=":material/check_circle:")
        for notice in used[1]:
            st.info(notice, icon=":material/tune:")


def _use(loaded: LoadedData) -> None:
    state.set_data(loaded)
    spec, notices = spec_for_data(state.spec(), loaded.data)
    if spec != state.spec():
        state.set_spec(spec)
    state.set_ui(USED, (loaded.name, [str(n) for n in notices]))
