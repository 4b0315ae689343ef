"""Tests of rmlp.base: preprocessing, the .keras safety check, loading, inspection, fresh base models.

Only small models are built (MobileNetV3Small / MobileNetV2 at small sizes, weights=None, and a
tiny model saved into tmp_path); nothing is ever downloaded.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rmlp.base.info import BaseInfo, applications, lookup, sidecar_path
from rmlp.base.measure import fit_step, smallest_size
from rmlp.base.preprocess import preprocess_param_count
from rmlp.base.safety import ALLOWED_LAYER_CLASSES, ALLOWED_OTHER_CLASSES, check_keras_file
from rmlp.spec.model import BaseModelSpec, ModelSpec
from rmlp.spec.problems import SpecError

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers


def _param_count(weights: list) -> int:
    return sum(math.prod(w.shape) for w in weights)


def _tiny_model(variable_size: bool = False, with_lambda: bool = False):
    """A small image model: conv (stride 2), BN, ReLU, valid conv, max-pool, pooling, dense."""
    import keras
    from keras import layers

    inp = keras.Input((None, None, 3) if variable_size else (32, 32, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="conv1")(inp)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    if with_lambda:
        x = layers.Lambda(lambda t: t * 2.0, name="double")(x)
    x = layers.Conv2D(16, 3, padding="valid", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(4, name="head")(x)
    return keras.Model(inp, out, name="tiny")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    _tiny_model().save(path)
    return path


def _write_keras_zip(path: Path, config: dict) -> Path:
    """A .keras-like zip holding only the given config.json (for the pure-Python check)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    return path


def _functional_config(*layers: dict) -> dict:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "registered_name": "Functional",
        "config": {"name": "m", "layers": list(layers)},
    }


def _layer(class_name: str, module: str = "keras.layers", **config) -> dict:
    return {"module": module, "class_name": class_name, "config": {"name": class_name.lower(), **config},
            "registered_name": None}


# --------------------------------------------------------------------------- import cost


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, rmlp.base.safety, rmlp.base.preprocess, rmlp.base.loading, rmlp.base.measure, rmlp.base.make\n"
        "from rmlp.base.safety import check_keras_file\nfrom rmlp.base.preprocess import preprocess_param_count\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- preprocessing


def test_preprocess_param_count():
    assert [preprocess_param_count(f) for f in ("none", "tf", "torch", "caffe")] == [0, 0, 0, 12]
    with pytest.raises(ValueError, match="Unknown preprocessing family"):
        preprocess_param_count("imagenet")


@pytest.mark.parametrize(
    ("family", "module"),
    [("tf", "mobilenet_v2"), ("tf", "xception"), ("torch", "densenet"), ("caffe", "resnet50"), ("caffe", "vgg16")],
)
def test_preprocessing_layers_match_keras(family, module):
    import keras

    from rmlp.keras.layer_defs import preprocess_layer

    stack = [preprocess_layer(family, "base_preprocess").make()]
    assert {type(layer).__name__ for layer in stack} <= ALLOWED_LAYER_CLASSES
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 5, 7, 3)).astype("float32")
    y = keras.ops.convert_to_tensor(x)
    for layer in stack:
        y = layer(y)
    expected = getattr(keras.applications, module).preprocess_input(x.copy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), expected, rtol=1e-5, atol=1e-4)
    weights = [w for layer in stack for w in layer.weights]
    assert _param_count(weights) == preprocess_param_count(family)
    assert not [w for layer in stack for w in layer.trainable_weights]


def test_preprocessing_none_has_no_layer_and_an_unknown_family_is_refused():
    from rmlp.design.plan import make_plan
    from rmlp.keras.layer_defs import preprocess_layer

    with pytest.raises(ValueError, match="Unknown preprocessing family"):
        preprocess_layer("none", "base_preprocess")
    spec = ModelSpec(input_shape=[8, 8, 3], num_outputs=2, base_model={"name": "MobileNetV2", "weights": "none",
                                                                       "preprocess": False})
    assert not [n for n in make_plan(spec) if n.op == "preprocess"]


