"""Feeding arrays to ``model.fit``: one cached, reshuffled ``tf.data`` pipeline instead of NumPy slicing.

Keras slices NumPy arrays into a new pipeline on every epoch, which on a small table costs more
than the training steps themselves (about 70 ms an epoch on a 150-row table against 25 ms with a
cached dataset). A search that trains hundreds of short runs, and a default recipe of a few
hundred epochs, spend most of their time there. Large arrays (images) stay NumPy, so they are not
held twice in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CACHE_LIMIT_BYTES", "fit", "inputs"]

#: Arrays larger than this (inputs and targets together) are fed from NumPy as before.
CACHE_LIMIT_BYTES = 256 * 2**20


def _cached(*arrays: Any) -> bool:
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    try:
        return sum(int(np.asarray(a).nbytes) for a in arrays if a is not None) <= CACHE_LIMIT_BYTES
    except (TypeError, ValueError):
        return False


def inputs(x: Any, y: Any, batch_size: int, *, shuffle: bool, seed: int = 0, weight: Any = None) -> dict[str, Any]:
    """Keyword arguments of ``model.fit``/``evaluate`` that feed ``x``, ``y`` (and per-row ``weight``) in batches."""
    if not _cached(x, y, weight):
        extra = {"sample_weight": weight} if weight is not None else {}
        return {"x": x, "y": y, "batch_size": int(batch_size), **extra, **({"shuffle": True} if shuffle else {})}
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y) if weight is None else (x, y, weight)).cache()
    if not shuffle:
        return {"x": data.batch(int(batch_size)).prefetch(2)}
    data = data.shuffle(len(x), seed=int(seed), reshuffle_each_iteration=True)
    # The dataset reshuffles itself each epoch; Keras's own shuffle flag only applies to arrays.
    return {"x": data.batch(int(batch_size)).prefetch(2), "shuffle": False}


def fit(model: Any, x: Any, y: Any, *, batch_size: int, validation: tuple[Any, ...] | None = None, seed: int = 0,
        sample_weight: Any = None, held_out: tuple[Any, ...] | None = None, **kwargs: Any) -> Any:
    """``model.fit`` on ``x``, ``y`` (shuffled each epoch) with ``validation`` rows; Keras's History.

    ``sample_weight`` weighs each training row's loss; ``validation`` is ``(x, y)`` or ``(x, y, weight)``.
    ``held_out``: the same validation dealt one row per member (:func:`rmlp.runs.folds.held_out_rows`),
    scored through :func:`rmlp.keras.held_out.held_out_view` where the model allows it (the same values
    for a fraction of the work). A piecewise-linear embedding's bins are set from ``x`` first
    (:func:`rmlp.keras.bins.set_bins`).
    """
    from rmlp.keras.bins import set_bins
    from rmlp.keras.held_out import ONE_CALL_BYTES, held_out_validation, held_out_view

    set_bins(model, x)

    val_batch = max(int(batch_size), 256)
    val = None
    if held_out is not None and (view := held_out_view(model)) is not None:
        x_held, y_held, weight_held = held_out
        batched = (None if np.asarray(x_held).nbytes <= ONE_CALL_BYTES else
                   inputs(x_held, y_held, val_batch, shuffle=False, weight=weight_held))
        kwargs["callbacks"] = [held_out_validation(view, x_held, y_held, weight_held, batched),
                               *(kwargs.get("callbacks") or [])]
    elif validation is not None:
        fed = inputs(validation[0], validation[1], val_batch, shuffle=False,
                     weight=validation[2] if len(validation) > 2 else None)
        val = fed["x"] if "y" not in fed else (fed["x"], fed["y"], *(
            [fed["sample_weight"]] if "sample_weight" in fed else []))
    return model.fit(**inputs(x, y, batch_size, shuffle=True, seed=seed, weight=sample_weight), validation_data=val,
                     verbose=0, **kwargs)
