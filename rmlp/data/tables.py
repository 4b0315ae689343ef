"""Tables for training: read a CSV, check it, infer the task, encode it and split it.

Pure pandas / numpy / scikit-learn (no TensorFlow). The fitted encoding is a
:class:`Preprocessor`, a plain JSON-serialisable description that an exported stand-alone
predict script can re-apply in a few lines of numpy/pandas.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from rmlp.spec.problems import Problem

Source = str | Path | bytes | bytearray | IO[bytes] | IO[str]

DEFAULT_MAX_BYTES = 200_000_000
TASKS = ("multiclass", "binary", "regression")
#: Whole-number targets with at most this many distinct values may be classes.
MAX_INFERRED_CLASSES = 20
#: ... and only when there are at least this many rows per distinct value on average.
MIN_ROWS_PER_INFERRED_CLASS = 5
#: A text column whose non-missing values are at least this share numbers is a broken number column.
NUMERIC_SHARE = 0.8
#: Extra markers read as a missing value (besides pandas' own: "", NA, N/A, NaN, null, ...).
EXTRA_NA_VALUES = ["?"]
PREPROCESSOR_FORMAT = "rmlp-preprocessor"


class DataError(ValueError):
    """Data that cannot be used, said in plain words: what is wrong and how to fix it."""

    def __init__(self, message: str, fix: str = "", *, path: str = "data") -> None:
        self.problem = Problem(path=path, severity="error", message=message, fix=fix)
        super().__init__(f"{message} {fix}".strip())

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def fix(self) -> str:
        return self.problem.fix


# ----------------------------------------------------------------------------- reading
def human_size(n: float) -> str:
    """Bytes as a short human-readable size."""
    for unit in ("bytes", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _too_big(size: int, max_bytes: int, what: str) -> DataError:
    return DataError(
        f"{what} is {human_size(size)}, larger than the {human_size(max_bytes)} limit.",
        "Use a smaller sample, or raise the size limit (max_bytes).",
    )


def source_name(source: Any) -> str:
    """A short name for a path, an uploaded file or raw bytes."""
    if isinstance(source, (str, Path)):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "upload")).name


def read_source(source: Source, *, max_bytes: int, what: str = "The file") -> bytes:
    """The bytes of a path, raw bytes or an open (binary or text) file, within ``max_bytes``."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            hint = "It is a folder; give a file." if path.is_dir() else "Check the path."
            raise DataError(f"No file at '{path}'.", hint)
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes, what)
        return path.read_bytes()
    if isinstance(source, (bytes, bytearray)):
        raw: bytes | str = bytes(source)
    else:
        size = getattr(source, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise _too_big(size, max_bytes, what)
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        raw = source.read(max_bytes + 1)
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > max_bytes:
        raise _too_big(len(raw), max_bytes, what)
    return raw


def _latin1_fallback(err: UnicodeError) -> tuple[str, int]:
    """Decode the bytes that are not UTF-8 as Latin-1 (files mixing both encodings)."""
    if isinstance(err, UnicodeDecodeError):
        return err.object[err.start : err.end].decode("latin-1"), err.end
    raise err


codecs.register_error("rmlp-latin1-fallback", _latin1_fallback)

_MAGIC = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip-compressed file",
    b"\x93NUMPY": "a numpy array file",
}


