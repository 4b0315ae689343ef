"""Toy data sets for teaching: five 2-D classification sets and one 1-D regression curve, seeded.

Every set is made with NumPy alone, in milliseconds: points in about [-1, 1] (so a tiny network needs no
input scaling), float32 arrays, a training and a validation share. :class:`ToyData` has the attributes
:func:`rmlp.runs.train.train` reads (an empty test split), so a toy set can also train a full run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["TOYS", "ToyData", "make_toy", "plane"]

#: The toy sets, in the order the app offers them ("curve" is a 1-D regression).
TOYS = ("spirals", "circles", "xor", "moons", "checkerboard", "curve")
ToyName = Literal["spirals", "circles", "xor", "moons", "checkerboard", "curve"]

_EMPTY_X = np.zeros((0, 2), dtype=np.float32)
_EMPTY_Y = np.zeros((0, 1), dtype=np.float32)


@dataclass
class ToyData:
    """One toy set split into training and validation rows (x: (n, 2), or (n, 1) for the curve; y: (n, 1))."""

    name: str
    task: Literal["binary", "regression"]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_names: list[str] = field(default_factory=list)
    x_test: np.ndarray = field(default_factory=lambda: _EMPTY_X)
    y_test: np.ndarray = field(default_factory=lambda: _EMPTY_Y)

    @property
    def input_shape(self) -> list[int]:
        """[2] for the plane sets, [1] for the curve."""
        return [int(self.x_train.shape[1])]

    @property
    def num_outputs(self) -> int:
        return 1


Maker = Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]


def _spirals(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals wound one and three quarter turns around each other (as TensorFlow Playground draws them)."""
    labels = np.arange(n) % 2
    r = rng.uniform(0.05, 1.0, n)
    t = 1.75 * 2 * np.pi * r + np.pi * labels
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x + rng.normal(0, noise * 0.5, x.shape), labels


def _circles(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A disc (class 1) inside a ring (class 0)."""
    labels = np.arange(n) % 2
    r = np.where(labels == 1, rng.uniform(0.0, 0.45, n), rng.uniform(0.65, 1.0, n))
    t = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x + rng.normal(0, noise * 0.5, x.shape), labels


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrants: class 1 where both coordinates have the same sign."""
    x = rng.uniform(-1, 1, (n, 2))
    x += np.sign(x) * 0.05  # a small gap at the axes
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)
    return x + rng.normal(0, noise * 0.5, x.shape), labels


def _moons(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles."""
    labels = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(labels[:, None] == 0, upper, lower)
    x = (x - [0.5, 0.25]) / 1.5
    return x + rng.normal(0, noise * 0.5, x.shape), labels


def _checkerboard(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A 4×4 board of alternating squares."""
    x = rng.uniform(-1, 1, (n, 2))
    cells = np.floor((x + 1) * 2).astype(int)
    labels = (cells.sum(axis=1) % 2).astype(int)
    return x + rng.normal(0, noise * 0.5, x.shape), labels


def _curve(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A wavy curve y = sin(3x) · 0.6 + 0.3 x plus noise (x in [-1, 1])."""
    x = rng.uniform(-1, 1, (n, 1))
    y = 0.6 * np.sin(3 * x[:, 0]) + 0.3 * x[:, 0]
    return x, y + rng.normal(0, noise, n)


_MAKERS: dict[str, Maker] = {"spirals": _spirals, "circles": _circles, "xor": _xor, "moons": _moons,
                             "checkerboard": _checkerboard, "curve": _curve}
_CLASSES: dict[str, list[str]] = {"spirals": ["spiral A", "spiral B"], "circles": ["ring", "disc"],
                                  "xor": ["opposite signs", "same sign"], "moons": ["upper moon", "lower moon"],
                                  "checkerboard": ["dark square", "light square"], "curve": []}


def make_toy(name: str, samples: int = 400, noise: float = 0.1, seed: int = 0, val_share: float = 0.25) -> ToyData:
    """The toy set ``name`` (one of :data:`TOYS`): ``samples`` points, the same ones for the same seed.

    ``noise`` is the spread of the Gaussian jitter (in units of the plane's half width; for the curve, of y).
    """
    if name not in _MAKERS:
        raise ValueError(f"Unknown toy data set {name!r}; choose one of {', '.join(TOYS)}.")
    if samples < 4:
        raise ValueError(f"A toy data set needs at least 4 samples (got {samples}).")
    if not 0 < val_share < 1:
        raise ValueError(f"The validation share must lie between 0 and 1 (got {val_share}).")
    rng = np.random.default_rng(seed)
    x, y = _MAKERS[name](rng, samples, max(float(noise), 0.0))
    order = rng.permutation(samples)
    x, y = x[order].astype(np.float32), np.asarray(y, dtype=np.float32)[order].reshape(-1, 1)
    n_val = min(max(1, round(samples * val_share)), samples - 1)
    task: Literal["binary", "regression"] = "regression" if name == "curve" else "binary"
    return ToyData(name, task, x[n_val:], y[n_val:], x[:n_val], y[:n_val], list(_CLASSES[name]),
                   x_test=np.zeros((0, x.shape[1]), dtype=np.float32))


def plane(data: ToyData, size: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes (xs, ys) of ``size`` points each covering all points with a margin (curve: xs only, ys empty)."""
    x = np.concatenate([data.x_train, data.x_val])
    low, high = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-6)
    axes = [np.linspace(lo - p, hi + p, size, dtype=np.float32) for lo, hi, p in zip(low, high, pad, strict=True)]
    if len(axes) == 1:
        return axes[0], np.zeros(0, dtype=np.float32)
    return axes[0], axes[1]


def grid_points(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The points of the grid over ``xs``×``ys`` as rows (y-major: row i is ys[i]); xs as a column if ys is empty."""
    if ys.size == 0:
        return xs.reshape(-1, 1).astype(np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
