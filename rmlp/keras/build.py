"""Spec -> compiled Keras 3 functional model, made of built-in layers only.

Keras is imported here, lazily, and nowhere on the design path. Every layer comes from the plan
(:mod:`rmlp.design.plan`), so the built model has exactly the layers and parameters the summary counts.
"""

from __future__ import annotations

import sys
from typing import Any

from rmlp.base.info import BaseInfo, lookup
from rmlp.design.plan import Node, make_plan
from rmlp.design.validate import validate
from rmlp.keras.layer_defs import LAYER_DEFS, layer_call
from rmlp.keras.losses import make_loss
from rmlp.keras.metrics import make_metrics
from rmlp.keras.optimizers import make_optimizer
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import SpecError, errors


def base_info_for(spec: ModelSpec) -> BaseInfo | None:
    """Facts about the spec's base model, inspecting a .keras file the first time it is used."""
    bm = spec.base_model
    if bm is None:
        return None
    info = lookup(bm)
    if info is None and bm.source == "file":
        from rmlp.base.measure import inspect_base_file

        info = inspect_base_file(bm.path, bm.cut_layer)
    return info


def check_buildable(spec: ModelSpec | dict) -> ModelSpec:
    """The parsed spec, or SpecError listing its errors (before any Keras work)."""
    from rmlp.spec.model import parse_spec

    spec = parse_spec(spec)
    problems = errors(validate(spec))
    if problems:
        raise SpecError(problems)
    return spec


def make_layer(node: Node, spec: ModelSpec, info: BaseInfo | None) -> Any:
    """The built-in Keras layer (or ``keras.ops`` function, or nested base model) for one plan node.

    Made from the node's row of the layer table (:mod:`rmlp.keras.layer_defs`); ValueError for the input.
    """
    row = LAYER_DEFS[node.op]
    if row.kind == "base":
        from rmlp.base.make import make_base

        assert spec.base_model is not None  # a base node exists only for a spec with a base model
        return make_base(spec.base_model, info)
    return layer_call(node).make()


def build_uncompiled(spec: ModelSpec | dict) -> Any:
    """The Keras model for a valid spec, not yet compiled."""
    import keras

    spec = check_buildable(spec)
    info = base_info_for(spec)
    nodes = make_plan(spec, info)
    allow_deep_graphs(len(nodes))
    tensors: dict[str, Any] = {}
    for node in nodes:
        row = LAYER_DEFS[node.op]
        if row.kind == "input":
            tensors[node.name] = keras.Input(shape=node.shape, name=node.name)
            continue
        layer = make_layer(node, spec, info)
        tensors[node.name] = layer(row.arguments([tensors[n] for n in node.inputs]))
    return keras.Model(tensors[nodes[0].name], tensors[nodes[-1].name], name=keras_model_name(spec.name))


def members_model(model: Any) -> Any:
    """The model an ensemble trains: the same layers, ending at the members' outputs side by side.

    Each member is fitted on its own loss (the targets repeated for every member); the model that
    predicts, saves and exports is the one given, which averages them. A model without members is
    returned as it is.
    """
    import keras

    last = model.layers[-1]
    if not isinstance(last, keras.layers.GlobalAveragePooling1D):
        return model
    return keras.Model(model.input, last.input, name=f"{model.name}_members")


def average_members(model: Any) -> Any:
    """The predicting model of a :func:`members_model` (one whose output is members × outputs): their mean."""
    import keras

    from rmlp.design.plan import AVERAGE

    if len(model.outputs[0].shape) != 3:
        return model
    out = keras.layers.GlobalAveragePooling1D(name=AVERAGE)(model.outputs[0])
    return keras.Model(model.input, out, name=model.name.removesuffix("_members"))


def repeat_for_members(y: Any, spec: ModelSpec) -> Any:
    """Targets repeated once per ensemble member (axis 1), as :func:`members_model` is fitted on them."""
    import numpy as np

    if spec.ensemble <= 1 or y is None:
        return y
    y = np.asarray(y)
    return np.repeat(y[:, None, ...], spec.ensemble, axis=1)


def allow_deep_graphs(layer_count: int) -> None:
    """Keras walks the functional graph recursively: deep designs (100+ blocks) need more frames."""
    needed = 20 * layer_count + 2000
    if layer_count > 100 and sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def keras_model_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name).strip("_")
    return cleaned or "residual_mlp"


def compile_model(model: Any, spec: ModelSpec, metrics: list[Any] | None = None, learning_rate: Any = None,
                  optimizer_options: dict[str, Any] | None = None,
                  compile_options: dict[str, Any] | None = None) -> Any:
    """Compile with the spec's optimizer, loss and task metrics (``learning_rate``: a number or schedule).

    ``optimizer_options`` and ``compile_options``: more arguments of the optimizer and of ``compile``, as a
    training recipe decides them (:meth:`rmlp.runs.recipe.Recipe.compile_kwargs`).
    """
    loss, weight = make_loss(spec)
    weights = None if weight == 1 else weight
    # Weighted metrics: scored with the rows' sample weights when fit has them (ensemble members on
    # folds, each on its own held-out rows); without weights the same as plain metrics.
    model.compile(optimizer=make_optimizer(spec, learning_rate, **(optimizer_options or {})), loss=loss,
                  loss_weights=weights, weighted_metrics=make_metrics(spec) if metrics is None else metrics,
                  **(compile_options or {}))
    # Its slot variables made now, eagerly: made inside the first traced training step instead, they
    # cost about a second of graph building per model (a fifth of a short search trial).
    model.optimizer.build(model.trainable_variables)
    return model


def build_model(spec: ModelSpec | dict, compile: bool = True) -> Any:
    """A (compiled) Keras model for ``spec``; SpecError (a ValueError) if the spec has errors."""
    spec = check_buildable(spec)
    model = build_uncompiled(spec)
    return compile_model(model, spec) if compile else model


def model_to_dot(model: Any, rankdir: str = "TB", show_layer_activations: bool = True) -> str:
    """DOT of a built Keras model with shapes; a nested base model stays one node."""
    import keras

    dot = keras.utils.model_to_dot(
        model,
        show_shapes=True,
        expand_nested=False,
        rankdir=rankdir,
        show_layer_activations=show_layer_activations,
        dpi=96,
    )
    return str(dot.to_string())
