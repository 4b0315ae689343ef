"""Predictions from a trained run on new rows: the run's own preprocessor, its model, one row out per row in.

:func:`load_predictor` reads a run folder (model.keras, preprocessor.json, data.json) once;
:meth:`Predictor.predict_frame` and :meth:`Predictor.predict_images` score raw rows or images, and
:func:`predict_file` reads a CSV table, an image folder, a .zip or a .npz within the same limits
as training. Rows keep their input order.

What happens to bad input, case by case (the command's ``--help`` says the same):

* refused (an error naming what is wrong): a feature column the model needs is missing; the input
  has no rows; a numeric column holds text that is no number, or a number that is not finite
  (inf, or beyond float32) — unless ``non_finite="impute"``, which fills those cells like
  missing ones and says so;
* predicted with a notice: the training target column is present (ignored); extra columns
  (ignored, named); empty cells (filled with the value training learned); categories training
  never saw (encoded as no known category).

Predicted labels that a spreadsheet would run as a formula are escaped when written
(:func:`escape_formulas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rmlp.data.errors import DataError
from rmlp.data.finite import bad_number_mask
from rmlp.data.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_COLUMNS,
    MAX_IMAGE_PIXELS,
    MAX_TOTAL_PIXELS,
)
from rmlp.data.preprocessor import Preprocessor
from rmlp.data.reading import Source, read_table_notes
from rmlp.data.unlabelled import read_images
from rmlp.runs.folder import RunDir

__all__ = ["FORMULA_STARTS", "Predictions", "Predictor", "check_rows", "escape_formulas", "load_predictor",
           "predict_file", "write_predictions"]

#: A text cell starting with one of these is a formula to a spreadsheet program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows per model call; the exported predict.py uses the same, so both give the same floats.
BATCH_SIZE = 256
NonFinitePolicy = Literal["refuse", "impute"]


@dataclass
class Predictions:
    """One row per input row, in input order: ``prediction`` (a label or a value in target units), and for a
    classifier one ``p(<class>)`` column per class; ``notices`` say what was ignored, filled or unseen."""

    table: pd.DataFrame
    notices: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _rows_text(index: np.ndarray, limit: int = 5) -> str:
    """``rows 3, 8 and 2 more`` (rows counted from 1)."""
    shown = ", ".join(str(int(i) + 1) for i in index[:limit])
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return f"row{'s' if len(index) > 1 else ''} {shown}{more}"


def _values_text(values: Sequence[Any], limit: int = 5) -> str:
    distinct = list(dict.fromkeys(str(v) for v in values))
    return ", ".join(repr(v) for v in distinct[:limit]) + (" ..." if len(distinct) > limit else "")


def check_rows(frame: pd.DataFrame, prep: Preprocessor,
               non_finite: NonFinitePolicy = "refuse") -> tuple[pd.DataFrame, list[str], list[str]]:
    """The feature columns of ``frame`` ready for ``prep.transform``, the notices, and the ignored columns.

    Raises :class:`DataError` for the refused cases of the module's list; with
    ``non_finite="impute"`` bad numbers become empty cells (filled as missing ones are).
    """
    if non_finite not in ("refuse", "impute"):
        raise DataError(f"Unknown non_finite policy {non_finite!r}.", "Use 'refuse' or 'impute'.")
    if len(frame) == 0:
        raise DataError("The input has no rows to predict.", "Give a table with a header row and data rows.")
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    names = [c["name"] for c in prep.columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        them = f"column{'s' if len(missing) != 1 else ''} {', '.join(map(repr, missing))}"
        raise DataError(f"The rows lack the feature {them} the model was trained on.",
                        f"Add {'it' if len(missing) == 1 else 'them'} (empty cells are allowed: they are filled as "
                        "in training).")
    notices: list[str] = []
    target = str(prep.target.get("name") or "")
    ignored = [c for c in frame.columns if c not in names]
    if target and target in ignored:
        notices.append(f"The target column {target!r} is in the rows; it is ignored (not used to predict).")
    extra = [c for c in ignored if c != target]
    if extra:
        shown = ", ".join(map(repr, extra[:10])) + (" ..." if len(extra) > 10 else "")
        notices.append(f"Ignored {len(extra)} column{'s' if len(extra) != 1 else ''} the model does not use: {shown}.")
    used = frame[names].copy()
    for col in prep.columns:
        name, values = col["name"], used[col["name"]]
        empty = values.isna().to_numpy()
        n_empty = int(empty.sum())
        blanks = f"{n_empty} empty cell{'s' if n_empty != 1 else ''} ({_rows_text(np.flatnonzero(empty))})"
        if col["kind"] == "numeric":
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            text = (numbers.isna().to_numpy() & ~empty)
            huge = bad_number_mask(numbers) & ~text & ~empty
            for mask, what in ((text, "text that is no number"),
                               (huge, "numbers that are not finite (inf) or beyond float32")):
                if not mask.any():
                    continue
                where = np.flatnonzero(mask)
                said = (f"Column {name!r} holds {what}: {_values_text(values.to_numpy()[where])} "
                        f"({_rows_text(where)}).")
                if non_finite == "refuse":
                    raise DataError(said, "Correct these cells or leave them empty, or have such cells filled as "
                                    "missing values are (--non-finite impute; non_finite='impute' in Python).")
                notices.append(f"{said} They were filled with {col['fill']:g}, as missing values are.")
                used.loc[used.index[mask], name] = np.nan
            if empty.any():
                notices.append(f"Column {name!r} has {blanks}; filled with {col['fill']:g}, as in training.")
        else:
            if empty.any():
                notices.append(f"Column {name!r} has {blanks}; filled with {col['fill']!r}, the most frequent "
                               "category in training.")
            text = values.astype(object).where(~empty, col["fill"]).astype(str).str.strip()
            unseen = (~text.isin([str(c) for c in col["categories"]])).to_numpy()
            if unseen.any():
                where = np.flatnonzero(unseen)
                notices.append(f"Column {name!r} has categories training never saw: "
                               f"{_values_text(text.to_numpy()[where])} ({_rows_text(where)}); they are encoded "
                               "as no known category, so those predictions are less certain.")
    return used, notices, ignored


def escape_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy in which text cells a spreadsheet would run as a formula start with ``'``.

    Cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are escaped, except
    plain numbers written as text (``-1.5``); numeric columns are left as they are.
    """
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column]):
            continue
        out[column] = [_escape(v) for v in out[column]]
    return out


