"""Tables for training: read a CSV, check it, infer the task, encode it and split it.

Pure pandas / numpy / scikit-learn (no TensorFlow). The pieces live beside this module: reading
(:mod:`~rmlp.data.reading`), column kinds and the target (:mod:`~rmlp.data.columns`), the learned
encoding (:mod:`~rmlp.data.preprocessor`) and the split (:mod:`~rmlp.data.split`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from rmlp.data.columns import _as_numbers, _column_kind, _fit_target, _numbers_or_junk, _target_codes, encode_target
from rmlp.data.errors import DataError
from rmlp.data.finite import check_encoded, non_finite_features, non_finite_target, source_of_features
from rmlp.data.limits import DEFAULT_MAX_CELLS, DEFAULT_MAX_COLUMNS, NonFinite
from rmlp.data.preprocessor import ENCODING, EncodingConfig, NumericScaling, Preprocessor
from rmlp.data.reading import (
    DEFAULT_MAX_BYTES,
    Source,
    duplicate_notice,
    read_table,
    read_table_notes,
    source_name,
    unique_names,
)
from rmlp.data.split import SPLIT, SplitData, check_split_rows, split_indices
from rmlp.spec.fields import parse_settings


def suggest_target(columns: Sequence[str]) -> str:
    """A likely target column: one with a usual target name, else the last column."""
    usual = ("target", "label", "labels", "class", "y", "outcome", "diagnosis", "species")
    for name in columns:
        if str(name).strip().lower() in usual:
            return str(name)
    return str(columns[-1]) if len(columns) else ""


def columns_text(columns: Sequence[str], shown: int = 20) -> str:
    """The column names quoted, the first ``shown`` of them and how many more."""
    return ", ".join(repr(str(c)) for c in columns[:shown]) + (
        f" and {len(columns) - shown} more" if len(columns) > shown else "")


def missing_target(source: Source) -> DataError:
    """The error for a table given without its target column: the columns it has, and the likely one."""
    try:
        columns = [str(c) for c in read_table(source).columns]
    except DataError as unreadable:
        return unreadable
    likely = suggest_target(columns)
    return DataError(f"A table needs a target column, the column to predict. The columns are: "
                     f"{columns_text(columns)}.",
                     f"Name it (--target on the command line, target= in Python); {likely!r} looks like one.",
                     path="data.target")


def _find_target(frame: pd.DataFrame, target: str) -> str:
    if target in frame.columns:
        return target
    columns = [str(c) for c in frame.columns]
    by_case = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
    if target.strip().lower() in by_case:
        close = [by_case[target.strip().lower()], *close]
    close = list(dict.fromkeys(close))
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise DataError(
        f"There is no target column {target!r}. The columns are: {columns_text(columns)}.",
        f"{hint}Pick the target from the listed columns.",
        path="data.target",
    )


@dataclass
class TabularData(SplitData):
    """A table encoded and split for training (float32 arrays) with what was learned."""

    feature_names: list[str]
    preprocessor: Preprocessor
    target: str = ""
    source: str = ""
    #: The full path the table was read from ("" for uploads, bytes and DataFrames).
    path: str = ""
    task_reason: str = ""
    column_types: dict[str, str] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    #: Row numbers (0-based, below the header, after rows without a target were dropped).
    split_rows: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    preview: pd.DataFrame | None = None
    #: The arguments that load the same split again (empty when read from a buffer or DataFrame).
    load_args: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> list[int]:
        return [int(self.x_train.shape[1])]

    def inverse_target(self, pred: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) from model outputs."""
        return self.preprocessor.inverse_target(pred)

    def summary(self) -> dict[str, Any]:
        """Rows, columns, column types, class balance and split sizes, for a preview."""
        out: dict[str, Any] = {
            "kind": "table",
            "source": self.source,
            "rows": int(sum(len(v) for v in (self.y_train, self.y_val, self.y_test))),
            "columns": len(self.column_types),
            "features": len(self.feature_names),
            "target": self.target,
            "task": self.task,
            "task_reason": self.task_reason,
            "column_types": dict(self.column_types),
            "missing_values": dict(self.missing_values),
            "split": {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)},
            "warnings": list(self.warnings),
        }
        ys = [y for y in (self.y_train, self.y_val, self.y_test) if len(y)]
        y = np.concatenate(ys)
        if self.task == "regression":
            out["target_range"] = {
                "min": float(y.min()), "max": float(y.max()), "mean": float(y.mean()),
            }
        else:
            codes = np.argmax(y, axis=1) if self.task == "multiclass" else y[:, 0].astype(int)
            counts = np.bincount(codes, minlength=len(self.class_names))
            out["class_balance"] = {str(c): int(n) for c, n in zip(self.class_names, counts, strict=True)}
        return out


