"""Files made from a model or a graph: a ``.keras`` file, a SavedModel for serving, an SVG drawing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["export_savedmodel", "graph_svg", "save_keras"]


def save_keras(model: Any, path: str | Path) -> Path:
    """Save a Keras model as a ``.keras`` file (the suffix is added when missing)."""
    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_name(path.name + ".keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def export_savedmodel(model: Any, directory: str | Path) -> Path:
    """Export the model for serving (a TensorFlow SavedModel folder, via ``model.export``)."""
    directory = Path(directory)
    model.export(str(directory), verbose=False)
    return directory


def graph_svg(dot_text: str, timeout: float = 60.0) -> bytes | None:
    """SVG of a DOT text via Graphviz's ``dot`` program; None when it is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and done.stdout else None


