"""The exported training script is a command on a CSV file that splits, trains and scores as rmlp does."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rmlp.data import load_table
from rmlp.data.split import SplitConfig
from rmlp.export import export_python
from rmlp.runs.config import TrainConfig
from rmlp.spec.model import BlockSpec, ModelSpec
from rmlp.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CASES = {"wine": ("wine.csv", "target"), "breast_cancer": ("breast_cancer.csv", "diagnosis"),
         "diabetes": ("diabetes.csv", "progression")}


def _functions(code: str, names: set[str]) -> dict:
    """The script's named top-level functions with the constants they read, run without Keras."""
    tree = ast.parse(code)
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in names)
            or (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id.isupper())]
    import pandas as pd

    namespace: dict = {"np": np, "pd": pd, "json": json, "Path": Path}
    exec(compile(ast.Module(keep, []), "<script>", "exec"), namespace)
    return namespace


def _sample(name: str) -> Path:
    path = SAMPLE / CASES[name][0]
    if not path.is_file():
        pytest.skip(f"sample_data/{path.name} is not there")
    return path


def _script(data, config: TrainConfig, split: SplitConfig | None = None, spec: ModelSpec | None = None) -> str:
    spec = spec or PRESETS["small_tabular"].copy_with(input_shape=data.input_shape, num_outputs=data.num_outputs,
                                                       task=data.task)
    return export_python(spec, csv_path="/tmp/rmlp-designer/uploads/0123456789abcdef0123.csv", target=data.target,
                         training=config, include_training=True, preprocessor=data.preprocessor.to_dict(),
                         split=split)


# ----------------------------------------------------------------------------- fast: the script's parts
def test_the_script_names_no_data_path_and_takes_the_data_as_an_argument():
    data = load_table(_sample("wine"), "target")
    code = _script(data, TrainConfig())
    assert "/tmp/rmlp-designer" not in code and "uploads" not in code
    consts = _functions(code, set())
    assert consts["DATA_NAME"] == "0123456789abcdef0123.csv"  # the file's name, only in the help
    assert (consts["VAL_SIZE"], consts["TEST_SIZE"], consts["SEED"]) == (0.15, 0.15, 0)
    assert "def main(argv=None)" in code
    flat = "".join(code.split())
    assert 'add_argument("data",' in flat and 'add_argument("--target",default=TARGET' in flat


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed,val,test", [(0, 0.15, 0.15), (7, 0.2, 0.1), (3, 0.0, 0.25)])
def test_the_script_splits_the_same_rows_as_rmlp(name, seed, val, test):
    csv, target = CASES[name]
    data = load_table(_sample(name), target, seed=seed, val_size=val, test_size=test)
    code = _script(data, TrainConfig(seed=seed), SplitConfig(val_size=val, test_size=test))
    fns = _functions(code, {"read_csv", "transform", "label_text", "class_order", "fit_target", "fit_preprocessor",
                            "target_codes", "encode_target", "split_rows", "load_data"})
    assert (fns["VAL_SIZE"], fns["TEST_SIZE"], fns["SEED"]) == (val, test, seed)
    x, y, rows, prep = fns["load_data"](_sample(name), target, val, test, seed)
    for part, got in zip(("train", "val", "test"), rows, strict=True):
        np.testing.assert_array_equal(got, data.split_rows[part], err_msg=part)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(x[data.split_rows[part]], getattr(data, f"x_{part}"), err_msg=part)
        np.testing.assert_array_equal(y[data.split_rows[part]], getattr(data, f"y_{part}"), err_msg=part)
    # without the embedded preprocessor the classes (so the stratified split) come out the same
    learned = fns["fit_target"](fns["read_csv"](_sample(name))[target], target, data.task)
    assert learned["classes"] == [fns["label_text"](c) for c in data.class_names]


def test_a_split_that_cannot_be_made_is_a_plain_message():
    data = load_table(_sample("wine"), "target")
    fns = _functions(_script(data, TrainConfig()), {"split_rows"})
    with pytest.raises(SystemExit, match="shares must each be between 0 and 1"):
        fns["split_rows"](None, 100, 0.6, 0.5, 0)


def _find_run_dir(predict_py: Path):
    """The predict script's find_run_dir(), run as if the script lay at ``predict_py``."""
    code = predict_py.read_text(encoding="utf-8")
    keep = [n for n in ast.parse(code).body if (isinstance(n, ast.FunctionDef) and n.name == "find_run_dir")
            or (isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "DEFAULT_RUN_DIR")]
    namespace: dict = {"Path": Path, "__file__": str(predict_py)}
    exec(compile(ast.Module(keep, []), "<predict>", "exec"), namespace)
    return namespace["find_run_dir"]


