"""Reading raw input within a size limit, and CSV text (encoding, delimiter and decimal mark detected).

Pure pandas / numpy; shared by the table and image loaders.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from rmlp.data.errors import DataError
from rmlp.data.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_CELLS, DEFAULT_MAX_COLUMNS, RAISE_SHAPE, RAISE_SIZE
from rmlp.spec.units import human_bytes

Source = str | Path | bytes | bytearray | IO[bytes] | IO[str]

__all__ = ["DEFAULT_MAX_BYTES", "EXTRA_NA_VALUES", "Source", "check_shape", "decode_text", "read_source", "read_table",
           "read_table_notes", "source_name", "unique_names"]

#: Extra markers read as a missing value (besides pandas' own: "", NA, N/A, NaN, null, ...).
EXTRA_NA_VALUES = ["?"]


def _too_big(size: int, max_bytes: int, what: str) -> DataError:
    return DataError(
        f"{what} is {human_bytes(size)}, larger than the {human_bytes(max_bytes)} limit.",
        f"Use a smaller sample, or {RAISE_SIZE}.",
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
        declared = getattr(source, "size", None)
        if isinstance(declared, int) and declared > max_bytes:
            raise _too_big(declared, max_bytes, what)
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


#: Characters of a CSV text the delimiter is guessed from (the first lines, at most this many).
SNIFF_CHARS = 65_536
_DELIMITERS = ",;\t|"


def check_shape(data: bytes | str, *, max_columns: int = DEFAULT_MAX_COLUMNS, max_rows: int | None = None,
                max_cells: int = DEFAULT_MAX_CELLS, raise_hint: str = RAISE_SHAPE) -> tuple[int, int]:
    """Columns (from the header row) and data rows (line breaks) of a CSV file, both upper bounds, counted
    without parsing; :class:`DataError` naming the limit when a table passes ``max_columns``, ``max_rows``
    or ``max_cells``. Nothing per column is made, so a header of millions of columns is refused in a moment."""
    newline = "\n" if isinstance(data, str) else b"\n"
    end = data.find(newline)  # type: ignore[arg-type]
    header = data[: end if end >= 0 else len(data)]
    marks = _DELIMITERS if isinstance(data, str) else _DELIMITERS.encode()
    columns = 1 + max(header.count(marks[i : i + 1]) for i in range(len(marks)))  # type: ignore[arg-type]
    lines = data.count(newline) + (0 if data.endswith(newline) else 1)  # type: ignore[arg-type]
    rows = max(lines - 1, 0)
    if columns > max_columns:
        raise DataError(f"The table has {columns:,} columns in its header row, more than the limit of "
                        f"{max_columns:,} columns.", f"Keep the columns the model needs, or {raise_hint}.")
    if max_rows is not None and rows > max_rows:
        raise DataError(f"The table has up to {rows:,} data rows, more than the limit of {max_rows:,} rows.",
                        f"Use a sample of the rows, or {raise_hint}.")
    if rows * columns > max_cells:
        raise DataError(f"The table has up to {rows:,} rows × {columns:,} columns = {rows * columns:,} cells, more "
                        f"than the limit of {max_cells:,} cells.", f"Use fewer rows or columns, or {raise_hint}.")
    return columns, rows


def _sniff(text: str) -> tuple[str, str]:
    """The delimiter and decimal mark of a CSV text (from its first lines)."""
    sample = "\n".join(text[:SNIFF_CHARS].splitlines()[:50])
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    decimal = "."
    if sep != "," and re.search(r"\d,\d", sample) and not re.search(r"\d\.\d", sample):
        decimal = ","
    return sep, decimal


def unique_names(names: Sequence[Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Column names stripped and made unique (a later ``a`` becomes ``a.1``, ``a.2``, ...), and each
    repeated name with the names its columns got, in order."""
    stripped = [str(n).strip() for n in names]
    counts = Counter(stripped)
    taken = set(stripped)
    out: list[str] = []
    groups: dict[str, list[str]] = {}
    for name in stripped:
        if counts[name] > 1 and name in groups:
            k = len(groups[name])
            while f"{name}.{k}" in taken:
                k += 1
            new = f"{name}.{k}"
            taken.add(new)
            groups[name].append(new)
            out.append(new)
            continue
        if counts[name] > 1:
            groups[name] = [name]
        out.append(name)
    return out, groups


