"""Metric names in words for the app's labels, capitalised for a label or a column header.

Words and directions come from the one metric table, :mod:`rmlp.spec.metrics`.
"""

from __future__ import annotations

from rmlp.spec.metrics import display_name


def metric_label(name: str) -> str:
    """A metric's name as words, capitalised: "val_score" -> "Validation score (…)", "rmse" -> "RMSE"."""
    text = display_name(name)
    return text[:1].upper() + text[1:]
