"""rmlp in Jupyter: rich views of designs, figures, problems and runs; an interactive designer; live training.

``ModelSpec``, ``Summary``, ``rmlp.validate(...)`` and the run ``rmlp.train`` returns show themselves
as HTML in a notebook without importing this package. :func:`designer` gives the Design page's
controls as ipywidgets; ``rmlp.train(..., display=True)`` and ``run_search(..., display=True)`` draw
their progress live; :func:`start_training` trains in the background, so the cell ends at once.
Needs rmlp's notebook extra (ipywidgets, ipykernel, plotly).
"""

from __future__ import annotations

import importlib
from typing import Any

from rmlp.runs.comparison import Comparison, set_html_renderer

__all__ = ["Designer", "LiveTraining", "SearchDisplay", "TrainingJob", "comparison_html", "designer", "dot_to_svg",
           "spec_html", "start_training", "train_live"]

_LAZY = {
    "Designer": "rmlp.notebook.design_widget",
    "designer": "rmlp.notebook.design_widget",
    "LiveTraining": "rmlp.notebook.live",
    "SearchDisplay": "rmlp.notebook.live",
    "train_live": "rmlp.notebook.live",
    "start_training": "rmlp.notebook.live",
    "TrainingJob": "rmlp.notebook.live",
    "dot_to_svg": "rmlp.design.svg",
    "spec_html": "rmlp.notebook.views",
    "comparison_html": "rmlp.notebook.runs",
}


def _comparison_html(comparison: Comparison) -> str:
    from rmlp.notebook.runs import comparison_html

    return comparison_html(comparison)


# The run comparison (``rmlp.runs.compare``) shows itself through this package's renderer.
set_html_renderer(_comparison_html)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rmlp.notebook' has no attribute {name!r}")
