"""The spec's optimizer as a Keras object (the table of optimizers is :data:`rmlp.spec.model.OPTIMIZERS`)."""

from __future__ import annotations

from typing import Any

from rmlp.spec.model import OPTIMIZERS, ModelSpec

__all__ = ["cosine_schedule", "make_optimizer", "optimizer_kwargs"]


def optimizer_kwargs(spec: ModelSpec) -> dict[str, Any]:
    """The arguments the spec gives its optimizer."""
    opt = spec.optimizer
    kwargs: dict[str, Any] = {"learning_rate": opt.learning_rate}
    if opt.clipnorm:
        kwargs["clipnorm"] = opt.clipnorm
    if opt.weight_decay:
        kwargs["weight_decay"] = opt.weight_decay
    return kwargs


def make_optimizer(spec: ModelSpec, learning_rate: Any = None, **options: Any) -> Any:
    """The spec's optimizer; ``learning_rate`` (a number or a Keras schedule) replaces the spec's rate;
    ``options``: more arguments of the optimizer (a training recipe's, e.g. weight averaging)."""
    import keras

    kwargs = {**optimizer_kwargs(spec), **options}
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    return getattr(keras.optimizers, OPTIMIZERS[spec.optimizer.name].keras_class)(**kwargs)


def cosine_schedule(peak: float, steps: int, warmup: float = 0.0) -> Any:
    """Keras's CosineDecay: up from 0 to ``peak`` over the ``warmup`` share of ``steps``, then down to 0."""
    import keras

    steps = max(int(steps), 1)
    warm = int(round(steps * warmup))
    return keras.optimizers.schedules.CosineDecay(0.0 if warm else peak, decay_steps=max(steps - warm, 1),
                                                  warmup_target=peak if warm else None, warmup_steps=warm)
