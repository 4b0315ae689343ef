"""Setting the piecewise-linear embedding's bins from the training rows, before a model is fitted.

The embedding's first layer (``embed_bins``, an ``EinsumDense`` that is not trained) holds, per feature
and bin, the scale and offset that place a value in the bin; a model starts with bins for a feature
on a standard scale. :func:`set_bins` replaces them by bins between quantiles of the features as the
layer sees them in the training rows (:func:`rmlp.data.bins.embedding_weights`), as Keras's
``Normalization.adapt`` learns its statistics. The same rows always give the same bins, so a resumed
run sets what it had.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rmlp.data.bins import edge_rows, embedding_weights

__all__ = ["BINS_LAYER", "set_bins"]

#: The names of the layer that holds the bins and of the flatten before it (the plan's node names).
BINS_LAYER, FLATTEN_LAYER = "embed_bins", "flatten"


def _features(model: Any, layer: Any, x: np.ndarray) -> np.ndarray:
    """What ``layer`` receives for the rows ``x``: the rows themselves, flattened, when the plan's flatten
    (which the embedding follows) takes the model's input (a table), else the model's layers up to the
    embedding applied to them (a base model's features)."""
    import keras

    if any(lay.name == FLATTEN_LAYER and lay.input is model.inputs[0] for lay in model.layers):
        return np.asarray(x).reshape(len(x), -1)
    return np.asarray(keras.Model(model.inputs, layer.input).predict(x, batch_size=256, verbose=0))


def set_bins(model: Any, x: Any) -> bool:
    """Set ``model``'s piecewise-linear bins from the training rows ``x``; False when it has none."""
    layer = next((lay for lay in model.layers if lay.name == BINS_LAYER), None)
    if layer is None or x is None or len(x) == 0:
        return False
    rows = edge_rows(np.asarray(x))
    kernel, bias = embedding_weights(_features(model, layer, rows), int(layer.kernel.shape[-1]))
    layer.set_weights([kernel.astype(layer.kernel.dtype), bias.astype(layer.bias.dtype)])
    return True