def load_table(
    path_or_buffer: Source | pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_rows: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    raise_hint: str = "",
    test_size: float = SPLIT.test_size,
    val_size: float = SPLIT.val_size,
    seed: int = 0,
    numeric_scaling: NumericScaling = ENCODING.numeric_scaling,
    clip: float | None = ENCODING.clip,
    numeric_bins: int = ENCODING.numeric_bins,
    non_finite: NonFinite = "refuse",
) -> TabularData:
    """Read a CSV (or take a DataFrame), infer the task, split it and encode it.

    The task is inferred from the target unless ``task`` is given: labels or booleans ->
    classification; whole numbers with at most 20 distinct values and 5+ rows per value on average
    -> classification; other numbers -> regression. Two classes make it binary. Numeric columns
    are scaled (robustly, and softly clipped, by default: :class:`~rmlp.data.preprocessor.EncodingConfig`),
    text columns one-hot encoded, gaps filled with the median / most frequent value, all learned from
    the training split only. Splits are seeded and stratified by class.

    Numbers that are not finite (inf, -inf, or beyond the float32 range) are refused per column, or
    with ``non_finite="impute"`` made missing values (rows whose target is one are left out), with a
    notice; repeated column names are renamed (``a``, ``a.1``) with a notice; date columns are dropped
    with a notice; a table too small to split (:func:`~rmlp.data.split.check_split_rows`) is refused.
    """
    if non_finite not in get_args(NonFinite):
        raise DataError(f"Unknown non_finite choice {non_finite!r}.", "Use 'refuse' or 'impute'.", path="non_finite")
    warnings: list[str] = []
    if isinstance(path_or_buffer, pd.DataFrame):
        frame = path_or_buffer.reset_index(drop=True)
        frame.columns, repeated = unique_names(list(frame.columns))
        warnings.extend([duplicate_notice(repeated, list(frame.columns))] if repeated else [])
    else:
        frame, notes, repeated = read_table_notes(path_or_buffer, max_bytes=max_bytes, max_columns=max_columns,
                                                  max_rows=max_rows, max_cells=max_cells, raise_hint=raise_hint)
        warnings.extend(notes)
    if str(target).strip() in repeated:
        cols = repeated[str(target).strip()]
        raise DataError(
            f"{len(cols)} columns are named {str(target).strip()!r}, so the target is ambiguous; they were read "
            f"as {', '.join(map(repr, cols))}.",
            "Give each column its own name in the file, or name one of the renamed columns as the target.",
            path="data.target",
        )
    target = _find_target(frame, str(target).strip())
    rows = np.arange(1, len(frame) + 1)
    no_target = frame[target].isna()
    if no_target.all():
        raise DataError(
            f"Every value of the target {target!r} is missing.",
            "Choose another target column.", path="data.target",
        )
    if no_target.any():
        warnings.append(f"{int(no_target.sum())} rows without a target value were left out.")
        frame = frame[~no_target].reset_index(drop=True)
        rows = rows[~no_target.to_numpy()]
    target_numbers = _numbers_or_junk(frame[target], target, what="Target column")
    frame, rows, notes = non_finite_target(frame, target, target_numbers, non_finite, rows)
    warnings.extend(notes)
    target_info, reason = _fit_target(frame[target], target, task)
    task = target_info["task"]
    codes = _target_codes(frame[target], target_info)

    kinds: dict[str, str] = {}
    for name in frame.columns:
        if name == target:
            continue
        kinds[name], note = _column_kind(frame[name], name, len(frame))
        if note:
            warnings.append(note)
    if not any(k != "dropped" for k in kinds.values()):
        raise DataError(
            f"There are no usable feature columns besides the target {target!r}.",
            "Load a table with at least one input column next to the target.",
        )
    frame, notes = non_finite_features(
        frame, {n: _as_numbers(frame[n]) for n, k in kinds.items() if k == "numeric"}, non_finite, rows)
    warnings.extend(notes)
    classes = target_info["classes"]
    check_split_rows(len(frame), val_size, test_size)
    split = split_indices(
        len(frame), None if task == "regression" else codes,
        val_size=val_size, test_size=test_size, seed=seed, class_names=classes,
    )
    encoding = parse_settings(EncodingConfig, {"numeric_scaling": numeric_scaling, "clip": clip,
                                               "numeric_bins": numeric_bins})
    pre, notes = Preprocessor.fit(frame.iloc[split["train"]], kinds, target_info, encoding)
    warnings.extend(notes)
    if not pre.columns:
        raise DataError(
            "No feature column has values in the training rows.",
            "Load a table whose input columns are filled in.",
        )
    used = {c["name"]: c["kind"] for c in pre.columns}
    x = pre.transform(frame)
    y = encode_target(codes, task, len(classes))
    check_encoded(x, source_of_features(pre.columns), y, target, rows)
    column_types = {n: used.get(n, "dropped") for n in kinds}
    column_types[target] = "target"
    return TabularData(
        x_train=x[split["train"]], y_train=y[split["train"]],
        x_val=x[split["val"]], y_val=y[split["val"]],
        x_test=x[split["test"]], y_test=y[split["test"]],
        task=task, class_names=list(classes), feature_names=pre.feature_names,
        preprocessor=pre, target=target, source=source_name(path_or_buffer)
        if not isinstance(path_or_buffer, pd.DataFrame) else "DataFrame",
        path=str(path_or_buffer) if isinstance(path_or_buffer, (str, Path)) else "",
        task_reason=reason, column_types=column_types,
        missing_values={str(n): int(v) for n, v in frame.isna().sum().items() if v},
        split_rows=split, warnings=warnings, preview=frame.head(20),
        load_args={"kind": "table", "path": str(Path(path_or_buffer).resolve()), "target": target, "task": task,
                   "seed": seed, "val_size": val_size, "test_size": test_size, **encoding.model_dump(),
                   **({"non_finite": non_finite} if non_finite != "refuse" else {}),
                   **({"max_bytes": max_bytes} if max_bytes != DEFAULT_MAX_BYTES else {}),
                   **({"max_columns": max_columns} if max_columns != DEFAULT_MAX_COLUMNS else {}),
                   **({"max_cells": max_cells} if max_cells != DEFAULT_MAX_CELLS else {})}
        if isinstance(path_or_buffer, (str, Path)) else {},
    )
