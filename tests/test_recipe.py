"""The small-table recipe: a design and training sized to the data, target scaling, ensembles, the collapse warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmlp import ModelSpec
from rmlp.data import load_table, spec_for_data
from rmlp.design import sizing
from rmlp.design.plan import AVERAGE, MEMBERS, make_plan
from rmlp.design.summary import summarize
from rmlp.runs.collapse import collapse_notice, constant_guess
from rmlp.runs.config import TrainConfig
from rmlp.spec.presets import get_preset

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


# ----------------------------------------------------------------------------- sizing
@pytest.mark.parametrize("rows", [1, 10, 150, 300, 1000, 4500, 100_000])
def test_training_is_sized_within_its_bounds_and_grows_batches_with_rows(rows: int) -> None:
    batch = sizing.batch_size_for(rows)
    assert sizing.MIN_BATCH <= batch <= sizing.MAX_BATCH and batch & (batch - 1) == 0
    epochs = sizing.epochs_for(rows, batch)
    assert sizing.MIN_EPOCHS <= epochs <= sizing.MAX_EPOCHS
    assert sizing.batch_size_for(rows * 4) >= batch


@pytest.mark.parametrize("rows", [200, 400, 700, 1500])
def test_a_sized_epoch_is_about_eight_steps_and_the_run_about_a_thousand(rows: int) -> None:
    batch = sizing.batch_size_for(rows)
    steps = -(-rows // batch)
    assert sizing.BATCH_SHARE / 2 <= steps <= sizing.BATCH_SHARE * 2
    assert abs(steps * sizing.epochs_for(rows, batch) - sizing.TARGET_STEPS) <= sizing.TARGET_STEPS / 2
    assert TrainConfig().patience == 16


def test_empty_training_settings_are_sized_and_given_ones_kept() -> None:
    sized, notices = TrainConfig().sized(300)
    assert sized.batch_size == sizing.batch_size_for(300)
    assert sized.epochs == sizing.epochs_for(300, sized.batch_size)
    assert sized.min_epochs == sized.epochs // 5
    assert notices and "300 training rows" in notices[0]
    mine, notices = TrainConfig(epochs=7, batch_size=50, min_epochs=2).sized(300)
    assert (mine.epochs, mine.batch_size, mine.min_epochs) == (7, 50, 2) and notices == []


def test_an_undesigned_spec_is_sized_to_the_table_and_a_designed_one_is_left_alone() -> None:
    data = load_table(SAMPLE / "wine.csv", "target", seed=0)
    sized, notices = spec_for_data(ModelSpec(), data)
    assert sized.optimizer.name == "adamw" and sized.optimizer.weight_decay > 0
    assert sized.label_smoothing > 0 and len(sized.blocks) == 2
    assert any("Design sized to" in n and "original_readme" in n for n in notices)
    # five packed members of about 7·10^4 weights each for ~120 rows: together fewer than the original's one network
    assert sized.ensemble == sizing.MEMBERS and any(f"{sizing.MEMBERS} such networks averaged" in n for n in notices)
    assert sized.ensemble_layout == "packed"
    # wine's ~120 training rows are too few to learn a layer per feature: no embedding, and the notice says why
    assert sized.embedding == "none" and any("fewer than 1,000 training rows" in n for n in notices)
    original_params = summarize(ModelSpec(input_shape=[13], num_outputs=3)).total_params
    assert summarize(sized.copy_with(ensemble=1)).total_params < original_params / 8
    assert summarize(sized).total_params < original_params * 0.6
    mine = ModelSpec(blocks=[{"layers": 3, "width": 32, "decrement": 8}])
    kept, notices = spec_for_data(mine, data)
    assert kept.blocks == mine.blocks and kept.optimizer == mine.optimizer
    assert not any("Design sized" in n for n in notices)
    forced, _ = spec_for_data(mine, data, size=False)
    assert forced.blocks == mine.blocks
    # the original design, chosen as its preset, stays the original design (only fitted to the data)
    original, notices = spec_for_data(get_preset("original_readme"), data)
    assert original.blocks == ModelSpec().blocks and original.final_layers == ModelSpec().final_layers
    assert original.input_shape == [13] and not any("Design sized" in n for n in notices)


def test_the_piecewise_embedding_is_proposed_for_mostly_numeric_tables_of_enough_rows() -> None:
    kind, why = sizing.embedding_for(13, 13, 999)
    assert kind == "none" and "fewer than 1,000 training rows" in why
    kind, why = sizing.embedding_for(13, 13, 1000)
    assert kind == "piecewise" and "13 of 13" in why and "16 bins" in why
    assert sizing.embedding_for(13, 6, 5000)[0] == "none"  # mostly one-hot columns
    assert sizing.embedding_for(32, 32, 5000)[0] == "piecewise"  # 256 embedded values
    kind, why = sizing.embedding_for(64, 64, 5000)  # 512 embedded values: too wide
    assert kind == "none" and "512 values" in why and "turns it on" in why
    sized, _ = sizing.design_for(4000, 20, True, numeric=20)
    assert sized["embedding"] == "piecewise"
    assert ModelSpec().embedding_bins == 16  # the bins the notice names


def test_small_tables_get_an_ensemble_and_large_ones_a_single_network() -> None:
    below, _ = sizing.design_for(sizing.SINGLE_FROM_ROWS - 1, 20, True)
    at, why = sizing.design_for(sizing.SINGLE_FROM_ROWS, 20, False)
    assert below["ensemble"] == sizing.MEMBERS > 1 and at["ensemble"] == 1
    assert "averaged" not in why
    # a spec whose only change is its member count was chosen: it is not sized again
    chosen, notices = spec_for_data(ModelSpec(ensemble=3), load_table(SAMPLE / "wine.csv", "target", seed=0))
    assert chosen.ensemble == 3 and chosen.blocks == ModelSpec().blocks
    assert not any("Design sized" in n for n in notices)


def test_without_normalisation_the_main_path_and_gaps_have_no_batchnorm_and_the_bypass_keeps_its_own() -> None:
    spec = ModelSpec(input_shape=[6], blocks=[{"layers": 2, "width": 16, "decrement": 4}] * 2,
                     inter_block_layers=[8], bypass_regularizer="batchnorm")
    with_norm = make_plan(spec)
    without = make_plan(spec.copy_with(normalization="none"))
    norms = [n for n in with_norm if n.op == "batchnorm"]
    assert {n.role for n in norms} == {"main", "inter", "bypass"}
    assert [n.role for n in without if n.op == "batchnorm"] == ["bypass", "bypass"]
    assert [n.name for n in without if n.op == "dense"] == [n.name for n in with_norm if n.op == "dense"]
    dropped = sum(n.params for n in norms if n.role != "bypass")
    assert summarize(spec).total_params - summarize(spec.copy_with(normalization="none")).total_params == dropped
    # the sized design leaves it out; the original design keeps it
    data = load_table(SAMPLE / "wine.csv", "target", seed=0)
    assert spec_for_data(ModelSpec(), data)[0].normalization == "none"
    assert spec_for_data(get_preset("original_readme"), data)[0].normalization == "batchnorm"


def test_a_regression_target_is_standardised_in_the_spec() -> None:
    data = load_table(SAMPLE / "diabetes.csv", "progression", seed=0)
    spec, notices = spec_for_data(ModelSpec(), data)
    y = np.asarray(data.y_train, dtype="float64")
    assert spec.target_scale is not None
    assert spec.target_scale.mean == pytest.approx(y.mean(), rel=1e-5)
    assert spec.target_scale.std == pytest.approx(y.std(), rel=1e-5)
    assert any("Target standardised" in n for n in notices)
    assert make_plan(spec.copy_with(ensemble=1))[-1].op == "rescale"
    ops = [n.op for n in make_plan(spec)]  # an ensemble rescales its members' stacked outputs, then averages
    assert spec.ensemble > 1 and ops.count("rescale") == 1 and ops[-2:] == ["rescale", "average"]


# ----------------------------------------------------------------------------- ensembles on the design path
def test_an_ensemble_plans_k_members_and_their_average() -> None:
    one = ModelSpec(input_shape=[6], num_outputs=3, blocks=[{"layers": 2, "width": 16, "decrement": 4}])
    three = one.copy_with(ensemble=3, ensemble_layout="separate")
    nodes = make_plan(three)
    assert nodes[-1].name == AVERAGE and nodes[-1].shape == (3,)
    stack = next(n for n in nodes if n.name == MEMBERS)
    assert stack.shape == (3, 3) and len(stack.inputs) == 3
    assert summarize(three).total_params == 3 * summarize(one).total_params
    assert len({n.name for n in nodes}) == len(nodes)
    packed = make_plan(three.copy_with(ensemble_layout="packed"))  # the same members, one layer for all of them
    assert packed[-1].name == AVERAGE and packed[-2].shape == (3, 3)
    assert summarize(three.copy_with(ensemble_layout="packed")).total_params == summarize(three).total_params


def test_the_graph_draws_one_member_and_says_how_many() -> None:
    from rmlp.design.graph import to_dot

    spec = ModelSpec(input_shape=[6], num_outputs=3, ensemble=4)
    dot = to_dot(spec)
    assert "ensemble of 4" in dot and "of 4 members" in dot
    assert dot.count("block1_entry") == to_dot(spec.copy_with(ensemble=1)).count("block1_entry")


# ----------------------------------------------------------------------------- the collapse warning
class _Split:
    task = "binary"
    class_names = ["no", "yes"]

    def __init__(self, y_train: np.ndarray, y_test: np.ndarray) -> None:
        self.y_train, self.y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)


def test_the_collapse_warning_fires_at_the_majority_share_and_not_above_it() -> None:
    data = _Split(np.array([0] * 80 + [1] * 20), np.array([0] * 16 + [1] * 4))
    guess = constant_guess(data.y_train, data.y_test, "binary", data.class_names)
    assert guess.score == pytest.approx(0.8) and "no" in guess.what
    warning = collapse_notice(data, {"split": "test", "accuracy": 0.8}, "binary")
    assert warning is not None and "no better than always predicting the most common class (no)" in warning
    assert collapse_notice(data, {"split": "test", "accuracy": 0.85}, "binary") is None
    reg = _Split(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0]))
    mean_rmse = constant_guess(reg.y_train, reg.y_test, "regression").score
    assert mean_rmse == pytest.approx(np.sqrt((0 + 4) / 2))
    assert collapse_notice(reg, {"split": "test", "rmse": mean_rmse * 1.1}, "regression") is not None
    assert collapse_notice(reg, {"split": "test", "rmse": mean_rmse * 0.5}, "regression") is None


def _noise_table(path: Path, rows: int = 240) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
    frame["label"] = np.where(rng.random(rows) < 0.8, "stay", "leave")  # nothing in the inputs predicts it
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_training_warns_on_a_model_that_learned_nothing_and_not_on_a_healthy_one(tmp_path: Path) -> None:
    from rmlp import train

    noise = load_table(_noise_table(tmp_path / "noise.csv"), "label", seed=0)
    quick = TrainConfig(runs_dir=str(tmp_path / "runs"), epochs=3, batch_events_every=60)
    spec = ModelSpec(blocks=[{"layers": 1, "width": 8, "decrement": 0}], final_layers=[],
                     optimizer={"learning_rate": 1e-5})
    result = train(spec, noise, quick)
    assert any("no better than always predicting" in n for n in result.notices)
    state = json.loads((result.run_dir / "state.json").read_text())
    assert any("no better than always predicting" in n for n in state["notices"])
    wine = load_table(SAMPLE / "wine.csv", "target", seed=0)
    healthy = train(ModelSpec(), wine, quick.model_copy(update={"epochs": 40}))
    assert healthy.test_metrics["accuracy"] > 0.8
    assert not any("no better than always predicting" in n for n in healthy.notices)


# ----------------------------------------------------------------------------- without rmlp
def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return env


NO_RMLP = r'''
import json, runpy, sys
sys.modules["rmlp"] = None  # nothing below may need rmlp
import keras, numpy as np
run_dir, predict_py, rows_csv, x_npy, model_py = sys.argv[1:]
model = keras.saving.load_model(f"{run_dir}/model.keras", safe_mode=True, compile=False)
direct = np.asarray(model.predict(np.load(x_npy), verbose=0)).reshape(-1).tolist()
sys.argv = [predict_py, rows_csv, "--run", run_dir, "--output", f"{run_dir}/pred.csv"]
runpy.run_path(predict_py, run_name="__main__")
ns = runpy.run_path(model_py)
rebuilt = ns["build_model"]()
rebuilt.set_weights(model.get_weights())
again = np.asarray(rebuilt.predict(np.load(x_npy), verbose=0)).reshape(-1).tolist()
print("RESULT:" + json.dumps({"direct": direct, "rebuilt": again, "output": list(model.output_shape)}))
'''


def _run_without_rmlp(run_dir: Path, rows_csv: Path, x: np.ndarray, spec: ModelSpec) -> dict:
    from rmlp.export import export_predict_script, export_python

    np.save(run_dir / "x.npy", x)
    (run_dir / "predict.py").write_text(export_predict_script(run_dir), encoding="utf-8")
    (run_dir / "rebuilt.py").write_text(export_python(spec), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", NO_RMLP, str(run_dir), str(run_dir / "predict.py"), str(rows_csv),
                           str(run_dir / "x.npy"), str(run_dir / "rebuilt.py")],
                          env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT:"))
    return json.loads(line[len("RESULT:"):])


def _shifted_regression(path: Path, rows: int = 300) -> Path:
    """A target far from mean 0 and spread 1: 5,000 + 800·a − 300·b + noise."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["kind"] = rng.choice(["x", "y"], size=rows)
    frame["price"] = 5000 + 800 * frame["a"] - 300 * frame["b"] + rng.normal(scale=50, size=rows)
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_the_target_scale_round_trips_through_evaluate_predict_py_and_the_export(tmp_path: Path) -> None:
    from rmlp import train
    from rmlp.keras.evaluate import predict

    csv = _shifted_regression(tmp_path / "prices.csv")
    data = load_table(csv, "price", seed=0)
    result = train(ModelSpec(), data, TrainConfig(runs_dir=str(tmp_path / "runs"), epochs=60,
                                                  batch_events_every=60))
    assert result.spec is not None and result.spec.target_scale is not None
    spread = float(np.std(data.y_test))
    # evaluated in the target's own units: far better than the mean, on the scale of the noise and the fit
    assert result.test_metrics["rmse"] < 0.5 * spread
    ours = predict(result.model, data.x_test).reshape(-1)
    assert abs(float(np.mean(ours)) - float(np.mean(data.y_test))) < 0.3 * spread
    frame = pd.read_csv(csv)
    x_all = data.preprocessor.transform(frame)
    got = _run_without_rmlp(result.run_dir, csv, x_all, result.spec)
    direct = np.asarray(got["direct"])
    np.testing.assert_allclose(direct, predict(result.model, x_all).reshape(-1), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(np.asarray(got["rebuilt"]), direct, rtol=1e-4, atol=1e-2)
    rows = pd.read_csv(result.run_dir / "pred.csv")
    np.testing.assert_allclose(rows["prediction"].to_numpy(), direct, rtol=1e-4, atol=1e-2)
    assert float(rows["prediction"].mean()) == pytest.approx(float(frame["price"].mean()), rel=0.05)


@pytest.mark.slow
def test_an_ensemble_trains_saves_and_predicts_without_rmlp(tmp_path: Path) -> None:
    from rmlp import train
    from rmlp.keras.evaluate import predict

    csv = SAMPLE / "wine.csv"
    data = load_table(csv, "target", seed=0)
    spec, _ = spec_for_data(ModelSpec(), data)
    ensemble = spec.copy_with(ensemble=3, ensemble_layout="separate")  # one tower per member, named m1..m3
    result = train(ensemble, data, TrainConfig(runs_dir=str(tmp_path / "runs"), epochs=30, batch_events_every=60))
    assert result.model.output_shape == (None, 3)
    assert result.model.count_params() == summarize(result.spec).total_params
    assert result.test_metrics["accuracy"] > 0.8
    members = [layer.name for layer in result.model.layers if layer.name.endswith("_output")]
    assert members == ["m1_output", "m2_output", "m3_output"]
    frame = pd.read_csv(csv)
    x_all = data.preprocessor.transform(frame)
    got = _run_without_rmlp(result.run_dir, csv, x_all, result.spec)
    assert got["output"] == [None, 3]
    probs = np.asarray(got["direct"]).reshape(-1, 3)
    np.testing.assert_allclose(probs, predict(result.model, x_all), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(got["rebuilt"]).reshape(-1, 3), probs, rtol=1e-4, atol=1e-5)
    rows = pd.read_csv(result.run_dir / "pred.csv")
    np.testing.assert_allclose(rows[["p(class_0)", "p(class_1)", "p(class_2)"]].to_numpy(), probs, atol=1e-5)


# ----------------------------------------------------------------------------- piecewise-linear encoding
def test_piecewise_linear_bins_encode_numbers_and_travel_in_the_preprocessor(tmp_path: Path) -> None:
    from rmlp.data import Preprocessor
    from rmlp.data.preprocessor import piecewise_linear
    from rmlp.export import export_predict_script

    np.testing.assert_allclose(piecewise_linear(np.array([-1.0, 0.5, 1.5, 9.0]), [0.0, 1.0, 2.0, 3.0]),
                               [[0, 0, 0], [0.5, 0, 0], [1, 0.5, 0], [1, 1, 1]])
    plain = load_table(SAMPLE / "wine.csv", "target", seed=0)
    binned = load_table(SAMPLE / "wine.csv", "target", seed=0, numeric_bins=4)
    numeric = sum(c["kind"] == "numeric" for c in binned.preprocessor.columns)
    assert binned.x_train.shape[1] == plain.x_train.shape[1] + 4 * numeric
    assert "alcohol#bin4" in binned.preprocessor.feature_names
    assert binned.load_args["numeric_bins"] == 4
    assert 0.0 <= float(binned.x_train[:, 1:5].min()) and float(binned.x_train[:, 1:5].max()) <= 1.0
    prep = json.loads(binned.preprocessor.to_json())
    frame = pd.read_csv(SAMPLE / "wine.csv")
    np.testing.assert_allclose(Preprocessor.from_dict(prep).transform(frame), binned.preprocessor.transform(frame))
    # the exported predict script (no rmlp) encodes the bins the same way
    namespace: dict = {}
    exec(compile(export_predict_script(tmp_path), "predict.py", "exec"), namespace)  # noqa: S102
    np.testing.assert_allclose(namespace["transform"](frame, prep), binned.preprocessor.transform(frame),
                               rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- the search's defaults
def test_a_small_table_gets_a_narrower_space_around_the_sized_design_and_the_recipe_settings() -> None:
    from rmlp.search.space import default_space

    data = load_table(SAMPLE / "wine.csv", "target", seed=0)
    spec, _ = spec_for_data(ModelSpec(), data)
    rows = len(data.x_train)
    small = default_space(spec, sizing.batch_size_for(rows), rows=rows).params
    wide = default_space(spec, sizing.batch_size_for(rows)).params
    assert small["blocks[].width"].high == 256 and wide["blocks[].width"].high == 512
    assert small["num_blocks"].high == 3 and wide["num_blocks"].high == 4
    assert small["batch_size"].choices == [8, 16, 32]
    for recipe in ("optimizer.weight_decay", "label_smoothing", "optimizer.learning_rate"):
        assert recipe in small
    big = default_space(spec, 64, rows=5000).params
    assert big["blocks[].width"] == wide["blocks[].width"]


def test_search_settings_are_sized_to_the_table_and_prune_with_hyperband_by_default() -> None:
    from rmlp.search.config import SearchConfig

    config = SearchConfig()
    assert config.pruner == "hyperband" and config.epochs is None and config.batch_size is None
    sized = config.sized(124)
    assert sized.batch_size == sizing.batch_size_for(124)
    assert sized.epochs == sizing.trial_epochs_for(124, sized.batch_size)
    assert 10 <= sized.epochs <= 30
    assert SearchConfig(epochs=7, batch_size=64).sized(124).model_dump(include={"epochs", "batch_size"}) == {
        "epochs": 7, "batch_size": 64}


def test_a_trial_compiles_only_the_metric_it_reads() -> None:
    pytest.importorskip("keras")
    from rmlp.search.objective import trial_metrics

    spec = ModelSpec(task="binary", num_outputs=1, input_shape=[4])
    assert trial_metrics(spec, "val_loss") == []
    assert [m.name for m in trial_metrics(spec, "val_auc")] == ["auc"]
    assert len(trial_metrics(spec, "val_unknown")) > 1  # an unknown name: the full set, so Keras says what exists


def test_the_validation_score_ranks_by_accuracy_and_breaks_ties_by_the_loss() -> None:
    pytest.importorskip("keras")
    from rmlp.runs.callbacks import ValidationScore

    def score(accuracy: float, loss: float) -> float:
        logs = {"val_accuracy": accuracy, "val_loss": loss}
        ValidationScore().on_epoch_end(0, logs)
        return logs[ValidationScore.NAME]

    assert score(0.9, 50.0) < score(0.8999, 0.01)  # one row in 10,000 beats any loss
    assert score(0.9, 0.2) < score(0.9, 0.3)
    logs = {"val_loss": 0.5}
    ValidationScore().on_epoch_end(0, logs)
    assert ValidationScore.NAME not in logs  # regression: the loss itself is watched


def test_the_design_notice_names_its_row_band_in_plain_words() -> None:
    for rows, band, width in ((999, "fewer than 1,000 rows", 128), (1000, "1,000 rows or more", 256)):
        fields, why = sizing.design_for(rows, 12, True)
        assert fields["blocks"][0]["width"] == width
        assert f"Design sized to {rows} training rows of 12 features ({band})" in why, why


def test_the_sizing_notice_names_the_pooled_rows_of_members_on_folds(tmp_path: Path) -> None:
    """Members on folds train on the training and validation rows pooled: the notice says so, with their count."""
    from rmlp.runs.train import preflight

    data = load_table(SAMPLE / "wine.csv", "target", seed=0)
    pooled = len(data.x_train) + len(data.x_val)
    spec, _, notices = preflight(ModelSpec(), data, TrainConfig(runs_dir=str(tmp_path)))
    assert spec.ensemble > 1
    assert any(n.startswith(f"Training sized to the {pooled} training and validation rows:") for n in notices)
    _, _, alone = preflight(ModelSpec(), data, TrainConfig(runs_dir=str(tmp_path), ensemble_folds=False))
    assert any(n.startswith(f"Training sized to the {len(data.x_train)} training rows:") for n in alone)


def test_the_embedding_notice_names_the_designs_own_bins() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1600, 5)), columns=list("abcde")).assign(y=rng.integers(0, 2, 1600))
    data = load_table(frame, "y", seed=0)
    sized, notices = spec_for_data(ModelSpec(embedding_bins=8), data)
    assert sized.embedding == "piecewise" and sized.embedding_bins == 8
    assert any("its position in 8 bins" in n for n in notices)
