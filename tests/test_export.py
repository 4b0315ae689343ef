"""Export: stand-alone scripts rebuild the same model, user strings stay data, bundles hold everything."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rmlp import SpecError
from rmlp.export import (
    ExportError,
    export_predict_script,
    export_python,
    export_snippet,
    graph_svg,
    make_bundle,
)
from rmlp.export.code import preprocess_call
from rmlp.keras.build import build_uncompiled, check_buildable, compile_model
from rmlp.runs.config import TRAINING, TrainConfig
from rmlp.runs.recipe import make_recipe
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec
from rmlp.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
EVIL = '"); import os; os.system("x") #'
EVIL_NAME = "it's \"quoted\" '''\"\"\"\n import os"
SCRIPT_MODULES = {"keras", "numpy", "pandas", "json", "sys", "pathlib", "argparse", "csv", "re"}


def _imports(code: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def _string_constants(code: str) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _no_injected_code(code: str) -> None:
    """Nothing of the hostile strings became code: no os import, no .system call."""
    tree = ast.parse(code)
    assert "os" not in _imports(code)
    assert not any(isinstance(n, ast.Attribute) and n.attr == "system" for n in ast.walk(tree))
    assert not any(isinstance(n, ast.Name) and n.id == "os" for n in ast.walk(tree))


def _varied_spec(**changes) -> ModelSpec:
    """A small spec using every head feature: bypass Dense, batchnorm regularisers, gaps."""
    spec = ModelSpec(
        name="varied", input_shape=[4, 3], task="regression", num_outputs=2,
        blocks=[BlockSpec(layers=2, width=12, decrement=3, bypass=[5, 4]), BlockSpec(layers=1, width=6, decrement=0)],
        bypass_regularizer="batchnorm", inter_block_layers=[7, 6], final_layers=[9, 5],
        final_regularizer="batchnorm", activation="gelu",
    )
    spec.optimizer.name = "rmsprop"
    spec.optimizer.clipnorm = None
    return spec.copy_with(**changes) if changes else spec


# ----------------------------------------------------------------------------- fast: the code itself
@pytest.mark.parametrize("name", [n for n in PRESETS if PRESETS[n].base_model is None])
def test_model_script_imports_only_keras_and_compiles(name):
    code = export_python(PRESETS[name])
    assert _imports(code) == {"keras"}
    compile(code, "<test>", "exec")
    assert "def build_model" in code and "def compile_model" in code
    assert "clipnorm=1.0" in code


def test_training_script_imports_only_keras_numpy_pandas_sklearn():
    code = export_python(PRESETS["small_tabular"], csv_path="wine.csv", target="target", include_training=True)
    # tensorflow: its backend's settings only
    assert _imports(code) <= SCRIPT_MODULES | {"math", "contextlib", "sklearn", "tensorflow"}
    assert "rmlp" not in _imports(code)


def test_every_layer_of_the_plan_appears_once_by_name():
    from rmlp.design.plan import make_plan

    spec = _varied_spec()
    code = export_python(spec)
    names = [s for s in _string_constants(code)]
    for node in make_plan(spec):
        assert names.count(node.name) == 1, node.name
    assert "keras.optimizers.RMSprop(learning_rate=learning_rate, **OPTIMIZER_OPTIONS)" in code
    assert "LEARNING_RATE = 0.0007" in code
    assert "clipnorm" not in code


def test_user_strings_end_up_as_literals_only():
    spec = PRESETS["small_tabular"].copy_with(name=EVIL_NAME)
    code = export_python(spec, csv_path=f"data/{EVIL}.csv", target=EVIL, include_training=True)
    _no_injected_code(code)
    constants = _string_constants(code)
    assert EVIL in constants
    assert f"{EVIL}.csv" in constants and f"data/{EVIL}.csv" not in constants  # the name only, in the help
    # the column name appears nowhere outside a string literal
    assert sum(c.count(EVIL) for c in constants) == code.count(EVIL)


def test_embedded_preprocessor_with_hostile_column_names_reads_back_exactly():
    prep = {
        "format": "rmlp-preprocessor", "version": 1,
        "columns": [{"name": EVIL, "kind": "numeric", "fill": 0.0, "mean": 1.5, "std": 2.0},
                    {"name": "c'''x\\", "kind": "categorical", "fill": "a", "categories": ["a", "b'''\"\"\""]}],
        "target": {"name": EVIL_NAME, "task": "multiclass", "classes": ["x", 'y"""']},
        "feature_names": [],
    }
    spec = ModelSpec(input_shape=[3], num_outputs=2, blocks=[BlockSpec(layers=1, width=4, decrement=0)],
                     final_layers=[])
    code = export_python(spec, include_training=True, preprocessor=prep)
    _no_injected_code(code)
    namespace: dict = {}
    tree = ast.parse(code)
    assign = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PREPROCESSOR")
    exec("import json\n" + ast.unparse(assign), namespace)
    assert namespace["PREPROCESSOR"] == prep
    assert EVIL_NAME in _string_constants(code)  # the target name defaults to the preprocessor's