def test_caffe_preprocessing_survives_save_and_safe_load(tmp_path):
    import keras

    from rmlp.base.loading import load_keras_file_safely
    from rmlp.keras.layer_defs import preprocess_layer

    inp = keras.Input((4, 4, 3))
    x = inp
    for layer in [preprocess_layer("caffe", "base_preprocess").make(), preprocess_layer("torch", "torch_pre").make()]:
        x = layer(x)
    model = keras.Model(inp, x)
    path = tmp_path / "pre.keras"
    model.save(path)
    assert check_keras_file(path) == []
    again = load_keras_file_safely(path)
    batch = np.random.default_rng(1).uniform(0, 255, size=(1, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(batch, verbose=0), model.predict(batch, verbose=0), atol=1e-5)


# --------------------------------------------------------------------------- check_keras_file


def test_check_accepts_a_plain_model(tiny_file):
    assert check_keras_file(tiny_file) == []


def test_check_refuses_lambda(tmp_path):
    path = tmp_path / "lam.keras"
    _tiny_model(with_lambda=True).save(path)
    problems = check_keras_file(path)
    assert problems, "a Lambda layer must be refused"
    assert all(p.path == "base_model.path" and p.severity == "error" for p in problems)
    text = " ".join(p.message for p in problems)
    assert "Lambda layer" in text and "arbitrary Python code" in text
    assert problems[0].fix


def test_check_refuses_non_zip(tmp_path):
    path = tmp_path / "fake.keras"
    path.write_bytes(b"this is not a zip archive")
    [problem] = check_keras_file(path)
    assert "not a zip archive" in problem.message
    assert problem.path == "base_model.path" and problem.fix


def test_check_refuses_missing_oversized_and_wrong_suffix(tmp_path, tiny_file):
    [missing] = check_keras_file(tmp_path / "nope.keras")
    assert "does not exist" in missing.message
    [big] = check_keras_file(tiny_file, max_bytes=100)
    assert "limit" in big.message
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF")
    [suffix] = check_keras_file(h5)
    assert "not a .keras file" in suffix.message


def test_check_refuses_zip_without_config(tmp_path):
    path = tmp_path / "empty.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.weights.h5", b"")
    [problem] = check_keras_file(path)
    assert "no config.json" in problem.message


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        (_layer("TFSMLayer", filepath="/somewhere/saved_model"), "TFSMLayer"),
        (_layer("StringLookup", vocabulary="/etc/passwd"), "vocabulary from the file"),
        (_layer("TextVectorization", vocabulary="vocab.txt"), "vocabulary from the file"),
        (_layer("MyBlock", module="my_package.layers"), "custom class 'MyBlock'"),
        ({**_layer("Dense"), "registered_name": "Custom>Dense"}, "registered custom object"),
        (_layer("TorchModuleWrapper"), "TorchModuleWrapper"),
        (_layer("Unheard", module="keras.layers"), "not on this app's list"),
        ({"class_name": "__lambda__", "config": {"value": "abc"}}, "lambda"),
        (_layer("Dense", activation={"module": "os", "class_name": "function", "config": "system",
                                     "registered_name": "system"}), "'os'"),
        (_layer("Cond", module="keras.src.ops.core"), "'Cond'"),
        (_layer("Dense", activation={"module": "builtins", "class_name": "function", "config": "eval",
                                     "registered_name": "eval"}), "not a built-in activation"),
    ],
)
def test_check_refuses_crafted_configs(tmp_path, layer, words):
    path = _write_keras_zip(tmp_path / "crafted.keras", _functional_config(_layer("InputLayer"), layer))
    problems = check_keras_file(path)
    assert problems and words in " ".join(p.message for p in problems)


def test_check_accepts_inline_vocabulary_ops_and_activations(tmp_path):
    config = _functional_config(
        _layer("InputLayer"),
        _layer("StringLookup", vocabulary=["a", "b"]),
        _layer("Add", module="keras.src.ops.numpy"),
        _layer("LayerScale", module="keras.src.applications.convnext"),
        _layer("Dense", activation={"module": "keras.activations", "class_name": "function",
                                    "config": "relu", "registered_name": "relu"},
               kernel_initializer=_layer("GlorotUniform", module="keras.initializers")),
    )
    assert check_keras_file(_write_keras_zip(tmp_path / "ok.keras", config)) == []


