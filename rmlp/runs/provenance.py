"""Where a run came from: library versions, and how its data was loaded (to load the same split again)."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import rmlp
from rmlp.data.errors import DataError
from rmlp.data.images import load_images
from rmlp.data.split import Splits
from rmlp.data.tables import load_table

__all__ = ["data_record", "fingerprint", "reload_data", "versions"]


def fingerprint(path: str | Path) -> dict[str, Any] | None:
    """Size and sha256 of a data file (None for a folder or a missing file), to know it again at resume."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(2**20), b""):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _changed(path: Path, recorded: Any) -> str:
    """How the file at ``path`` differs from its recorded fingerprint ('' when it is the same or unrecorded)."""
    if not isinstance(recorded, Mapping) or not recorded.get("sha256"):
        return ""
    now = fingerprint(path)
    if now is None:
        return ""
    if now["size"] != recorded.get("size"):
        return f"it is now {now['size']:,} bytes, {recorded.get('size'):,} when the run was trained"
    if now["sha256"] != recorded.get("sha256"):
        return "its contents differ (another sha256) from when the run was trained"
    return ""


def versions() -> dict[str, Any]:
    """Versions of Python, TensorFlow, Keras, numpy and rmlp, the platform and visible GPUs."""
    import keras
    import tensorflow as tf

    try:
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    except Exception:  # noqa: BLE001 - device listing is informative only
        gpus = []
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "rmlp": rmlp.__version__, "platform": platform.platform(), "gpus": gpus}


def data_record(data: Splits, source: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """How the data was loaded (for data.json): kind, load arguments, split sizes, class names.

    ``source`` (or the data's own ``load_args``) holds the arguments that reload the same split,
    e.g. ``{"kind": "table", "path": ..., "target": ..., "task": ..., "seed": ...}``.
    """
    load_args = dict(source or getattr(data, "load_args", None) or {})
    kind = load_args.pop("kind", None) or ("images" if hasattr(data, "image_size") or
                                            data.x_train.ndim > 2 else "table")
    path = str(load_args.pop("path", getattr(data, "path", "") or getattr(data, "source", "") or ""))
    if path and Path(path).exists():
        path = str(Path(path).resolve())
    file = fingerprint(path) if path else None
    record: dict[str, Any] = {
        "kind": kind,
        "path": path,
        "target": load_args.pop("target", getattr(data, "target", "")),
        "task": load_args.pop("task", getattr(data, "task", None)),
        "seed": load_args.pop("seed", seed),
        "load_args": load_args,
        "split_sizes": {s: int(len(getattr(data, f"x_{s}"))) for s in ("train", "val", "test")},
        "input_shape": [int(v) for v in data.x_train.shape[1:]],
        "class_names": [_plain(c) for c in (getattr(data, "class_names", None) or [])],
        "feature_names": list(getattr(data, "feature_names", None) or []),
    }
    if file is not None:
        record["file"] = file
    return record


def _plain(value: Any) -> Any:
    """A JSON scalar for a class name (numbers stay numbers, anything else becomes text)."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (int, float, bool, str)) else str(value)


def reload_data(record: Mapping[str, Any], base_dir: Path | None = None, path: str | Path | None = None) -> Any:
    """Load the data again from a data.json record (same arguments and seed: the same split).

    The file must be the one the run was trained on (same size and sha256, when data.json has
    them); ``path`` loads another file with the same arguments instead, unchecked.
    """
    given = path is not None
    path = Path(str(path if path is not None else record.get("path") or ""))
    if not given and not path.is_absolute() and base_dir is not None and not path.exists() \
            and (base_dir / path).exists():
        path = base_dir / path
    if given and not path.exists():
        raise DataError(f"No data file or folder at {str(path)!r}.", "Pass an existing file with --data.")
    if not given and (not str(record.get("path") or "") or not path.exists()):
        raise DataError(
            f"The run's data file {str(record.get('path') or '(none recorded)')!r} cannot be found.",
            "Put the file back where it was, or pass the data file to use with --data FILE "
            "(rmlp resume RUN --data FILE).")
    changed = "" if given else _changed(path, record.get("file"))
    if changed:
        raise DataError(
            f"The run's data file {str(path)!r} has changed since the run was trained: {changed}. Resuming on other "
            "data would continue training on a different split.",
            "Put the original file back, or, to continue on this file anyway, pass it with --data FILE "
            "(rmlp resume RUN --data FILE).")
    kwargs = dict(record.get("load_args") or {})
    if record.get("kind") == "images":
        return load_images(path, task=record.get("task"), seed=record.get("seed", 0), **kwargs)
    return load_table(path, record.get("target", ""), task=record.get("task"),
                                  seed=record.get("seed", 0), **kwargs)


