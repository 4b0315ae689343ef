"""Data sets for the app: the shipped samples, uploads saved under our own names, and loading.

Everything here calls :mod:`rmlp.data` (pandas/numpy, no TensorFlow). Uploaded bytes are written
to this session's private folder (``<temp>/rmlp-designer/uploads/<20 random hex digits>``, removed
:data:`UPLOAD_GRACE_S` after the session ends) under a name made from their hash, never under the
name the browser sent. A link names an upload by its session folder and file name; a session that
opens it (a reload is a new session) takes its own copy, so it keeps working after the first ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from rmlp.data.samples import sample, sample_dir
from rmlp.data.split import SPLIT

#: Largest upload accepted (bytes); Streamlit's own cap is set in .streamlit/config.toml.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
IMAGE_SUFFIXES = (".zip", ".npz")


#: How long the uploads of a session that ended stay (seconds): a reload (a new session) or a shared
#: link opened meanwhile finds them and takes its own copy. Streamlit ends a session when its tab
#: closes or reloads.
UPLOAD_GRACE_S = 3600.0
_ENDED = ".ended"
_UPLOADS = "rmlp.uploads"  # session key, str: the name (random hex) of this session's private upload folder


def upload_root() -> Path:
    """The folder that holds every session's upload folder."""
    return Path(tempfile.gettempdir()) / "rmlp-designer" / "uploads"


def sweep_uploads(grace_s: float | None = None) -> list[Path]:
    """Delete the upload folders of sessions that ended more than ``grace_s`` (default
    :data:`UPLOAD_GRACE_S`) ago; the folders removed."""
    grace = UPLOAD_GRACE_S if grace_s is None else grace_s
    removed = []
    for folder in upload_root().glob("*"):
        marker = folder / _ENDED
        try:
            ended = folder.is_dir() and _SESSION_NAME.match(folder.name) and marker.is_file()
            if ended and time.time() - marker.stat().st_mtime >= grace:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue  # another server process removed it first
    return removed


def _session_ended(path: Path) -> None:
    """Mark a session's upload folder as ended (Streamlit calls this when the session goes); folders
    that ended more than :data:`UPLOAD_GRACE_S` ago are removed now."""
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
    from streamlit.runtime.scriptrunner import get_script_run_ctx

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
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    (path / _ENDED).unlink(missing_ok=True)  # a session that reconnected is alive again
    return path


def save_upload(raw: bytes, original_name: str, allowed: tuple[str, ...]) -> Path:
    """Write uploaded bytes under a name of our own (hash + allowed suffix); ValueError otherwise."""
    suffix = Path(original_name).suffix.lower()
    if suffix not in allowed:
        raise ValueError(f"'{Path(original_name).name}' is not one of the accepted kinds ({', '.join(allowed)}).")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValueError(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
    digest = hashlib.sha256(raw).hexdigest()[:20]
    path = upload_dir() / f"{digest}{suffix}"
    if not path.is_file():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return path


def kind_of(path: Path) -> str:
    """'table' for CSV-like files, 'images' for zip/npz."""
    return "table" if path.suffix.lower() in TABLE_SUFFIXES else "images"


@lru_cache(maxsize=16)
def _read_table(path: str, mtime: float) -> Any:
    from rmlp.data import read_table

    return read_table(path)


def read_table(path: Path) -> Any:
    """The raw table (a DataFrame) of a CSV file; raises :class:`rmlp.data.DataError`."""
    return _read_table(str(path), path.stat().st_mtime)


@dataclass
class LoadedData:
    """A data set loaded for training, with how it was loaded (to reload another split)."""

    data: Any  # rmlp.data.TabularData | rmlp.data.ImageData
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
    from rmlp.data import load_images, load_table

    common: dict[str, Any] = {"task": task, "seed": seed, "val_size": val_size, "test_size": test_size}
    data: Any
    if kind == "table":
        data = load_table(str(path), target, non_finite=non_finite, **common)  # type: ignore[arg-type]
    else:
        data = load_images(str(path), **common)
    return LoadedData(data=data, name=name or path.name, path=str(path), kind=kind, target=target, task=task,
                      val_size=val_size, test_size=test_size, seed=seed, non_finite=non_finite)


# ---------------------------------------------------------------------- describing a data set in a link
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{20}\.(csv|tsv|txt|zip|npz)$")
_SESSION_NAME = re.compile(r"^[0-9a-f]{20}$")
_SHOWN_NAME = re.compile(r"[^\w .()\-]")


def describe(loaded: LoadedData) -> dict[str, object] | None:
    """A small dict that finds this data set again (a sample, or an upload of a session on this server), or None."""
    path = Path(loaded.path)
    where: dict[str, object] = {}
    if path.parent == sample_dir():
        origin = "sample"
    elif path.parent.parent == upload_root() and _SESSION_NAME.match(path.parent.name):
        origin, where = "upload", {"u": path.parent.name}
    else:
        return None
    return {"o": origin, "f": path.name, **where, "n": loaded.name[:100], "t": loaded.target, "k": loaded.task,
            "v": loaded.val_size, "s": loaded.test_size, "r": loaded.seed, "x": loaded.non_finite}


def _adopt(source: Path) -> Path:
    """An upload of another session as a file of this session's own folder (a link, or else a copy)."""
    own = upload_dir()
    if source.parent == own:
        return source
    if not source.is_file() or source.is_symlink():
        raise ValueError(f"the data set {source.name} is no longer on this machine")
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

    Only shipped samples and uploads in a session folder of this server can be named (by the
    folder's and the file's own names, never a path); an upload is loaded from this session's copy.
    """
    origin, name, session = str(info.get("o", "")), str(info.get("f", "")), str(info.get("u", ""))
    if origin == "sample" and sample(name) is not None:
        path = sample_dir() / name
    elif origin == "upload" and _UPLOAD_NAME.match(name) and _SESSION_NAME.match(session):
        path = _adopt(upload_root() / session / name)
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
