"""The model spec: defaults, JSON/YAML round trip, metadata table and field paths."""

from __future__ import annotations

import json

import pytest

import rmlp
from rmlp.spec.edit import field_meta, get_path, set_path, spec_fields
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec
from rmlp.spec.paths import pattern_of


def test_defaults_follow_the_original_package():
    spec = ModelSpec()
    assert spec.input_shape == [32, 32, 3]
    assert [(b.layers, b.width, b.decrement) for b in spec.blocks] == [(5, 400, 50)]
    assert spec.final_layers == [75, 35]
    assert spec.num_outputs == 10
    assert spec.bypass_dropout == 0.35 and spec.final_dropout == 0.2
    assert spec.optimizer.name == "adam" and spec.optimizer.learning_rate == 0.0007
    assert spec.optimizer.clipnorm == 1.0
    assert spec.resolved_output_activation() == "softmax"
    assert spec.resolved_loss() == "categorical_crossentropy"


@pytest.mark.parametrize("task,act,loss", [("binary", "sigmoid", "binary_crossentropy"),
                                           ("regression", "linear", "mse")])
def test_auto_output_follows_the_task(task, act, loss):
    spec = ModelSpec(task=task, num_outputs=1)
    assert spec.resolved_output_activation() == act
    assert spec.resolved_loss() == loss


def test_json_round_trip_keeps_every_field():
    spec = ModelSpec(
        name="my net", task="binary", num_outputs=1, input_shape=[28, 28, 1], grayscale_to_rgb=True,
        base_model=BaseModelSpec(name="MobileNetV3Small", weights="none", input_size=[64, 64], trainable_layers=3),
        blocks=[BlockSpec(layers=2, width=64, decrement=8, bypass=[16, 8]), BlockSpec(layers=3, width=32, decrement=4)],
        inter_block_layers=[24], final_layers=[16], bypass_regularizer="batchnorm", final_regularizer="batchnorm",
        activation="gelu",
    )
    again = ModelSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["spec_version"] == rmlp.SPEC_VERSION


def test_save_and_load_json_and_yaml(tmp_path):
    spec = ModelSpec(blocks=[BlockSpec(layers=2, width=10, decrement=3)])
    for name in ("s.json", "s.yaml"):
        path = spec.save(tmp_path / name)
        assert ModelSpec.load(path) == spec


def test_bad_json_and_unknown_fields_are_problems_not_tracebacks(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(rmlp.SpecError) as exc:
        ModelSpec.load(bad)
    assert "not valid JSON" in str(exc.value)
    with pytest.raises(rmlp.SpecError) as exc:
        rmlp.parse_spec({"blockz": []})
    assert exc.value.problems[0].path == "blockz"
    with pytest.raises(rmlp.SpecError) as exc:
        rmlp.parse_spec({"task": "clustering"})
    assert exc.value.problems[0].path == "task"
    assert "multiclass" in exc.value.problems[0].fix
    with pytest.raises(rmlp.SpecError):
        ModelSpec.load(tmp_path / "missing.json")


def test_metadata_table_covers_every_field_with_label_and_help():
    table = spec_fields()
    for pattern in ("task", "blocks[].width", "blocks[].decrement", "optimizer.learning_rate",
                    "base_model.trainable_layers", "bypass_dropout", "final_layers"):
        meta = table[pattern]
        assert meta.label and meta.help
    assert table["blocks[].layers"].default == 5
    assert table["task"].choices == ("multiclass", "binary", "regression")
    assert table["bypass_dropout"].high_open and table["bypass_dropout"].high == 1.0
    assert all(m.help for m in table.values()), [p for p, m in table.items() if not m.help]


def test_paths_address_every_value():
    spec = ModelSpec(blocks=[BlockSpec(), BlockSpec(width=50, decrement=5, bypass=[7])])
    assert pattern_of("blocks[1].bypass[0]") == "blocks[].bypass"
    assert field_meta("blocks[1].width").label.startswith("First width")
    assert get_path(spec, "blocks[1].bypass[0]") == 7
    changed = set_path(spec, "blocks[1].decrement", 2)
    assert changed.blocks[1].decrement == 2 and spec.blocks[1].decrement == 5
    with_base = set_path(spec, "base_model.name", "ResNet50")
    assert with_base.base_model is not None and with_base.base_model.name == "ResNet50"
    assert set_path(spec, "optimizer.learning_rate", 0.01).optimizer.learning_rate == 0.01
    with pytest.raises(rmlp.SpecError):
        set_path(spec, "task", "nonsense")


def test_counts_and_seconds_read_as_words() -> None:
    from rmlp.spec.units import count, human_seconds

    assert count(1, "residual block") == "1 residual block" and count(2, "residual block") == "2 residual blocks"
    assert count(0, "epoch") == "0 epochs" and count(3, "child", "children") == "3 children"
    assert human_seconds(60.0) == "60 s" and human_seconds(90.4) == "1 min 30 s" and human_seconds(7260) == "2 h 1 min"
