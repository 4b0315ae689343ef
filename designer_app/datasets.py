"""Data sets for the app: the shipped samples, uploads saved under our own names, and loading.

Everything here calls :mod:`rmlp.data` (pandas/numpy, no TensorFlow). Uploaded bytes are written
to this session's private folder (``<temp>/rmlp-designer/uploads/<20 random hex digits>``, or under
``RMLP_UPLOADS_DIR``; removed :data:`UPLOAD_GRACE_S` after the session ends) under a name made from
their content's hash, never under the name the browser sent. A link names an upload by that content
hash alone (no folder, no path); a session that opens it gets a copy in its own folder, so it keeps
working after the first session ends. Parsed tables and loaded data sets are cached within the
server's byte budget (:mod:`designer_app.memo`) and released when their sessions end.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from designer_app import server
from designer_app.memo import ByteCache
from designer_app.server import UPLOADS_DIR_ENV, upload_root  # noqa: F401 - re-exported: where uploads go
from rmlp.data import load_images, load_table
from rmlp.data import read_table as read_raw_table
from rmlp.data.samples import BASE_MODEL, sample, sample_dir
from rmlp.data.split import SPLIT
from rmlp.spec.units import human_bytes

if TYPE_CHECKING:
    from rmlp.data.fit import Data

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
IMAGE_SUFFIXES = (".zip", ".npz")


#: How long the uploads of a session that ended stay (seconds): a reload (a new session) or a shared
#: link opened meanwhile finds them and takes its own copy. Streamlit ends a session when its tab
#: closes or reloads.
UPLOAD_GRACE_S = 3600.0
_ENDED = ".ended"
_UPLOADS = "rmlp.uploads"  # session key, str: the name (random hex) of this session's private upload folder


def sweep_uploads(grace_s: float | None = None, *, orphans: bool = False) -> list[Path]:
    """Delete the upload folders of sessions that ended more than ``grace_s`` (default
    :data:`UPLOAD_GRACE_S`) ago, and with ``orphans`` those whose server process is gone; the folders removed."""
    grace = UPLOAD_GRACE_S if grace_s is None else grace_s
    removed = []
    for folder in upload_root().glob("*"):
        marker = folder / _ENDED
        try:
            if not (folder.is_dir() and _SESSION_NAME.match(folder.name)):
                continue
            ended = marker.is_file() and time.time() - marker.stat().st_mtime >= grace
            if ended or (orphans and not server.owner_alive(folder)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue  # another server process removed it first
    return removed


def _bytes_in(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*") if f.is_file())


#: Parsed tables and loaded data sets, within the server's cache budget (``rmlp app --cache-mb``).
CACHE = ByteCache(lambda: int(server.limits().cache_mb * 2**20))


def _session_ended(path: Path) -> None:
    """Mark a session's upload folder as ended (Streamlit calls this when the session goes) and release its
    cached tables; folders that ended more than :data:`UPLOAD_GRACE_S` ago are removed now."""
    CACHE.release(path.name)
    if path.is_dir():
        (path / _ENDED).touch()
    sweep_uploads()


@st.cache_resource(scope="session", on_release=_session_ended, show_spinner=False)
def _session_folder(token: str) -> Path:
    """The upload folder of this session, held by Streamlit until the session ends."""
    sweep_uploads()
    return upload_root() / token


def _session_token() -> str:
    """This session's upload folder name; outside a running app (scripts, tests), one per process."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return _PROCESS_TOKEN
    return upload_token()


def upload_token() -> str:
    """The name of this session's private upload folder: 20 random hex digits, made once per session."""
    if _UPLOADS not in st.session_state:
        st.session_state[_UPLOADS] = secrets.token_hex(10)
    return str(st.session_state[_UPLOADS])


#: The upload folder name used outside a running app (a script, a test): one per process.
_PROCESS_TOKEN = os.urandom(10).hex()


def upload_dir() -> Path:
    """This session's private upload folder (made on first use, removed a grace time after the session ends)."""
    token = _session_token()
    path = _session_folder(token) if token != _PROCESS_TOKEN else upload_root() / token
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        (path / server.OWNER_FILE).write_text(server.owner_record(), encoding="utf-8")
    (path / _ENDED).unlink(missing_ok=True)  # a session that reconnected is alive again
    return path


def session_owner() -> str:
    """The name the cache files this session's entries under (its upload folder's name)."""
    return _session_token()


