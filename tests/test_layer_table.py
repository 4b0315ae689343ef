"""The layer table (:mod:`rmlp.keras.layer_defs`): one row per plan op, read by the builder and the exporter alike.

That no op lacks a row is checked twice: mypy rejects :func:`rmlp.keras.layer_defs.layer_def` when its
``match`` misses a name of :data:`rmlp.design.plan.Op` (the ``assert_never`` at its end), and the tests
below fail at run time on the same gap (importing the table raises, or its keys differ from ``Op``).
Every row is then built and written out for small specs that together hold every op: a table model,
a packed ensemble with the periodic embedding, a regression with the piecewise-linear one, a
shared-weight ensemble, an ensemble of separate networks, and images in front of a base model (the
sample data's small CNN, and MobileNetV2 for its preprocessing).
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any, get_args

import pytest

from rmlp.design.plan import FUNCTION_OPS, Node, Op, make_plan
from rmlp.export import export_python
from rmlp.export.code import write_call
from rmlp.keras.build import base_info_for
from rmlp.keras.layer_defs import LAYER_DEFS, LayerDef, layer_call, layer_def, preprocess_layer
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

_SMALL: dict[str, Any] = {"blocks": [BlockSpec(layers=2, width=8, decrement=2, bypass=[4])], "final_layers": [6]}

#: Small designs that together plan every op.
SPECS: dict[str, ModelSpec] = {
    "plain": ModelSpec(name="plain", task="regression", num_outputs=1, input_shape=[5], final_dropout=0.1,
                       target_scale={"mean": 3.0, "std": 2.0}, inter_block_layers=[4],
                       **{**_SMALL, "blocks": _SMALL["blocks"] * 2}),
    "packed_embedding": ModelSpec(name="packed", num_outputs=3, input_shape=[6], embedding="periodic",
                                  embedding_frequencies=4, embedding_dim=3, ensemble=2, ensemble_layout="packed",
                                  bypass_regularizer="batchnorm", **_SMALL),
    "piecewise": ModelSpec(name="piecewise", task="regression", num_outputs=1, input_shape=[5], embedding="piecewise",
                           embedding_bins=4, embedding_dim=3, target_scale={"mean": 1.0, "std": 2.0},
                           feature_scale=True, **_SMALL),
    "shared": ModelSpec(name="shared", num_outputs=3, input_shape=[6], ensemble=3, ensemble_layout="shared",
                        **_SMALL),
    "separate": ModelSpec(name="separate", num_outputs=2, input_shape=[4], ensemble=2, ensemble_layout="separate",
                          **_SMALL),
    "file_base": ModelSpec(name="on_digits", input_shape=[16, 16], grayscale_to_rgb=True, num_outputs=10,
                           base_model=BaseModelSpec(source="file", path=str(SAMPLE / "digits_cnn.keras"),
                                                    cut_layer="features", trainable_layers=2), **_SMALL),
    "applications": ModelSpec(name="on_mobilenet", input_shape=[32, 32, 3], num_outputs=3,
                              base_model=BaseModelSpec(name="MobileNetV2", weights="none", input_size=[32, 32],
                                                       pooling="avg", trainable_layers=3), **_SMALL),
}


def _plan(key: str) -> list[Node]:
    spec = SPECS[key]
    return make_plan(spec, base_info_for(spec) if spec.base_model and spec.base_model.source == "file" else None)


# ----------------------------------------------------------------------------- the rows


def test_every_op_has_exactly_one_row() -> None:
    assert list(LAYER_DEFS) == list(get_args(Op))
    for op, row in LAYER_DEFS.items():
        assert isinstance(row, LayerDef)
        assert row.op == op
        assert layer_def(op) == row


def test_only_the_input_and_the_base_model_are_not_layer_calls() -> None:
    assert {op for op, row in LAYER_DEFS.items() if row.call is None} == {"input", "base"}
    assert {op for op, row in LAYER_DEFS.items() if row.kind in ("input", "base")} == {"input", "base"}
    # the summary counts layers without the keras.ops functions: the same ops as the table's
    assert {op for op, row in LAYER_DEFS.items() if row.kind == "function"} == FUNCTION_OPS
    assert LAYER_DEFS["concat"].inputs == LAYER_DEFS["stack"].inputs == "list"
    assert LAYER_DEFS["gray_to_rgb"].inputs == "three"


def test_the_input_and_the_base_model_have_no_call() -> None:
    for op in ("input", "base"):
        with pytest.raises(ValueError, match="not made by a layer call"):
            layer_call(Node("x", op, [], (3,)))


def test_a_row_applies_its_layer_to_the_inputs_it_says() -> None:
    assert LAYER_DEFS["dense"].arguments(["a"]) == "a"
    assert LAYER_DEFS["concat"].arguments(["a", "b"]) == ["a", "b"]
    assert LAYER_DEFS["gray_to_rgb"].arguments(["a"]) == ["a", "a", "a"]


def test_the_specs_plan_every_op() -> None:
    planned = {node.op for key in SPECS for node in _plan(key)}
    assert planned == set(get_args(Op))


# ----------------------------------------------------------------------------- built and written alike


def _config(obj: Any) -> Any:
    return json.loads(json.dumps(obj.get_config(), default=str))


@pytest.mark.parametrize("key", list(SPECS))
def test_every_call_written_as_code_makes_the_layer_the_builder_makes(key: str) -> None:
    keras = pytest.importorskip("keras")
    env = {"keras": keras, "layers": keras.layers}
    for node in _plan(key):
        row = LAYER_DEFS[node.op]
        if row.call is None:
            continue
        defined = layer_call(node)
        built = defined.make()
        written = eval(write_call(defined), env)  # noqa: S307 - code made by rmlp from the plan
        if row.kind == "function":
            assert built is written is getattr(keras.ops, node.op), node.name
            continue
        assert type(built) is type(written), node.name
        assert type(built).__name__ == defined.func.rsplit(".", 1)[-1], node.name
        assert _config(built) == _config(written), node.name
        assert built.name == node.name


@pytest.mark.parametrize("family", ["tf", "torch", "caffe"])
def test_each_preprocessing_family_is_written_as_built(family: str) -> None:
    keras = pytest.importorskip("keras")
    defined = preprocess_layer(family, "base_preprocess")
    written = eval(write_call(defined), {"keras": keras, "layers": keras.layers})  # noqa: S307
    layers = [defined.make(), written]
    for layer in layers:
        layer.build((None, 8, 8, 3))
    assert _config(layers[0]) == _config(layers[1])
    for a, b in zip(*(layer.get_weights() for layer in layers), strict=True):
        assert (a == b).all()


def _describe(model: Any) -> list[tuple[str, str, Any]]:
    """Each layer's name, class and configuration (a nested model: its name and class only)."""
    return [(layer.name, type(layer).__name__, None if hasattr(layer, "layers") else _config(layer))
            for layer in model.layers]


@pytest.mark.slow
@pytest.mark.parametrize("key", list(SPECS))
def test_the_exported_script_builds_the_model_the_builder_builds(key: str, tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    import rmlp

    spec = SPECS[key]
    path = tmp_path / "model.py"
    path.write_text(export_python(spec), encoding="utf-8")
    keras.backend.clear_session()
    built = rmlp.build_model(spec, compile=False)
    keras.backend.clear_session()
    exported = runpy.run_path(str(path))["build_model"]()
    assert _describe(exported) == _describe(built)
    assert exported.count_params() == built.count_params()
    plan = _plan(key)
    layer_nodes = [n for n in plan if LAYER_DEFS[n.op].kind in ("input", "layer")]
    classes = {layer.name: type(layer).__name__ for layer in built.layers}
    for node in layer_nodes:
        expected = "InputLayer" if node.op == "input" else layer_call(node).func.rsplit(".", 1)[-1]
        assert classes[node.name] == expected, node.name
