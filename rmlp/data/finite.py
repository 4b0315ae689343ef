"""Numbers a model cannot learn from: inf, -inf, and values too large to encode, found per column.

A table's number columns and its target are checked when it is loaded; what happens then is the
user's choice (:data:`~rmlp.data.limits.NonFinite`): ``refuse`` lists them per column, ``impute``
turns them into missing values (filled like any gap) or, in the target, leaves their rows out,
with a notice. :func:`check_encoded` is the last line: encoded arrays are finite, or a
:class:`~rmlp.data.errors.DataError` names the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmlp.data.errors import DataError
from rmlp.data.limits import FLOAT32_MAX, IMPUTE_HINT, NonFinite

__all__ = ["bad_number_mask", "check_encoded", "non_finite_features", "non_finite_target", "source_of_features"]

_NON_FINITE = "not finite (inf, -inf) or too large to encode (beyond ±3.4e38)"


def bad_number_mask(numbers: pd.Series | np.ndarray) -> np.ndarray:
    """True where a number is ±inf or beyond the float32 range (missing values are not bad)."""
    values = np.asarray(numbers, dtype="float64")
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isinf(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX)


def _rows(where: np.ndarray, rows: np.ndarray, limit: int = 5) -> str:
    """``rows 4, 8 and 3 more`` (file rows counted from 1 below the header)."""
    shown = ", ".join(str(int(r)) for r in rows[where][:limit])
    more = f" and {int(where.sum()) - limit} more" if where.sum() > limit else ""
    return f"row{'s' if where.sum() > 1 else ''} {shown}{more}"


def _values(numbers: np.ndarray, where: np.ndarray) -> str:
    return ", ".join(dict.fromkeys(f"{v:g}" for v in numbers[where][:20]))


def non_finite_target(
    frame: pd.DataFrame, target: str, numbers: pd.Series | None, policy: NonFinite, rows: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The rows left after checking the target's numbers, their file row numbers, and notices."""
    if numbers is None:
        return frame, rows, []
    values = numbers.to_numpy(dtype="float64")
    bad = bad_number_mask(values)
    if not bad.any():
        return frame, rows, []
    count = int(bad.sum())
    what = f"{count} value{'s' if count > 1 else ''} ({_values(values, bad)}; {_rows(bad, rows)})"
    if policy != "impute":
        raise DataError(
            f"The target {target!r} holds {what} that {'are' if count > 1 else 'is'} {_NON_FINITE}; "
            "rows counted from 1 below the header.",
            f"Correct or remove these rows, or leave them out ({IMPUTE_HINT}).",
            path="data.target",
        )
    note = (f"{count} row{'s' if count > 1 else ''} whose target {target!r} is {_NON_FINITE} "
            f"({_values(values, bad)}; {_rows(bad, rows)}) {'were' if count > 1 else 'was'} left out.")
    keep = ~bad
    if not keep.any():
        raise DataError(f"Every value of the target {target!r} is {_NON_FINITE}.", "Choose another target column.",
                        path="data.target")
    return frame[keep].reset_index(drop=True), rows[keep], [note]


def non_finite_features(
    frame: pd.DataFrame, numeric: Mapping[str, pd.Series], policy: NonFinite, rows: np.ndarray,
) -> tuple[pd.DataFrame, list[str]]:
    """The frame with each number column's bad values refused or made missing, and notices."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, numbers in numeric.items():
        values = numbers.to_numpy(dtype="float64")
        bad = bad_number_mask(values)
        if bad.any():
            found[name] = (values, bad)
    if not found:
        return frame, []
    described = {
        name: f"{name!r}: {int(bad.sum())} ({_values(values, bad)}; {_rows(bad, rows)})"
        for name, (values, bad) in found.items()
    }
    if policy != "impute":
        noun = "A number column holds" if len(found) == 1 else f"{len(found)} number columns hold"
        raise DataError(
            f"{noun} values that are {_NON_FINITE}: {'; '.join(described.values())} "
            "(rows counted from 1 below the header).",
            f"Correct or remove these values, or treat them as missing values ({IMPUTE_HINT}).",
            path=f"data.columns.{next(iter(found))}",
        )
    frame = frame.copy()
    for name, (values, bad) in found.items():
        frame[name] = pd.Series(np.where(bad, np.nan, values), index=frame.index)
    notes = [f"Values {_NON_FINITE} were treated as missing and filled like other gaps: "
             f"{'; '.join(described.values())}."]
    return frame, notes


def check_encoded(
    x: np.ndarray, columns: Sequence[str], y: np.ndarray, target: str, rows: np.ndarray,
) -> None:
    """Refuse encoded features (``columns``: the source column of each) or targets that are not finite."""
    finite_x = np.isfinite(x)
    if not finite_x.all():
        bad_cols = list(dict.fromkeys(columns[int(j)] for j in np.flatnonzero(~finite_x.all(axis=0))))
        bad_rows = ~finite_x.all(axis=1)
        raise DataError(
            f"Encoding the column{'s' if len(bad_cols) > 1 else ''} {', '.join(map(repr, bad_cols))} gave "
            f"numbers that are not finite ({_rows(bad_rows, rows)}): "
            "their values are far larger than their spread, so scaling overflows.",
            "Rescale the column (e.g. take its logarithm), or keep the soft clip on (clip, e.g. 3.0).",
            path=f"data.columns.{bad_cols[0]}",
        )
    finite_y = np.isfinite(y).all(axis=tuple(range(1, y.ndim))) if y.ndim > 1 else np.isfinite(y)
    if not finite_y.all():
        raise DataError(
            f"The encoded target {target!r} is not finite in {_rows(~finite_y, rows)}.",
            "Correct or remove these rows.", path="data.target",
        )


def source_of_features(columns: Sequence[Mapping[str, Any]]) -> list[str]:
    """The source column name of each encoded feature of a preprocessor's ``columns``."""
    out: list[str] = []
    for col in columns:
        width = 1 + max(len(col.get("bins", [])) - 1, 0) if col["kind"] == "numeric" else len(col["categories"])
        out.extend([str(col["name"])] * width)
    return out