def test_snippet_uses_rmlp_and_the_spec_json():
    spec = PRESETS["small_tabular"].copy_with(name=EVIL_NAME)
    code = export_snippet(spec)
    assert _imports(code) == {"rmlp"}
    _no_injected_code(code)
    spec_json = next(c for c in _string_constants(code) if c.strip().startswith("{"))
    assert ModelSpec.from_json(spec_json) == spec
    assert "rmlp.ModelSpec.from_json(SPEC_JSON)" in code and "rmlp.build_model(spec)" in code


def test_invalid_spec_is_refused_with_the_problems():
    spec = ModelSpec(blocks=[BlockSpec(layers=5, width=10, decrement=5)])
    with pytest.raises(SpecError, match="decrement"):
        export_python(spec)
    with pytest.raises(ExportError, match="target"):
        export_python(PRESETS["small_tabular"], include_training=True)


def test_predict_script_is_stand_alone(tmp_path):
    code = export_predict_script(tmp_path / EVIL)
    assert _imports(code) <= SCRIPT_MODULES
    _no_injected_code(code)
    assert str((tmp_path / EVIL).resolve()) in _string_constants(code)


def _script_functions(code: str, names: set[str]) -> dict:
    """The named top-level functions (and the constants they read) of a script, run without importing keras."""
    import numpy as np
    import pandas as pd

    tree = ast.parse(code)
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in names)
            or (isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") in ("NA_VALUES", "ROBUST_SCALING",
                                                                                   "CLIP"))]
    namespace = {"np": np, "pd": pd}
    exec(compile(ast.Module(keep, []), "<script>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("csv,target", [("penguins_like.csv", "species"), ("wine.csv", "target"),
                                        ("diabetes.csv", "progression")])
def test_script_preprocessing_equals_rmlp_preprocessor(csv, target):
    import numpy as np

    from rmlp.data import Preprocessor, load_table

    if not (SAMPLE / csv).is_file():
        pytest.skip(f"sample_data/{csv} is not there")
    data = load_table(SAMPLE / csv, target)
    fns = _script_functions(export_predict_script(SAMPLE), {"read_csv", "transform", "label_text"})
    frame = fns["read_csv"](SAMPLE / csv)
    prep = json.loads(data.preprocessor.to_json())
    ours = fns["transform"](frame, prep)
    theirs = Preprocessor.from_dict(prep).transform(frame)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # the training script learns the same encoding from the same rows
    train_fns = _script_functions(export_python(PRESETS["small_tabular"], target=target, include_training=True),
                                  {"fit_preprocessor", "fit_target", "class_order", "label_text"})
    rows = frame.iloc[data.split_rows["train"]]
    learned = train_fns["fit_preprocessor"](rows, target, data.task)
    assert [c["name"] for c in learned["columns"]] == [c["name"] for c in prep["columns"]]
    np.testing.assert_allclose(fns["transform"](frame, learned), theirs, rtol=1e-5, atol=1e-6)
    assert [fns["label_text"](c) for c in prep["target"]["classes"]] == learned["target"]["classes"]


def test_graph_svg_needs_no_dot_program_and_says_none_without_any(monkeypatch, tmp_path):
    from rmlp.design import svg as layout

    dot = "digraph g { a -> b }"
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on PATH: the shipped graphviz-pure lays it out
    svg = graph_svg(dot)
    assert svg is not None and svg.startswith(b"<?xml") and b"<svg" in svg
    monkeypatch.setattr(layout, "layout_program", lambda: None)
    assert graph_svg(dot) is None


