"""How objects of the lower layers show themselves in a notebook, without those layers importing it.

A design, a problem list, a summary, a run and ``display=True`` of ``train`` and ``run_search`` ask
this registry for a renderer by name. :mod:`rmlp.notebook` registers its renderers here when it is
imported; ``rmlp/__init__`` sets the :func:`set_loader` that imports it on the first request, so a
``ModelSpec`` shows itself in Jupyter without the user importing the notebook package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

#: What a renderer is registered for: HTML of a spec, problems or summary; a run's display; live
#: training (``train(display=True)``) and live search (``run_search(display=True)``); a comparison of runs.
HookName = Literal["spec_html", "problems_html", "summary_html", "show_run", "train_live", "search_live",
                   "comparison_html"]

_HOOKS: dict[str, Callable[..., Any]] = {}
_loader: Callable[[], None] | None = None


def register(name: HookName, renderer: Callable[..., Any]) -> None:
    """Make ``renderer`` the one called for ``name`` (a later registration replaces it)."""
    _HOOKS[name] = renderer


def set_loader(loader: Callable[[], None] | None) -> None:
    """Set what runs once when a hook is asked for before any was registered (imports the notebook)."""
    global _loader
    _loader = loader


def hook(name: HookName) -> Callable[..., Any]:
    """The renderer registered for ``name``; LookupError, saying what to install, when there is none."""
    if name not in _HOOKS and _loader is not None:
        _loader()
    try:
        return _HOOKS[name]
    except KeyError:
        raise LookupError(f"Nothing shows {name!r}: install rmlp's notebook extra "
                          "(pip install 'rmlp[notebook]') and import rmlp.notebook.") from None
