"""Validating side-by-side members on their own held-out rows only.

An ensemble on folds validates member *k* on fold *k*. Fed the pooled rows, a packed (or shared)
model computes every member on every row and weighs all but one fold of that work by zero, so its
validation pass costs K networks over all rows. The held-out view is the same layers, with the same
weights, taking one row per member: inputs of shape (rows, members, features), where the model
repeats the features once per member it takes member *k*'s own row instead. It computes one network's
pass over the pooled rows and scores the same loss and metrics (the rows come from
:func:`rmlp.runs.folds.held_out_rows`, weighted so that the loss is the mean out-of-fold loss).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ONE_CALL_BYTES", "held_out_validation", "held_out_view"]

#: Held-out inputs up to this size are scored in one call.
ONE_CALL_BYTES = 16 * 2**20


def held_out_view(model: Any) -> Any | None:
    """The members model's layers on one row per member, compiled as it is; None where that does not apply.

    It applies to a compiled model with one input whose features are repeated once per member by one
    ``RepeatVector`` (a packed or shared ensemble); a model that averages its weights as it trains
    (``use_ema``) validates with the averaged weights, which Keras swaps in only for its own validation.
    """
    import keras
    from keras import ops

    repeats = [layer for layer in model.layers if isinstance(layer, keras.layers.RepeatVector)]
    optimizer = getattr(model, "optimizer", None)
    if len(repeats) != 1 or len(model.inputs) != 1 or not model.compiled or getattr(optimizer, "use_ema", False):
        return None
    members = int(repeats[0].n)
    source = model.inputs[0]
    rows = keras.Input(shape=(members, *source.shape[1:]), dtype=source.dtype, name=f"{source.name}_per_member")
    flat = ops.reshape(rows, (-1, *source.shape[1:]))  # member-major rows, as the layers before the repeat take them

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        args = keras.tree.map_structure(lambda t: flat if t is rows else t, args)
        if isinstance(layer, keras.layers.RepeatVector):  # each member's own row instead of a copy of one row
            return ops.reshape(args[0], (-1, members, *args[0].shape[1:]))
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, input_tensors=rows, clone_function=lambda layer: layer,
                                    call_function=call)


def held_out_validation(view: Any, x: Any, y: Any, weight: Any, batched: dict[str, Any] | None = None) -> Any:
    """A callback that adds the validation loss and metrics (``val_*``) to the epoch logs from ``view``.

    ``x``, ``y``, ``weight``: the held-out rows (:func:`rmlp.runs.folds.held_out_rows`), scored in one
    ``test_on_batch`` call: the same figures as ``evaluate`` for a third of its cost (it sets up a data
    iterator every epoch). ``batched``: ``evaluate``'s keyword arguments for rows too large for one call
    (over :data:`ONE_CALL_BYTES` of inputs), scored in batches instead. It stands in for fit's own
    validation, so it goes first in the callback list: every later callback sees the ``val_*`` values as
    fit would have given them.
    """
    import keras

    def scores() -> dict[str, Any]:
        if batched is None:
            return view.test_on_batch(x, y, sample_weight=weight, return_dict=True)
        return view.evaluate(**batched, verbose=0, return_dict=True)

    def validate(epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs.update({f"val_{name}": float(value) for name, value in scores().items()})

    return keras.callbacks.LambdaCallback(on_epoch_end=validate)
