"""How a search trial is scored: ensembles out of fold over the pooled rows, and the default score."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from optuna.trial import FixedTrial

from rmlp import ModelSpec
from rmlp.search.config import SearchConfig
from rmlp.search.objective import (
    SCORE,
    MetricError,
    check_metric,
    search_metrics,
    train_trial,
    trial_metrics,
    trial_score,
)

N_TRAIN, N_VAL = 60, 20


def _data(task: str) -> SimpleNamespace:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N_TRAIN + N_VAL, 4)).astype("float32")
    if task == "regression":
        y = (x[:, :1] * 2.0 + 0.1).astype("float32")
    elif task == "binary":
        y = (x[:, :1] > 0).astype("float32")
    else:
        y = np.eye(3, dtype="float32")[np.digitize(x[:, 0], [-0.4, 0.4])]
    return SimpleNamespace(x_train=x[:N_TRAIN], y_train=y[:N_TRAIN], x_val=x[N_TRAIN:], y_val=y[N_TRAIN:])


def _spec(task: str, **changes: Any) -> ModelSpec:
    outputs = {"regression": 1, "binary": 1, "multiclass": 3}[task]
    return ModelSpec(input_shape=[4], num_outputs=outputs, task=task, final_layers=[],
                     blocks=[{"layers": 1, "width": 8, "decrement": 0}], **changes)


def _fits(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records what each ``fit`` of a trial was given, and lets it train."""
    from rmlp.keras import feed

    seen: list[dict[str, Any]] = []
    real = feed.fit

    def recording(model: Any, x: Any, y: Any, **kwargs: Any) -> Any:
        seen.append({"rows": len(x), "y": np.shape(y), "weight": kwargs.get("sample_weight"),
                     "validation": kwargs.get("validation"), "outputs": tuple(model.outputs[0].shape)})
        return real(model, x, y, **kwargs)

    monkeypatch.setattr(feed, "fit", recording)
    return seen


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
def test_an_ensemble_trial_trains_on_folds_of_the_pooled_rows_and_is_scored_out_of_fold(
        task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fits(monkeypatch)
    trial = FixedTrial({})
    value = train_trial(trial, _spec(task, ensemble=3), 16, _data(task), SearchConfig(epochs=2, batch_size=16))
    assert trial.user_attrs["folds"] == 3
    fit = seen[0]
    assert fit["rows"] == N_TRAIN + N_VAL and fit["outputs"][1] == 3  # every labelled row, three members
    held_out = fit["weight"] == 0
    assert fit["weight"].shape == (N_TRAIN + N_VAL, 3) and held_out.sum(axis=1).tolist() == [1] * (N_TRAIN + N_VAL)
    val_x, _, val_w = fit["validation"]
    assert len(val_x) == N_TRAIN + N_VAL and np.array_equal(val_w > 0, held_out)  # scored where it did not train
    assert math.isfinite(value) and (task == "regression" or 0.0 <= value <= 1.0 + 1e-3)


def test_without_folds_a_trial_trains_one_member_and_is_scored_on_the_validation_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fits(monkeypatch)
    trial = FixedTrial({})
    config = SearchConfig(epochs=2, batch_size=16, ensemble_folds=False)
    train_trial(trial, _spec("multiclass", ensemble=3), 16, _data("multiclass"), config)
    assert trial.user_attrs["folds"] == 1
    fit = seen[0]
    assert fit["rows"] == N_TRAIN and fit["weight"] is None and fit["outputs"] == (None, 3)
    assert len(fit["validation"]) == 2 and len(fit["validation"][0]) == N_VAL


def test_the_score_ranks_by_errors_then_by_the_cross_entropy_without_label_smoothing() -> None:
    spec = _spec("multiclass", label_smoothing=0.2)
    metrics = trial_metrics(spec, SCORE)
    assert [m.name for m in metrics] == ["accuracy", "log_loss"]
    assert metrics[1].get_config().get("label_smoothing", 0) == 0  # unlike the loss the design trains on
    better = trial_score({"val_accuracy": 0.9, "val_log_loss": 0.3, "val_loss": 0.9}, spec)
    tied_worse = trial_score({"val_accuracy": 0.9, "val_log_loss": 0.5, "val_loss": 0.1}, spec)
    more_right = trial_score({"val_accuracy": 0.95, "val_log_loss": 2.0, "val_loss": 2.0}, spec)
    assert more_right < better < tied_worse  # one more row right outweighs any loss; the loss breaks ties
    assert better == pytest.approx(0.1, abs=1e-4)
    assert math.isnan(trial_score({"val_loss": 0.2}, spec))
    regression = _spec("regression")
    assert trial_metrics(regression, SCORE) == []
    assert trial_score({"val_loss": 0.7, "val_rmse": 3.0}, regression) == 0.7


def test_the_score_is_the_default_metric_and_offered_for_every_task() -> None:
    config = SearchConfig()
    assert config.metric == SCORE and config.resolved_direction() == "minimize"
    for task in ("multiclass", "binary", "regression"):
        spec = _spec(task)
        assert search_metrics(spec)[0] == SCORE and "val_loss" in search_metrics(spec)
        check_metric(spec, SCORE)
    with pytest.raises(MetricError, match="val_score"):
        check_metric(_spec("regression"), "val_accuracy")
