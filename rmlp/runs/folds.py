"""The rows each ensemble member fits on: the same training rows, or one fold each held out.

With ``TrainConfig.ensemble_folds`` an ensemble pools the training and validation rows and splits
them into one fold per member (stratified by class). Member *k* trains on every fold but *k* and is
validated on fold *k*, so together the members learn from every row, and the validation score that
early stopping and "keep the best epoch" watch is an out-of-fold score over all pooled rows rather
than one over the small validation split. A search trial of an ensemble design deals its rows the same
way (:mod:`rmlp.search.objective`), so designs are ranked on that out-of-fold score too.

The members still train side by side in one Keras model on one loss: a member's share of it is set
by per-member sample weights (0 on its held-out fold). The weights are scaled so that their mean
is 1, which keeps the loss on the scale of one member's mean loss; the validation loss is then
exactly the mean out-of-fold loss. Members computed side by side (packed or shared) are validated on
their own folds only (:func:`held_out_rows`, read by :mod:`rmlp.keras.held_out`), one network's pass
over the pooled rows instead of K. NumPy only: no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rmlp.keras.build import repeat_for_members
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits

__all__ = ["FoldSettings", "MemberRows", "fold_of_rows", "fold_weights", "held_out_rows", "member_rows", "rows_fitted",
           "uses_folds"]


class FoldSettings(Protocol):
    """What dealing rows to members reads from a run's (or a search's) settings."""

    ensemble_folds: bool
    seed: int


def _rows(x: Any) -> int:
    return 0 if x is None else len(x)


def uses_folds(spec: ModelSpec, config: FoldSettings, data: Splits | None) -> bool:
    """Whether this run trains its members on folds: an ensemble, the setting on, a row per member at least."""
    pooled = _rows(getattr(data, "x_train", None)) + _rows(getattr(data, "x_val", None))
    return bool(config.ensemble_folds and spec.ensemble > 1 and pooled >= spec.ensemble)


def rows_fitted(spec: ModelSpec, config: FoldSettings, data: Splits | None) -> int:
    """Rows one epoch goes through: the training rows, or the pooled rows with folds."""
    rows = _rows(getattr(data, "x_train", None))
    return rows + _rows(getattr(data, "x_val", None)) if uses_folds(spec, config, data) else rows


def _codes(y: np.ndarray) -> np.ndarray:
    """A class code per row for stratifying (one-hot or 0/1 targets), zeros for a regression target."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    flat = y.reshape(len(y), -1)[:, 0]
    return flat.astype(int) if np.all((flat == 0) | (flat == 1)) else np.zeros(len(y), dtype=int)


def fold_of_rows(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The fold (0 … k-1) of every row: shuffled with ``seed``, then dealt out class by class.

    Dealing each class's rows round-robin gives every fold about the same class shares, so no
    member is validated on a fold without a rare class it trained on (or the other way round).
    """
    y = np.asarray(y)
    order = np.random.default_rng(int(seed)).permutation(len(y))
    order = order[np.argsort(_codes(y)[order], kind="stable")]
    folds = np.empty(len(y), dtype=np.int64)
    folds[order] = np.arange(len(y)) % int(k)
    return folds


def fold_weights(folds: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row, per-member training and validation weights (rows × k), each with mean 1."""
    held = folds[:, None] == np.arange(int(k))[None, :]
    train = np.where(held, 0.0, k / (k - 1)).astype("float32")
    val = np.where(held, float(k), 0.0).astype("float32")
    return train, val


def held_out_rows(x: np.ndarray, y: np.ndarray, folds: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Each member's held-out rows side by side: inputs (rows, k, …), targets (rows, k, …), weights (rows, k).

    Row *i* of member *j* is the *i*-th row of fold *j*; ``y`` holds the targets repeated per member.
    Shorter folds are padded with their first row at weight 0. The weights of real rows make the loss
    (Keras's weighted sum over all entries) the mean out-of-fold loss, as :func:`fold_weights` does.
    """
    k = int(k)
    rows = [np.flatnonzero(folds == j) for j in range(k)]
    n = max(len(r) for r in rows)
    index = np.stack([np.pad(r, (0, n - len(r)), mode="edge") for r in rows], axis=1)
    real = np.arange(n)[:, None] < np.array([len(r) for r in rows])[None, :]
    weight = np.where(real, n * k / len(folds), 0.0).astype("float32")
    return np.asarray(x)[index], np.asarray(y)[index, np.arange(k)[None, :]], weight


@dataclass(frozen=True)
class MemberRows:
    """What ``fit`` gets: inputs, targets (repeated per member) and weights, and the validation rows alike.

    ``held_out``: for members computed side by side on folds, each member's own validation rows
    (:func:`held_out_rows`), to validate with :func:`rmlp.keras.held_out.held_out_view`.
    """

    x: Any
    y: Any
    weight: Any = None
    validation: tuple[Any, ...] | None = None
    held_out: tuple[Any, ...] | None = None


def member_rows(spec: ModelSpec, config: FoldSettings, data: Splits) -> MemberRows:
    """The rows, targets and weights an ensemble (or a single network) is fitted and validated on."""
    has_val = _rows(getattr(data, "x_val", None)) > 0
    if not uses_folds(spec, config, data):
        val = (data.x_val, repeat_for_members(data.y_val, spec)) if has_val else None
        return MemberRows(data.x_train, repeat_for_members(data.y_train, spec), None, val)
    x = np.concatenate([data.x_train, data.x_val]) if has_val else np.asarray(data.x_train)
    y = np.concatenate([data.y_train, data.y_val]) if has_val else np.asarray(data.y_train)
    folds = fold_of_rows(y, spec.ensemble, config.seed)
    train_w, val_w = fold_weights(folds, spec.ensemble)
    y = repeat_for_members(y, spec)
    held_out = held_out_rows(x, y, folds, spec.ensemble) if spec.members_side_by_side() else None
    return MemberRows(x, y, train_w, (x, y, val_w), held_out)