def _escape(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def write_predictions(predictions: Predictions | pd.DataFrame, path: str | Path) -> Path:
    """Write predictions as CSV (formula cells escaped), with full float precision."""
    table = predictions.table if isinstance(predictions, Predictions) else predictions
    path = Path(path)
    escape_formulas(table).to_csv(path, index=False)
    return path


def _outputs(pred: np.ndarray, task: str, classes: Sequence[Any]) -> pd.DataFrame:
    """The prediction table of model outputs (the exported predict.py computes it the same way)."""
    out = pd.DataFrame(index=range(len(pred)))
    if task == "regression":
        out["prediction"] = pred.reshape(len(pred), -1)[:, 0]
        return out
    if task == "binary":
        positive = pred.reshape(len(pred), -1)[:, -1]
        probs = np.stack([1.0 - positive, positive], axis=1)
    else:
        probs = pred.reshape(len(pred), -1)
    out["prediction"] = np.asarray(list(classes), dtype=object)[np.argmax(probs, axis=1)]
    for i, name in enumerate(classes):
        out[f"p({name})"] = probs[:, i]
    return out


@dataclass
class Predictor:
    """A trained run ready to predict: its model (loaded once), preprocessor (tables) and data record."""

    run_dir: Path
    model: Any
    task: str
    classes: list[Any]
    preprocessor: Preprocessor | None
    kind: str
    input_shape: list[int]
    color_mode: str = "auto"

    def _run(self, x: np.ndarray) -> np.ndarray:
        x = x.reshape((-1, *self.model.input_shape[1:]))
        if not len(x):
            return np.zeros((0, 1), dtype=np.float32)
        return np.asarray(self.model.predict(x, batch_size=BATCH_SIZE, verbose=0))

    def predict_frame(self, frame: pd.DataFrame, non_finite: NonFinitePolicy = "refuse") -> Predictions:
        """Predictions for raw table rows (a DataFrame as read from a CSV file)."""
        if self.preprocessor is None:
            raise DataError(f"The run {self.run_dir.name} was trained on images, not a table.",
                            "Give images: a folder, a .zip or a .npz file.")
        used, notices, ignored = check_rows(frame, self.preprocessor, non_finite)
        x = self.preprocessor.transform(used)
        return Predictions(_outputs(self._run(x), self.task, self.classes), notices, ignored)

    def predict_images(self, x: np.ndarray, names: Sequence[str] | None = None,
                       notices: Sequence[str] = ()) -> Predictions:
        """Predictions for images as a float array (n, height, width, channels) of 0..255 pixels."""
        x = np.asarray(x, dtype=np.float32)
        if len(x) == 0:
            raise DataError("The input has no images to predict.", "Give at least one image.")
        want = tuple(self.input_shape)
        if tuple(x.shape[1:]) != want:
            raise DataError(f"The images are {tuple(x.shape[1:])} (height, width, channels); the model takes {want}.",
                            "Give images of the run's size and colours (a folder or .zip is resized for you).")
        bad = ~np.isfinite(x).reshape(len(x), -1).all(axis=1)
        if bad.any():
            where = _rows_text(np.flatnonzero(bad)).replace("row", "image")
            raise DataError(f"{int(bad.sum())} image(s) hold values that are not finite ({where}).",
                            "Give pixel values between 0 and 255.")
        table = _outputs(self._run(x), self.task, self.classes)
        if names is not None:
            table.insert(0, "file", list(names))
        return Predictions(table, list(notices), [])


def _classes(prep: dict[str, Any] | None, record: dict[str, Any]) -> list[Any]:
    if prep and prep.get("target", {}).get("classes") is not None:
        return list(prep["target"]["classes"])
    return list(record.get("class_names") or [])


def load_predictor(run_dir: str | Path) -> Predictor:
    """A :class:`Predictor` for a run folder; ValueError saying what is missing when it has no model yet."""
    run = RunDir(Path(run_dir))
    if not run.is_run():
        raise DataError(f"{str(run.path)!r} is not a run folder (it has no {RunDir.SPEC}).",
                        "Give a run folder or a run name from `rmlp runs`.")
    if not run.model.is_file():
        raise DataError(f"The run {run.name} has no trained model ({RunDir.MODEL}): it has not finished an epoch, or "
                        "it failed before saving one.", "Resume it (rmlp resume RUN) or pick a finished run.")
    record = run.read_json(RunDir.DATA, {}) or {}
    prep_data = run.read_json(RunDir.PREPROCESSOR)
    kind = str(record.get("kind") or ("table" if prep_data else "images"))
    prep = Preprocessor.from_dict(prep_data) if kind == "table" and isinstance(prep_data, dict) else None
    if kind == "table" and prep is None:
        raise DataError(f"The run {run.name} has no readable {RunDir.PREPROCESSOR}, so raw rows cannot be encoded "
                        "as in training.", "Train the run again, or restore the file from a copy.")
    spec = run.read_json(RunDir.SPEC, {}) or {}
    task = str((prep.target.get("task") if prep else None) or record.get("task") or spec.get("task") or "")
    import keras

    try:
        model = keras.saving.load_model(run.model, compile=False)
    except Exception as exc:  # noqa: BLE001 - a damaged model file is the user's to fix, said in words
        raise DataError(f"The model file {run.model} cannot be loaded ({type(exc).__name__}: {exc}).",
                        "Train the run again, or restore the file from a copy.") from None
    shape = [int(v) for v in (record.get("input_shape") or list(model.input_shape[1:]))]
    color = str((record.get("load_args") or {}).get("color_mode") or "auto")
    return Predictor(run.path, model, task, _classes(prep.to_dict() if prep else None, record), prep, kind,
                     shape, color)


def predict_file(predictor: Predictor, source: Source, *, non_finite: NonFinitePolicy = "refuse",
                 max_bytes: int = DEFAULT_MAX_BYTES, max_columns: int = DEFAULT_MAX_COLUMNS,
                 max_rows: int | None = None, max_cells: int = DEFAULT_MAX_CELLS, raise_hint: str = "",
                 max_image_pixels: int = MAX_IMAGE_PIXELS, max_total_pixels: int = MAX_TOTAL_PIXELS) -> Predictions:
    """Predictions for a CSV table (a table run) or images (an image run: a folder, .zip or .npz).

    ``source`` is a path, or the bytes (or an open file) of an upload, read within the same limits
    as training data (a table's columns, rows and cells are checked from its bytes before it is parsed;
    ``raise_hint`` says in a refusal how those limits are raised).
    """
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise DataError(f"No data file or folder at {str(source)!r}.",
                        "Give an existing CSV file, folder, .zip or .npz.")
    if predictor.kind == "table":
        if isinstance(source, (str, Path)) and Path(source).is_dir():
            raise DataError(f"{str(source)!r} is a folder; the run was trained on a table.", "Give a CSV file.")
        frame, notes, _ = read_table_notes(source, max_bytes=max_bytes, max_columns=max_columns, max_rows=max_rows,
                                           max_cells=max_cells, raise_hint=raise_hint)
        result = predictor.predict_frame(frame, non_finite)
        result.notices = [*notes, *result.notices]
        return result

    h, w, c = (predictor.input_shape + [1, 1, 1])[:3]
    x, names, notes = read_images(source, (h, w), "grayscale" if c == 1 else "rgb", max_bytes=max_bytes,
                                  max_image_pixels=max_image_pixels, max_total_pixels=max_total_pixels)
    return predictor.predict_images(x, names, notes)
