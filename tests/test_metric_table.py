"""One metric table: direction, name in words and task, read by search, collapse check, app and evaluation."""

from __future__ import annotations

import pytest

from rmlp.keras.evaluate import CLASSIFICATION_KEYS, REGRESSION_KEYS
from rmlp.keras.metrics import metric_defs
from rmlp.runs.collapse import ConstantGuess
from rmlp.search.config import SearchConfig, guess_direction
from rmlp.search.objective import SCORE
from rmlp.spec.metrics import METRICS, better, direction, display_name, evaluated_metrics, task_of_metrics


@pytest.mark.parametrize(("metric", "goal"), [
    ("val_accuracy", "maximize"), ("val_auc", "maximize"), ("top3_accuracy", "maximize"),
    ("val_top_7_accuracy", "maximize"), ("r2", "maximize"), ("val_loss", "minimize"), ("val_rmse", "minimize"),
    ("mae", "minimize"), ("val_score", "minimize"), ("something_new", "minimize"),
])
def test_each_metric_has_one_direction(metric: str, goal: str) -> None:
    assert direction(metric) == goal == guess_direction(metric)


def test_the_search_takes_its_auto_direction_from_the_table() -> None:
    assert SearchConfig(metric="val_accuracy").resolved_direction() == "maximize"
    assert SearchConfig(metric=SCORE).resolved_direction() == "minimize"


def test_better_compares_in_the_metrics_direction() -> None:
    assert better("val_accuracy", 0.9, 0.8) and not better("val_accuracy", 0.8, 0.9)
    assert better("rmse", 0.1, 0.2) and not better("rmse", 0.2, 0.1)
    assert not better("loss", 0.5, 0.5)


def test_display_names_are_words() -> None:
    assert display_name("val_score") == "validation score (error rate, ties broken by the loss)"
    assert display_name("test_rmse") == "test RMSE"
    assert display_name("val_top_4_accuracy") == "validation top-4 accuracy"
    assert display_name("custom_thing") == "custom thing"


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("flavour", ["rmlp", "original"])
def test_every_metric_keras_logs_has_a_row(task: str, flavour: str) -> None:
    for made in metric_defs(task, 10, flavour):  # type: ignore[arg-type]
        assert made.facts.goal in ("minimize", "maximize")


def test_the_evaluation_and_the_tasks_read_the_table() -> None:
    assert REGRESSION_KEYS == ("rmse", "mae", "r2") == evaluated_metrics("regression")
    assert CLASSIFICATION_KEYS[:5] == evaluated_metrics("binary") == evaluated_metrics("multiclass")
    assert all(METRICS[name].evaluated for name in evaluated_metrics("regression"))
    assert task_of_metrics({"rmse": 1.0, "loss": 2.0}) == "regression"
    assert task_of_metrics(["accuracy", "loss"]) == "classification"


def test_the_collapse_check_beats_the_guess_only_in_the_right_direction() -> None:
    assert ConstantGuess("rmse", 1.0, "the mean").beaten_by(0.9)
    assert not ConstantGuess("rmse", 1.0, "the mean").beaten_by(1.0)
    assert ConstantGuess("accuracy", 0.5, "class a").beaten_by(0.6)
    assert not ConstantGuess("accuracy", 0.5, "class a").beaten_by(0.5)
