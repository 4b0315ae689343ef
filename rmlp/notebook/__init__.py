"""rmlp in Jupyter: rich views of designs, figures, problems and runs; an interactive designer; live training.

``ModelSpec``, ``Summary``, ``rmlp.validate(...)`` and the run ``rmlp.train`` returns show themselves
as HTML in a notebook: importing this package registers its renderers in :mod:`rmlp.spec.display`
(``import rmlp`` arranges that it is imported on the first request), so the core never imports it.
:func:`designer` gives the Design page's controls as ipywidgets; :func:`train_live` and
:func:`search_live` (or ``rmlp.train(..., display=True)`` and ``run_search(..., display=True)``)
draw their progress live; :func:`start_training` trains in the background, so the cell ends at once.
Needs rmlp's notebook extra (ipywidgets, ipykernel, plotly).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from rmlp.spec import display

__all__ = ["Designer", "LiveTraining", "SearchDisplay", "TrainingJob", "comparison_html", "designer", "dot_to_svg",
           "search_live", "spec_html", "start_training", "train_live"]

_LAZY = {
    "Designer": "rmlp.notebook.design_widget",
    "designer": "rmlp.notebook.design_widget",
    "LiveTraining": "rmlp.notebook.live",
    "SearchDisplay": "rmlp.notebook.live",
    "train_live": "rmlp.notebook.live",
    "search_live": "rmlp.notebook.live",
    "start_training": "rmlp.notebook.live",
    "TrainingJob": "rmlp.notebook.live",
    "dot_to_svg": "rmlp.design.svg",
    "spec_html": "rmlp.notebook.views",
    "comparison_html": "rmlp.notebook.runs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rmlp.notebook' has no attribute {name!r}")


def _deferred(module: str, name: str) -> Callable[..., Any]:
    """A renderer that imports its module (and ipywidgets, where it needs them) only when called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(f"Showing this live needs {exc.name}, part of rmlp's notebook extra: "
                                      "pip install 'rmlp[notebook]'.", name=exc.name) from None
        return getattr(found, name)(*args, **kwargs)

    return call


#: The renderers the lower layers ask :mod:`rmlp.spec.display` for, and where each lives.
_HOOKS: dict[display.HookName, tuple[str, str]] = {
    "spec_html": ("rmlp.notebook.views", "spec_html"),
    "problems_html": ("rmlp.notebook.views", "problems_html"),
    "summary_html": ("rmlp.notebook.views", "summary_html"),
    "show_run": ("rmlp.notebook.live", "show_run"),
    "train_live": ("rmlp.notebook.live", "train_live"),
    "search_live": ("rmlp.notebook.live", "search_live"),
    "comparison_html": ("rmlp.notebook.runs", "comparison_html"),
}
for _name, (_module, _function) in _HOOKS.items():
    display.register(_name, _deferred(_module, _function))
