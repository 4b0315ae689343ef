"""The layer table: one row per plan op, from which the builder makes layers and the exporter writes code.

:func:`layer_def` gives each op of :data:`rmlp.design.plan.Op` its :class:`LayerDef`: what kind of thing
the op is, how its layer takes its inputs, and for a layer (or a ``keras.ops`` function) the
:class:`LayerCall` of a plan node: the Keras callable by its dotted name under ``keras`` and its
arguments as plain values. The builder makes the layer from it (:meth:`LayerCall.make`) and the
exporter writes the same call as code (:mod:`rmlp.export.code`), so the two cannot drift apart.
:func:`layer_def` matches every op and ends in :func:`typing.assert_never`, so an op without a row is a
type error (and fails at import). Keras is imported only by :meth:`LayerCall.make`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, assert_never, get_args

from rmlp.base.preprocess import CAFFE_MEAN_BGR, TORCH_MEAN_RGB, TORCH_STD_RGB
from rmlp.data.bins import bin_weights, normal_edges
from rmlp.design.plan import Node, Op

__all__ = ["LAYER_DEFS", "Initializer", "Inputs", "Kind", "LayerCall", "LayerDef", "layer_call", "layer_def",
           "preprocess_layer"]

#: What a row stands for. ``layer``: a Keras layer made from the row's call; ``function``: a ``keras.ops``
#: function applied to the tensor as it is; ``input``: the model's ``keras.Input`` (no layer call);
#: ``base``: the nested base model, which :func:`rmlp.base.make.make_base` builds and the exporter writes
#: as lines of its own (create, freeze, apply).
Kind = Literal["layer", "function", "input", "base"]
#: How the layer takes the node's inputs: the one tensor; all of them as a list (a Concatenate); the one
#: tensor three times as a list (grayscale to RGB: the channel repeated).
Inputs = Literal["one", "list", "three"]

T = TypeVar("T")


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
    """``keras.initializers.<name>(*args, **config)``, as an argument of a :class:`LayerCall`."""

    name: str
    config: dict[str, Any]
    args: tuple[Any, ...] = ()

    def make(self) -> Any:
        import keras

        return getattr(keras.initializers, self.name)(*self.args, **self.config)


def _initializer(name: str, *args: Any, **config: Any) -> Initializer:
    return Initializer(name, config, args)


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


def _member_scale(node: Node) -> LayerCall:
    """A shared-weight ensemble's members: each feature times a learned scale of each member, (batch, K, F) in and
    out, no bias. The scales start from a standard normal (random signs, sizes about 1), so the members see the
    features differently from the first step, as TabM starts its members from random signs."""
    k, features = node.shape
    return LayerCall("layers.EinsumDense", ("bkf,kf->bkf",), {
        "output_shape": (k, features),
        "kernel_initializer": _initializer("RandomNormal", mean=0.0, stddev=1.0, seed=None), "name": node.name})


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


def _bins(node: Node) -> LayerCall:
    """Each feature's position in each of its bins, ``x * scale + offset`` per feature and bin: (batch, F) ->
    (batch, F, n), weights fixed (not trained). They start from bins between normal quantiles
    (:func:`rmlp.data.bins.normal_edges`, as for a scaled feature); training sets them from the training rows'
    quantiles (:func:`rmlp.keras.bins.set_bins`)."""
    features, n = node.shape
    scale, offset = bin_weights(normal_edges(n), n)
    return LayerCall("layers.EinsumDense", ("bf,fn->bfn",), {
        "output_shape": (features, n), "bias_axes": "fn", "trainable": False,
        "kernel_initializer": _initializer("Constant", [round(float(v), 6) + 0.0 for v in scale]),
        "bias_initializer": _initializer("Constant", [round(float(v), 6) + 0.0 for v in offset]), "name": node.name})


def _unit_clip(node: Node) -> LayerCall:
    """Values clipped to [0, 1] (a ReLU capped at 1): below a bin 0, above it 1."""
    return LayerCall("layers.ReLU", (), {"max_value": 1.0, "name": node.name})


def _feature_dense(node: Node) -> LayerCall:
    """A linear layer of its own per feature with ReLU: (batch, F, values) -> (batch, F, d), the values being an
    embedding's sines and cosines or its bins."""
    features, d = node.shape
    return LayerCall("layers.EinsumDense", ("bfi,fio->bfo",), {
        "output_shape": (features, d), "bias_axes": "fo", "activation": node.activation, "name": node.name})


def _feature_scale(node: Node) -> LayerCall:
    """A learned factor per value, starting at 1: (batch, F) in and out, no bias."""
    (features,) = node.shape
    return LayerCall("layers.EinsumDense", ("bf,f->bf",), {
        "output_shape": (features,), "kernel_initializer": _initializer("Ones"), "name": node.name})


def _sin(node: Node) -> LayerCall:
    return LayerCall("ops.sin")


def _cos(node: Node) -> LayerCall:
    return LayerCall("ops.cos")


def _dense(node: Node) -> LayerCall:
    kwargs: dict[str, Any] = {"activation": node.activation}
    if node.initializer:
        kwargs["kernel_initializer"] = node.initializer
    return LayerCall("layers.Dense", (node.units,), {**kwargs, "name": node.name})


def _batchnorm(node: Node) -> LayerCall:
    return LayerCall("layers.BatchNormalization", (), {"name": node.name})


def _dropout(node: Node) -> LayerCall:
    return LayerCall("layers.Dropout", (node.rate,), {"name": node.name})


def _concat(node: Node) -> LayerCall:
    """The inputs joined along their last axis (also the grayscale channel taken three times)."""
    return LayerCall("layers.Concatenate", (), {"axis": -1, "name": node.name})


