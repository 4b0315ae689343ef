"""Fresh base models: a new Keras object with new weights for every build, frozen but for the last layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmlp.base.info import BaseInfo
from rmlp.base.loading import load_cut
from rmlp.spec.problems import Problem, SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

    from rmlp.spec.model import BaseModelSpec



def _freeze(model: keras.Model, trainable_layers: int) -> None:
    """Only the last ``trainable_layers`` layers of ``model.layers`` train; 0 freezes all."""
    if trainable_layers <= 0:
        model.trainable = False
        return
    model.trainable = True
    layers = model.layers
    for layer in layers[: max(len(layers) - trainable_layers, 0)]:
        layer.trainable = False


def make_base(base_spec: BaseModelSpec, info: BaseInfo | None = None) -> keras.Model:
    """A FRESH base model for the spec (a new object with new weights on every call), frozen.

    Applications models are built at ``input_size`` (or the default size) with the spec's pooling;
    file models are loaded safely and cut at ``cut_layer``. Then all layers of ``model.layers``
    but the last ``trainable_layers`` are frozen, so the parameters equal
    ``info.trainable_params(trainable_layers, pooling)``; the total is ``info.total_params``.
    """
    if base_spec.source == "file":
        model = load_cut(base_spec.path, base_spec.cut_layer)
        _freeze(model, base_spec.trainable_layers)
        return model

    import keras

    constructor = getattr(keras.applications, base_spec.name, None)
    if constructor is None or not callable(constructor):
        raise SpecError([Problem(
            path="base_model.name", severity="error",
            message=f"{base_spec.name!r} is not a keras.applications model.",
            fix="Pick one of the offered base models.",
        )], what="The base model")
    if base_spec.input_size:
        h, w = (int(v) for v in base_spec.input_size)
    elif info is not None:
        h, w = info.default_size
    else:
        raise SpecError([Problem(
            path="base_model.input_size", severity="error",
            message=f"The usual input size of {base_spec.name} is not known.",
            fix="Give the resize target (height, width).",
        )], what="The base model")
    pooling = None if base_spec.pooling == "none" else base_spec.pooling
    try:
        model = constructor(
            include_top=False,
            weights=None if base_spec.weights == "none" else "imagenet",
            input_shape=(h, w, 3),
            pooling=pooling,
        )
    except ValueError as exc:
        raise SpecError([Problem(
            path="base_model.input_size", severity="error",
            message=f"Keras refused to build {base_spec.name} at {h}×{w}: {exc}",
            fix="Resize to a size the model accepts (see its minimum size).",
        )], what="The base model") from None
    _freeze(model, base_spec.trainable_layers)
    return model