def decode_text(raw: bytes) -> str:
    """Text of a CSV file: UTF-16 with BOM, else UTF-8 with Latin-1 for any non-UTF-8 bytes."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            raise DataError(
                f"This is not a CSV text file: it looks like {kind}.",
                "Save the table as CSV (comma-separated text) and load that; image archives "
                "go to the image loader.",
            )
    if b"\x00" in raw[:65536]:
        raise DataError(
            "This is not a CSV text file: it holds binary data.",
            "Save the table as CSV (comma-separated text) and load that.",
        )
    return raw.decode("utf-8", errors="rmlp-latin1-fallback").removeprefix("\ufeff")


def _sniff(text: str) -> tuple[str, str]:
    """The delimiter and decimal mark of a CSV text (from its first lines)."""
    sample = "\n".join(text.splitlines()[:50])
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    decimal = "."
    if sep != "," and re.search(r"\d,\d", sample) and not re.search(r"\d\.\d", sample):
        decimal = ","
    return sep, decimal


def read_table(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> pd.DataFrame:
    """Read a CSV (delimiter and encoding detected) into a DataFrame; raises :class:`DataError`."""
    raw = read_source(source, max_bytes=max_bytes)
    if not raw.strip():
        raise DataError("The file is empty.", "Choose a CSV file with a header row and data rows.")
    text = decode_text(raw)
    sep, decimal = _sniff(text)
    options: dict[str, Any] = {"skipinitialspace": True, "na_values": EXTRA_NA_VALUES}
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, **options)
    except (pd.errors.ParserError, ValueError):
        try:
            frame = pd.read_csv(io.StringIO(text), sep=None, engine="python", **options)
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise DataError(
                f"The file could not be read as CSV: {exc}",
                "Check that every row has as many separators as the header row and that "
                "quoted text is closed.",
            ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError("The file is empty.", "Choose a CSV file with a header row.") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all").reset_index(drop=True)
    if frame.empty:
        raise DataError(
            f"The file has column names ({', '.join(frame.columns[:8])}) but no data rows.",
            "Add data rows below the header.",
        )
    return frame


def suggest_target(columns: Sequence[str]) -> str:
    """A likely target column: one with a usual target name, else the last column."""
    usual = ("target", "label", "labels", "class", "y", "outcome", "diagnosis", "species")
    for name in columns:
        if str(name).strip().lower() in usual:
            return str(name)
    return str(columns[-1]) if len(columns) else ""


def _find_target(frame: pd.DataFrame, target: str) -> str:
    if target in frame.columns:
        return target
    columns = [str(c) for c in frame.columns]
    by_case = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
    if target.strip().lower() in by_case:
        close = [by_case[target.strip().lower()], *close]
    close = list(dict.fromkeys(close))
    shown = ", ".join(repr(c) for c in columns[:20]) + (
        f" and {len(columns) - 20} more" if len(columns) > 20 else ""
    )
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise DataError(
        f"There is no target column {target!r}. The columns are: {shown}.",
        f"{hint}Pick the target from the listed columns.",
        path="data.target",
    )


# ----------------------------------------------------------------------------- columns
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
    shown = ", ".join(f"{v!r} (row {int(i) + 1})" for i, v in bad.head(5).items())
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    raise DataError(
        f"{what} {name!r} holds numbers, but {len(bad)} of its values are not numbers: "
        f"{shown}{more} (rows counted from 1 below the header).",
        "Correct these values, or leave the cells empty if they are missing.",
        path=f"data.columns.{name}",
    )


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
    if n_rows > 20 and (distinct == values.notna().sum() or distinct > max(100, n_rows // 2)):
        return "dropped", (
            f"Column {name!r} was dropped: its {distinct} different text values look like "
            "names or identifiers, which do not generalise."
        )
    return "categorical", ""


# ----------------------------------------------------------------------------- target
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
    if target["task"] == "regression":
        return _numbers_or_junk(values, target["name"]).to_numpy(dtype="float64")
    numbers = _numbers_or_junk(values, target["name"])
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


# ----------------------------------------------------------------------------- splitting
def split_indices(
    n: int,
    labels: np.ndarray | None = None,
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
    class_names: Sequence[Any] = (),
) -> dict[str, np.ndarray]:
    """Sorted row indices of the train / val / test splits, stratified when labels are given."""
    from sklearn.model_selection import train_test_split

    if not (0 <= val_size < 1 and 0 <= test_size < 1 and val_size + test_size < 1):
        raise DataError(
            f"The validation ({val_size}) and test ({test_size}) fractions must each be between "
            "0 and 1 and leave rows for training.",
            "Use fractions such as 0.15 and 0.15.",
            path="data.split",
        )
    parts = 1 + (val_size > 0) + (test_size > 0)
    if labels is not None:
        counts = np.bincount(labels, minlength=max(len(class_names), 1))
        few = [i for i, c in enumerate(counts) if 0 < c < parts]
        if few:
            names = [class_names[i] if i < len(class_names) else i for i in few]
            shown = ", ".join(
                f"{names[k]!r} ({counts[i]} row{'s' if counts[i] != 1 else ''})"
                for k, i in enumerate(few[:8])
            )
            raise DataError(
                f"Too few rows per class to split into training, validation and test sets with "
                f"every class in each: {shown}. Each class needs at least {parts} rows.",
                "Add rows for these classes, merge them into others, or remove their rows.",
                path="data.target",
            )
    rest, test = np.arange(n), np.arange(0)
    try:
        if test_size > 0:
            rest, test = train_test_split(
                rest, test_size=test_size, random_state=seed, stratify=labels
            )
        train, val = rest, np.arange(0)
        if val_size > 0:
            train, val = train_test_split(
                rest,
                test_size=val_size / (1 - test_size),
                random_state=seed,
                stratify=None if labels is None else labels[rest],
            )
    except ValueError as exc:
        raise DataError(
            f"The {n} rows cannot be split into training, validation and test sets: {exc}",
            "Use more rows, fewer classes, or larger validation and test fractions.",
            path="data.split",
        ) from exc
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


# ----------------------------------------------------------------------------- preprocessor
@dataclass
class Preprocessor:
    """How raw table rows become model inputs, as plain data (JSON round-trip).

    ``columns``: one dict per used feature column, in order: ``{"name", "kind": "numeric",
    "fill", "mean", "std"}`` or ``{"name", "kind": "categorical", "fill", "categories"}``.
    ``target``: ``{"name", "task", "classes"}`` (classes empty for regression).
    """

    columns: list[dict[str, Any]]
    target: dict[str, Any]
    version: int = 1

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, kinds: Mapping[str, str], target: dict[str, Any]
    ) -> tuple[Preprocessor, list[str]]:
        """Learn fills, means/stds and categories from (training) rows; also return notices."""
        columns: list[dict[str, Any]] = []
        notes: list[str] = []
        for name, kind in kinds.items():
            values = frame[name]
            if kind == "numeric":
                numbers = _as_numbers(values)
                if numbers.isna().all():
                    notes.append(f"Column {name!r} was dropped: no values in the training rows.")
                    continue
                fill = float(numbers.median())
                filled = numbers.fillna(fill)
                std = float(filled.std(ddof=0))
                columns.append({
                    "name": name, "kind": "numeric", "fill": fill,
                    "mean": float(filled.mean()), "std": std if std > 1e-12 else 1.0,
                })
            elif kind == "categorical":
                text = values.dropna().astype(str).str.strip()
                if text.empty:
                    notes.append(f"Column {name!r} was dropped: no values in the training rows.")
                    continue
                counts = text.value_counts()
                fill = sorted(counts.index[counts == counts.max()])[0]
                columns.append({
                    "name": name, "kind": "categorical", "fill": fill,
                    "categories": sorted(counts.index.tolist()),
                })
        return cls(columns=columns, target=dict(target)), notes

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric names and ``column=category`` one-hot names."""
        names: list[str] = []
        for col in self.columns:
            if col["kind"] == "numeric":
                names.append(col["name"])
            else:
                names.extend(f"{col['name']}={c}" for c in col["categories"])
        return names

    def transform(self, frame: pd.DataFrame | Mapping[str, Any] | Sequence[Any]) -> np.ndarray:
        """Encode raw rows (a DataFrame, dict of columns or list of row dicts) as float32."""
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        missing = [c["name"] for c in self.columns if c["name"] not in df.columns]
        if missing:
            raise DataError(
                f"The rows lack the column(s) {', '.join(map(repr, missing))}.",
                "Give every feature column the model was trained on (the target may be left out).",
            )
        parts = []
        for col in self.columns:
            values = df[col["name"]]
            if col["kind"] == "numeric":
                x = pd.to_numeric(values, errors="coerce").astype("float64").fillna(col["fill"])
                parts.append(((x.to_numpy() - col["mean"]) / col["std"]).reshape(-1, 1))
            else:
                text = values.astype(object).where(values.notna(), col["fill"])
                text = text.astype(str).str.strip().to_numpy(dtype=str)
                parts.append(text[:, None] == np.asarray(col["categories"], dtype=str)[None, :])
        if not parts:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.hstack(parts).astype(np.float32)

    def inverse_target(self, pred: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) from model outputs."""
        return decode_target(pred, self.target["task"], self.target["classes"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PREPROCESSOR_FORMAT,
            "version": self.version,
            "columns": [dict(c) for c in self.columns],
            "target": dict(self.target),
            "feature_names": self.feature_names,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        if data.get("format") != PREPROCESSOR_FORMAT or "columns" not in data:
            raise DataError(
                "This is not an rmlp preprocessor description.",
                "Load the preprocessor.json saved with the trained model.",
            )
        return cls(
            columns=[dict(c) for c in data["columns"]],
            target=dict(data["target"]),
            version=int(data.get("version", 1)),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# ----------------------------------------------------------------------------- loading
@dataclass
class SplitData:
    """Training, validation and test arrays (float32) of one task, with the class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[Any]

    @property
    def num_outputs(self) -> int:
        return len(self.class_names) if self.task == "multiclass" else 1


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
    test_size: float = 0.15,
    val_size: float = 0.15,
    seed: int = 0,
) -> TabularData:
    """Read a CSV (or take a DataFrame), infer the task, split it and encode it.

    The task is inferred from the target unless ``task`` is given: labels or booleans ->
    classification; whole numbers with at most 20 distinct values and 5+ rows per value on average
    -> classification; other numbers -> regression. Two classes make it binary. Numeric columns
    are standardised, text columns one-hot encoded, gaps filled with the median / most frequent
    value, all learned from the training split only. Splits are seeded and stratified by class.
    """
    if isinstance(path_or_buffer, pd.DataFrame):
        frame = path_or_buffer.reset_index(drop=True)
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        frame = read_table(path_or_buffer, max_bytes=max_bytes)
    target = _find_target(frame, str(target).strip())
    warnings: list[str] = []
    no_target = frame[target].isna()
    if no_target.all():
        raise DataError(
            f"Every value of the target {target!r} is missing.",
            "Choose another target column.", path="data.target",
        )
    if no_target.any():
        warnings.append(f"{int(no_target.sum())} rows without a target value were left out.")
        frame = frame[~no_target].reset_index(drop=True)
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
    classes = target_info["classes"]
    split = split_indices(
        len(frame), None if task == "regression" else codes,
        val_size=val_size, test_size=test_size, seed=seed, class_names=classes,
    )
    pre, notes = Preprocessor.fit(frame.iloc[split["train"]], kinds, target_info)
    warnings.extend(notes)
    if not pre.columns:
        raise DataError(
            "No feature column has values in the training rows.",
            "Load a table whose input columns are filled in.",
        )
    used = {c["name"]: c["kind"] for c in pre.columns}
    x = pre.transform(frame)
    y = encode_target(codes, task, len(classes))
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
        missing_values={n: int(v) for n, v in frame.isna().sum().items() if v},
        split_rows=split, warnings=warnings, preview=frame.head(20),
        load_args={"kind": "table", "path": str(Path(path_or_buffer).resolve()), "target": target, "task": task,
                   "seed": seed, "val_size": val_size, "test_size": test_size}
        if isinstance(path_or_buffer, (str, Path)) else {},
    )