def test_allow_list_names_are_real_keras_classes():
    import keras

    layer_names = {n for n in dir(keras.layers) if isinstance(getattr(keras.layers, n), type)}
    assert ALLOWED_LAYER_CLASSES - {"Functional", "Sequential"} <= layer_names
    assert not {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"} & ALLOWED_LAYER_CLASSES
    others = set()
    for module in (keras.initializers, keras.regularizers, keras.constraints, keras.dtype_policies):
        others |= {n for n in dir(module) if isinstance(getattr(module, n), type)}
    assert {n for n in ALLOWED_OTHER_CLASSES if not n.startswith("__")} <= others


# --------------------------------------------------------------------------- safe loading


def test_load_safely_roundtrip(tiny_file):
    import keras

    from rmlp.base.loading import load_keras_file_safely

    model = load_keras_file_safely(tiny_file)
    assert isinstance(model, keras.Model)
    assert model.count_params() == 224 + 32 + 1168 + 68


def test_load_safely_refuses_lambda_with_spec_error(tmp_path):
    from rmlp.base.loading import load_keras_file_safely

    path = tmp_path / "lam.keras"
    _tiny_model(with_lambda=True).save(path)
    with pytest.raises(SpecError) as caught:
        load_keras_file_safely(path)
    assert "Lambda" in str(caught.value)
    assert caught.value.problems[0].path == "base_model.path"


def test_load_safely_wraps_keras_failures(tmp_path, tiny_file):
    from rmlp.base.loading import load_keras_file_safely

    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(tiny_file) as src, zipfile.ZipFile(broken, "w") as dst:
        dst.writestr("config.json", src.read("config.json"))
        dst.writestr("model.weights.h5", b"not an hdf5 file")
    with pytest.raises(SpecError) as caught:
        load_keras_file_safely(broken)
    assert "could not load" in str(caught.value)


# --------------------------------------------------------------------------- inspection


def test_inspect_fixed_size_file_writes_sidecar(tmp_path):
    from rmlp.base.measure import inspect_base_file

    path = tmp_path / "tiny.keras"
    _tiny_model().save(path)
    info = inspect_base_file(path)
    assert info.total_params == 224 + 32 + 1168 + 68
    assert info.layer_trainable_params == (0, 224, 16, 0, 1168, 0, 0, 68)
    assert info.fixed_output_shape == (4,)
    assert info.default_size == (32, 32) and info.input_channels == 3
    side = sidecar_path(path)
    assert side.is_file()
    spec = BaseModelSpec(source="file", path=str(path))
    assert lookup(spec) == BaseInfo.from_dict(json.loads(side.read_text()))
    # a copy (new mtime, same content) keeps the sidecar valid: the content hash decides
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert lookup(spec) is not None
    # a changed file makes the sidecar stale
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    os.utime(path, (2_000_000_000, 2_000_000_000))
    assert lookup(spec) is None


def test_inspect_cut_layer(tmp_path, tiny_file):
    from rmlp.base.measure import inspect_base_file

    info = inspect_base_file(tiny_file, "relu1")
    assert info.fixed_output_shape == (16, 16, 8)
    assert info.channels_out == 8
    assert info.total_params == 224 + 32
    assert sidecar_path(tiny_file, "relu1").is_file()
    assert lookup(BaseModelSpec(source="file", path=str(tiny_file), cut_layer="relu1")) == info


def test_inspect_missing_cut_layer(tiny_file):
    from rmlp.base.measure import inspect_base_file

    with pytest.raises(SpecError) as caught:
        inspect_base_file(tiny_file, "no_such_layer")
    problem = caught.value.problems[0]
    assert problem.path == "base_model.cut_layer"
    assert "no layer named 'no_such_layer'" in problem.message and "'conv2'" in problem.message


def test_inspect_variable_size_file_fits_downsampling(tmp_path):
    import keras

    from rmlp.base.measure import inspect_base_file

    path = tmp_path / "var.keras"
    _tiny_model(variable_size=True).save(path)
    info = inspect_base_file(path, "pool")
    assert info.fixed_output_shape is None
    assert info.downsample == (("ceil", 2), ("minus", 2), ("floor", 2))
    model = keras.saving.load_model(path, compile=False)
    cut = keras.Model(model.inputs, model.get_layer("pool").output)
    for h, w in [(9, 13), (40, 33)]:
        real = cut.compute_output_spec(keras.KerasTensor((1, h, w, 3))).shape
        assert info.output_shape(h, w, "none") == tuple(real[1:])
    assert info.min_size == smallest_size(list(info.downsample)) == 7  # 7 -> 4 -> 2 -> 1


# --------------------------------------------------------------------------- downsampling rules


def test_fit_step_rules():
    assert fit_step([(10, 5), (11, 6), (7, 4)]) == [("ceil", 2)]
    assert fit_step([(10, 5), (11, 5), (7, 3)]) == [("floor", 2)]
    assert fit_step([(10, 8), (11, 9)]) == [("minus", 2)]
    assert fit_step([(10, 4), (11, 5), (12, 5)]) == [("minus", 1), ("floor", 2)]  # 3x3 stride 2 valid
    assert fit_step([(8, 8)]) == []
    with pytest.raises(ValueError):
        fit_step([(10, 3), (11, 9)])


def test_feature_hw_minus_rule():
    info = BaseInfo(name="x", default_size=(299, 299), min_size=71,
                    downsample=(("minus", 1), ("floor", 2), ("minus", 2), ("ceil", 2)))
    assert info.feature_hw(299, 300) == (74, 74)
    assert smallest_size([("minus", 1), ("floor", 2), ("minus", 2)]) == 7


# --------------------------------------------------------------------------- make_base


@pytest.mark.parametrize("pooling", ["avg", "none"])
@pytest.mark.parametrize("trainable", [0, 3, 10])
def test_make_base_counts_match_table(pooling, trainable):
    info = applications()["MobileNetV3Small"]
    spec = BaseModelSpec(name="MobileNetV3Small", weights="none", input_size=[32, 32], pooling=pooling,
                         trainable_layers=trainable)
    from rmlp.base.make import make_base

    model = make_base(spec, info)
    assert model.count_params() == info.total_params
    assert _param_count(model.trainable_weights) == info.trainable_params(trainable, pooling)
    assert len(model.layers) == len(info.layer_params(pooling))
    expected = info.output_shape(32, 32, pooling)
    assert tuple(model.outputs[0].shape[1:]) == expected


@pytest.mark.slow
@pytest.mark.parametrize("trainable", [0, 3, 10])
def test_make_base_counts_mobilenet_v2(trainable):
    from rmlp.base.make import make_base

    info = applications()["MobileNetV2"]
    spec = BaseModelSpec(name="MobileNetV2", weights="none", input_size=[96, 96], pooling="max",
                         trainable_layers=trainable)
    model = make_base(spec, info)
    assert model.count_params() == info.total_params
    assert _param_count(model.trainable_weights) == info.trainable_params(trainable, "max")


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["max", "none"])
def test_make_base_convnext_pooling_sits_before_its_last_norm(pooling):
    from rmlp.base.make import make_base

    info = applications()["ConvNeXtTiny"]
    assert info.pooling_index == -2  # ConvNeXt keeps a LayerNormalization after the pooling
    spec = BaseModelSpec(name="ConvNeXtTiny", weights="none", input_size=[32, 32], pooling=pooling,
                         trainable_layers=3)
    model = make_base(spec, info)
    assert model.count_params() == info.total_params
    assert _param_count(model.trainable_weights) == info.trainable_params(3, pooling)


