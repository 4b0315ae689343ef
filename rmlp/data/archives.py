"""What a folder, a .zip or a .npz holds, read safely: before anything is unpacked or decoded.

* :func:`open_archive` opens the bytes of a .zip (or a .npz, a zip of .npy arrays), or says what they are not;
* :func:`check_zip` refuses unsafe member names (absolute paths, ``..``), links, oversize contents and zip
  bombs, and :func:`safe_extract_zip` unpacks only after it;
* :func:`folder_entries` and :func:`zip_entries` list the files (their path parts and a reader of their bytes)
  within the size cap;
* :func:`check_npz` refuses a .npz whose arrays would not fit, from the sizes and .npy headers it declares,
  and :func:`npz_arrays` then loads its arrays (never Python objects).

Decoding images and checking what the arrays hold is :mod:`rmlp.data.images`'s.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rmlp.data.errors import DataError
from rmlp.data.limits import MAX_ARRAY_BYTES, RAISE_SIZE
from rmlp.data.reading import DEFAULT_MAX_BYTES
from rmlp.spec.units import human_bytes

#: A zip member that unpacks to more than this many times its packed size is refused.
MAX_ZIP_RATIO = 200
#: What reading a damaged, truncated or encrypted zip member can raise.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)
#: How to save a .npz the loaders read, for messages.
SAVE_HINT = "Save plain numeric arrays, e.g. np.savez(path, x=images, y=labels)."


# ----------------------------------------------------------------------------- opening
def open_archive(raw: bytes, where: str, fix: str) -> zipfile.ZipFile:
    """The .zip (or .npz, a zip of .npy arrays) in ``raw``; DataError, with ``fix``, when it is neither."""
    if not raw.startswith(b"PK"):
        raise DataError(f"'{where}' is neither a folder, a .zip archive nor a .npz file.", fix)
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except ZIP_ERRORS as exc:
        raise DataError(f"'{where}' is not a readable zip or .npz file ({exc}); it may be damaged or cut short.",
                        "Zip the images (or np.savez the arrays) again.") from exc


# ----------------------------------------------------------------------------- zip safety
def _unsafe_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
    )


def check_zip(archive: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The archive's file members, after refusing unsafe names, links and oversize contents."""
    members = []
    total = 0
    for info in archive.infolist():
        if _unsafe_member(info.filename):
            raise DataError(
                f"The zip holds a member with an unsafe path ({info.filename!r}), which could "
                "write outside the folder it is unpacked into; it was not opened.",
                "Zip the class folders with relative paths (no '..', no leading '/').",
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(
                f"The zip holds a symbolic link ({info.filename!r}); it was not opened.",
                "Zip real files only.",
            )
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_bytes:
            raise DataError(
                f"The zip unpacks to more than {human_bytes(max_bytes)}, the size limit.",
                f"Use fewer or smaller images, or {RAISE_SIZE}.",
            )
        if info.file_size > 1_000_000 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise DataError(
                f"The zip member {info.filename!r} unpacks to {human_bytes(info.file_size)} from "
                f"{human_bytes(info.compress_size)}, which looks like a zip bomb; it was not opened.",
                "Zip ordinary image files.",
            )
        members.append(info)
    return members


def safe_extract_zip(path: str | Path, dest: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Unpack a zip into ``dest`` after :func:`check_zip`; returns ``dest``."""
    dest = Path(dest)
    with zipfile.ZipFile(path) as archive:
        for info in check_zip(archive, max_bytes):
            target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src:
                target.write_bytes(src.read())
    return dest


# ----------------------------------------------------------------------------- collecting files
#: A file found: its path parts (below the folder or inside the zip) and a reader of its bytes.
Entry = tuple[tuple[str, ...], Callable[[], bytes]]


def folder_entries(root: Path, max_bytes: int) -> list[Entry]:
    entries: list[Entry] = []
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_symlink():
                continue
            total += path.stat().st_size
            if total > max_bytes:
                raise DataError(
                    f"The folder holds more than {human_bytes(max_bytes)} of files, the size limit.",
                    f"Use fewer or smaller images, or {RAISE_SIZE}.",
                )
            entries.append((path.relative_to(root).parts, _file_reader(path)))
    return entries


def _file_reader(path: Path) -> Callable[[], bytes]:
    """The bytes of a file, or none when it cannot be read (it is then skipped as unreadable)."""
    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError:
            return b""
    return read


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; a damaged, truncated or encrypted member refuses the archive."""
    try:
        return archive.read(info)
    except ZIP_ERRORS as exc:
        raise DataError(
            f"The zip member {info.filename!r} cannot be unpacked ({exc}): the archive is damaged, truncated "
            "or encrypted.",
            "Zip the folder again (without a password) and load the new archive.",
        ) from exc


def zip_entries(archive: zipfile.ZipFile, max_bytes: int) -> list[Entry]:
    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        return lambda: _read_member(archive, info)

    return [
        (PurePosixPath(info.filename.replace("\\", "/")).parts, reader(info))
        for info in sorted(check_zip(archive, max_bytes), key=lambda i: i.filename)
    ]


# ----------------------------------------------------------------------------- npz arrays
def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype a member's .npy header declares (only the header is read)."""
    from numpy.lib import format as npy

    try:
        with archive.open(info) as stream:
            version = npy.read_magic(stream)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(stream)
    except ZIP_ERRORS as exc:
        raise DataError(
            f"The .npz member {info.filename!r} is not a readable numpy array ({exc}).",
            f"The file is damaged or not made by numpy. {SAVE_HINT}",
        ) from exc
    return tuple(int(d) for d in shape), dtype


def check_npz(archive: zipfile.ZipFile, max_bytes: int, color_mode: str = "auto") -> None:
    """Refuse an .npz whose arrays would not fit, before any is unpacked: each member's size as the zip
    declares it (the most it may unpack to) against ``max_bytes``, each .npy header's shape and dtype
    against what the member holds, Python objects, and the float32 result against :data:`MAX_ARRAY_BYTES`."""
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_bytes:
            raise DataError(
                f"The .npz unpacks to more than {human_bytes(max_bytes)}, the size limit (its member "
                f"{info.filename!r} alone declares {human_bytes(info.file_size)}); nothing was unpacked.",
                f"Save fewer or smaller arrays, or {RAISE_SIZE}.",
            )
        shape, dtype = _npy_header(archive, info)
        key = info.filename.removesuffix(".npy")
        if dtype.hasobject or dtype.names is not None:
            raise DataError(f"The .npz array {key!r} holds Python objects or records ({dtype}), not plain values.",
                            SAVE_HINT)
        count = math.prod(shape)
        if count * dtype.itemsize > max_bytes:
            raise DataError(
                f"The .npz array {key!r} declares shape {shape} ({human_bytes(count * dtype.itemsize)}), more than "
                f"the {human_bytes(max_bytes)} size limit; nothing was unpacked.",
                f"Save fewer or smaller arrays, or {RAISE_SIZE}.",
            )
        if count * dtype.itemsize > info.file_size:
            raise DataError(
                f"The .npz array {key!r} declares shape {shape} ({human_bytes(count * dtype.itemsize)}), but its "
                f"member holds only {human_bytes(info.file_size)}: the file is damaged or truncated.",
                "Save the arrays again, e.g. np.savez(path, x=images, y=labels).",
            )
        widen = 3 if color_mode == "rgb" and (len(shape) == 3 or shape[-1:] == (1,)) else 1
        if count * 4 * widen > MAX_ARRAY_BYTES:
            raise DataError(
                f"The .npz array {key!r} of shape {shape} takes {human_bytes(count * 4 * widen)} as float32, more "
                f"than the {human_bytes(MAX_ARRAY_BYTES)} limit on one array in memory.",
                "Save fewer or smaller examples (e.g. downscale the images).",
            )


def npz_arrays(raw: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k.lower(): npz[k] for k in npz.files}
    except ZIP_ERRORS as exc:
        raise DataError(
            f"The .npz file could not be read: {exc}",
            f"The file may be damaged or truncated; save it again. {SAVE_HINT}",
        ) from exc
