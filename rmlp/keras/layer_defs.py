"""One definition per plan op of the packed ensembles and the feature embedding: built and exported alike.

Each entry of :data:`LAYER_DEFS` turns a plan node into a :class:`LayerCall`: the Keras callable by
its dotted name under ``keras`` and its arguments as plain values. The builder makes the layer from it
(:meth:`LayerCall.make`) and the exporter writes the same call as code (:mod:`rmlp.export.code`), so
the two cannot drift apart. Keras is imported only by :meth:`LayerCall.make`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rmlp.design.plan import Node

__all__ = ["LAYER_DEFS", "Initializer", "LayerCall", "layer_call"]


@dataclass(frozen=True)
class LayerCall:
    """``keras.<func>(*args, **kwargs)``; a ``ops.*`` function is applied to the tensor as it is."""

    func: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_op(self) -> bool:
        return self.func.startswith("ops.")

    def make(self) -> Any:
        """The Keras layer (or the ``keras.ops`` function) this call stands for."""
        import keras

        target: Any = keras
        for part in self.func.split("."):
            target = getattr(target, part)
        if self.is_op:
            return target
        kwargs = {k: v.make() if isinstance(v, Initializer) else v for k, v in self.kwargs.items()}
        return target(*self.args, **kwargs)


@dataclass(frozen=True)
class Initializer:
    """``keras.initializers.<name>(**config)``, as an argument of a :class:`LayerCall`."""

    name: str
    config: dict[str, Any]

    def make(self) -> Any:
        import keras

        return getattr(keras.initializers, self.name)(**self.config)


def _initializer(name: str, **config: Any) -> Initializer:
    return Initializer(name, config)


def _packed_kernel(node: Node) -> Initializer:
    """Glorot for a (members, in, out) kernel with one member's fans (axis 1 in, axis 2 out), so every member
    starts with a Dense layer's spread (EinsumDense would otherwise count the member axis as output units)."""
    normal = node.initializer == "glorot_normal"
    return _initializer("VarianceScaling", scale=1.0, mode="fan_avg",
                        distribution="truncated_normal" if normal else "uniform", seed=None,
                        input_axes=[1], output_axes=[2])


def _packed_dense(node: Node) -> LayerCall:
    """K members' Dense layers on a (batch, K, in) tensor: ``bki,kio->bko`` with a bias per member."""
    k = int(node.extra["members"])
    return LayerCall("layers.EinsumDense", ("bki,kio->bko",), {
        "output_shape": (k, int(node.units or 0)), "bias_axes": "ko", "activation": node.activation,
        "kernel_initializer": _packed_kernel(node), "name": node.name})


def _repeat(node: Node) -> LayerCall:
    """The features once per member: (batch, in) -> (batch, K, in)."""
    return LayerCall("layers.RepeatVector", (int(node.extra["members"]),), {"name": node.name})


def _periodic(node: Node) -> LayerCall:
    """Each feature times its own learned frequencies: (batch, F) -> (batch, F, n), no bias.

    The frequencies start from a normal of spread 2π·σ, so ``sin`` and ``cos`` of the result are the
    periodic embedding's ``sin(2π c x)`` and ``cos(2π c x)`` with ``c ~ N(0, σ)``.
    """
    features, n = node.shape
    return LayerCall("layers.EinsumDense", ("bf,fn->bfn",), {
        "output_shape": (features, n),
        "kernel_initializer": _initializer("RandomNormal", mean=0.0, stddev=2 * math.pi * node.extra["scale"],
                                           seed=None),
        "name": node.name})


def _feature_dense(node: Node) -> LayerCall:
    """A linear layer of its own per feature with ReLU: (batch, F, 2n) -> (batch, F, d)."""
    features, d = node.shape
    return LayerCall("layers.EinsumDense", ("bfi,fio->bfo",), {
        "output_shape": (features, d), "bias_axes": "fo", "activation": node.activation, "name": node.name})


def _sin(node: Node) -> LayerCall:
    return LayerCall("ops.sin")


def _cos(node: Node) -> LayerCall:
    return LayerCall("ops.cos")


#: The plan ops defined here, by op name (see :mod:`rmlp.design.plan`).
LAYER_DEFS: dict[str, Callable[[Node], LayerCall]] = {
    "repeat": _repeat,
    "packed_dense": _packed_dense,
    "periodic": _periodic,
    "sin": _sin,
    "cos": _cos,
    "feature_dense": _feature_dense,
}


def layer_call(node: Node) -> LayerCall | None:
    """The call for ``node`` when its op is defined here, else None."""
    make = LAYER_DEFS.get(node.op)
    return make(node) if make is not None else None
