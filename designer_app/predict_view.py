"""Predict with a trained run in the app: upload rows (or images), see the predictions, download them as CSV.

Used on the Runs page and under the Train page's results. The run's own preprocessor and model
do the work (:mod:`rmlp.runs.predict`), so the app refuses and notices exactly what ``rmlp predict``
does; problems are shown next to the upload, never as a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from designer_app import datasets, state
from rmlp.data import DataError
from rmlp.runs.folder import RunDir
from rmlp.runs.predict import escape_formulas, load_predictor, predict_file

#: Upload kinds a table run and an image run take.
_TABLE = tuple(s.lstrip(".") for s in datasets.TABLE_SUFFIXES)
_IMAGES = tuple(s.lstrip(".") for s in datasets.IMAGE_SUFFIXES)


def _kind(run: RunDir) -> str:
    record = run.read_json(RunDir.DATA, {}) or {}
    kind = record.get("kind") if isinstance(record, dict) else None
    return str(kind or ("table" if run.has(RunDir.PREPROCESSOR) else "images"))


def feature_columns(run: RunDir) -> list[str]:
    """The columns the run's model reads (from its preprocessor.json; empty for an image run)."""
    prep = run.read_json(RunDir.PREPROCESSOR, {}) or {}
    columns = prep.get("columns") if isinstance(prep, dict) else None
    return [str(c.get("name")) for c in columns or [] if isinstance(c, dict) and c.get("name") is not None]


@st.cache_resource(max_entries=4, show_spinner=False)
def _predictor(path: str, stamp: int) -> Any:
    """The run's predictor, loaded once per model file version (``stamp``: its modification time)."""
    del stamp  # part of the cache key only
    return load_predictor(path)


def _predict(run: RunDir, upload: Any) -> tuple[Any, str]:
    """(predictions, "") or (None, what went wrong in words) for an uploaded file (read from memory)."""
    allowed = datasets.TABLE_SUFFIXES if _kind(run) == "table" else datasets.IMAGE_SUFFIXES
    if Path(upload.name).suffix.lower() not in allowed:
        return None, f"'{upload.name}' is not one of the kinds this run takes ({', '.join(allowed)})."
    try:
        with st.spinner("Loading the model and predicting…"):
            predictor = _predictor(str(run.path), os.stat(run.model).st_mtime_ns)
            limits = datasets.table_limits() if _kind(run) == "table" else datasets.image_limits()
            result = predict_file(predictor, upload.getvalue(), **limits)
    except DataError as exc:
        return None, exc.message + (f"  \n**Fix:** {exc.fix}" if exc.fix else "")
    except (ValueError, OSError) as exc:
        return None, f"This file cannot be used: {exc}"
    return result, ""


def panel(run_dir: str | Path, key: str) -> None:
    """Upload rows for the run, and its predictions: notices, the table, and a CSV download."""
    run = RunDir(Path(run_dir))
    if not run.model.is_file():
        st.info("This run has no trained model yet (no epoch finished, or it failed before saving one), so it "
                "cannot predict.", icon=":material/info:")
        return
    table = _kind(run) == "table"
    columns = feature_columns(run)
    if table:
        shown = ", ".join(columns[:12]) + (f" and {len(columns) - 12} more" if len(columns) > 12 else "")
        st.caption(f"Upload a CSV file with a header row and the columns the model was trained on: {shown}. "
                   "The target column and any other column are ignored (and named); empty cells are filled as "
                   "in training.")
    else:
        st.caption("Upload images: a .zip of image files (resized to the run's size) or a .npz with an array x.")
    upload = st.file_uploader("Rows to predict" if table else "Images to predict", type=list(_TABLE if table else
                              _IMAGES), key=f"predict_upload:{key}:{run.name}",
                              help="The file is read in memory for these predictions and not kept.")
    if upload is None:
        return
    stamp = (str(run.path), upload.file_id, os.stat(run.model).st_mtime_ns)
    cached = state.ui(f"predictions:{key}")
    if cached is None or cached[0] != stamp:
        cached = (stamp, *_predict(run, upload))
        state.set_ui(f"predictions:{key}", cached)
    _, result, error = cached
    if error:
        st.error(error, icon=":material/error:")
        return
    for notice in result.notices:
        st.warning(notice, icon=":material/info:")
    n = len(result.table)
    st.markdown(f"**Predictions for {n:,} row{'s' if n != 1 else ''}** of {upload.name}")
    shown_table = result.table.copy()
    shown_table.insert(0, "Row", range(1, n + 1))
    config: dict[str, Any] = {"prediction": st.column_config.Column("Prediction"),
                              "file": st.column_config.Column("Image")}
    config.update({c: st.column_config.NumberColumn(f"Probability of {c[2:-1]}", format="%.4f")
                   for c in shown_table.columns if c.startswith("p(") and c.endswith(")")})
    st.dataframe(shown_table, hide_index=True, height=min(400, 38 + 35 * n + 2), key=f"predictions_table:{key}",
                 column_config=config, placeholder="—")
    csv = escape_formulas(result.table).to_csv(index=False).encode("utf-8")
    st.download_button("Download the predictions (.csv)", csv, file_name=f"{Path(upload.name).stem}-predictions.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key=f"predictions_csv:{key}",
                       help="One row per uploaded row, in the same order: the predicted label (or value) and, for "
                       "a classifier, the probability of each class. Cells a spreadsheet would run as a formula "
                       "start with a quote.")


def expander(run_dir: str | Path, key: str, expanded: bool = False) -> None:
    """:func:`panel` inside an expander titled for what it does."""
    with st.expander("Predict on new rows with this run", expanded=expanded, icon=":material/batch_prediction:"):
        panel(run_dir, key)
