"""Every metric rmlp logs or reports, once: which way is better, its name in words, which task reports it.

Pure Python (no TensorFlow): the search picks its direction here, the collapse check and the app
compare with :func:`better`, the evaluation lists its keys from here, and ``rmlp.keras.metrics``
makes Keras objects for the rows it logs. A name may carry a ``val_`` or ``test_`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Goal = Literal["minimize", "maximize"]
TaskKind = Literal["classification", "regression"]

__all__ = ["METRICS", "Goal", "MetricFacts", "better", "direction", "display_name", "evaluated_metrics",
           "metric_facts", "task_of_metrics"]


@dataclass(frozen=True)
class MetricFacts:
    """One metric: its name as logged (no prefix), which way is better, its name in words, its tasks."""

    name: str
    goal: Goal
    label: str
    #: The kinds of task that report it (empty: every task).
    tasks: tuple[TaskKind, ...] = ()
    #: Whether :func:`rmlp.keras.evaluate.evaluate` computes it on held-out rows.
    evaluated: bool = False


_C: tuple[TaskKind, ...] = ("classification",)
_R: tuple[TaskKind, ...] = ("regression",)

#: The table, in the order the app shows the headline numbers (each task's rows, then the loss).
METRICS: dict[str, MetricFacts] = {m.name: m for m in (
    MetricFacts("accuracy", "maximize", "accuracy", _C, evaluated=True),
    MetricFacts("precision", "maximize", "precision", _C, evaluated=True),
    MetricFacts("recall", "maximize", "recall", _C, evaluated=True),
    MetricFacts("f1", "maximize", "F1 score", _C, evaluated=True),
    MetricFacts("auc", "maximize", "ROC AUC", _C, evaluated=True),
    MetricFacts("top3_accuracy", "maximize", "top-3 accuracy", _C),
    MetricFacts("top5_accuracy", "maximize", "top-5 accuracy", _C),
    MetricFacts("rmse", "minimize", "RMSE", _R, evaluated=True),
    MetricFacts("mae", "minimize", "MAE", _R, evaluated=True),
    MetricFacts("r2", "maximize", "R²", _R, evaluated=True),
    MetricFacts("loss", "minimize", "loss"),
    MetricFacts("score", "minimize", "score (error rate, ties broken by the loss)"),
)}

_PREFIXES = {"val_": "validation ", "test_": "test "}
_TOP_K = re.compile(r"top_?(\d+)_accuracy")


def _split(metric: str) -> tuple[str, str]:
    """(prefix in words, bare name) of a metric name such as ``val_accuracy``."""
    for prefix, words in _PREFIXES.items():
        if metric.startswith(prefix):
            return words, metric.removeprefix(prefix)
    return "", metric


def metric_facts(metric: str) -> MetricFacts | None:
    """The table's row for ``metric`` (prefix allowed; the original API's ``top_<k>_accuracy`` too), or None."""
    name = _split(metric)[1]
    if name in METRICS:
        return METRICS[name]
    if match := _TOP_K.fullmatch(name):
        return MetricFacts(name, "maximize", f"top-{match.group(1)} accuracy", _C)
    return None


def direction(metric: str) -> Goal:
    """'maximize' or 'minimize'; a name not in the table is treated as a loss (lower is better)."""
    found = metric_facts(metric)
    return found.goal if found else "minimize"


def better(metric: str, a: float, b: float) -> bool:
    """Whether the value ``a`` of ``metric`` is strictly better than ``b``."""
    return a > b if direction(metric) == "maximize" else a < b


def display_name(metric: str) -> str:
    """The metric in words: ``val_score`` -> 'validation score (error rate, ...)', ``rmse`` -> 'RMSE'."""
    words, name = _split(metric)
    found = metric_facts(metric)
    return words + (found.label if found else name.replace("_", " "))


def evaluated_metrics(task: str) -> tuple[str, ...]:
    """The metrics the evaluation reports for a task (``binary``/``multiclass`` are classification)."""
    kind = "regression" if task == "regression" else "classification"
    return tuple(m.name for m in METRICS.values() if m.evaluated and kind in m.tasks)


def task_of_metrics(names: Iterable[str]) -> TaskKind:
    """'regression' when the metric names include one only regression reports, else 'classification'."""
    return "regression" if any((m := metric_facts(str(n))) and m.tasks == _R for n in names) else "classification"