def _fake_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "20250101-000000-wine"
    run.mkdir(parents=True)
    spec = PRESETS["small_tabular"]
    spec.save(run / "spec.json")
    (run / "history.csv").write_text("epoch,loss,val_loss\n1,1.0,1.1\n", encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"loss": 0.5, "accuracy": 0.9}), encoding="utf-8")
    (run / "train_config.json").write_text(json.dumps({"epochs": 1}), encoding="utf-8")
    (run / "data.json").write_text(json.dumps({"kind": "table", "path": str(SAMPLE / "wine.csv"),
                                               "target": "target"}), encoding="utf-8")
    prep = {"format": "rmlp-preprocessor", "version": 1,
            "columns": [{"name": f"f{i}", "kind": "numeric", "fill": 0.0, "mean": 0.0, "std": 1.0}
                        for i in range(13)],
            "target": {"name": "target", "task": "multiclass", "classes": ["a", "b", "c"]}}
    (run / "preprocessor.json").write_text(json.dumps(prep), encoding="utf-8")
    (run / "model.keras").write_bytes(b"not really a model")
    return run


def test_bundle_of_a_run_holds_every_file(tmp_path):
    run = _fake_run(tmp_path)
    out = make_bundle(run, tmp_path / "bundle.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        expected = {"spec.json", "model.py", "snippet.py", "predict.py", "model.keras", "history.csv",
                    "metrics.json", "graph.dot", "README.md", "preprocessor.json", "train_config.json"}
        assert expected <= names
        assert "graph.svg" in names  # laid out by the shipped graphviz-pure, no `dot` needed
        readme = zf.read("README.md").decode()
        model_py = zf.read("model.py").decode()
        assert zf.read("model.keras") == b"not really a model"
    assert "16,843" in readme and "keras.saving.load_model" in readme and "accuracy" in readme
    assert "PREPROCESSOR = json.loads(" in model_py and "wine.csv" in model_py