def save_upload(raw: bytes, original_name: str, allowed: tuple[str, ...]) -> Path:
    """Write uploaded bytes under a name of our own (hash + allowed suffix); ValueError otherwise."""
    suffix = Path(original_name).suffix.lower()
    if suffix not in allowed:
        raise ValueError(f"'{Path(original_name).name}' is not one of the accepted kinds ({', '.join(allowed)}).")
    limits = server.limits()
    if len(raw) > limits.upload_mb * 2**20:
        raise ValueError(f"The file is {human_bytes(len(raw))}, larger than the {limits.upload_mb:g} MiB upload "
                         f"limit ({limits.raise_hint('upload_mb')}).")
    digest = hashlib.sha256(raw).hexdigest()[:20]
    folder = upload_dir()
    path = folder / f"{digest}{suffix}"
    if not path.is_file() and _bytes_in(folder) + len(raw) > limits.session_upload_mb * 2**20:
        raise ValueError(f"This session keeps {human_bytes(_bytes_in(folder))} of uploads already; this file would "
                         f"pass the {limits.session_upload_mb:g} MiB per session "
                         f"({limits.raise_hint('session_upload_mb')}). Reload the page to start a new session "
                         "without them.")
    if not path.is_file():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return path


def kind_of(path: Path) -> str:
    """'table' for CSV-like files, 'images' for zip/npz."""
    return "table" if path.suffix.lower() in TABLE_SUFFIXES else "images"


def max_upload_bytes() -> int:
    """The largest file a visitor may upload or load on this server (``rmlp app --upload-mb``)."""
    return int(server.limits().upload_mb * 2**20)


def table_limits() -> dict[str, Any]:
    """The reader's limits on this server: bytes, columns, rows and cells (each named in a refusal)."""
    limits = server.limits()
    return {"max_bytes": int(limits.upload_mb * 2**20), "max_columns": limits.max_columns,
            "max_rows": limits.max_rows, "max_cells": limits.max_cells, "raise_hint": SERVER_HINT}


def image_limits() -> dict[str, Any]:
    """The image reader's limits on this server: bytes, pixels per image and per image set."""
    limits = server.limits()
    return {"max_bytes": int(limits.upload_mb * 2**20), "max_image_pixels": int(limits.image_mp * 1e6),
            "max_total_pixels": int(limits.total_mp * 1e6)}


#: How a refusal of the app's table reader says to raise a limit.
SERVER_HINT = "ask whoever runs the server to raise it (rmlp app --upload-mb, --max-columns, --max-rows, --max-cells)"


def read_table(path: Path) -> Any:
    """The raw table (a DataFrame) of a CSV file, cached within the server's budget; raises DataError."""
    key = ("table", str(path), path.stat().st_mtime)
    return CACHE.get(key, lambda: read_raw_table(path, **table_limits()), session_owner())


@dataclass
class LoadedData:
    """A data set loaded for training, with how it was loaded (to reload another split)."""

    data: Data
    name: str
    path: str
    kind: str
    target: str = ""
    task: str | None = None  # the user's override; None: inferred
    val_size: float = SPLIT.val_size
    test_size: float = SPLIT.test_size
    seed: int = 0
    #: What became of numbers that are not finite in a table (LoadConfig.non_finite).
    non_finite: str = "refuse"

    def summary(self) -> dict[str, Any]:
        return self.data.summary()

    def source_record(self) -> dict[str, Any]:
        """How :func:`rmlp.runs.train.train` can record (and resume) this data."""
        record: dict[str, Any] = {"kind": self.kind, "path": self.path, "target": self.target,
                                  "task": self.task, "seed": self.seed}
        record.update(val_size=self.val_size, test_size=self.test_size)
        if self.kind == "table":
            record["non_finite"] = self.non_finite
        return record

    def with_split(self, val_size: float, test_size: float, seed: int) -> LoadedData:
        """The same data split again (unchanged when the shares and seed are the same)."""
        if (val_size, test_size, seed) == (self.val_size, self.test_size, self.seed):
            return self
        return load(Path(self.path), kind=self.kind, target=self.target, task=self.task, name=self.name,
                    val_size=val_size, test_size=test_size, seed=seed, non_finite=self.non_finite)


def load(path: Path, *, kind: str, target: str = "", task: str | None = None, name: str = "",
         val_size: float = SPLIT.val_size, test_size: float = SPLIT.test_size, seed: int = 0,
         non_finite: str = "refuse") -> LoadedData:
    """Load a table or an image set; raises :class:`rmlp.data.DataError` with a plain message."""
    common: dict[str, Any] = {"task": task, "seed": seed, "val_size": val_size, "test_size": test_size}
    data: Data
    if kind == "table":
        data = load_table(str(path), target, non_finite=non_finite, **common,  # type: ignore[arg-type]
                          **table_limits())
    else:
        data = load_images(str(path), **image_limits(), **common)
    return LoadedData(data=data, name=name or path.name, path=str(path), kind=kind, target=target, task=task,
                      val_size=val_size, test_size=test_size, seed=seed, non_finite=non_finite)


