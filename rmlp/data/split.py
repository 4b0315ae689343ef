"""Splitting rows into training, validation and test sets, and the arrays a split gives.

The split fractions are settings like any other (:class:`SplitConfig`): the app, the command line
and the loaders read their defaults and bounds from there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rmlp.data.errors import DataError
from rmlp.spec.fields import Settings, setting


class SplitConfig(Settings):
    """How the rows are shared out: validation and test fractions (the rest trains)."""

    val_size: float = setting(
        0.15, label="Validation split",
        help="Share of the rows held out to validate after every epoch (early stopping watches it).",
        low=0.0, high=0.5, step=0.05,
    )
    test_size: float = setting(
        0.15, label="Test split", help="Share of the rows kept aside for the final test metrics.",
        low=0.0, high=0.5, step=0.05,
    )


#: The default fractions (the loaders' defaults).
SPLIT = SplitConfig()

#: The fewest rows a table's training set may have ...
MIN_TRAIN_ROWS = 10
#: ... and its validation and test sets, each when asked for (fewer give a score that is mostly noise).
MIN_HELD_OUT_ROWS = 3


def split_sizes(n: int, val_size: float, test_size: float) -> tuple[int, int, int]:
    """How many of ``n`` rows :func:`split_indices` puts in train, val and test (held-out parts round up)."""
    n_test = math.ceil(test_size * n) if test_size > 0 else 0
    rest = n - n_test
    n_val = math.ceil(val_size / (1 - test_size) * rest) if val_size > 0 else 0
    return rest - n_val, n_val, n_test


def min_split_rows(val_size: float, test_size: float) -> int:
    """The fewest rows that give every asked-for set its minimum (:data:`MIN_TRAIN_ROWS`, :data:`MIN_HELD_OUT_ROWS`)."""
    for n in range(MIN_TRAIN_ROWS, 100_000):
        train, val, test = split_sizes(n, val_size, test_size)
        if train >= MIN_TRAIN_ROWS and (val_size <= 0 or val >= MIN_HELD_OUT_ROWS) and (
            test_size <= 0 or test >= MIN_HELD_OUT_ROWS
        ):
            return n
    return 100_000


def check_split_rows(n: int, val_size: float, test_size: float, what: str = "The table") -> None:
    """Refuse ``n`` rows too few for a training set of :data:`MIN_TRAIN_ROWS` and held-out sets of
    :data:`MIN_HELD_OUT_ROWS` rows (fractions that cannot split at all are left to :func:`split_indices`)."""
    if not (0 <= val_size < 1 and 0 <= test_size < 1 and val_size + test_size < 1):
        return
    need = min_split_rows(val_size, test_size)
    if n >= need:
        return
    held = [f"{name} ({share:g})" for name, share in (("validation", val_size), ("test", test_size)) if share > 0]
    sets = (f" and {MIN_HELD_OUT_ROWS}+ rows each for {' and '.join(held)}" if held else "")
    raise DataError(
        f"{what} has {n} row{'s' if n != 1 else ''}, too few to train on: it needs at least {need} rows, "
        f"for {MIN_TRAIN_ROWS}+ training rows{sets}.",
        "Add rows. With fewer rows, keep fewer aside (--val-size and --test-size on the command line, "
        "val_size and test_size in Python; 0 keeps none, and gives no held-out score).",
        path="data.split",
    )


def split_indices(
    n: int,
    labels: np.ndarray | None = None,
    *,
    val_size: float = SPLIT.val_size,
    test_size: float = SPLIT.test_size,
    seed: int = 0,
    class_names: Sequence[Any] = (),
) -> dict[str, np.ndarray]:
    """Sorted row indices of the train / val / test splits, stratified when labels are given."""
    from sklearn.model_selection import train_test_split  # about 1 s to import: only when rows are split

    if not (0 <= val_size < 1 and 0 <= test_size < 1 and val_size + test_size < 1):
        raise DataError(
            f"The validation ({val_size}) and test ({test_size}) fractions must each be between "
            "0 and 1 and leave rows for training.",
            "Use fractions such as 0.15 and 0.15.",
            path="data.split",
        )
    parts = 1 + (val_size > 0) + (test_size > 0)
    if labels is not None:
        counts = np.bincount(labels, minlength=max(len(class_names), 1))
        few = [i for i, c in enumerate(counts) if 0 < c < parts]
        if few:
            names = [class_names[i] if i < len(class_names) else i for i in few]
            shown = ", ".join(
                f"{names[k]!r} ({counts[i]} row{'s' if counts[i] != 1 else ''})"
                for k, i in enumerate(few[:8])
            )
            raise DataError(
                f"Too few rows per class to split into training, validation and test sets with "
                f"every class in each: {shown}. Each class needs at least {parts} rows.",
                "Add rows for these classes, merge them into others, or remove their rows.",
                path="data.target",
            )
    rest, test = np.arange(n), np.arange(0)
    try:
        if test_size > 0:
            rest, test = train_test_split(
                rest, test_size=test_size, random_state=seed, stratify=labels
            )
        train, val = rest, np.arange(0)
        if val_size > 0:
            train, val = train_test_split(
                rest,
                test_size=val_size / (1 - test_size),
                random_state=seed,
                stratify=None if labels is None else labels[rest],
            )
    except ValueError as exc:
        raise DataError(
            f"The {n} rows cannot be split into training, validation and test sets: {exc}",
            "Use more rows, fewer classes, or larger validation and test fractions.",
            path="data.split",
        ) from exc
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


@dataclass
class SplitData:
    """Training, validation and test arrays (float32) of one task, with the class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[Any]

    @property
    def num_outputs(self) -> int:
        return len(self.class_names) if self.task == "multiclass" else 1


class Splits(Protocol):
    """What training and evaluation read of a data set: the three splits' arrays, the task, the class names and
    the shapes a design is fitted to.

    :class:`SplitData` (a table's or images') has them, and so has a teaching toy set
    (:class:`rmlp.learn.toys.ToyData`) or any object built with the same attributes.
    """

    @property
    def x_train(self) -> np.ndarray: ...
    @property
    def y_train(self) -> np.ndarray: ...
    @property
    def x_val(self) -> np.ndarray: ...
    @property
    def y_val(self) -> np.ndarray: ...
    @property
    def x_test(self) -> np.ndarray: ...
    @property
    def y_test(self) -> np.ndarray: ...
    @property
    def task(self) -> str: ...
    @property
    def class_names(self) -> Sequence[Any]: ...
    @property
    def input_shape(self) -> Sequence[int]: ...
    @property
    def num_outputs(self) -> int: ...
