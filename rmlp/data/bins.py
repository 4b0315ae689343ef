"""Quantile bins of a number column, and the piecewise-linear encoding over them, as plain NumPy.

A column's bins lie between quantiles of its training values; its encoding has one value per bin:
0 below the bin, 1 above it, the position inside it. The data-side encoding
(:class:`rmlp.data.preprocessor.EncodingConfig`'s ``numeric_bins``) and the model's piecewise-linear
embedding (a fixed ``EinsumDense`` whose weights :func:`bin_weights` gives, then a clip to [0, 1]) read
the same edges from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

__all__ = ["EDGE_ROWS", "bin_weights", "edge_rows", "embedding_weights", "normal_edges", "quantile_edges"]

#: Rows of a large training set the embedding's edges are taken from (every k-th row): quantiles need no more.
EDGE_ROWS = 20_000


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """The distinct quantiles of ``values`` at 0, 1/bins, ..., 1: at most ``bins`` + 1 edges (fewer when values
    repeat; one for a constant column)."""
    return np.unique(np.quantile(np.asarray(values, dtype="float64"), np.linspace(0.0, 1.0, bins + 1)))


def normal_edges(bins: int, bound: float = 3.0) -> list[float]:
    """Edges for a feature on a standard scale when no data is at hand: the normal quantiles at 1/bins, ...,
    (bins - 1)/bins, between ``-bound`` and ``bound`` (the soft clip of a scaled number; the inner quantiles
    lie within ±2.5 for the at most 128 bins a design may have)."""
    return [-bound, *[NormalDist().inv_cdf(t / bins) for t in range(1, bins)], bound]


def bin_weights(edges: Sequence[float] | np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, offset)`` of length ``bins`` such that ``x * scale + offset`` is 0 at a bin's low edge and 1 at
    its high edge; bins beyond the edges' count are 0 everywhere (scale and offset 0)."""
    at = np.asarray(edges, dtype="float64")
    scale, offset = np.zeros(bins), np.zeros(bins)
    m = min(len(at) - 1, bins)
    if m > 0:
        width = at[1:m + 1] - at[:m]
        scale[:m], offset[:m] = 1.0 / width, -at[:m] / width
    return scale, offset


def edge_rows(x: np.ndarray) -> np.ndarray:
    """At most :data:`EDGE_ROWS` rows of ``x``, every k-th: enough for quantiles."""
    return x[:: max(1, -(-len(x) // EDGE_ROWS))]


def embedding_weights(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The piecewise-linear embedding's (kernel, bias), each features × bins, from the training rows ``x``
    (rows × features)."""
    x = np.asarray(x, dtype="float64").reshape(len(x), -1)
    pairs = [bin_weights(quantile_edges(x[:, j], bins), bins) for j in range(x.shape[1])]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