def test_a_bundles_predict_script_uses_its_own_folder_wherever_it_is_unzipped(tmp_path, monkeypatch):
    import zipfile

    from rmlp.export import make_bundle

    monkeypatch.chdir(tmp_path)  # the folder a server or a command runs in must not leak into the script
    zipped = make_bundle(PRESETS["small_tabular"], tmp_path / "design.zip")
    where = tmp_path / "somewhere" / "else"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(where)
    code = (where / "predict.py").read_text(encoding="utf-8")
    assert "DEFAULT_RUN_DIR = None" in code and str(tmp_path) not in code
    find = _find_run_dir(where / "predict.py")
    assert find() == where.resolve()
    assert find("given") == Path("given")
    # a script made for a run folder still falls back to that folder when no model lies beside it
    from rmlp.export import export_predict_script

    (tmp_path / "p.py").write_text(export_predict_script(tmp_path / "run"), encoding="utf-8")
    assert _find_run_dir(tmp_path / "p.py")() == (tmp_path / "run").resolve()


def test_a_run_bundles_training_script_uses_the_runs_split_and_no_server_path(tmp_path):
    from rmlp.export import run_export_inputs

    run = tmp_path / "run"
    run.mkdir()
    PRESETS["small_tabular"].save(run / "spec.json")
    (run / "train_config.json").write_text(TrainConfig(seed=4).to_json(), encoding="utf-8")
    upload = "/tmp/rmlp-designer/uploads/0123456789abcdef0123/89abcdef0123456789ab.csv"
    (run / "data.json").write_text(json.dumps({"kind": "table", "path": upload, "target": "target", "seed": 4,
                                               "load_args": {"val_size": 0.2, "test_size": 0.1}}), encoding="utf-8")
    data = load_table(_sample("wine"), "target")
    (run / "preprocessor.json").write_text(data.preprocessor.to_json(), encoding="utf-8")
    code = export_python(PRESETS["small_tabular"], **run_export_inputs(run))
    consts = _functions(code, set())
    assert (consts["VAL_SIZE"], consts["TEST_SIZE"], consts["SEED"], consts["SPLIT_SEED"]) == (0.2, 0.1, 4, None)
    assert "/tmp/rmlp-designer" not in code and consts["DATA_NAME"] == "89abcdef0123456789ab.csv"


# ----------------------------------------------------------------------------- slow: trains twice
DRIVER = r'''
import json, runpy, sys
sys.modules["rmlp"] = None  # the scripts must not need rmlp
import keras
results = {}
for script, csv, out in json.loads(sys.argv[1]):
    keras.backend.clear_session()
    sys.argv = [script, csv, "--out", out]
    runpy.run_path(script, run_name="__main__")
    results[out] = json.load(open(f"{out}/metrics.json"))
print("RESULT:" + json.dumps(results))
'''


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "diabetes"])
def test_the_script_deals_ensemble_folds_as_rmlp_does(name):
    from rmlp.runs.folds import fold_of_rows, held_out_rows

    data = load_table(_sample(name), CASES[name][1], seed=0)
    code = _script(data, TrainConfig(), spec=PRESETS["small_tabular"].copy_with(
        input_shape=data.input_shape, num_outputs=data.num_outputs, task=data.task, ensemble=4))
    found = _functions(code, {"member_folds", "held_out_rows"})
    dealt = found["member_folds"]
    x, y = np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])
    for seed in (0, 7):
        folds = dealt(y, 4, seed)
        assert np.array_equal(folds, fold_of_rows(y, 4, seed))
        assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
        y4 = np.repeat(y[:, None], 4, axis=1)
        for mine, rmlps in zip(found["held_out_rows"](x, y4, folds, 4), held_out_rows(x, y4, folds, 4), strict=True):
            assert np.array_equal(mine, rmlps)


def test_the_script_sets_the_piecewise_bins_as_rmlp_does():
    """The script's set_bins and rmlp's give the embedding the same weights from the same rows (a column of
    repeated values gets fewer bins in both)."""
    import keras

    from rmlp.keras.bins import set_bins
    from rmlp.keras.build import build_model

    data = load_table(_sample("diabetes"), CASES["diabetes"][1], seed=0)
    spec = _tiny(data).copy_with(embedding="piecewise", embedding_bins=12)
    found = _functions(_script(data, TrainConfig(), spec=spec), {"set_bins"})
    found["keras"] = keras
    x = data.x_train.copy()
    x[:, 1] = np.round(x[:, 1])  # few distinct values
    theirs, ours = build_model(spec, compile=False), build_model(spec, compile=False)
    found["set_bins"](theirs, x)
    assert set_bins(ours, x)
    (k1, b1), (k2, b2) = theirs.get_layer("embed_bins").get_weights(), ours.get_layer("embed_bins").get_weights()
    assert np.array_equal(k1, k2) and np.array_equal(b1, b2)
    assert (k2[1] == 0).sum() > 0 and (k2[0] == 0).sum() == 0


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return env


