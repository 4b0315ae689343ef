"""Telling a collapsed model apart: one no better than always predicting the majority class or the mean."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rmlp.spec.metrics import better, direction

if TYPE_CHECKING:
    from rmlp.data.split import Splits

__all__ = ["ConstantGuess", "collapse_notice", "constant_guess"]


@dataclass(frozen=True)
class ConstantGuess:
    """The best answer that ignores the inputs, and its score on the rows it was scored on."""

    metric: str  # "accuracy" or "rmse": its direction is the metric table's
    score: float
    what: str

    def beaten_by(self, value: float) -> bool:
        """Whether ``value`` is better than the guess by more than rounding."""
        bar = self.score * (1 - 1e-9) if direction(self.metric) == "minimize" else self.score + 1e-9
        return better(self.metric, value, bar)


def _labels(y: Any, task: str) -> np.ndarray:
    y = np.asarray(y)
    if task == "multiclass" and y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y)).round().astype(np.int64)


def constant_guess(y_train: Any, y_eval: Any, task: str, class_names: Any = None) -> ConstantGuess:
    """The majority training class (classification) or the training mean (regression), scored on ``y_eval``."""
    if task == "regression":
        mean = float(np.mean(np.asarray(y_train, dtype="float64")))
        rmse = math.sqrt(float(np.mean((np.asarray(y_eval, dtype="float64").reshape(-1) - mean) ** 2)))
        return ConstantGuess("rmse", rmse, f"the training mean ({mean:.4g})")
    majority = int(np.argmax(np.bincount(_labels(y_train, task))))
    share = float(np.mean(_labels(y_eval, task) == majority))
    names = list(class_names) if class_names is not None else []
    name = names[majority] if majority < len(names) else majority
    return ConstantGuess("accuracy", share, f"the most common class ({name!s})")


def collapse_notice(data: Splits, metrics: dict[str, Any], task: str) -> str | None:
    """A warning when the model scores no better than the constant guess on the rows it was tested on."""
    split = metrics.get("split")
    if split not in ("test", "val") or not len(getattr(data, "y_train", [])):
        return None
    guess = constant_guess(data.y_train, getattr(data, f"y_{split}"), task, getattr(data, "class_names", None))
    value = metrics.get(guess.metric)
    if not isinstance(value, (int, float)) or not math.isfinite(value) or guess.beaten_by(value):
        return None
    return (f"Warning: the model is no better than always predicting {guess.what}: {guess.metric} {value:.4g} "
            f"against {guess.score:.4g} on the {split} rows. It has not learned from the inputs; try more epochs, "
            "a higher learning rate, less dropout or weight decay, or check that the inputs say something about "
            "the target.")
