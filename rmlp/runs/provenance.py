"""Where a run came from: library versions, and how its data was loaded (to load the same split again)."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmlp.data.errors import DataError
from rmlp.data.images import load_images
from rmlp.data.tables import load_table

__all__ = ["data_record", "reload_data", "versions"]


def versions() -> dict[str, Any]:
    """Versions of Python, TensorFlow, Keras, numpy and rmlp, the platform and visible GPUs."""
    import keras
    import numpy as np
    import tensorflow as tf

    import rmlp

    try:
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    except Exception:  # noqa: BLE001 - device listing is informative only
        gpus = []
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "rmlp": rmlp.__version__, "platform": platform.platform(), "gpus": gpus}


def data_record(data: Any, source: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
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
    return record


def _plain(value: Any) -> Any:
    """A JSON scalar for a class name (numbers stay numbers, anything else becomes text)."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (int, float, bool, str)) else str(value)


def reload_data(record: Mapping[str, Any], base_dir: Path | None = None) -> Any:
    """Load the data again from a data.json record (same arguments and seed: the same split)."""
    path = Path(str(record.get("path") or ""))
    if not path.is_absolute() and base_dir is not None and not path.exists() and (base_dir / path).exists():
        path = base_dir / path
    if not str(record.get("path") or "") or not path.exists():
        raise DataError(
            f"The run's data file {str(record.get('path') or '(none recorded)')!r} cannot be found.",
            "Pass the data to resume(data=...), or put the file back where it was.")
    kwargs = dict(record.get("load_args") or {})
    if record.get("kind") == "images":
        return load_images(path, task=record.get("task"), seed=record.get("seed", 0), **kwargs)
    return load_table(path, record.get("target", ""), task=record.get("task"),
                                  seed=record.get("seed", 0), **kwargs)


