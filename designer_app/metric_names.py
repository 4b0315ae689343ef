"""Metric names in words for the app's labels ("val_top3_accuracy" -> "Validation top-3 accuracy").

A local stand-in: every place that shows a metric name calls :func:`metric_label`, so one table of
names, directions and explanations can take its place later.
"""

from __future__ import annotations

import re

_WORDS = {"loss": "loss", "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1 score",
          "auc": "area under the ROC curve", "rmse": "root mean squared error", "mae": "mean absolute error",
          "r2": "R² (explained variance)", "mse": "mean squared error",
          "score": "score (the error rate, ties broken by the loss; the loss for regression)"}


def metric_label(name: str) -> str:
    """A metric's name as words, capitalised: "val_score" -> "Validation score (…)", "rmse" -> "Root mean …"."""
    validation = name.startswith("val_")
    core = name[4:] if validation else name
    top = re.fullmatch(r"top(\d+)_accuracy", core)
    words = f"top-{top.group(1)} accuracy" if top else _WORDS.get(core, core.replace("_", " "))
    text = f"validation {words}" if validation else words
    return text[0].upper() + text[1:]
