"""Predictions from a trained run: each bad-input case refused or predicted with a notice, formula cells escaped,
images, and rmlp predict, the bundle's predict.py and model.predict agreeing exactly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.data.errors import DataError
from rmlp.data.preprocessor import Preprocessor
from rmlp.runs.predict import Predictor, check_rows, escape_formulas, write_predictions

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "sample_data" / "penguins_like.csv"
runner = CliRunner()


def _prep() -> Preprocessor:
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "colour": ["red", "blue", "red", "green"],
                          "label": ["a", "b", "a", "b"]})
    prep, _ = Preprocessor.fit(frame, {"size": "numeric", "colour": "categorical"},
                               {"name": "label", "task": "binary", "classes": ["a", "b"]})
    return prep


def _template_namespace() -> dict[str, Any]:
    """The bundle's predict.py, loaded as a module (it needs no rmlp)."""
    from rmlp.export import export_predict_script

    namespace: dict[str, Any] = {"__name__": "predict"}
    exec(compile(export_predict_script(), "predict.py", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _template_namespace()


CASES: dict[str, tuple[pd.DataFrame, str, str]] = {
    # name: (rows, "refuse" or "notice", text the message must hold)
    "missing column": (pd.DataFrame({"size": [1.0]}), "refuse", "lack the feature column 'colour'"),
    "no rows": (pd.DataFrame({"size": [], "colour": []}), "refuse", "no rows"),
    "text in a number": (pd.DataFrame({"size": ["1.5", "abc"], "colour": ["red", "red"]}), "refuse",
                         "Column 'size' holds text that is no number: 'abc' (row 2)"),
    "infinite number": (pd.DataFrame({"size": [np.inf, 1.0], "colour": ["red", "red"]}), "refuse",
                        "Column 'size' holds numbers that are not finite"),
    "beyond float32": (pd.DataFrame({"size": [1e300, 1.0], "colour": ["red", "red"]}), "refuse",
                       "not finite (inf) or beyond float32"),
    "target present": (pd.DataFrame({"size": [1.0], "colour": ["red"], "label": ["a"]}), "notice",
                       "The target column 'label' is in the rows; it is ignored"),
    "extra columns": (pd.DataFrame({"size": [1.0], "colour": ["red"], "note": ["x"], "id": [7]}), "notice",
                      "Ignored 2 columns the model does not use: 'note', 'id'"),
    "unseen category": (pd.DataFrame({"size": [1.0, 2.0], "colour": ["red", "purple"]}), "notice",
                        "Column 'colour' has categories training never saw: 'purple' (row 2)"),
    "empty cells": (pd.DataFrame({"size": [None, 2.0], "colour": ["red", None]}), "notice",
                    "Column 'size' has 1 empty cell (row 1); filled with 2.5"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_input_is_refused_or_predicted_with_a_notice_the_same_way_in_the_bundle(
        case: str, template: dict[str, Any]) -> None:
    rows, verdict, said = CASES[case]
    prep = _prep()
    if verdict == "refuse":
        with pytest.raises(DataError) as caught:
            check_rows(rows, prep)
        assert said in str(caught.value)
        with pytest.raises(SystemExit) as script:
            template["check_rows"](rows, prep.to_dict())
        assert said in str(script.value.code)
        return
    used, notices, _ = check_rows(rows, prep)
    assert any(said in n for n in notices), notices
    assert list(used.columns) == ["size", "colour"] and len(used) == len(rows)
    script_used, script_notices = template["check_rows"](rows, prep.to_dict())
    assert script_notices == notices
    np.testing.assert_array_equal(template["transform"](script_used, prep.to_dict()), prep.transform(used))


def test_bad_numbers_are_filled_like_empty_cells_when_asked(template: dict[str, Any]) -> None:
    prep = _prep()
    rows = pd.DataFrame({"size": ["abc", np.inf, None, 3.0], "colour": ["red"] * 4})
    used, notices, _ = check_rows(rows, prep, non_finite="impute")
    assert sum("filled with 2.5, as missing values are" in n for n in notices) == 2
    filled = prep.transform(used)
    assert (filled[:3, 0] == filled[0, 0]).all() and filled[3, 0] != filled[0, 0]
    assert template["check_rows"](rows, prep.to_dict(), "impute")[1] == notices


def test_formula_cells_are_escaped_and_numbers_are_not(template: dict[str, Any], tmp_path: Path) -> None:
    table = pd.DataFrame({"prediction": ["=cmd|' /C calc'!A0", "+1+1", "-2-2", "@SUM(A1)", "\tx", "\rx", "-1.5",
                                         "ok", "a=b"], "p": np.linspace(-1, 1, 9)})
    escaped = escape_formulas(table)
    assert list(escaped["prediction"]) == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2-2", "'@SUM(A1)", "'\tx", "'\rx",
                                           "-1.5", "ok", "a=b"]
    assert escaped["p"].tolist() == table["p"].tolist()
    assert template["escape_formulas"](table).equals(escaped)
    written = pd.read_csv(write_predictions(table, tmp_path / "p.csv"), keep_default_na=False)
    assert written["prediction"].tolist()[:4] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2-2", "'@SUM(A1)"]


class _Model:
    """A stand-in with Keras's input_shape and predict: the mean pixel decides the class."""

    input_shape = (None, 8, 8, 1)

    def predict(self, x: np.ndarray, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        p = x.reshape(len(x), -1).mean(axis=1, keepdims=True) / 255.0
        return np.hstack([1 - p, p]).astype(np.float32)


def test_images_are_predicted_from_a_folder_a_zip_and_an_npz_in_file_order(tmp_path: Path) -> None:
    from PIL import Image

    from rmlp.runs.predict import predict_file

    folder = tmp_path / "new"
    (folder / "sub").mkdir(parents=True)
    for name, shade in (("b.png", 250), ("a.png", 10), ("sub/c.png", 128)):
        Image.new("L", (16, 16), color=shade).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"not a png")
    zipped = tmp_path / "new.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    predictor = Predictor(tmp_path, _Model(), "multiclass", ["dark", "light"], None, "images", [8, 8, 1])
    for source in (folder, zipped):
        result = predict_file(predictor, source)
        assert result.table["file"].tolist() == ["a.png", "b.png", "sub/c.png"]
        assert result.table["prediction"].tolist() == ["dark", "light", "light"]
        assert any("broken.png" in n for n in result.notices) and any("not images" in n for n in result.notices)
    buffer = io.BytesIO()
    np.savez(buffer, x=np.full((2, 8, 8), [[[0.0]], [[255.0]]]), y=np.array([0, 1]))
    (tmp_path / "new.npz").write_bytes(buffer.getvalue())
    assert predict_file(predictor, zipped.read_bytes()).table["file"].tolist() == ["a.png", "b.png", "sub/c.png"]
    result = predict_file(predictor, tmp_path / "new.npz")
    assert result.table["file"].tolist() == ["x[0]", "x[1]"] and result.table["prediction"].tolist() == ["dark",
                                                                                                          "light"]
    with pytest.raises(DataError, match="model takes"):
        predictor.predict_images(np.zeros((1, 4, 4, 1)))
    with pytest.raises(DataError, match="no images"):
        predictor.predict_images(np.zeros((0, 8, 8, 1)))
    with pytest.raises(DataError, match="trained on images"):
        predictor.predict_frame(pd.DataFrame({"a": [1]}))


class _TableModel:
    """A stand-in for a binary classifier: the probability of 'b' is the first encoded input, squashed."""

    input_shape = (None, 4)

    def predict(self, x: np.ndarray, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        return (1 / (1 + np.exp(-x[:, :1]))).astype(np.float32)


def test_an_uploaded_table_gets_one_prediction_per_row_in_input_order() -> None:
    from rmlp.runs.predict import predict_file

    predictor = Predictor(Path("run"), _TableModel(), "binary", ["a", "b"], _prep(), "table", [4])
    upload = b"colour,size,label\nred,4,a\nblue,-3,b\ngreen,,a\n"
    result = predict_file(predictor, upload)
    assert result.table.columns.tolist() == ["prediction", "p(a)", "p(b)"]
    # size 4 is high, -3 low; the empty cell gets the median, encoded as 0: p(b) = 0.5, a tie goes to the first class
    assert result.table["prediction"].tolist() == ["b", "a", "a"] and result.table["p(b)"][2] == 0.5
    np.testing.assert_allclose(result.table["p(a)"] + result.table["p(b)"], 1.0, rtol=1e-6)
    assert any("target column 'label'" in n for n in result.notices)
    assert any("'size' has 1 empty cell (row 3)" in n for n in result.notices)
    with pytest.raises(DataError, match="no data rows"):
        predict_file(predictor, b"colour,size\n")


# ----------------------------------------------------------------------------- a trained run
@pytest.fixture(scope="module")
def penguin_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rmlp.data import load_table
    from rmlp.data.fit import spec_for_data
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    runs_dir = tmp_path_factory.mktemp("predict") / "runs"
    data = load_table(PENGUINS, "species", seed=0)
    spec = spec_for_data(ModelSpec(name="penguins", blocks=[BlockSpec(layers=2, width=16, decrement=4)]), data,
                         size=False)[0]
    config = TrainConfig(epochs=3, batch_size=32, runs_dir=str(runs_dir), batch_events_every=60.0)
    source = {"kind": "table", "path": str(PENGUINS), "target": "species", "seed": 0}
    return train(spec, data, config, data_source=source).run_dir


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return env


@pytest.mark.slow
def test_rmlp_predict_the_bundles_predict_py_and_model_predict_agree_exactly(penguin_run: Path,
                                                                              tmp_path: Path) -> None:
    import keras

    from rmlp.data.reading import read_table
    from rmlp.export import make_bundle
    from rmlp.runs.folder import RunDir
    from rmlp.runs.predict import BATCH_SIZE
    from rmlp.runs.provenance import reload_data

    run = RunDir(penguin_run)
    data = reload_data(run.read_json(RunDir.DATA))
    rows = read_table(PENGUINS).iloc[data.split_rows["test"]].reset_index(drop=True)
    rows_csv = tmp_path / "test_rows.csv"
    rows.to_csv(rows_csv, index=False)
    ours = tmp_path / "ours.csv"
    done = runner.invoke(app, ["predict", str(penguin_run), str(rows_csv), "-o", str(ours)])
    assert done.exit_code == 0, done.output
    assert "The target column 'species' is in the rows; it is ignored" in done.output
    mine = pd.read_csv(ours)
    assert len(mine) == len(rows)
    # the run's own model on the run's own encoded test rows
    model = keras.saving.load_model(run.model, compile=False)
    direct = np.asarray(model.predict(data.x_test, batch_size=BATCH_SIZE, verbose=0))
    classes = run.read_json(RunDir.PREPROCESSOR)["target"]["classes"]
    np.testing.assert_array_equal(mine[[f"p({c})" for c in classes]].to_numpy(dtype=np.float32), direct)
    assert mine["prediction"].tolist() == [classes[i] for i in direct.argmax(axis=1)]
    # the bundle's predict.py, unzipped elsewhere, without rmlp
    bundle = make_bundle(penguin_run, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path / "bundle")
    theirs = tmp_path / "theirs.csv"
    script = subprocess.run([sys.executable, str(tmp_path / "bundle" / "predict.py"), str(rows_csv), "-o", str(theirs)],
                            cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert script.returncode == 0, script.stderr[-2000:]
    assert theirs.read_bytes() == ours.read_bytes()


@pytest.mark.slow
def test_rmlp_predict_refuses_or_notes_bad_rows_on_the_command_line(penguin_run: Path, tmp_path: Path) -> None:
    rows = pd.read_csv(PENGUINS).head(4)

    def run(frame: pd.DataFrame, *extra: str) -> Any:
        path = tmp_path / "rows.csv"
        frame.to_csv(path, index=False)
        result = runner.invoke(app, ["predict", str(penguin_run), str(path), *extra])
        assert "Traceback" not in result.output
        return result

    missing = run(rows.drop(columns=["island"]))
    assert missing.exit_code == 1 and "'island'" in missing.output
    header_only = run(rows.head(0))
    assert header_only.exit_code == 1 and "no data rows" in header_only.output
    odd = rows.astype(object)
    odd.loc[1, "bill_length_mm"] = "long"
    odd.loc[2, "island"] = "Atlantis"
    odd["comment"] = ["=1+1", "x", "y", "z"]
    refused = run(odd)
    assert refused.exit_code == 1 and "'long'" in refused.output
    imputed = run(odd, "--non-finite", "impute")
    assert imputed.exit_code == 0, imputed.output
    assert "'Atlantis'" in imputed.output and "'comment'" in imputed.output
    printed = pd.read_csv(io.StringIO(imputed.stdout))
    assert len(printed) == 4 and printed.columns[0] == "prediction"


@pytest.mark.slow
def test_an_image_run_predicts_a_zip_of_images_and_an_npz_as_model_predict_does(tmp_path: Path) -> None:
    import keras

    from rmlp.data.fit import spec_for_data
    from rmlp.data.images import load_images
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.predict import BATCH_SIZE
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    npz = ROOT / "sample_data" / "digits.npz"
    data = load_images(npz, seed=0)
    spec = spec_for_data(ModelSpec(name="digits", blocks=[BlockSpec(layers=1, width=16, decrement=0)]), data,
                         size=False)[0]
    config = TrainConfig(epochs=1, batch_size=64, runs_dir=str(tmp_path / "runs"), batch_events_every=60.0)
    run_dir = train(spec, data, config, data_source={"kind": "images", "path": str(npz), "seed": 0}).run_dir
    out = tmp_path / "digits.csv"
    done = runner.invoke(app, ["predict", str(run_dir), str(npz), "-o", str(out)])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out)
    with np.load(npz) as arrays:
        x = arrays["x"].astype(np.float32)
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    direct = np.asarray(model.predict(x.reshape((-1, *model.input_shape[1:])), batch_size=BATCH_SIZE, verbose=0))
    assert len(table) == len(x) and table["file"].iloc[0] == "x[0]"
    np.testing.assert_array_equal(table[[c for c in table.columns if c.startswith("p(")]].to_numpy(np.float32), direct)
    zipped = runner.invoke(app, ["predict", str(run_dir), str(ROOT / "sample_data" / "digits_images.zip")])
    assert zipped.exit_code == 0, zipped.output
    printed = pd.read_csv(io.StringIO(zipped.stdout))
    assert len(printed) > 0 and printed["file"].str.endswith(".png").all()
    table_run = runner.invoke(app, ["predict", str(run_dir), str(PENGUINS)])
    assert table_run.exit_code == 1 and "Traceback" not in table_run.output
