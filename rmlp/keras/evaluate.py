"""Test-split metrics of a trained model, as plain JSON-serialisable numbers (scikit-learn).

Classification: accuracy, precision, recall, F1 (macro averages for multiclass), ROC AUC
(binary; one-vs-rest macro for multiclass) and the confusion matrix with its class names.
Regression: RMSE, MAE and R². A value that cannot be computed (AUC with one class present,
R² of a single row) is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics as skm

from rmlp.spec.metrics import evaluated_metrics

if TYPE_CHECKING:
    from rmlp.data.split import Splits

CLASSIFICATION_KEYS = (*evaluated_metrics("classification"), "confusion_matrix", "class_names")
REGRESSION_KEYS = evaluated_metrics("regression")


def _num(value: Any) -> float | None:
    """A plain float, or None for NaN / infinity."""
    value = float(value)
    return value if math.isfinite(value) else None


def _class_indices(y: np.ndarray, task: str) -> np.ndarray:
    """Integer class indices from one-hot, probability or 0/1 arrays."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype(np.int64)
    flat = y.reshape(len(y))
    if task == "binary" and not np.issubdtype(flat.dtype, np.integer):
        return (flat >= 0.5).astype(np.int64)
    return flat.astype(np.int64)


def _positive_scores(pred: np.ndarray) -> np.ndarray:
    """Probability of the positive class from a sigmoid column or a two-column softmax."""
    pred = np.asarray(pred, dtype=np.float64)
    return pred.reshape(len(pred), -1)[:, -1]


def classification_metrics(y_true: np.ndarray, y_prob: np.ndarray, task: str,
                           class_names: Sequence[Any] | None = None) -> dict[str, Any]:
    """Metrics of predicted probabilities ``y_prob`` against labels ``y_true`` (one-hot or indices)."""
    y_prob = np.asarray(y_prob, dtype=np.float64)
    truth = _class_indices(y_true, task)
    if task == "binary":
        k = 2
        scores = _positive_scores(y_prob)
        pred = (scores >= 0.5).astype(np.int64)
        average = "binary"
    else:
        k = y_prob.shape[1] if y_prob.ndim == 2 else int(max(truth.max(initial=0), 1) + 1)
        pred = np.argmax(y_prob, axis=1) if y_prob.ndim == 2 else y_prob.astype(np.int64)
        average = "macro"
    names = list(class_names) if class_names else list(range(k))
    labels = list(range(k))
    out: dict[str, Any] = {
        "accuracy": _num(skm.accuracy_score(truth, pred)),
        "precision": _num(skm.precision_score(truth, pred, average=average, labels=None if task == "binary"
                                              else labels, zero_division=0)),
        "recall": _num(skm.recall_score(truth, pred, average=average, labels=None if task == "binary"
                                        else labels, zero_division=0)),
        "f1": _num(skm.f1_score(truth, pred, average=average, labels=None if task == "binary" else labels,
                                zero_division=0)),
        "auc": None,
        "confusion_matrix": skm.confusion_matrix(truth, pred, labels=labels).astype(int).tolist(),
        "class_names": [n if isinstance(n, (int, float, bool)) else str(n) for n in names],
    }
    try:
        if len(np.unique(truth)) < 2:
            return out  # one class only: AUC is undefined
        if task == "binary":
            out["auc"] = _num(skm.roc_auc_score(truth, scores))
        elif y_prob.ndim == 2:
            sums = y_prob.sum(axis=1, keepdims=True)
            probs = y_prob if np.allclose(sums, 1.0) else y_prob / np.clip(sums, 1e-12, None)
            out["auc"] = _num(skm.roc_auc_score(truth, probs, multi_class="ovr", average="macro",
                                                labels=labels))
    except ValueError:
        out["auc"] = None  # a class missing from the split: AUC is undefined
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and R² (averaged over outputs when there are several)."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    mse = skm.mean_squared_error(y_true, y_pred)
    r2 = skm.r2_score(y_true, y_pred) if len(y_true) >= 2 else float("nan")
    return {"rmse": _num(math.sqrt(mse)), "mae": _num(skm.mean_absolute_error(y_true, y_pred)), "r2": _num(r2)}


def metrics_for(y_true: np.ndarray, pred: np.ndarray, task: str,
                class_names: Sequence[Any] | None = None) -> dict[str, Any]:
    """Regression or classification metrics of model outputs ``pred``, by task."""
    if task == "regression":
        return regression_metrics(y_true, pred)
    return classification_metrics(y_true, pred, task, class_names)


def predict(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Model outputs for ``x``, calling the model eagerly batch by batch (inference mode).

    Cheaper than ``model.predict`` for one pass: nothing is traced, so there is no compile step.
    """
    x = np.asarray(x)
    parts = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0,), dtype=np.float32)


def evaluate(model: Any, data: Splits, task: str | None = None, class_names: Sequence[Any] | None = None,
             split: str = "test", batch_size: int = 256) -> dict[str, Any]:
    """Metrics of ``model`` on one split of ``data`` (``x_<split>``/``y_<split>``); task from data if None.

    The result also holds ``split`` and ``n`` (rows). An empty split gives only those two keys.
    """
    task = task or getattr(data, "task", None) or "multiclass"
    if class_names is None:
        class_names = getattr(data, "class_names", None)
    x = np.asarray(getattr(data, f"x_{split}"))
    y = np.asarray(getattr(data, f"y_{split}"))
    out: dict[str, Any] = {"split": split, "n": int(len(x))}
    if len(x):
        out.update(metrics_for(y, predict(model, x, batch_size), task, class_names))
    return out
