"""The loss a spec trains with, as one description: built as a Keras object and written as code from it.

Pure data at import (Keras is imported inside :func:`make_loss`). Label smoothing goes into the
cross-entropies; a regression target scaled by the spec's :class:`~rmlp.spec.model.TargetScale` is
trained at mean 0 and spread 1: the loss on the model's output (in target units) is weighted by
1/std² (1/std for the absolute error, and the Huber threshold is scaled with it), which is exactly
the loss on the standardised target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rmlp.spec.model import ModelSpec

__all__ = ["LossDef", "loss_def", "make_loss"]

_CLASSES = {"categorical_crossentropy": "CategoricalCrossentropy", "binary_crossentropy": "BinaryCrossentropy",
            "mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "huber": "Huber"}


@dataclass(frozen=True)
class LossDef:
    """A ``keras.losses`` class, its arguments, and the weight ``compile`` gives it."""

    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0


def loss_def(spec: ModelSpec) -> LossDef:
    """The loss of ``spec``: its class and arguments, and the weight that undoes the target's scale."""
    name = spec.resolved_loss()
    kwargs: dict[str, Any] = {}
    weight = 1.0
    if name.endswith("crossentropy") and spec.label_smoothing:
        kwargs["label_smoothing"] = spec.label_smoothing
    scale = spec.target_scale.std if spec.task == "regression" and spec.target_scale is not None else None
    if scale is not None:
        weight = 1.0 / scale if name == "mae" else 1.0 / scale**2
        if name == "huber":
            kwargs["delta"] = scale
    return LossDef(_CLASSES[name], kwargs, weight)


def make_loss(spec: ModelSpec) -> tuple[Any, float]:
    """The spec's loss as a Keras object, and its weight."""
    import keras

    found = loss_def(spec)
    return getattr(keras.losses, found.cls)(**found.kwargs), found.weight