def test_make_base_is_fresh_every_call():
    from rmlp.base.make import make_base

    info = applications()["MobileNetV3Small"]
    spec = BaseModelSpec(name="MobileNetV3Small", weights="none", input_size=[32, 32], trainable_layers=2)
    first, second = make_base(spec, info), make_base(spec, info)
    assert first is not second
    assert not {id(w) for w in first.weights} & {id(w) for w in second.weights}
    kernel = next(w for w in first.weights if len(w.shape) == 4)
    other = next(w for w in second.weights if len(w.shape) == 4)
    assert not np.allclose(np.asarray(kernel), np.asarray(other))


def test_make_base_from_file(tiny_file):
    from rmlp.base.make import make_base
    from rmlp.base.measure import inspect_base_file

    info = inspect_base_file(tiny_file, "pool")
    for trainable in (0, 1, 3, 100):
        spec = BaseModelSpec(source="file", path=str(tiny_file), cut_layer="pool", trainable_layers=trainable)
        model = make_base(spec, info)
        assert model.count_params() == info.total_params
        assert _param_count(model.trainable_weights) == info.trainable_params(trainable)
        assert tuple(model.outputs[0].shape[1:]) == info.fixed_output_shape


def test_make_base_refuses_unknown_model_and_tiny_size():
    from rmlp.base.make import make_base

    with pytest.raises(SpecError, match="not a keras.applications model"):
        make_base(BaseModelSpec(name="NoSuchNet", weights="none", input_size=[64, 64]), None)
    with pytest.raises(SpecError) as caught:
        make_base(BaseModelSpec(name="MobileNetV3Small", weights="none", input_size=[16, 16]), None)
    assert caught.value.problems[0].path == "base_model.input_size"


