"""The residual MLP designer: a Streamlit app over the rmlp library (``rmlp app``).

The entry point is ``designer_app/app.py``; the page scripts live in ``pages/`` in a checkout and
in ``designer_app/pages`` when installed (:data:`PAGES`). The modules here build the pages:
``state`` owns the session (each page with jobs keeps its part in a ``*_session`` module, and ``links`` writes
the design and the data into the URL), ``widgets`` draws every control from its setting's declaration,
``jobs`` runs training and search in the background, ``server`` keeps what the server promises its
operator and visitors (the password gate, the limits, tidying up after a dead server), ``memo`` caches
tables within a byte budget, and one ``*_view`` module per page.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PAGES", "page_path"]

_HERE = Path(__file__).resolve().parent
#: The page scripts: inside the installed package, else the checkout's ``pages/``.
PAGES = _HERE / "pages" if (_HERE / "pages").is_dir() else _HERE.parent / "pages"


def page_path(file: str) -> str:
    """A page script as Streamlit names it: its path relative to the entry script ``app.py``."""
    return os.path.relpath(PAGES / file, _HERE)
