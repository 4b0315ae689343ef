"""The settings vocabulary: one declaration per setting, its bounds, its words and its checks."""

from __future__ import annotations

import math
from typing import Literal

import pytest

import rmlp
from rmlp.data.split import SplitConfig
from rmlp.runs.config import TrainConfig
from rmlp.search.config import SearchConfig
from rmlp.spec.edit import spec_fields
from rmlp.spec.fields import (
    Interval,
    Search,
    Settings,
    StrictSettings,
    When,
    field_table,
    parse_settings,
    reuse,
    setting,
)
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import SettingsError


class Demo(StrictSettings):
    """A settings model as any part of rmlp declares one."""

    count: int = setting(3, label="Count", help="How many.", low=1, high=10)
    rate: float = setting(0.5, label="Rate", help="How fast.", low=0.0, high=1.0, high_open=True, step=0.1)
    mode: Literal["a", "b"] = setting("a", label="Mode", help="Which one.")
    widths: list[int] = setting(label="Widths", help="Some widths.", default_factory=list, low=1, high=64,
                                max_items=3)
    extra: float = setting(1.0, label="Extra", help="Only with mode b.", when=(When("mode", ("b",)),))


def test_interval_membership_words_and_nearest_value() -> None:
    closed = Interval(1, 10)
    assert 1 in closed and 10 in closed and 0 not in closed and 10.5 not in closed
    half_open = Interval(0.0, 1.0, high_open=True)
    assert 0.0 in half_open and 1.0 not in half_open
    assert half_open.text() == "≥ 0 and < 1"
    assert Interval(low=0, low_open=True).text() == "> 0"
    assert Interval().text() == ""
    for bad in (math.nan, math.inf, -math.inf, True, "3", None):
        assert bad not in Interval(), bad  # never a non-finite number, a bool or text
    assert closed.nearest(0) == 1 and closed.nearest(42) == 10 and closed.nearest(5) == 5
    assert half_open.nearest(3, step=0.05) == pytest.approx(0.95)
    assert Interval(1e-6, 1.0, low_open=True).nearest(0) == pytest.approx(1e-5)
    assert Interval(0, 4).nearest(math.nan) == 2  # no direction to go: the middle


def test_a_declaration_gives_the_whole_metadata() -> None:
    table = field_table(Demo)
    count = table["count"]
    assert (count.label, count.kind, count.default, count.low, count.high) == ("Count", "int", 3, 1, 10)
    assert table["mode"].kind == "choice" and table["mode"].choices == ("a", "b")
    assert table["widths"].kind == "int_list" and table["widths"].max_items == 3 and table["widths"].default == []
    assert "Allowed: ≥ 1 and ≤ 10." in count.describe()
    assert "Choices: a, b." in table["mode"].describe()
    # the JSON schema carries the same bounds, for tools outside rmlp
    schema = Demo.model_json_schema()["properties"]
    assert schema["count"]["minimum"] == 1 and schema["count"]["maximum"] == 10
    assert schema["rate"]["exclusiveMaximum"] == 1.0


def test_checks_say_what_is_wrong_and_how_to_fix_it() -> None:
    meta = field_table(Demo)["count"]
    (problem,) = meta.check("count", 0)
    assert problem.path == "count" and "must be ≥ 1 and ≤ 10" in problem.message and problem.fix_value == 1
    (wrong_type,) = meta.check("count", "many")
    assert "not a whole number" in wrong_type.message
    (nan,) = field_table(Demo)["rate"].check("rate", math.nan)
    assert "nan" in nan.message.lower()
    widths = field_table(Demo)["widths"].check("widths", [8, 0, 99, 4])
    assert {p.path for p in widths} == {"widths", "widths[1]", "widths[2]"}
    assert field_table(Demo)["mode"].check("mode", "c")[0].message.startswith("Mode: 'c' is not one of")


def test_strict_settings_refuse_values_that_do_not_fit() -> None:
    assert Demo().problems() == []
    with pytest.raises(ValueError, match="Count is 0"):
        Demo(count=0)
    with pytest.raises(SettingsError) as exc:
        parse_settings(Demo, {"count": 0, "rate": 2.0, "colour": "red"})
    paths = {p.path for p in exc.value.problems}
    assert {"colour"} <= paths or {"count", "rate"} <= paths
    with pytest.raises(SettingsError) as exc:
        parse_settings(Demo, {"count": 0, "rate": 2.0})
    assert {p.path for p in exc.value.problems} == {"count", "rate"}


def test_when_says_where_a_setting_applies() -> None:
    extra = field_table(Demo)["extra"]
    assert not extra.applies({"mode": "a"}) and extra.applies({"mode": "b"})
    dropout = spec_fields()["final_dropout"]
    assert dropout.applies(ModelSpec().to_dict())
    assert not dropout.applies(ModelSpec(final_layers=[]).to_dict())
    assert not dropout.applies(ModelSpec(final_regularizer="batchnorm").to_dict())


def test_reuse_keeps_the_declaration_and_changes_only_what_is_asked() -> None:
    class Other(Settings):
        count: int = reuse(Demo, "count", default=7, help="How many, here.")

    meta = field_table(Other)["count"]
    assert (meta.default, meta.help, meta.low, meta.high, meta.label) == (7, "How many, here.", 1, 10, "Count")


def test_every_user_facing_setting_is_declared_with_words() -> None:
    """The spec, the training, split and search settings all speak the same vocabulary."""
    for model in (ModelSpec, TrainConfig, SplitConfig, SearchConfig):
        for pattern, meta in field_table(model).items():
            assert meta.label and meta.help, (model.__name__, pattern)
            if meta.kind in ("int", "float") and not meta.hidden:
                assert meta.interval is not None, (model.__name__, pattern)


def test_nan_anywhere_in_a_spec_is_a_validation_error_with_its_path() -> None:
    data = ModelSpec().to_dict()
    data.update(optimizer={"learning_rate": math.nan, "clipnorm": math.inf}, bypass_dropout=math.nan)
    errors = {p.path for p in rmlp.validate(data) if p.severity == "error"}
    assert {"optimizer.learning_rate", "optimizer.clipnorm", "bypass_dropout"} <= errors
    with pytest.raises(ValueError, match="finite number"):  # refused when the spec is made, too
        ModelSpec(optimizer={"learning_rate": math.nan})


def test_training_settings_check_each_other() -> None:
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(lr_schedule="cosine", reduce_lr=True)
    assert TrainConfig(lr_schedule="cosine").lr_schedule == "cosine"


def test_search_hints_are_part_of_the_declaration() -> None:
    assert spec_fields()["blocks[].width"].search == Search(low=8, high=512, log=True)
    assert not spec_fields()["task"].searchable
    assert TrainConfig.meta("batch_size").search is not None
