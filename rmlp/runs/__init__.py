"""Training runs: settings, run folders, events, train and resume (UI-agnostic); the run history.

In a notebook: ``rmlp.runs.list()`` is the history as a pandas DataFrame and
``rmlp.runs.compare("run-a", "run-b")`` shows runs side by side (metrics, design differences,
overlaid curves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlp.runs.comparison import Comparison, compare_runs
from rmlp.runs.history import list_runs, runs_frame

__all__ = ["compare", "list"]


def list(runs_dir: str | Path = "runs", *, data: str | None = None, status: str | None = None,  # noqa: A001
         last: int | None = None) -> Any:
    """The runs in ``runs_dir`` as a pandas DataFrame, newest first (see :func:`rmlp.runs.history.list_runs`)."""
    return runs_frame(list_runs(runs_dir, data=data, status=status, last=last))


def compare(*runs: str | Path, runs_dir: str | Path = "runs") -> Comparison:
    """Two or more runs (folders or unique names) side by side; a notebook draws it with curves and differences."""
    return compare_runs(runs, runs_dir)
