"""Files made from a model or a graph: a ``.keras`` file, a SavedModel for serving, an SVG drawing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlp.design.svg import svg_document

__all__ = ["export_savedmodel", "graph_svg", "named", "save_keras"]


def named(path: str | Path, suffix: str) -> Path:
    """``path`` with ``suffix`` added when its name does not end in it (Keras and unzip go by the suffix)."""
    path = Path(path)
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


def save_keras(model: Any, path: str | Path) -> Path:
    """Save a Keras model as a ``.keras`` file (the suffix is added when missing)."""
    path = named(path, ".keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def export_savedmodel(model: Any, directory: str | Path) -> Path:
    """Export the model for serving (a TensorFlow SavedModel folder, via ``model.export``)."""
    directory = Path(directory)
    model.export(str(directory), verbose=False)
    return directory


def graph_svg(dot_text: str, timeout: float = 60.0) -> bytes | None:
    """The SVG file of a DOT text (:func:`rmlp.design.svg.svg_document`); None when no layout program is here."""
    text = svg_document(dot_text, timeout)
    return None if text is None else text.encode("utf-8")


