"""Ensemble members on folds: how rows are dealt and weighted, and runs that train, score and resume on them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rmlp.runs.config import TrainConfig
from rmlp.runs.folds import fold_of_rows, fold_weights, held_out_rows, member_rows, rows_fitted, uses_folds
from rmlp.spec.model import BlockSpec, ModelSpec

WINE = Path(__file__).resolve().parents[1] / "sample_data" / "wine.csv"


def _table(n_train: int = 40, n_val: int = 10, classes: int = 3) -> Any:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, classes, size=n_train + n_val)
    y = np.eye(classes, dtype="float32")[labels]
    x = rng.normal(size=(n_train + n_val, 4)).astype("float32")
    return SimpleNamespace(x_train=x[:n_train], y_train=y[:n_train], x_val=x[n_train:], y_val=y[n_train:])


def test_folds_are_even_and_stratified_by_class():
    labels = np.repeat([0, 1, 2], [30, 9, 4])  # a rare class of 4 rows
    y = np.eye(3)[labels]
    folds = fold_of_rows(y, 4, seed=2)
    assert np.bincount(folds, minlength=4).tolist() == [11, 11, 11, 10]
    for c in range(3):
        per_fold = np.bincount(folds[labels == c], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1  # every fold gets its share of every class
    assert np.array_equal(folds, fold_of_rows(y, 4, seed=2))
    assert not np.array_equal(folds, fold_of_rows(y, 4, seed=3))


def test_binary_targets_are_stratified_and_regression_targets_are_not():
    binary = (np.arange(20) < 5).astype("float32")[:, None]
    folds = fold_of_rows(binary, 5, seed=0)
    assert np.bincount(folds[binary[:, 0] == 1], minlength=5).tolist() == [1, 1, 1, 1, 1]
    regression = np.linspace(-3, 3, 23, dtype="float32")[:, None]
    assert np.bincount(fold_of_rows(regression, 5, seed=0)).tolist() == [5, 5, 5, 4, 4]


def test_weights_hold_out_one_fold_per_member_with_mean_one():
    folds = np.array([0, 1, 2, 0, 1, 2, 0])
    train, val = fold_weights(folds, 3)
    assert train.shape == val.shape == (7, 3)
    assert np.all((train == 0) == (val > 0))  # a row is trained on or validated on, never both
    assert np.array_equal(np.argmax(val, axis=1), folds)
    assert train.sum() / train.size == pytest.approx(1.0, abs=0.05) and val.mean() == pytest.approx(1.0)


def test_member_rows_pool_training_and_validation_rows_only_for_ensembles_on_folds():
    data = _table()
    spec = ModelSpec(ensemble=3)
    rows = member_rows(spec, TrainConfig(), data)
    assert uses_folds(spec, TrainConfig(), data) and rows_fitted(spec, TrainConfig(), data) == 50
    assert rows.x.shape == (50, 4) and rows.y.shape == (50, 3, 3) and rows.weight.shape == (50, 3)
    assert rows.validation is not None and rows.validation[0] is rows.x and rows.validation[2].shape == (50, 3)
    same = member_rows(spec, TrainConfig(ensemble_folds=False), data)
    assert same.weight is None and same.x is data.x_train and same.validation[1].shape == (10, 3, 3)
    single = member_rows(ModelSpec(), TrainConfig(), data)
    assert single.weight is None and single.y is data.y_train and rows_fitted(ModelSpec(), TrainConfig(), data) == 40
    assert not uses_folds(ModelSpec(ensemble=8), TrainConfig(), _table(4, 2))  # fewer rows than members


def test_validation_loss_is_the_members_mean_out_of_fold_loss(tmp_path):
    keras = pytest.importorskip("keras")
    from rmlp.keras import feed

    data = _table(60, 0)
    spec = ModelSpec(ensemble=3)
    rows = member_rows(spec, TrainConfig(), data)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    members = [keras.layers.Reshape((1, 3))(keras.layers.Dense(3, activation="softmax")(inputs)) for _ in range(3)]
    model = keras.Model(inputs, keras.layers.Concatenate(axis=1)(members))
    model.compile(optimizer="adam", loss="categorical_crossentropy", weighted_metrics=["accuracy"])
    hist = feed.fit(model, rows.x, rows.y, batch_size=16, sample_weight=rows.weight, validation=rows.validation,
                    epochs=1)
    pred = model.predict(rows.x, verbose=0)
    held = np.argmax(rows.validation[2], axis=1)  # each row's own member
    mine = pred[np.arange(len(held)), held]
    truth = data.y_train
    want_loss = float(np.mean(-np.sum(truth * np.log(np.clip(mine, 1e-7, 1)), axis=1)))
    want_acc = float(np.mean(np.argmax(mine, axis=1) == np.argmax(truth, axis=1)))
    assert hist.history["val_loss"][0] == pytest.approx(want_loss, rel=1e-4)
    assert hist.history["val_accuracy"][0] == pytest.approx(want_acc)


def test_held_out_rows_give_each_member_its_own_fold_side_by_side():
    data = _table(41, 0)  # 41 rows in 3 folds: 14, 14 and 13
    rows = member_rows(ModelSpec(ensemble=3), TrainConfig(), data)
    folds = np.argmax(rows.validation[2], axis=1)
    assert rows.held_out is not None
    x, y, w = rows.held_out
    assert x.shape == (14, 3, 4) and y.shape == (14, 3, 3) and w.shape == (14, 3)
    for member in range(3):
        mine = np.flatnonzero(folds == member)
        real = w[:, member] > 0
        assert real.sum() == len(mine) and np.array_equal(x[real, member], data.x_train[mine])
        assert np.array_equal(y[real, member], data.y_train[mine])
    assert w.sum() == pytest.approx(w.size)  # mean 1 over every entry: Keras's mean is the out-of-fold mean
    assert member_rows(ModelSpec(ensemble=3, ensemble_layout="separate"), TrainConfig(), data).held_out is None
    assert np.array_equal(held_out_rows(data.x_train, rows.y, folds, 3)[0], x)


def _members_model(spec: ModelSpec) -> Any:
    from rmlp.keras.build import build_uncompiled, compile_model, members_model

    return compile_model(members_model(build_uncompiled(spec)), spec)


@pytest.mark.parametrize("changes", [{}, {"ensemble_layout": "shared"}, {"embedding": "periodic"},
                                     {"embedding": "piecewise"}])
def test_the_held_out_view_scores_what_the_pooled_rows_weighted_score(changes):
    keras = pytest.importorskip("keras")
    from rmlp.keras.held_out import held_out_view

    data = _table(57, 0)
    spec = _spec(input_shape=[4], num_outputs=3, task="multiclass", **changes)
    rows = member_rows(spec, TrainConfig(), data)
    keras.utils.set_random_seed(0)
    model = _members_model(spec)
    view = held_out_view(model)
    assert view is not None and view.count_params() == model.count_params()
    for _ in range(2):  # the view holds the model's own weights: it follows them
        x, y, w = rows.validation
        pooled = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
        x, y, w = rows.held_out
        own = view.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
        assert own == pytest.approx(pooled, rel=1e-5) and set(own) == set(pooled)
        model.set_weights([v * 1.5 for v in model.get_weights()])


def test_no_held_out_view_for_separate_towers_or_averaged_weights():
    pytest.importorskip("keras")
    from rmlp.keras.build import compile_model
    from rmlp.keras.held_out import held_out_view

    spec = _spec(input_shape=[4], num_outputs=3, task="multiclass")
    assert held_out_view(_members_model(spec.copy_with(ensemble_layout="separate"))) is None
    assert held_out_view(compile_model(_members_model(spec), spec, optimizer_options={"use_ema": True})) is None


def test_fit_validates_side_by_side_members_through_the_view_before_any_callback(tmp_path, monkeypatch):
    """The same figures as fit's own validation, whether the held-out rows are scored in one call (a table's)
    or, beyond held_out.ONE_CALL_BYTES, by evaluate over a dataset of them."""
    keras = pytest.importorskip("keras")
    from rmlp.keras import feed, held_out

    data = _table(60, 0)
    spec = _spec(input_shape=[4], num_outputs=3, task="multiclass")
    rows = member_rows(spec, TrainConfig(), data)
    seen: list[dict] = []
    histories = []
    for rows_held, one_call in ((None, True), (rows.held_out, True), (rows.held_out, False)):
        monkeypatch.setattr(held_out, "ONE_CALL_BYTES", 16 * 2**20 if one_call else 0)
        keras.utils.set_random_seed(0)
        model = _members_model(spec)
        first = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
        hist = feed.fit(model, rows.x, rows.y, batch_size=16, sample_weight=rows.weight, validation=rows.validation,
                        held_out=rows_held, epochs=3, callbacks=[first])
        histories.append(hist.history)
    native, *views = histories
    for view in views:
        assert set(native) == set(view) and native["loss"] == view["loss"]  # the same training
        for key in ("val_loss", "val_accuracy"):
            assert view[key] == pytest.approx(native[key], rel=1e-5)
    assert all("val_loss" in logs for logs in seen[3:])  # the first callback already saw the view's values


def _spec(**changes: Any) -> ModelSpec:
    return ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8], ensemble=3, **changes)


@pytest.mark.skipif(not WINE.is_file(), reason="sample_data/wine.csv is not there")
def test_a_run_on_folds_says_so_is_scored_on_test_rows_and_resumes(tmp_path):
    pytest.importorskip("keras")
    from rmlp.data import load_table
    from rmlp.runs.resume import resume
    from rmlp.runs.train import train

    data = load_table(WINE, "target", seed=0)
    config = TrainConfig(epochs=3, runs_dir=str(tmp_path / "runs"), batch_events_every=60.0)
    result = train(_spec(), data, config)
    pooled = len(data.x_train) + len(data.x_val)
    assert any(f"the {pooled} training and validation rows are split into 3 folds" in n for n in result.notices)
    from rmlp.design.sizing import budget_for

    budget = budget_for(_spec().ensemble, _spec().ensemble_layout)
    assert result.config is not None and result.config.batch_size == budget.batch_size(pooled)  # the pooled rows
    assert result.test_metrics["split"] == "test" and result.test_metrics["n"] == len(data.x_test)
    assert "val_accuracy" in result.history and "val_score" in result.history
    more = resume(result.run_dir, extra_epochs=1)
    assert more.epochs_run == 1 and more.test_metrics["n"] == len(data.x_test)


@pytest.mark.skipif(not WINE.is_file(), reason="sample_data/wine.csv is not there")
def test_without_test_rows_a_run_on_folds_reports_no_held_out_metrics(tmp_path):
    pytest.importorskip("keras")
    from rmlp.data import load_table
    from rmlp.runs.train import train

    data = load_table(WINE, "target", seed=0, test_size=0.0)
    config = TrainConfig(epochs=2, runs_dir=str(tmp_path / "runs"), batch_events_every=60.0)
    result = train(_spec(), data, config)
    assert result.test_metrics == {}
    assert any("no test rows" in n for n in result.notices)
    alone = train(_spec(), data, config.model_copy(update={"ensemble_folds": False}))
    assert alone.test_metrics["split"] == "val"
