"""Every validation rule: the path it names, its message, and its fix."""

from __future__ import annotations

import pytest

import rmlp
from rmlp.design.validate import largest_decrement
from rmlp.spec.edit import set_path, spec_fields
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec


def paths(spec, severity="error"):
    return {p.path for p in rmlp.validate(spec) if p.severity == severity}


def tabular(**kw):
    base = {"input_shape": [13], "num_outputs": 3, "blocks": [BlockSpec(layers=3, width=64, decrement=8)],
            "final_layers": [32]}
    base.update(kw)
    return ModelSpec(**base)


def test_default_and_small_designs_are_valid():
    assert rmlp.validate(ModelSpec()) == []
    assert rmlp.is_valid(tabular())


def test_block_width_below_one_names_block_and_largest_working_decrement():
    spec = tabular(blocks=[BlockSpec(), BlockSpec(layers=5, width=40, decrement=10)])
    (problem,) = [p for p in rmlp.validate(spec) if p.severity == "error"]
    assert problem.path == "blocks[1].decrement"
    assert "Block 2" in problem.message and "0 units" in problem.message
    assert problem.fix_value == 9 == largest_decrement(5, 40)
    fixed = set_path(spec, problem.path, problem.fix_value)
    assert rmlp.is_valid(fixed)
    assert min(fixed.blocks[1].main_widths()) == 4


def test_older_stricter_rule_is_not_applied():
    # j*l < k is the old rule; k - (j-1)*l >= 1 is the real one: [5, 50, 12] has a last width of 2
    assert rmlp.is_valid(tabular(blocks=[BlockSpec(layers=5, width=50, decrement=12)]))


@pytest.mark.parametrize("field,value", [("bypass_dropout", 1.0), ("bypass_dropout", -0.1),
                                         ("final_dropout", 1.5)])
def test_rates_outside_zero_one(field, value):
    problems = [p for p in rmlp.validate(tabular(**{field: value})) if p.path == field]
    assert problems and problems[0].severity == "error"
    assert 0 <= problems[0].fix_value < 1


def test_bounds_generated_from_the_metadata_table():
    """Every numeric field with bounds rejects a value just outside them (constraints from one table)."""
    spec = tabular()
    checked = 0
    for pattern, meta in spec_fields().items():
        if meta.kind not in ("int", "float") or meta.high is None or "[]" in pattern or meta.hidden:
            continue
        if pattern.startswith("base_model"):
            continue
        path = pattern
        bad = meta.high + (1 if meta.kind == "int" else 0.5)
        assert path in paths(set_path(spec, path, bad)), pattern
        checked += 1
    assert checked >= 4


def test_list_items_must_be_positive():
    spec = tabular(final_layers=[32, 0], inter_block_layers=[-1], blocks=[BlockSpec(bypass=[0])])
    assert {"final_layers[1]", "inter_block_layers[0]", "blocks[0].bypass[0]"} <= paths(spec)


def test_rank_above_one_needs_flatten():
    spec = ModelSpec(input_shape=[8, 8, 1], flatten=False, blocks=[BlockSpec(layers=2, width=32, decrement=4)])
    (problem,) = [p for p in rmlp.validate(spec) if p.path == "flatten"]
    assert "[8, 8, 1]" in problem.message and problem.fix_value is True


@pytest.mark.parametrize("kw,path", [
    ({"task": "regression", "num_outputs": 1, "output_activation": "softmax"}, "output_activation"),
    ({"task": "binary", "num_outputs": 1, "output_activation": "softmax"}, "output_activation"),
    ({"task": "multiclass", "num_outputs": 10, "output_activation": "sigmoid"}, "output_activation"),
    ({"task": "multiclass", "num_outputs": 1}, "num_outputs"),
    ({"task": "binary", "num_outputs": 2}, "num_outputs"),
    ({"task": "regression", "num_outputs": 1, "loss": "categorical_crossentropy"}, "loss"),
    ({"task": "multiclass", "loss": "binary_crossentropy"}, "loss"),
    ({"task": "multiclass", "output_activation": "linear"}, "output_activation"),
])
def test_task_contradictions(kw, path):
    assert path in paths(tabular(**kw))


def test_mse_on_classes_is_only_a_warning():
    spec = tabular(loss="mse")
    assert "loss" in paths(spec, "warning") and "loss" not in paths(spec)


def test_base_model_input_checks():
    base = BaseModelSpec(name="MobileNetV2", weights="none", input_size=[96, 96])
    # a table input cannot feed an image model
    assert "input_shape" in paths(ModelSpec(input_shape=[13], base_model=base))
    # one channel needs grayscale-to-RGB, and the fix says so
    gray = ModelSpec(input_shape=[28, 28, 1], base_model=base)
    (problem,) = [p for p in rmlp.validate(gray) if p.path == "grayscale_to_rgb"]
    assert "grayscale" in problem.fix.lower() and problem.fix_value is True
    assert rmlp.is_valid(gray.copy_with(grayscale_to_rgb=True))
    # too small for the model
    tiny = ModelSpec(input_shape=[32, 32, 3], base_model=base.model_copy(update={"input_size": [16, 16]}))
    assert "base_model.input_size" in paths(tiny)
    # unknown name
    assert "base_model.name" in paths(ModelSpec(base_model=base.model_copy(update={"name": "NoSuchNet"})))
    # grayscale on an RGB input is an error
    assert "grayscale_to_rgb" in paths(ModelSpec(grayscale_to_rgb=True))
    # missing file
    missing = ModelSpec(base_model=BaseModelSpec(source="file", path="/nope/model.keras"))
    assert "base_model.path" in paths(missing)


def test_imagenet_size_mismatch_is_a_warning():
    base = BaseModelSpec(name="MobileNetV2", weights="imagenet", input_size=[100, 100])
    spec = ModelSpec(base_model=base)
    assert "base_model.input_size" in paths(spec, "warning")
    assert rmlp.is_valid(spec)


def test_likely_mistakes_are_warnings():
    narrow = tabular(num_outputs=10, final_layers=[4], blocks=[BlockSpec(layers=3, width=12, decrement=4)])
    warned = paths(narrow, "warning")
    assert {"final_layers[0]", "blocks[0]"} <= warned
    assert rmlp.is_valid(narrow)
    huge = tabular(input_shape=[4000], blocks=[BlockSpec(layers=4, width=8000, decrement=0)])
    assert any("parameters" in p.message for p in rmlp.validate(huge) if p.severity == "warning")


def test_dicts_are_validated_without_raising():
    problems = rmlp.validate({"blocks": [{"layers": "many"}]})
    assert problems and problems[0].path == "blocks[0].layers"
    assert rmlp.validate({"task": 3})


def test_build_refuses_a_spec_with_errors_before_keras(monkeypatch):
    spec = tabular(blocks=[BlockSpec(layers=5, width=4, decrement=2)])
    with pytest.raises(rmlp.SpecError) as exc:
        rmlp.build_model(spec)
    assert "blocks[0].decrement" in str(exc.value)
    assert isinstance(exc.value, ValueError)
