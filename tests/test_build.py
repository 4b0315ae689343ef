"""The builder: summaries equal Keras' counts, the validator predicts builds, compile defaults fit the task."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rmlp
from rmlp.spec.model import BlockSpec, ModelSpec

keras = pytest.importorskip("keras")


def keras_counts(model) -> tuple[int, int]:
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return model.count_params(), trainable


def check_summary_matches(spec: ModelSpec, model) -> None:
    summary = rmlp.summarize(spec)
    total, trainable = keras_counts(model)
    assert (summary.total_params, summary.trainable_params) == (total, trainable)
    assert summary.layers == len(model.layers)
    assert tuple(model.output.shape[1:]) == summary.output_shape


def test_tabular_model_matches_summary_and_has_the_residual_structure():
    spec = ModelSpec(input_shape=[13], num_outputs=3, blocks=[BlockSpec(layers=3, width=64, decrement=8, bypass=[16]),
                                                               BlockSpec(layers=2, width=32, decrement=4)],
                     inter_block_layers=[20], bypass_regularizer="batchnorm")
    model = rmlp.build_model(spec)
    check_summary_matches(spec, model)
    merge = model.get_layer("block1_merge")
    assert type(merge).__name__ == "Concatenate"
    # main path ends at 64 - 2*8 = 48 units, bypass at 16: the merge is 64 wide
    assert merge.output.shape[-1] == 48 + 16
    assert model.get_layer("block1_entry").kernel_initializer.__class__.__name__ == "GlorotNormal"
    assert model.get_layer("gap1_dense1").units == 20
    with pytest.raises(ValueError):
        model.get_layer("gap2_dense1")  # no gap after the last block


@pytest.mark.parametrize("task,n,loss,metric", [
    ("multiclass", 10, "categorical_crossentropy", "top5_accuracy"),
    ("binary", 1, "binary_crossentropy", "auc"),
    ("regression", 1, "mean_squared_error", "rmse"),
])
def test_compile_defaults_fit_the_task(task, n, loss, metric):
    spec = ModelSpec(input_shape=[6], task=task, num_outputs=n, blocks=[BlockSpec(layers=2, width=16, decrement=4)],
                     final_layers=[12])
    model = rmlp.build_model(spec)
    assert model.loss.name == loss
    assert model.layers[-1].activation.__name__ == spec.resolved_output_activation()
    import numpy as np

    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    y = np.eye(n)[np.arange(8) % n] if task == "multiclass" else np.arange(8, dtype="float32")[:, None] % 2
    model.fit(x, y, epochs=1, verbose=0)
    names = {m.name for m in model.metrics} | {x.name for m in model.metrics for x in getattr(m, "metrics", [])}
    assert metric in names
    assert model.optimizer.clipnorm == 1.0


def test_grayscale_images_become_three_channels():
    spec = ModelSpec(input_shape=[8, 8, 1], grayscale_to_rgb=True, blocks=[BlockSpec(layers=2, width=16, decrement=2)])
    model = rmlp.build_model(spec)
    assert tuple(model.get_layer("grayscale_to_rgb").output.shape[1:]) == (8, 8, 3)
    check_summary_matches(spec, model)
    import numpy as np

    x = np.arange(64, dtype="float32").reshape(1, 8, 8, 1)
    rgb = keras.Model(model.input, model.get_layer("grayscale_to_rgb").output)(x).numpy()
    assert np.allclose(rgb[..., 0], rgb[..., 2]) and np.allclose(rgb[..., 1], x[..., 0])


def test_saved_model_reloads_with_plain_keras_in_a_fresh_process(tmp_path):
    spec = ModelSpec(input_shape=[5], num_outputs=3, blocks=[BlockSpec(layers=2, width=8, decrement=2, bypass=[4])],
                     final_layers=[6])
    model = rmlp.build_model(spec)
    path = tmp_path / "m.keras"
    model.save(path)
    code = (
        "import sys, keras; sys.modules['rmlp'] = None\n"
        f"m = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
        "print(m.count_params())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(model.count_params())


# ------------------------------------------------------------------------------------------ property test
widths = st.integers(min_value=1, max_value=48)
blocks = st.builds(lambda j, k, dec, bp: BlockSpec(layers=j, width=k, decrement=dec, bypass=bp),
                   st.integers(1, 5), widths, st.integers(0, 20), st.lists(st.integers(1, 12), max_size=2))
specs = st.builds(
    lambda shape, bl, inter, final, breg, freg, flat, task, norm: ModelSpec(
        input_shape=shape, blocks=bl, inter_block_layers=inter, final_layers=final, bypass_regularizer=breg,
        final_regularizer=freg, flatten=flat, task=task, num_outputs={"multiclass": 4}.get(task, 1),
        normalization=norm),
    st.sampled_from([[7], [3, 4], [4, 4, 1]]),
    st.lists(blocks, min_size=1, max_size=3),
    st.lists(st.integers(1, 16), max_size=2),
    st.lists(st.integers(1, 16), max_size=2),
    st.sampled_from(["dropout", "batchnorm"]),
    st.sampled_from(["dropout", "batchnorm"]),
    st.booleans(),
    st.sampled_from(["multiclass", "binary", "regression"]),
    st.sampled_from(["batchnorm", "none"]),
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_validator_predicts_keras_and_summary_matches(spec):
    """No errors: Keras builds and the counts match exactly. Errors: Keras itself refuses (or rmlp does first)."""
    valid = rmlp.is_valid(spec)
    if valid:
        model = rmlp.build_model(spec)
        check_summary_matches(spec, model)
        return
    with pytest.raises(rmlp.SpecError):
        rmlp.build_model(spec)
    # the main-path width rule is a real Keras limit: building the layers raw fails too
    if any(min(b.main_widths()) < 1 for b in spec.blocks):
        with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError or TypeError
            for b in spec.blocks:
                for units in b.main_widths():
                    keras.layers.Dense(units).build((None, 4))


def test_design_path_leaves_tensorflow_out():
    code = (
        "import sys, rmlp\n"
        "spec = rmlp.ModelSpec(input_shape=[20], blocks=[rmlp.BlockSpec(layers=3, width=64, decrement=8)] * 100)\n"
        "rmlp.validate(spec); rmlp.summarize(spec); rmlp.to_dot(spec)\n"
        "bad = [m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules]\n"
        "print(','.join(bad) or 'clean')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


@pytest.mark.slow
@pytest.mark.parametrize("pooling,trainable", [("avg", 0), ("none", 3), ("max", 10)])
def test_tandem_on_an_applications_model_matches_summary(pooling, trainable):
    from rmlp.spec.model import BaseModelSpec

    spec = ModelSpec(input_shape=[28, 28, 1], grayscale_to_rgb=True, num_outputs=4,
                     base_model=BaseModelSpec(name="MobileNetV3Small", weights="none", input_size=[32, 32],
                                              pooling=pooling, trainable_layers=trainable),
                     blocks=[BlockSpec(layers=2, width=32, decrement=8, bypass=[8])], final_layers=[16])
    model = rmlp.build_model(spec)
    check_summary_matches(spec, model)
    assert type(model.get_layer("resize_for_base")).__name__ == "Resizing"


@pytest.mark.slow
def test_tandem_on_a_users_keras_file_with_family_preprocessing_off(tmp_path):
    from rmlp.spec.model import BaseModelSpec

    inner = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(6, 3, name="conv"),
                              keras.layers.GlobalAveragePooling2D(name="features"), keras.layers.Dense(5)])
    path = tmp_path / "base.keras"
    inner.save(path)
    spec = ModelSpec(input_shape=[12, 12, 3], num_outputs=3,
                     base_model=BaseModelSpec(source="file", path=str(path), cut_layer="features",
                                              input_size=[12, 12], trainable_layers=2),
                     blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
    model = rmlp.build_model(spec)  # inspects the file on first use
    check_summary_matches(spec, model)  # the summary now knows the file from its sidecar
    assert model.get_layer("block1_entry").input.shape[-1] == 6