# ---------------------------------------------------------------------- describing a data set in a link
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{20}\.(csv|tsv|txt|zip|npz)$")
_SESSION_NAME = re.compile(r"^[0-9a-f]{20}$")
_SHOWN_NAME = re.compile(r"[^\w .()\-]")


def describe(loaded: LoadedData) -> dict[str, object] | None:
    """A small dict that finds this data set again (a sample by name, an upload by content hash), or None."""
    path = Path(loaded.path)
    if path.parent == sample_dir():
        origin = "sample"
    elif (path.parent.parent == upload_root() and _SESSION_NAME.match(path.parent.name)
          and _UPLOAD_NAME.match(path.name)):
        origin = "upload"
    else:
        return None
    return {"o": origin, "f": path.name, "n": loaded.name[:100], "t": loaded.target, "k": loaded.task,
            "v": loaded.val_size, "s": loaded.test_size, "r": loaded.seed, "x": loaded.non_finite}


def _find_upload(name: str) -> Path:
    """The upload whose content hash (and suffix) is ``name``: this session's own, else a copy of another's."""
    own = upload_dir()
    if (own / name).is_file():
        return own / name
    for folder in upload_root().glob("*"):
        source = folder / name
        if (_SESSION_NAME.match(folder.name) and source.is_file() and not source.is_symlink()
                and hashlib.sha256(source.read_bytes()).hexdigest()[:20] == name.split(".")[0]):
            return _adopt(source)
    raise ValueError("the data set of the link is no longer on this server; upload it again")


_BASE_NAME = re.compile(r"^[0-9a-f]{20}\.keras$")


def own_base_model(path: str) -> str | None:
    """The base-model path a design of this session may hold: a shipped sample's, one of this session's
    uploads, or this session's copy of another session's upload (found by content hash); None for any
    other path, whether a file is there or not (nothing about other files is revealed)."""
    given = Path(os.path.abspath(path))
    if given.parent == sample_dir() and given.name == BASE_MODEL:
        return str(given)
    if not _BASE_NAME.match(given.name):
        return None
    own = upload_dir()
    if given.parent == own:
        return str(given)
    if given.parent.parent == upload_root() and _SESSION_NAME.match(given.parent.name):
        try:
            return str(_find_upload(given.name))
        except (ValueError, OSError):
            return None
    return None


def _adopt(source: Path) -> Path:
    """An upload of another session as a file of this session's own folder (a link, or else a copy)."""
    own = upload_dir()
    if source.parent == own:
        return source
    if not source.is_file() or source.is_symlink():
        raise ValueError(f"the data set {source.name} is no longer on this machine")
    size = source.stat().st_size
    limits = server.limits()
    if _bytes_in(own) + size > limits.session_upload_mb * 2**20:
        raise ValueError(f"it would pass the {limits.session_upload_mb:g} MiB of uploads per session "
                         f"({limits.raise_hint('session_upload_mb')})")
    target = own / source.name
    if not target.is_file():
        part = target.with_suffix(target.suffix + ".part")
        part.unlink(missing_ok=True)
        try:
            os.link(source, part)
        except OSError:
            shutil.copyfile(source, part)
        part.replace(target)
    return target


def from_description(info: dict[str, Any]) -> LoadedData:
    """Load the data set a :func:`describe` dict names; ValueError when it is not one we know.

    Only shipped samples (by name) and uploads on this server (by content hash, never a folder or a
    path) can be named; an upload is loaded from this session's own copy.
    """
    origin, name = str(info.get("o", "")), str(info.get("f", ""))
    if origin == "sample" and sample(name) is not None:
        path = sample_dir() / name
    elif origin == "upload" and _UPLOAD_NAME.match(name) and "u" not in info:
        path = _find_upload(name)
    else:
        raise ValueError("the link names no known data set")
    if not path.is_file():
        raise ValueError(f"the data set {name} is no longer on this machine")
    task = info.get("k")
    shown = _SHOWN_NAME.sub("_", str(info.get("n") or name))[:100]
    return load(path, kind=kind_of(path), target=str(info.get("t") or ""), task=str(task) if task else None,
                name=shown, val_size=float(info.get("v", SPLIT.val_size)),
                test_size=float(info.get("s", SPLIT.test_size)), seed=int(info.get("r", 0)),
                non_finite="impute" if info.get("x") == "impute" else "refuse")