def duplicate_notice(groups: dict[str, list[str]], names: Sequence[str]) -> str:
    """The notice that repeated column names were renamed (columns counted from 1)."""
    parts = []
    for name, renamed in groups.items():
        where = " and ".join(str(list(names).index(n) + 1) for n in renamed)
        parts.append(f"{name!r} (columns {where}, now {', '.join(repr(n) for n in renamed)})")
    return ("Several columns share a name, so they were renamed: " + "; ".join(parts) +
            ". Give each column its own name in the file if they hold different things.")


def _header(text: str, **options: Any) -> list[str] | None:
    """The header row as written (repeated names kept), or None when it cannot be read alone."""
    try:
        row = pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str, keep_default_na=False, **options)
    except (pd.errors.ParserError, ValueError, csv.Error):
        return None
    return [str(v) for v in row.iloc[0].tolist()]


def read_table_notes(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_columns: int = DEFAULT_MAX_COLUMNS,
    max_rows: int | None = None, max_cells: int = DEFAULT_MAX_CELLS, raise_hint: str = "",
) -> tuple[pd.DataFrame, list[str], dict[str, list[str]]]:
    """:func:`read_table`, with its notices and the repeated column names (each with its columns' new names)."""
    raw = read_source(source, max_bytes=max_bytes)
    if not raw.strip():
        raise DataError("The file is empty.", "Choose a CSV file with a header row and data rows.")
    hint = raise_hint or RAISE_SHAPE
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16:  # before decoding: no copy of a huge header is made
        check_shape(raw, max_columns=max_columns, max_rows=max_rows, max_cells=max_cells, raise_hint=hint)
    text = decode_text(raw)
    del raw
    if utf16:
        check_shape(text, max_columns=max_columns, max_rows=max_rows, max_cells=max_cells, raise_hint=hint)
    sep, decimal = _sniff(text)
    options: dict[str, Any] = {"skipinitialspace": True, "na_values": EXTRA_NA_VALUES}
    used: dict[str, Any] = {"sep": sep, "decimal": decimal}
    try:
        frame = pd.read_csv(io.StringIO(text), low_memory=False, **used, **options)
    except (pd.errors.ParserError, ValueError):
        used = {"sep": None, "engine": "python"}
        try:
            frame = pd.read_csv(io.StringIO(text), **used, **options)
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise DataError(
                f"The file could not be read as CSV: {exc}",
                "Check that every row has as many separators as the header row and that "
                "quoted text is closed.",
            ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError("The file is empty.", "Choose a CSV file with a header row.") from exc
    header = _header(text, skipinitialspace=True, **used)
    names = [str(c) for c in frame.columns]
    if header is not None and len(header) == len(names):
        names = [h if h.strip() else names[i] for i, h in enumerate(header)]
    frame.columns, groups = unique_names(names)
    notes = [duplicate_notice(groups, list(frame.columns))] if groups else []
    frame = frame.dropna(how="all").reset_index(drop=True)
    if frame.empty:
        raise DataError(
            f"The file has column names ({', '.join(frame.columns[:8])}) but no data rows.",
            "Add data rows below the header.",
        )
    return frame, notes, groups


def read_table(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_columns: int = DEFAULT_MAX_COLUMNS,
               max_rows: int | None = None, max_cells: int = DEFAULT_MAX_CELLS, raise_hint: str = "") -> pd.DataFrame:
    """Read a CSV (delimiter and encoding detected) into a DataFrame; raises :class:`DataError`.

    Column names are stripped; repeated names are made unique (``a``, ``a.1``: see :func:`read_table_notes`).
    The columns (from the header row) and the cells are checked against their limits before anything
    is parsed (:func:`check_shape`).
    """
    return read_table_notes(source, max_bytes=max_bytes, max_columns=max_columns, max_rows=max_rows,
                            max_cells=max_cells, raise_hint=raise_hint)[0]