def test_bundle_of_a_spec(tmp_path):
    out = make_bundle(PRESETS["deep_14"], tmp_path / "deep.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert {"spec.json", "model.py", "snippet.py", "predict.py", "graph.dot", "README.md"} <= names
    assert "model.keras" not in names
    with pytest.raises(ExportError, match="spec.json"):
        make_bundle(tmp_path, tmp_path / "x.zip")


# ----------------------------------------------------------------------------- slow: run the scripts
DESCRIBE = r'''
def describe(model):
    import json

    rows = []
    for layer in model.layers:
        nested = [sub.name for sub in getattr(layer, "layers", [])]
        cfg = {} if nested else layer.get_config()
        rows.append([layer.name, type(layer).__name__, int(layer.count_params()), nested,
                     json.loads(json.dumps(cfg, default=str))])
    compiled = json.loads(json.dumps(model.get_compile_config(), default=str))
    compiled["optimizer"]["config"].pop("name")  # "adam", "adam_1": a counter, not a setting
    return {
        "name": model.name,
        "layers": rows,
        "params": int(model.count_params()),
        "trainable": int(sum(w.numpy().size for w in model.trainable_weights)),
        "compile": compiled,
    }
'''

DRIVER = DESCRIBE + r'''
import json, runpy, sys
sys.modules["rmlp"] = None  # the script must not need rmlp
out = {}
import keras
for path in sys.argv[1:]:
    keras.backend.clear_session()  # fresh automatic layer names, as in the test process
    ns = runpy.run_path(path)
    out[path] = describe(ns["compile_model"](ns["build_model"]()))
print("RESULT:" + json.dumps(out))
'''


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return env


def _describe_here(model) -> dict:
    ns: dict = {}
    exec(DESCRIBE, ns)
    return ns["describe"](model)


@pytest.mark.slow
def test_exported_scripts_build_the_same_models_without_rmlp(tmp_path):
    keras = pytest.importorskip("keras")
    import rmlp

    base_file = tmp_path / f"digits {EVIL}.keras"
    shutil.copyfile(SAMPLE / "digits_cnn.keras", base_file)
    specs = {
        "small": PRESETS["small_tabular"].copy_with(name=EVIL_NAME),
        "original": PRESETS["original_readme"],
        "varied": _varied_spec(),
        "binary": _varied_spec(task="binary", num_outputs=1, input_shape=[8], activation="swish"),
        "ensemble": PRESETS["small_tabular"].copy_with(ensemble=3, name="trio"),
        "scaled_regression": _varied_spec(task="regression", num_outputs=1, input_shape=[8], ensemble=2,
                                          target_scale={"mean": 5000.0, "std": 800.0}),
        "file_base": ModelSpec(
            name="on_digits", input_shape=[16, 16, 1], grayscale_to_rgb=True, num_outputs=10,
            base_model=BaseModelSpec(source="file", path=str(base_file), cut_layer="features", trainable_layers=2),
            blocks=[BlockSpec(layers=2, width=32, decrement=8, bypass=[8])], final_layers=[16]),
    }
    from rmlp.base.info import applications

    if "MobileNetV2" in applications():
        specs["applications"] = ModelSpec(
            input_shape=[32, 32, 3], num_outputs=3,
            base_model=BaseModelSpec(name="MobileNetV2", weights="none", input_size=[32, 32], pooling="none",
                                     trainable_layers=3),
            blocks=[BlockSpec(layers=1, width=8, decrement=0)], final_layers=[])
    paths = []
    for key, spec in specs.items():
        path = tmp_path / f"{key}.py"
        path.write_text(export_python(spec), encoding="utf-8")
        paths.append(str(path))
    done = subprocess.run([sys.executable, "-c", DRIVER, *paths], cwd=tmp_path, env=_clean_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT:"))
    results = json.loads(line[len("RESULT:"):])
    for (key, spec), path in zip(specs.items(), paths, strict=True):
        keras.backend.clear_session()
        # the script's compile_model() compiles as rmlp's training does: with the recipe's further options
        recipe = make_recipe(check_buildable(spec), TRAINING, None)
        expected = _describe_here(compile_model(build_uncompiled(spec), spec,
                                                optimizer_options=recipe.optimizer_options(),
                                                compile_options=recipe.compile_options()))
        got = results[path]
        assert [r[:2] for r in got["layers"]] == [r[:2] for r in expected["layers"]], key
        assert got == expected, key
        assert got["params"] == rmlp.summarize(spec).total_params

    # the base models' preprocessing layers, written as code, are the built-in layers rmlp builds
    from keras import layers

    from rmlp.keras.layer_defs import preprocess_layer

    for family in ("tf", "torch", "caffe"):
        keras.utils.set_random_seed(0)
        ours = eval(preprocess_call(family, "base_preprocess"), {"keras": keras, "layers": layers})  # noqa: S307
        theirs = preprocess_layer(family, "base_preprocess").make()
        for layer in (ours, theirs):
            layer.build((None, 8, 8, 3))
        assert ours.get_config() == theirs.get_config(), family
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            assert (a == b).all(), family


TRAIN_DRIVER = r'''
import runpy, sys
sys.modules["rmlp"] = None
train_script, predict_script, csv, out_dir, pred_csv = sys.argv[1:]
sys.argv = [train_script, csv, "--out", out_dir]
runpy.run_path(train_script, run_name="__main__")
sys.argv = [predict_script, csv, "--run", out_dir, "--output", pred_csv]
runpy.run_path(predict_script, run_name="__main__")
'''


@pytest.mark.slow
@pytest.mark.parametrize("members", [1, 2])
def test_training_script_trains_and_predict_script_predicts_raw_rows(tmp_path, members):
    import pandas as pd

    csv = SAMPLE / "wine.csv"
    if not csv.is_file():
        pytest.skip("sample_data/wine.csv is not there")
    local_csv = tmp_path / "wine.csv"
    shutil.copyfile(csv, local_csv)
    train_py = tmp_path / "model.py"
    spec = PRESETS["small_tabular"].copy_with(ensemble=members)
    train_py.write_text(export_python(spec, csv_path=str(local_csv), target="target",
                                      training=TrainConfig(epochs=1, batch_size=32), include_training=True),
                        encoding="utf-8")
    predict_py = tmp_path / "predict.py"
    predict_py.write_text(export_predict_script(tmp_path / "out"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", TRAIN_DRIVER, str(train_py), str(predict_py), str(local_csv),
                           str(tmp_path / "out"), str(tmp_path / "pred.csv")],
                          cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "model.keras").is_file()
    prep = json.loads((tmp_path / "out" / "preprocessor.json").read_text())
    assert prep["target"]["classes"] == ["class_0", "class_1", "class_2"]
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 178
    assert set(pred["prediction"]) <= {"class_0", "class_1", "class_2"}
    assert {"p(class_0)", "p(class_1)", "p(class_2)"} <= set(pred.columns)
    # one model.keras whatever the members: their average, a probability per class
    sums = pred[["p(class_0)", "p(class_1)", "p(class_2)"]].sum(axis=1).to_numpy()
    assert abs(sums - 1.0).max() < 1e-4
