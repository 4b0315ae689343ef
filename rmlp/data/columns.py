"""What a table's columns hold: numbers, categories or junk; which task a target suggests; class codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmlp.data.errors import DataError
from rmlp.spec.tasks import TASKS

#: Whole-number targets with at most this many distinct values may be classes.
MAX_INFERRED_CLASSES = 20
#: ... and only when there are at least this many rows per distinct value on average.
MIN_ROWS_PER_INFERRED_CLASS = 5
#: A text column whose non-missing values are at least this share numbers is a broken number column.
NUMERIC_SHARE = 0.8
#: A text column whose distinct values are at least this share dates or times (in one format) holds dates.
DATE_SHARE = 0.9
#: The formats a date column may be written in (pandas' ISO 8601 parser covers 2021-01-05, 2021/1/5,
#: 2021-01-05 10:00, 2021-01-05T10:00:00Z, ...).
DATE_FORMATS = (
    "ISO8601", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%m/%d/%y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%H:%M", "%H:%M:%S", "%d %b %Y", "%b %d %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
)


def _as_numbers(values: pd.Series) -> pd.Series:
    """Numbers of a column (missing where a value is missing or not a number)."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _numbers_or_junk(values: pd.Series, name: str, what: str = "Column") -> pd.Series | None:
    """The column as numbers, None if it is mostly text; raise if it is numbers with junk."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    present = values.dropna()
    if present.empty:
        return _as_numbers(values)
    numbers = _as_numbers(present.astype(str).str.strip())
    share = float(numbers.notna().mean())
    if share == 1.0:
        return _as_numbers(values)
    if share < NUMERIC_SHARE:
        return None
    bad = present[numbers.isna().to_numpy()]
    shown = ", ".join(f"{v!r} (row {int(str(i)) + 1})" for i, v in bad.head(5).items())
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    raise DataError(
        f"{what} {name!r} holds numbers, but {len(bad)} of its values are not numbers: "
        f"{shown}{more} (rows counted from 1 below the header).",
        "Correct these values, or leave the cells empty if they are missing.",
        path=f"data.columns.{name}",
    )


def _date_like(values: pd.Series) -> bool:
    """Whether a text column holds dates or times: most distinct values parse in one of :data:`DATE_FORMATS`."""
    distinct = pd.Series(values.dropna().astype(str).str.strip().unique()[:500])
    if distinct.empty or distinct.str.contains(r"\d").mean() < DATE_SHARE:
        return False
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(distinct, format=fmt, errors="coerce", utc=True)
        if float(parsed.notna().mean()) >= DATE_SHARE:
            return True
    return False


def _column_kind(values: pd.Series, name: str, n_rows: int) -> tuple[str, str]:
    """('numeric'|'categorical'|'dropped', reason) for one feature column."""
    if values.isna().all():
        return "dropped", f"Column {name!r} was dropped: every value is missing."
    numbers = _numbers_or_junk(values, name)
    if numbers is not None:
        if name.startswith("Unnamed:") and (
            np.array_equal(numbers.to_numpy(), np.arange(n_rows))
            or np.array_equal(numbers.to_numpy(), np.arange(1, n_rows + 1))
        ):
            return "dropped", f"Column {name!r} was dropped: it is a saved row number."
        return "numeric", ""
    distinct = values.dropna().astype(str).str.strip().nunique()
    if _date_like(values):
        return "dropped", (
            f"Column {name!r} was dropped: it holds dates or times ({distinct} different), which one-hot encoding "
            f"would turn into {distinct} input columns that say nothing about dates not seen in training. To use "
            "it, add number columns made from it (e.g. year, month, day of the week, or days since the first date)."
        )
    if n_rows > 20 and (distinct == values.notna().sum() or distinct > max(100, n_rows // 2)):
        return "dropped", (
            f"Column {name!r} was dropped: its {distinct} different text values look like "
            "names or identifiers, which do not generalise."
        )
    return "categorical", ""


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar for a class label."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value).strip()


def infer_task(values: pd.Series, name: str = "target") -> tuple[str, str]:
    """The task a target column suggests, and the reason in plain words."""
    values = values.dropna()
    numbers = _numbers_or_junk(values, name, what="Target column")
    if numbers is None:
        distinct = values.astype(str).str.strip().nunique()
        task = "binary" if distinct == 2 else "multiclass"
        return task, f"the target {name!r} holds labels ({distinct} different values)"
    distinct = int(numbers.nunique())
    with np.errstate(invalid="ignore"):
        whole = bool(np.all(np.mod(numbers.to_numpy(), 1) == 0))
    if whole and distinct == 2:
        return "binary", f"the target {name!r} holds two whole-number values"
    if (
        whole
        and distinct <= MAX_INFERRED_CLASSES
        and len(numbers) >= MIN_ROWS_PER_INFERRED_CLASS * distinct
    ):
        return "multiclass", (
            f"the target {name!r} holds {distinct} different whole numbers "
            f"(at most {MAX_INFERRED_CLASSES}, with {len(numbers) // distinct}+ rows each on average)"
        )
    return "regression", f"the target {name!r} holds numbers with {distinct} different values"


def _fit_target(values: pd.Series, name: str, task: str | None) -> tuple[dict[str, Any], str]:
    """The target encoding (name, task, classes) and the reason for the task."""
    inferred, reason = infer_task(values, name)
    if task is None:
        task = inferred
    elif task not in TASKS:
        raise DataError(
            f"Unknown task {task!r}.", f"Use one of {', '.join(TASKS)}, or leave it empty.",
            path="task",
        )
    else:
        reason = f"set by you ({reason})"
    if task == "regression":
        numbers = _numbers_or_junk(values.dropna(), name, what="Target column")
        if numbers is None:
            raise DataError(
                f"The target {name!r} holds text labels, so it cannot be a regression target.",
                "Choose the multiclass or binary task, or a numeric target column.",
                path="task",
            )
        return {"name": name, "task": task, "classes": []}, reason
    numbers = _numbers_or_junk(values.dropna(), name, what="Target column")
    labels = values.dropna() if numbers is None else numbers
    classes = sorted({_plain(v) for v in labels}, key=lambda v: (isinstance(v, str), v))
    shown = ", ".join(repr(c) for c in classes[:10]) + (" ..." if len(classes) > 10 else "")
    if len(classes) < 2:
        raise DataError(
            f"The target {name!r} has only one class ({shown}); a classifier needs at least two.",
            "Add rows of another class, or choose another target column.",
            path="data.target",
        )
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"The target {name!r} has {len(classes)} classes ({shown}); binary needs exactly two.",
            "Choose the multiclass task, or merge the classes into two.",
            path="task",
        )
    return {"name": name, "task": task, "classes": classes}, reason


def _target_codes(values: pd.Series, target: Mapping[str, Any]) -> np.ndarray:
    """Class indices (classification) or float values (regression) of a target column."""
    numbers = _numbers_or_junk(values, target["name"])
    if target["task"] == "regression":
        assert numbers is not None  # the target was checked to be numeric when the task was chosen
        return numbers.to_numpy(dtype="float64")
    plain = [_plain(v) for v in (values if numbers is None else numbers)]
    lookup = {c: i for i, c in enumerate(target["classes"])}
    return np.array([lookup[v] for v in plain], dtype=np.int64)


def encode_target(codes: np.ndarray, task: str, num_classes: int) -> np.ndarray:
    """Targets as Keras wants them: one-hot (multiclass), 0/1 or float column (binary/regression)."""
    if task == "multiclass":
        return np.eye(num_classes, dtype=np.float32)[codes.astype(np.int64)]
    return codes.astype(np.float32).reshape(-1, 1)


def decode_target(pred: Any, task: str, classes: Sequence[Any]) -> np.ndarray:
    """Labels (classification) or values (regression) from model outputs."""
    pred = np.asarray(pred)
    if task == "regression":
        return pred.reshape(len(pred), -1)[:, 0].astype(np.float64)
    if task == "binary":
        index = (pred.reshape(len(pred), -1)[:, -1] >= 0.5).astype(np.int64)
    elif pred.ndim == 2:
        index = np.argmax(pred, axis=1)
    else:
        index = pred.astype(np.int64)
    return np.asarray(list(classes), dtype=object)[index]