def _stack(node: Node) -> LayerCall:
    """The members' (1, outputs) rows stacked into (members, outputs)."""
    return LayerCall("layers.Concatenate", (), {"axis": 1, "name": node.name})


def _average(node: Node) -> LayerCall:
    """The members' mean: (members, outputs) -> (outputs,)."""
    return LayerCall("layers.GlobalAveragePooling1D", (), {"name": node.name})


def _flatten(node: Node) -> LayerCall:
    return LayerCall("layers.Flatten", (), {"name": node.name})


def _reshape(node: Node) -> LayerCall:
    return LayerCall("layers.Reshape", (tuple(node.shape),), {"name": node.name})


def _rescale(node: Node) -> LayerCall:
    """Back to the target's units: ``x * scale + offset``."""
    return LayerCall("layers.Rescaling", (node.extra["scale"],), {"offset": node.extra["offset"], "name": node.name})


def _resize(node: Node) -> LayerCall:
    return LayerCall("layers.Resizing", (node.extra["height"], node.extra["width"]), {"name": node.name})


def preprocess_layer(family: str, name: str) -> LayerCall:
    """The one built-in layer that does a base-model family's ``preprocess_input`` on 0..255 RGB pixels.

    "tf": x/127.5 - 1. "torch": (x/255 - mean)/std per channel (one Rescaling with per-channel lists).
    "caffe": RGB->BGR and mean subtraction, as a frozen 1x1 Conv2D with a permutation kernel and bias
    -mean. ValueError for another family (tests check each against ``keras.applications``).
    """
    if family == "tf":
        return LayerCall("layers.Rescaling", (1.0 / 127.5,), {"offset": -1.0, "name": name})
    if family == "torch":
        scale = [1.0 / (255.0 * s) for s in TORCH_STD_RGB]
        offset = [-m / s for m, s in zip(TORCH_MEAN_RGB, TORCH_STD_RGB, strict=True)]
        return LayerCall("layers.Rescaling", (scale,), {"offset": offset, "name": name})
    if family == "caffe":
        # kernel[0, 0, i, o] = 1 where output channel o (BGR) takes input channel i (RGB).
        kernel = [[[[1.0 if i + o == 2 else 0.0 for o in range(3)] for i in range(3)]]]
        return LayerCall("layers.Conv2D", (3, 1), {
            "use_bias": True, "trainable": False, "kernel_initializer": _initializer("Constant", kernel),
            "bias_initializer": _initializer("Constant", [-m for m in CAFFE_MEAN_BGR]), "name": name})
    raise ValueError(f"Unknown preprocessing family {family!r} of the base model.")


def _preprocess(node: Node) -> LayerCall:
    return preprocess_layer(node.extra["family"], node.name)


@dataclass(frozen=True)
class LayerDef:
    """One row of the layer table: how the builder and the exporter turn a node of ``op`` into Keras."""

    op: Op
    kind: Kind
    #: The node's call (for ``layer`` and ``function`` rows only).
    call: Callable[[Node], LayerCall] | None = None
    inputs: Inputs = "one"

    def arguments(self, inputs: Sequence[T]) -> T | list[T]:
        """What the layer is applied to, given the node's inputs in order (tensors, or their names in code)."""
        if self.inputs == "list":
            return list(inputs)
        if self.inputs == "three":
            return [inputs[0]] * 3
        return inputs[0]


def layer_def(op: Op) -> LayerDef:
    """The row of ``op``; every op of :data:`rmlp.design.plan.Op` has one (mypy checks the match is complete)."""
    match op:
        case "input":
            return LayerDef(op, "input")
        case "base":
            return LayerDef(op, "base")
        case "dense":
            return LayerDef(op, "layer", _dense)
        case "batchnorm":
            return LayerDef(op, "layer", _batchnorm)
        case "dropout":
            return LayerDef(op, "layer", _dropout)
        case "concat":
            return LayerDef(op, "layer", _concat, inputs="list")
        case "gray_to_rgb":
            return LayerDef(op, "layer", _concat, inputs="three")
        case "stack":
            return LayerDef(op, "layer", _stack, inputs="list")
        case "average":
            return LayerDef(op, "layer", _average)
        case "flatten":
            return LayerDef(op, "layer", _flatten)
        case "reshape":
            return LayerDef(op, "layer", _reshape)
        case "rescale":
            return LayerDef(op, "layer", _rescale)
        case "resize":
            return LayerDef(op, "layer", _resize)
        case "preprocess":
            return LayerDef(op, "layer", _preprocess)
        case "repeat":
            return LayerDef(op, "layer", _repeat)
        case "packed_dense":
            return LayerDef(op, "layer", _packed_dense)
        case "member_scale":
            return LayerDef(op, "layer", _member_scale)
        case "periodic":
            return LayerDef(op, "layer", _periodic)
        case "feature_dense":
            return LayerDef(op, "layer", _feature_dense)
        case "bins":
            return LayerDef(op, "layer", _bins)
        case "unit_clip":
            return LayerDef(op, "layer", _unit_clip)
        case "feature_scale":
            return LayerDef(op, "layer", _feature_scale)
        case "sin":
            return LayerDef(op, "function", _sin)
        case "cos":
            return LayerDef(op, "function", _cos)
        case _:
            assert_never(op)


#: The table: every plan op's row, by op name.
LAYER_DEFS: dict[Op, LayerDef] = {op: layer_def(op) for op in get_args(Op)}


def layer_call(node: Node) -> LayerCall:
    """The call for ``node``; ValueError for an op that is no layer call (the input, the base model)."""
    row = LAYER_DEFS.get(node.op)
    if row is None:
        raise ValueError(f"Unknown layer kind {node.op!r} in the plan.")
    if row.call is None:
        raise ValueError(f"A {node.op!r} node is not made by a layer call.")
    return row.call(node)
