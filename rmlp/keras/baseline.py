"""The plain-MLP baseline built with Keras: the residual model's front end, then equally wide Dense layers."""

from __future__ import annotations

from typing import Any

from rmlp.design.baseline import BaselinePlan, plain_mlp_spec_like
from rmlp.design.plan import make_plan
from rmlp.keras.build import base_info_for, build_uncompiled, compile_model, make_layer
from rmlp.spec.model import ModelSpec

__all__ = ["baseline_plan", "build_baseline"]


def baseline_plan(spec: ModelSpec) -> BaselinePlan:
    """The plain MLP for ``spec`` (a base-model file is inspected first when it has not been yet)."""
    return plain_mlp_spec_like(spec, info=base_info_for(spec))


def build_baseline(spec: ModelSpec, plan: BaselinePlan | None = None, compile: bool = True,
                   **compile_kwargs: Any) -> Any:
    """The plain MLP as a Keras model (compiled with the spec's optimizer, loss and metrics, and
    ``compile_kwargs`` of :func:`rmlp.keras.build.compile_model`: a recipe's rate and options)."""
    import keras

    plan = plan or baseline_plan(spec)
    residual = build_uncompiled(spec)
    x = residual.get_layer(plan.feature_layer).output
    for i, width in enumerate(plan.widths):
        x = keras.layers.Dense(width, activation=plan.activation, name=f"plain_dense{i + 1}")(x)
    out = keras.layers.Dense(plan.num_outputs, activation=plan.output_activation, name="output")(x)
    for node in make_plan(spec, base_info_for(spec)):
        if node.op == "rescale":  # the same way back to the target's units
            out = make_layer(node, spec, None)(out)
    model = keras.Model(residual.input, out, name="plain_mlp_baseline")
    return compile_model(model, spec, **compile_kwargs) if compile else model