def _tiny(data) -> ModelSpec:
    """A small design with dropout, so seeded dropout and batch order both matter."""
    from rmlp.data.fit import spec_for_data

    spec = ModelSpec(name="tiny", blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8],
                     final_dropout=0.1, bypass_dropout=0.1)
    return spec_for_data(spec, data, size=False)[0]


@pytest.mark.slow
def test_the_exported_script_reproduces_the_test_metrics_of_rmlp_train(tmp_path):
    """rmlp trains each sample in-process; the exported scripts train the same in a subprocess.

    Same data, seed, split, design and epochs: the same initial weights (seeded Keras), the same
    batches (the same seeded tf.data pipeline), the same callbacks (val_score watched, early stopping,
    best epoch restored, learning-rate plateaus), so the metrics agree bit for bit: both runs are the
    same float32 operations in the same order on the same CPU. (A seed one off changes every figure.)
    """
    from rmlp.runs.train import train

    # (table, settings, design changes): the ensembles train their members on folds of the pooled rows,
    # packed (one with the batch size and so the learning-rate schedule sized to those rows by the packed
    # budget and with learned feature scales, as the sized design has them, one with each embedding, one
    # with weight averaging, which validates on the pooled rows), shared or as separate towers; packed and
    # shared members validate on their own folds only.
    cases = [("wine", TrainConfig(epochs=6, batch_size=16, patience=1, min_epochs=1, seed=3), {}),
             ("breast_cancer", TrainConfig(epochs=3, batch_size=64, seed=1, monitor="loss"), {}),
             ("diabetes", TrainConfig(epochs=4, batch_size=32, seed=2, lr_schedule="constant", reduce_lr=True), {}),
             ("wine", TrainConfig(epochs=5, batch_size=16, patience=1, min_epochs=1, seed=4),
              {"ensemble": 3, "feature_scale": True}),
             ("diabetes", TrainConfig(epochs=3, seed=5), {"ensemble": 2, "embedding": "periodic"}),
             ("wine", TrainConfig(epochs=3, batch_size=32, seed=6), {"ensemble": 2, "ensemble_layout": "separate"}),
             ("wine", TrainConfig(epochs=5, batch_size=16, patience=1, min_epochs=1, seed=11),
              {"ensemble": 3, "ensemble_layout": "shared"}),
             ("diabetes", TrainConfig(epochs=3, batch_size=32, seed=12, weight_averaging=0.9), {"ensemble": 2}),
             ("breast_cancer", TrainConfig(epochs=2, seed=7), {"embedding": "periodic", "embedding_frequencies": 4}),
             # the piecewise-linear embedding, its bins set from the pooled rows (folds) or the training rows
             ("wine", TrainConfig(epochs=3, batch_size=16, seed=13), {"ensemble": 3, "embedding": "piecewise"}),
             ("diabetes", TrainConfig(epochs=2, seed=14), {"embedding": "piecewise", "embedding_bins": 6}),
             # the recipe's options: weight averaging (stopped early), one step per graph call
             ("wine", TrainConfig(epochs=6, batch_size=16, patience=1, min_epochs=1, seed=8, weight_averaging=0.9), {}),
             ("diabetes", TrainConfig(epochs=3, batch_size=32, seed=9, steps_per_execution=1), {}),
             # weight averaging over every planned epoch, ending with the last averaged weights (as promote trains)
             ("diabetes", TrainConfig(epochs=3, batch_size=32, seed=10, weight_averaging=0.95, early_stopping=False,
                                      restore_best=False), {})]
    jobs, expected = [], {}
    for i, (name, config, changes) in enumerate(cases):
        members = changes.get("ensemble", 1)
        csv, target = CASES[name]
        local = tmp_path / csv
        shutil.copyfile(_sample(name), local)
        data = load_table(local, target, seed=config.seed)
        spec = _tiny(data).copy_with(**changes)
        config = config.model_copy(update={"runs_dir": str(tmp_path / "runs"), "batch_events_every": 60.0})
        result = train(spec, data, config)
        assert result.spec == spec  # the design was already fitted to the data
        assert any("on folds" in n for n in result.notices) == (members > 1)
        script = tmp_path / f"{name}-{i}.py"
        script.write_text(_script(data, config, spec=spec), encoding="utf-8")
        out = str(tmp_path / f"out-{name}-{i}")
        jobs.append([str(script), str(local), out])
        expected[out] = result.test_metrics
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs)], cwd=tmp_path, env=_clean_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT:"))[len("RESULT:"):])
    for out, want in expected.items():
        have = got[out]
        assert set(have) == set(want), (out, set(have) ^ set(want))
        assert have == want, out
