"""The training recipe: one set of decisions from TrainConfig and the data, read by runs, the baseline and trials."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from rmlp import ModelSpec
from rmlp.runs.config import TrainConfig
from rmlp.runs.recipe import make_recipe, watched
from rmlp.runs.state import RunState
from rmlp.search.config import SearchConfig
from rmlp.search.objective import trial_training


def table(train: int, val: int) -> SimpleNamespace:
    return SimpleNamespace(x_train=np.zeros((train, 4)), y_train=np.zeros((train, 3)),
                           x_val=np.zeros((val, 4)), y_val=np.zeros((val, 3)))


def test_a_recipe_sizes_the_run_and_plans_its_steps() -> None:
    spec = ModelSpec(input_shape=[4], num_outputs=3)
    recipe = make_recipe(spec, TrainConfig(batch_size=32, epochs=10), table(100, 20))
    assert (recipe.rows, recipe.steps_per_epoch, recipe.steps) == (100, 4, 40)
    assert recipe.monitor == "val_score" and recipe.goal == "minimize" and recipe.mode == "min"
    assert recipe.folds == 1 and recipe.schedule == "cosine" and recipe.warmup == TrainConfig().warmup
    sized = make_recipe(spec, TrainConfig(), table(100, 20))
    expected, _ = TrainConfig().sized(100)
    assert (sized.epochs, sized.batch_size) == (expected.n_epochs, expected.n_batch)


def test_what_a_run_watches_follows_the_data_and_the_task() -> None:
    spec = ModelSpec(input_shape=[4], num_outputs=3)
    assert watched(spec, TrainConfig(), table(100, 0)) == "loss"
    assert watched(spec, TrainConfig(monitor="loss"), table(100, 20)) == "val_loss"
    regression = ModelSpec(input_shape=[4], num_outputs=1, task="regression")
    assert watched(regression, TrainConfig(), table(100, 20)) == "val_loss"


def test_members_on_folds_train_on_the_pooled_rows() -> None:
    spec = ModelSpec(input_shape=[4], num_outputs=3, ensemble=4)
    recipe = make_recipe(spec, TrainConfig(batch_size=10, epochs=2), table(100, 20))
    assert recipe.folds == 4 and recipe.rows == 120


def test_a_trial_trains_on_a_runs_recipe_with_the_searchs_budget() -> None:
    spec = ModelSpec(input_shape=[4], num_outputs=3)
    search = SearchConfig(epochs=7, patience=3, metric="val_accuracy")
    recipe = make_recipe(spec, trial_training(search, 16), table(100, 20), monitor=search.metric,
                         goal=search.resolved_direction())
    run = make_recipe(spec, TrainConfig(batch_size=16, epochs=7), table(100, 20))
    assert (recipe.epochs, recipe.batch_size, recipe.patience, recipe.min_epochs) == (7, 16, 3, 0)
    assert (recipe.schedule, recipe.warmup, recipe.steps) == (run.schedule, run.warmup, run.steps)
    assert recipe.monitor == "val_accuracy" and recipe.mode == "max"


def test_the_recipe_makes_the_stopping_rules_each_caller_needs() -> None:
    keras = pytest.importorskip("keras")
    from rmlp.runs.callbacks import ResumableEarlyStopping

    spec = ModelSpec(input_shape=[4], num_outputs=3)
    recipe = make_recipe(spec, TrainConfig(batch_size=16, epochs=50, patience=4), table(100, 20))
    (run,) = recipe.stopping(run_state=RunState(epochs=50))
    assert isinstance(run, ResumableEarlyStopping) and run.patience == 4 and run.start_from_epoch == 10
    (baseline,) = recipe.stopping(keep_best_weights=True)
    assert baseline.restore_best_weights and baseline.patience == 4
    kept = make_recipe(spec, TrainConfig(batch_size=16, epochs=50, early_stopping=False), table(100, 20))
    (only_best,) = kept.stopping(keep_best_weights=True)
    assert only_best.patience == 51 and only_best.start_from_epoch == 0
    assert kept.stopping(run_state=RunState(epochs=50)) == [] and kept.stopping() == []
    plateau = make_recipe(spec, TrainConfig(batch_size=16, epochs=5, lr_schedule="constant", reduce_lr=True),
                          table(100, 20))
    assert plateau.rate() is None and isinstance(plateau.plateau()[0], keras.callbacks.ReduceLROnPlateau)
    assert isinstance(recipe.rate(), keras.optimizers.schedules.CosineDecay)