# --------------------------------------------------------------------------- the table stays honest


def test_table_is_complete_and_consistent():
    table = applications()
    expected = {"MobileNetV3Small", "MobileNetV3Large", "MobileNetV2", "EfficientNetB0", "EfficientNetB3",
                "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2S", "ResNet50", "ResNet50V2",
                "DenseNet121", "ConvNeXtTiny", "Xception", "InceptionV3", "VGG16"}
    assert expected <= set(table)
    for name, info in table.items():
        assert info.name == name
        assert info.preprocess in ("none", "tf", "torch", "caffe")
        assert sum(info.layer_trainable_params) <= info.total_params
        assert info.pooling_index is not None and info.layer_trainable_params[info.pooling_index] == 0
        assert min(info.feature_hw(info.min_size, info.min_size)) >= 1
        assert info.output_shape(*info.default_size, "avg") == (info.channels_out,)
    assert table["EfficientNetB7"].channels_out == 2560 and table["EfficientNetB7"].default_size == (600, 600)
    assert table["MobileNetV2"].imagenet_sizes == (96, 128, 160, 192, 224)
    assert table["Xception"].min_size == 71 and table["InceptionV3"].min_size == 75
    assert (table["ResNet50"].preprocess, table["DenseNet121"].preprocess) == ("caffe", "torch")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV3Small", "MobileNetV2", "EfficientNetB0"])
def test_table_matches_keras(name):
    import keras

    from rmlp.base.measure import trainable_counts

    info = applications()[name]
    h, w = info.default_size
    model = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(h, w, 3),
                                              pooling="avg")
    assert model.count_params() == info.total_params
    assert tuple(trainable_counts(model)) == info.layer_trainable_params
    for size in [(info.min_size, info.min_size), (info.min_size + 19, 2 * info.min_size + 5)]:
        bare = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(*size, 3))
        assert tuple(bare.outputs[0].shape[1:]) == info.output_shape(*size, "none")
    with pytest.raises(ValueError):
        getattr(keras.applications, name)(include_top=False, weights=None,
                                          input_shape=(info.min_size - 1, info.min_size - 1, 3))


def test_inspect_variable_size_sequential(tmp_path):
    import keras
    from keras import layers

    from rmlp.base.measure import inspect_base_file

    model = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(4, 3, strides=2, name="c"),
                              layers.AveragePooling2D(2, name="p")])
    path = tmp_path / "seq.keras"
    model.save(path)
    info = inspect_base_file(path)
    assert info.downsample == (("minus", 1), ("floor", 2), ("floor", 2))
    for h, w in [(9, 13), (40, 33)]:
        real = model.compute_output_spec(keras.KerasTensor((1, h, w, 3))).shape
        assert info.output_shape(h, w, "none") == tuple(real[1:])
