"""Tests of the data engine: tables, images, errors in plain words, splits and spec fitting."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmlp.data import (
    DataError,
    ImageData,
    Preprocessor,
    TabularData,
    infer_task,
    load_images,
    load_table,
    read_table,
    safe_extract_zip,
    spec_for_data,
    split_indices,
    suggest_target,
)
from rmlp.spec.model import BaseModelSpec, ModelSpec


def csv_bytes(frame: pd.DataFrame, **options: object) -> io.BytesIO:
    return io.BytesIO(frame.to_csv(index=False, **options).encode("utf-8"))


def small_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three classes, a numeric, a text and an integer column, with a few gaps."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.normal(10, 3, n).round(2),
        "colour": rng.choice(["red", "green", "blue"], n),
        "count": rng.integers(0, 5, n),
        "label": np.repeat(["a", "b", "c"], n // 3),
    })
    frame.loc[[3, 17], "size"] = np.nan
    frame.loc[[5], "colour"] = None
    return frame


def png_bytes(value: int = 128, size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    from PIL import Image

    colour = value if mode == "L" else (value, 0, 255 - value)
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def class_zip(classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 6, prefix: str = "") -> io.BytesIO:
    return make_zip({
        f"{prefix}{c}/{i}.png": png_bytes(40 * k + i) for k, c in enumerate(classes) for i in range(per_class)
    })


def error_of(call, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    assert info.value.problem.severity == "error" and info.value.problem.fix
    return info.value


# ----------------------------------------------------------------------------- bad tables
def test_empty_file_is_refused() -> None:
    assert "empty" in str(error_of(load_table, io.BytesIO(b""), "y"))
    assert "empty" in str(error_of(load_table, io.BytesIO(b"  \n\n"), "y"))


def test_header_without_rows_is_refused() -> None:
    assert "no data rows" in str(error_of(load_table, io.BytesIO(b"a,b,y\n"), "y"))


def test_missing_target_lists_columns_and_suggests_a_close_match() -> None:
    err = error_of(load_table, csv_bytes(small_table()), "lable")
    assert "no target column 'lable'" in err.message
    assert "'size', 'colour', 'count', 'label'" in err.message
    assert "Did you mean 'label'" in err.fix
    assert err.problem.path == "data.target"


def test_one_class_target_is_refused() -> None:
    frame = small_table().assign(label="same")
    err = error_of(load_table, csv_bytes(frame), "label")
    assert "only one class" in err.message and "'same'" in err.message


def test_junk_in_a_numeric_column_names_the_column_values_and_rows() -> None:
    frame = small_table()
    frame["size"] = frame["size"].astype(object)
    frame.loc[7, "size"] = "12,5kg"
    frame.loc[30, "size"] = "unknown"
    err = error_of(load_table, csv_bytes(frame), "label")
    assert "'size'" in err.message and "2 of its values are not numbers" in err.message
    assert "'12,5kg' (row 8)" in err.message and "'unknown' (row 31)" in err.message


def test_a_mostly_text_column_is_categorical_not_an_error() -> None:
    frame = small_table()
    frame["colour"] = frame["colour"].astype(object)
    frame.loc[[1, 2], "colour"] = "7"
    data = load_table(csv_bytes(frame), "label")
    assert data.column_types["colour"] == "categorical"
    assert "colour=7" in data.feature_names


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    small_table().to_csv(path, index=False)
    err = error_of(load_table, path, "label", max_bytes=100)
    assert "larger than the 100 bytes limit" in err.message and "max_bytes" in err.fix
    err = error_of(load_table, csv_bytes(small_table()), "label", max_bytes=100)
    assert "larger than" in err.message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\x00\x01\x02binary\x00", "binary data"),
        (b"PK\x03\x04rest-of-a-workbook", "Excel workbook"),
        (b"\x89PNG\r\n\x1a\n....", "PNG image"),
    ],
)
def test_binary_files_are_refused(raw: bytes, words: str) -> None:
    err = error_of(load_table, io.BytesIO(raw), "y")
    assert "not a CSV text file" in err.message and words in err.message


def test_ragged_rows_are_refused_in_plain_words() -> None:
    raw = b'a,b,y\n1,2,x\n3,"4,y\n'
    assert "could not be read as CSV" in str(error_of(load_table, io.BytesIO(raw), "y"))


def test_too_few_rows_per_class_for_a_stratified_split() -> None:
    frame = small_table()
    frame.loc[[0, 1], "label"] = ["rare", "rare"]
    err = error_of(load_table, csv_bytes(frame), "label")
    assert "'rare' (2 rows)" in err.message and "at least 3 rows" in err.message


def test_no_such_file() -> None:
    assert "No file at" in str(error_of(load_table, "/nonexistent/table.csv", "y"))


def test_bad_task_and_fractions_are_refused() -> None:
    frame = small_table()
    assert "Unknown task" in str(error_of(load_table, csv_bytes(frame), "label", task="multilabel"))
    assert "regression" in str(error_of(load_table, csv_bytes(frame), "label", task="regression"))
    assert "binary needs exactly two" in str(error_of(load_table, csv_bytes(frame), "label", task="binary"))
    assert "fractions" in str(error_of(load_table, csv_bytes(frame), "label", val_size=0.6, test_size=0.5))


# ----------------------------------------------------------------------------- reading
def test_mixed_encodings_semicolons_and_decimal_commas() -> None:
    raw = "city;temp;y\nZürich;1,5;a\nMalmö;2,5;b\n".encode() + "Besançon;3,5;a\n".encode("latin-1")
    frame = read_table(io.BytesIO(raw))
    assert frame["city"].tolist() == ["Zürich", "Malmö", "Besançon"]
    assert frame["temp"].tolist() == [1.5, 2.5, 3.5]


def test_utf16_with_bom_and_question_marks_as_missing() -> None:
    raw = "a\tb\n1\t?\n2\tx\n".encode("utf-16")
    frame = read_table(io.BytesIO(raw))
    assert list(frame.columns) == ["a", "b"] and frame["b"].isna().tolist() == [True, False]


def test_suggest_target() -> None:
    assert suggest_target(["x", "Species", "z"]) == "Species"
    assert suggest_target(["x", "z"]) == "z"


def test_identifier_columns_are_dropped_with_a_warning() -> None:
    frame = small_table().assign(name=[f"row{i}" for i in range(60)])
    data = load_table(frame, "label")
    assert data.column_types["name"] == "dropped"
    assert any("identifiers" in w for w in data.warnings)


def test_rows_without_a_target_are_left_out() -> None:
    frame = small_table()
    frame.loc[[0, 40], "label"] = None
    data = load_table(csv_bytes(frame), "label")
    assert data.summary()["rows"] == 58 and any("2 rows without a target" in w for w in data.warnings)


# ----------------------------------------------------------------------------- task inference
@pytest.mark.parametrize(
    ("name", "target", "task", "classes"),
    [
        ("wine", "target", "multiclass", ["class_0", "class_1", "class_2"]),
        ("breast_cancer", "diagnosis", "binary", ["benign", "malignant"]),
        ("diabetes", "progression", "regression", []),
        ("digits", "digit", "multiclass", list(range(10))),
        ("penguins_like", "species", "multiclass", ["alpha", "beta", "gamma"]),
    ],
)
def test_task_of_each_sample_table(sample_data: Path, name: str, target: str, task: str, classes: list) -> None:
    data = load_table(sample_data / f"{name}.csv", target)
    assert data.task == task and data.class_names == classes
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.float32
    assert data.y_train.shape[1] == (len(classes) if task == "multiclass" else 1)
    assert data.input_shape == [data.x_train.shape[1]] == [len(data.feature_names)]
    summary = data.summary()
    json.dumps(summary)
    assert summary["rows"] == sum(summary["split"].values())
    assert ("class_balance" in summary) == (task != "regression")


def test_penguins_like_shows_one_hot_and_imputation(sample_data: Path) -> None:
    data = load_table(sample_data / "penguins_like.csv", "species")
    assert data.column_types["island"] == data.column_types["sex"] == "categorical"
    assert {"island=North", "sex=female", "body_mass_g"} <= set(data.feature_names)
    assert data.summary()["missing_values"]["sex"] > 0
    assert not np.isnan(data.x_train).any()


def test_infer_task_rules() -> None:
    assert infer_task(pd.Series([0, 1] * 10))[0] == "binary"
    assert infer_task(pd.Series([True, False] * 3))[0] == "binary"
    assert infer_task(pd.Series(list(range(5)) * 10))[0] == "multiclass"
    assert infer_task(pd.Series(list(range(5)) * 2))[0] == "regression"  # too few rows per value
    assert infer_task(pd.Series(np.linspace(0, 1, 50)))[0] == "regression"
    assert infer_task(pd.Series(list(range(30)) * 10))[0] == "regression"
    assert infer_task(pd.Series(["x", "y", "z"]))[0] == "multiclass"


def test_task_override() -> None:
    frame = small_table().assign(flag=[0, 1] * 30)
    data = load_table(frame, "flag", task="multiclass")
    assert data.task == "multiclass" and data.y_train.shape[1] == 2 and data.class_names == [0, 1]
    assert "set by you" in data.task_reason
    data = load_table(frame, "count", task="regression")
    assert data.task == "regression" and data.y_train.shape[1] == 1


# ----------------------------------------------------------------------------- splits
def test_split_is_stratified_and_seeded(sample_data: Path) -> None:
    first = load_table(sample_data / "wine.csv", "target", seed=3)
    again = load_table(sample_data / "wine.csv", "target", seed=3)
    other = load_table(sample_data / "wine.csv", "target", seed=4)
    for split in ("train", "val", "test"):
        assert np.array_equal(first.split_rows[split], again.split_rows[split])
        assert np.array_equal(getattr(first, f"x_{split}"), getattr(again, f"x_{split}"))
    assert not np.array_equal(first.split_rows["test"], other.split_rows["test"])
    rows = np.concatenate(list(first.split_rows.values()))
    assert sorted(rows) == list(range(178))
    overall = first.summary()["class_balance"]
    for split in ("val", "test"):
        y = getattr(first, f"y_{split}")
        counts = y.sum(axis=0)
        expected = np.array(list(overall.values())) * len(y) / 178
        assert np.all(np.abs(counts - expected) <= 1)


def test_split_indices_sizes_and_zero_fractions() -> None:
    parts = split_indices(100, None, val_size=0.2, test_size=0.1, seed=0)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [70, 20, 10]
    parts = split_indices(10, None, val_size=0.0, test_size=0.0)
    assert len(parts["train"]) == 10 and len(parts["val"]) == len(parts["test"]) == 0


# ----------------------------------------------------------------------------- preprocessor
def test_preprocessor_json_round_trip_and_transform_of_raw_rows(tmp_path: Path) -> None:
    frame = small_table()
    data = load_table(csv_bytes(frame), "label", seed=1)
    pre = data.preprocessor
    again = Preprocessor.from_dict(json.loads(pre.to_json()))
    loaded = Preprocessor.load(pre.save(tmp_path / "pre.json"))
    assert again.to_dict() == pre.to_dict() == loaded.to_dict()
    raw = pd.read_csv(csv_bytes(frame))
    train_rows = raw.iloc[data.split_rows["train"]].drop(columns="label")  # no target: fine
    assert np.allclose(loaded.transform(train_rows), data.x_train)
    assert np.allclose(loaded.transform(raw.iloc[data.split_rows["test"]]), data.x_test)

    new = loaded.transform([{"size": None, "colour": "purple", "count": 2}, {"size": 10.0, "colour": None, "count": 1}])
    size, colour = pre.columns[0], pre.columns[1]
    assert new.shape == (2, len(data.feature_names)) and new.dtype == np.float32
    z = (size["fill"] - size["center"]) / size["scale"]
    assert new[0, 0] == pytest.approx(z / np.sqrt(1 + (z / size["clip"]) ** 2))
    assert new[0, 1:4].tolist() == [0, 0, 0]  # unseen category: all zeros
    assert new[1, 1 + colour["categories"].index(colour["fill"])] == 1  # missing: most frequent
    with pytest.raises(DataError, match="'colour'"):
        loaded.transform(pd.DataFrame({"size": [1.0], "count": [1]}))


def test_train_statistics_come_from_the_training_split_only() -> None:
    data = load_table(small_table(), "label", seed=2, numeric_scaling="standard", clip=None)
    assert np.allclose(data.x_train[:, 0].mean(), 0, atol=1e-6)
    assert np.allclose(data.x_train[:, 0].std(), 1, atol=1e-5)
    robust = load_table(small_table(), "label", seed=2)
    raw = small_table()[robust.preprocessor.columns[0]["name"]].to_numpy(dtype=float)[robust.split_rows["train"]]
    assert robust.preprocessor.columns[0]["center"] == pytest.approx(np.nanmedian(raw))


def test_inverse_target() -> None:
    data = load_table(small_table(), "label")
    assert data.inverse_target(np.eye(3)[[2, 0]]).tolist() == ["c", "a"]
    binary = load_table(small_table().assign(flag=["no", "yes"] * 30), "flag")
    assert binary.inverse_target(np.array([[0.2], [0.9]])).tolist() == ["no", "yes"]
    reg = load_table(small_table(), "size", task="regression")
    assert reg.inverse_target(np.array([[1.5], [2.0]])).tolist() == [1.5, 2.0]


def test_importing_rmlp_data_does_not_import_tensorflow() -> None:
    code = "import sys, rmlp.data; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- images
def test_sample_images_zip_and_npz(sample_data: Path) -> None:
    data = load_images(sample_data / "digits_images.zip")
    assert isinstance(data, ImageData) and data.task == "multiclass"
    assert data.input_shape == [16, 16, 1] and data.grayscale
    assert data.class_names == [str(d) for d in range(10)]
    assert data.x_train.dtype == np.float32 and data.x_train.max() == 255.0
    assert data.summary()["split"] == {"train": 1257, "val": 270, "test": 270}
    arrays = load_images(sample_data / "digits.npz")
    assert arrays.input_shape == [16, 16, 1] and arrays.class_names == data.class_names
    assert np.array_equal(arrays.x_test, data.x_test) and np.array_equal(arrays.y_test, data.y_test)


def test_zip_with_a_top_folder_and_rgb_images() -> None:
    members = {f"pets/{c}/{i}.png": png_bytes(30 * i, mode="RGB") for c in ("cat", "dog") for i in range(5)}
    data = load_images(make_zip(members), val_size=0.2, test_size=0.2)
    assert data.task == "binary" and data.input_shape == [8, 8, 3] and data.y_train.shape[1] == 1
    assert data.class_names == ["cat", "dog"]
    assert load_images(make_zip(members), task="multiclass", color_mode="grayscale").input_shape == [8, 8, 1]


def test_images_of_other_sizes_are_resized(tmp_path: Path) -> None:
    for c in ("a", "b", "c"):
        (tmp_path / c).mkdir()
        for i in range(4):
            (tmp_path / c / f"{i}.png").write_bytes(png_bytes(size=(8, 8) if i else (12, 10)))
    data = load_images(tmp_path, val_size=0.25, test_size=0.25)
    assert data.input_shape == [8, 8, 1] and any("resized" in w for w in data.warnings)
    assert load_images(tmp_path, image_size=(6, 5), val_size=0.25, test_size=0.25).input_shape == [6, 5, 1]


def test_zip_without_class_folders_is_refused() -> None:
    err = error_of(load_images, make_zip({f"{i}.png": png_bytes() for i in range(4)}))
    assert "no class folders" in err.message and "sub-folder named after the class" in err.fix


def test_zip_slip_member_is_refused(tmp_path: Path) -> None:
    members = {"cat/1.png": png_bytes(), "../evil.png": png_bytes()}
    err = error_of(load_images, make_zip(members))
    assert "unsafe path" in err.message and "'../evil.png'" in err.message
    absolute = make_zip({"cat/1.png": png_bytes(), "/etc/evil.png": png_bytes()})
    assert "unsafe path" in str(error_of(load_images, absolute))
    path = tmp_path / "slip.zip"
    path.write_bytes(make_zip(members).getvalue())
    error_of(safe_extract_zip, path, tmp_path / "out")
    assert not (tmp_path / "evil.png").exists()


def test_safe_extract_zip_unpacks_and_caps_size(tmp_path: Path) -> None:
    path = tmp_path / "ok.zip"
    path.write_bytes(class_zip().getvalue())
    out = safe_extract_zip(path, tmp_path / "out")
    assert len(list(out.rglob("*.png"))) == 12
    assert "unpacks to more than" in str(error_of(safe_extract_zip, path, tmp_path / "o2", max_bytes=200))


def test_one_class_and_no_images_are_refused(tmp_path: Path) -> None:
    assert "Only one class folder ('cat')" in str(error_of(load_images, class_zip(("cat",))))
    assert "No images found" in str(error_of(load_images, make_zip({"a/readme.txt": b"hi"})))
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "1.png").write_bytes(png_bytes())
    assert "Only one class folder" in str(error_of(load_images, tmp_path))


def test_corrupt_images_are_skipped_or_refused() -> None:
    good = {f"{c}/{i}.png": png_bytes() for c in ("a", "b") for i in range(4)}
    broken = {"a/bad.png": b"not an image", "b/cut.png": png_bytes()[:40]}
    data = load_images(make_zip({**good, **broken}), val_size=0.25, test_size=0.25)
    assert data.summary()["rows"] == 8
    assert any("Skipped 2 files" in w and "a/bad.png" in w for w in data.warnings)
    err = error_of(load_images, make_zip({"a/1.png": b"junk", "b/1.png": b"junk"}))
    assert "could be read" in err.message


def test_npz_keys_and_splits() -> None:
    def npz(**arrays: np.ndarray) -> io.BytesIO:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        buffer.seek(0)
        return buffer

    err = error_of(load_images, npz(images_x=np.zeros((4, 2, 2)), target=np.zeros(4)))
    assert "'images_x', 'target'" in err.message and "'x' and 'y'" in err.message
    x = np.random.default_rng(0).integers(0, 255, (40, 4, 4, 3)).astype(np.uint8)
    y = np.tile([0, 1, 2, 3], 10)
    given = load_images(npz(x_train=x[:30], y_train=np.eye(4)[y[:30]], x_test=x[30:], y_test=y[30:]))
    assert given.input_shape == [4, 4, 3] and given.task == "multiclass"
    assert len(given.y_test) == 10 and len(given.y_val) + len(given.y_train) == 30
    assert "do not match" in str(error_of(load_images, npz(x=x, y=y[:5])))
    assert "same label" in str(error_of(load_images, npz(x=x, y=np.zeros(40))))
    reg = load_images(npz(x=x, y=np.linspace(0, 1, 40)), task="regression")
    assert reg.task == "regression" and reg.num_outputs == 1


def test_images_path_that_is_not_an_archive() -> None:
    assert "neither a folder" in str(error_of(load_images, io.BytesIO(b"a,b\n1,2\n")))


# ----------------------------------------------------------------------------- spec_for_data
def test_spec_for_table_data(sample_data: Path) -> None:
    data = load_table(sample_data / "wine.csv", "target")
    spec = ModelSpec(task="binary", num_outputs=1, output_activation="sigmoid", loss="mse")
    fitted, notes = spec_for_data(spec, data)
    assert fitted.input_shape == [13] and fitted.task == "multiclass" and fitted.num_outputs == 3
    assert fitted.output_activation == "auto" and fitted.loss == "auto"
    text = "\n".join(notes)
    assert "Input shape set to [13] from the 13 encoded feature columns." in text
    assert "Task set to multiclass with 3 classes (class_0, class_1, class_2)." in text
    assert "Output units set to 3" in text and "'sigmoid'" in text and "'mse'" in text
    assert spec_for_data(fitted, data) == (fitted, [])


def test_spec_for_regression_keeps_a_fitting_loss(sample_data: Path) -> None:
    data = load_table(sample_data / "diabetes.csv", "progression")
    fitted, notes = spec_for_data(ModelSpec(loss="huber", base_model=BaseModelSpec()), data)
    assert fitted.task == "regression" and fitted.num_outputs == 1 and fitted.loss == "huber"
    assert fitted.base_model is None and any("Base model removed" in n for n in notes)


def test_spec_for_grayscale_images_with_a_base_model(sample_data: Path) -> None:
    data = load_images(sample_data / "digits.npz")
    base = BaseModelSpec(source="file", path=str(sample_data / "digits_cnn.keras"), cut_layer="features")
    fitted, notes = spec_for_data(ModelSpec(base_model=base), data)
    assert fitted.input_shape == [16, 16, 1] and fitted.grayscale_to_rgb
    assert any("Grayscale to RGB switched on" in n for n in notes)
    assert any("16×16 pixels, 1 channel" in n for n in notes)
    plain, notes = spec_for_data(ModelSpec(flatten=False, grayscale_to_rgb=True), data)
    assert plain.flatten and plain.grayscale_to_rgb  # no base model: left as the user chose
    assert any("Flatten switched on" in n for n in notes)


def test_data_classes_are_exported() -> None:
    assert TabularData.__name__ == "TabularData"


@pytest.mark.slow
def test_sample_base_model_loads_safely_and_cuts_at_features(sample_data: Path) -> None:
    keras = pytest.importorskip("keras")
    model = keras.saving.load_model(sample_data / "digits_cnn.keras", safe_mode=True, compile=False)
    assert tuple(model.input_shape) == (None, 16, 16, 3)
    assert tuple(model.get_layer("features").output.shape) == (None, 64)
    data = load_images(sample_data / "digits_images.zip")
    pred = model.predict(np.repeat(data.x_test, 3, axis=-1), verbose=0)
    assert (pred.argmax(axis=1) == data.y_test.argmax(axis=1)).mean() > 0.9


def test_numbers_are_scaled_robustly_and_softly_clipped(tmp_path: Path) -> None:
    """An outlier cannot squash a number column: median/IQR scaling, then a soft clip at ±3 (by default)."""
    rng = np.random.default_rng(0)
    values = rng.normal(10.0, 2.0, 300)
    values[:3] = [1e6, -1e5, 5e4]  # a few wild values
    frame = pd.DataFrame({"x": values, "y": rng.integers(0, 2, 300)})
    data = load_table(frame, "y", seed=0)
    col = data.preprocessor.columns[0]
    train = values[data.split_rows["train"]]
    q25, q75 = np.percentile(train, [25, 75])
    assert col["center"] == pytest.approx(np.median(train)) and col["scale"] == pytest.approx((q75 - q25) / 1.3489795)
    x = np.concatenate([data.x_train, data.x_val, data.x_test])[:, 0]
    assert np.abs(x).max() <= 3.0 and np.isfinite(x).all()
    assert np.std(x) > 0.5  # the ordinary values keep their spread (standard scaling would crush them to ~0)
    plain = load_table(frame, "y", seed=0, numeric_scaling="standard", clip=None)
    assert plain.preprocessor.columns[0]["clip"] is None and np.abs(plain.x_train).max() > 3.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    again = load_table(tmp_path / "t.csv", "y", seed=0)  # the encoding is recorded, so a resume loads it again
    assert again.load_args["numeric_scaling"] == "robust" and again.load_args["clip"] == 3.0
    # a preprocessor.json of rmlp 0.1 (mean/std, no clip) still encodes as it did
    old = Preprocessor(columns=[{"name": "x", "kind": "numeric", "fill": 0.0, "mean": 1.0, "std": 2.0}],
                       target={"name": "y", "task": "binary", "classes": [0, 1]})
    assert old.transform(pd.DataFrame({"x": [5.0]}))[0, 0] == pytest.approx(2.0)
