"""The metrics each task logs, as one table: built as Keras objects, written as code, listed by name.

Which way each is better and its name in words are in :mod:`rmlp.spec.metrics`. Pure data at
import (Keras is imported inside :func:`make_metrics` only), so the search and the exporter read
the names and classes without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rmlp.spec.metrics import MetricFacts, metric_facts

Flavour = Literal["rmlp", "original"]

__all__ = ["MetricDef", "make_metrics", "metric_defs", "metric_names"]


@dataclass(frozen=True)
class MetricDef:
    """One metric: the name Keras logs it under, its ``keras.metrics`` class and arguments."""

    name: str
    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def facts(self) -> MetricFacts:
        """Its row of the metric table: which way is better, its name in words."""
        found = metric_facts(self.name)
        if found is None:
            raise LookupError(f"The metric {self.name!r} has no row in rmlp.spec.metrics.METRICS.")
        return found


def metric_defs(task: str, num_outputs: int, flavour: Flavour = "rmlp") -> list[MetricDef]:
    """The metrics of a task: accuracy and top-k, accuracy and AUC, or RMSE and MAE.

    ``flavour="original"`` gives the original package's set instead: top-1 … top-9 accuracies,
    precision and recall for classification (without its broken exact-equality accuracy).
    """
    if task == "regression":
        return [MetricDef("rmse", "RootMeanSquaredError"), MetricDef("mae", "MeanAbsoluteError")]
    if flavour == "original":
        tail = [MetricDef("precision", "Precision"), MetricDef("recall", "Recall")]
        if task == "binary":
            return [MetricDef("accuracy", "BinaryAccuracy"), *tail]
        ks = range(1, min(num_outputs - 1, 9) + 1)
        return [*(MetricDef(f"top_{k}_accuracy", "TopKCategoricalAccuracy", {"k": k}) for k in ks), *tail]
    if task == "binary":
        return [MetricDef("accuracy", "BinaryAccuracy"), MetricDef("auc", "AUC")]
    found = [MetricDef("accuracy", "CategoricalAccuracy")]
    found += [MetricDef(f"top{k}_accuracy", "TopKCategoricalAccuracy", {"k": k}) for k in (3, 5) if k < num_outputs]
    return found


def metric_names(spec: Any, flavour: Flavour = "rmlp") -> list[str]:
    """The validation metrics Keras logs for a spec's task (``val_loss`` first)."""
    names = [d.name for d in metric_defs(spec.task, spec.num_outputs, flavour)]
    return [f"val_{n}" for n in ["loss", *names]]


def make_metrics(spec: Any, flavour: Flavour = "rmlp") -> list[Any]:
    """The metrics of a spec's task as ``keras.metrics`` objects."""
    import keras

    return [getattr(keras.metrics, d.cls)(name=d.name, **d.kwargs)
            for d in metric_defs(spec.task, spec.num_outputs, flavour)]
