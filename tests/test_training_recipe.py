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


# ----------------------------------------------------------------------------- options every caller gets
def test_weight_averaging_and_steps_per_call_are_recipe_decisions() -> None:
    spec = ModelSpec(input_shape=[4], num_outputs=3)
    plain = make_recipe(spec, TrainConfig(steps_per_execution=1), table(100, 20))
    assert plain.optimizer_options() == {} and plain.compile_options() == {} and plain.keras_callbacks() == []
    averaged = make_recipe(spec, TrainConfig(weight_averaging=0.95, steps_per_execution=8), table(100, 20))
    assert averaged.optimizer_options() == {"use_ema": True, "ema_momentum": 0.95}
    assert averaged.compile_options() == {"steps_per_execution": 8}
    assert averaged.keras_callbacks() == [("SwapEMAWeights", {"swap_on_epoch": True})]
    # a trial gets a run's defaults for what the search does not set
    trial = make_recipe(spec, trial_training(SearchConfig(), 32), table(100, 20))
    assert trial.compile_options() == {"steps_per_execution": TrainConfig().steps_per_execution}


def test_the_averaged_weights_come_first_so_the_stopping_rules_see_them() -> None:
    import keras

    spec = ModelSpec(input_shape=[4], num_outputs=3)
    recipe = make_recipe(spec, TrainConfig(weight_averaging=0.9), table(100, 20))
    kinds = [type(c) for c in recipe.callbacks(keep_best_weights=True)]
    assert kinds == [keras.callbacks.SwapEMAWeights, keras.callbacks.EarlyStopping]
    options = recipe.compile_kwargs()
    assert options["optimizer_options"]["use_ema"] and options["compile_options"]["steps_per_execution"] > 1


def test_weight_averaging_without_keeping_the_best_epoch_is_refused_with_a_fix() -> None:
    with pytest.raises(ValueError, match=r"weight_averaging: .* Turn on 'Keep the best epoch'"):
        TrainConfig(weight_averaging=0.99, restore_best=False)
    assert not TrainConfig(weight_averaging=0.99).problems()
    # every planned epoch runs without early stopping, so the averaged weights are the last ones (promote)
    assert not TrainConfig(weight_averaging=0.99, restore_best=False, early_stopping=False).problems()


@pytest.mark.slow
def test_a_run_with_weight_averaging_ends_with_the_averaged_weights(tmp_path) -> None:
    """The same seed with and without averaging: the same raw steps, so the two models differ only by the
    average, and the averaged model's best validation score is what the run reports."""
    from pathlib import Path

    from rmlp.data import load_table, spec_for_data
    from rmlp.runs.train import train

    data = load_table(Path(__file__).resolve().parents[1] / "sample_data" / "wine.csv", "target", seed=0)
    spec = spec_for_data(ModelSpec(), data, size=False)[0]
    base = TrainConfig(epochs=4, batch_size=32, seed=0, runs_dir=str(tmp_path), early_stopping=False)
    plain = train(spec, data, base)
    averaged = train(spec, data, base.model_copy(update={"weight_averaging": 0.9}))
    assert TrainConfig.from_json((averaged.run_dir / "train_config.json").read_text()).weight_averaging == 0.9
    pairs = zip(plain.model.get_weights(), averaged.model.get_weights(), strict=True)
    differs = [not np.allclose(a, b) for a, b in pairs]
    assert any(differs)
    history = averaged.history
    assert averaged.test_metrics and len(history["val_loss"]) == 4
