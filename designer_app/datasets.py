"""Data sets for the app: the shipped samples, uploads saved under our own names, and loading.

Everything here calls :mod:`rmlp.data` (pandas/numpy, no TensorFlow). Uploaded bytes are written
to a private folder under a name made from their hash, never under the name the browser sent.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rmlp.data.samples import sample, sample_dir
from rmlp.data.split import SPLIT

#: Largest upload accepted (bytes); Streamlit's own cap is set in .streamlit/config.toml.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
IMAGE_SUFFIXES = (".zip", ".npz")


def upload_dir() -> Path:
    """The private folder uploads are written to."""
    path = Path(tempfile.gettempdir()) / "rmlp-designer" / "uploads"
    path.mkdir(parents=True, exist_ok=True)
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

    common = {"task": task, "seed": seed, "val_size": val_size, "test_size": test_size}
    if kind == "table":
        data = load_table(str(path), target, non_finite=non_finite, **common)  # type: ignore[arg-type]
    else:
        data = load_images(str(path), **common)
    return LoadedData(data=data, name=name or path.name, path=str(path), kind=kind, target=target, task=task,
                      val_size=val_size, test_size=test_size, seed=seed, non_finite=non_finite)


# ---------------------------------------------------------------------- describing a data set in a link
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{20}\.(csv|tsv|txt|zip|npz)$")
_SHOWN_NAME = re.compile(r"[^\w .()\-]")


def describe(loaded: LoadedData) -> dict[str, object] | None:
    """A small dict that finds this data set again (a sample or one of our uploads), or None."""
    path = Path(loaded.path)
    if path.parent == sample_dir():
        origin = "sample"
    elif path.parent == upload_dir():
        origin = "upload"
    else:
        return None
    return {"o": origin, "f": path.name, "n": loaded.name[:100], "t": loaded.target, "k": loaded.task,
            "v": loaded.val_size, "s": loaded.test_size, "r": loaded.seed, "x": loaded.non_finite}


def from_description(info: dict[str, object]) -> LoadedData:
    """Load the data set a :func:`describe` dict names; ValueError when it is not one we know.

    Only shipped samples and files in our own upload folder can be named, never another path.
    """
    origin, name = str(info.get("o", "")), str(info.get("f", ""))
    if origin == "sample" and sample(name) is not None:
        path = sample_dir() / name
    elif origin == "upload" and _UPLOAD_NAME.match(name):
        path = upload_dir() / name
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
