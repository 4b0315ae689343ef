"""The original ``ResidualMLP(**kwargs).make_tandem_model()`` API, drop-in."""

from __future__ import annotations

import pytest

import rmlp
from rmlp import ResidualMLP
from rmlp.keras.original import ORIGINAL_DEFAULTS

keras = pytest.importorskip("keras")


def reference_model(input_shape, blocks, bypass, inter, final, classes, final_act, reg_bypass="dropout",
                    reg_last="dropout", rate_bypass=0.35, rate=0.2):
    """The original architecture written out layer by layer, as SEED_FACTS.md describes it."""
    L = keras.layers
    inp = keras.Input(shape=input_shape)
    x = L.Flatten()(inp)

    def reg(kind, r):
        return L.Dropout(r) if kind == "dropout" else L.BatchNormalization()

    for i, (j, k, dec) in enumerate(blocks):
        entry = L.Dense(k, activation="relu", kernel_initializer="glorot_normal")(x)
        m = L.BatchNormalization()(entry)
        for step in range(j):
            m = L.Dense(k - step * dec, activation="relu")(m)
            m = L.BatchNormalization()(m)
        y = reg(reg_bypass, rate_bypass)(entry)
        for u in bypass[i]:
            y = L.Dense(u, activation="relu")(y)
            y = reg(reg_bypass, rate_bypass)(y)
        x = L.Concatenate()([m, y])
        if i < len(blocks) - 1:
            for u in inter:
                x = L.Dense(u, activation="relu")(x)
                x = L.BatchNormalization()(x)
    for u in final:
        x = L.Dense(u, activation="relu")(x)
        x = reg(reg_last, rate)(x)
    return keras.Model(inp, L.Dense(classes, activation=final_act)(x))


def layer_signature(model):
    return [(type(layer).__name__, getattr(layer, "units", None), getattr(layer, "rate", None))
            for layer in model.layers]


def test_default_arguments_give_the_original_graph():
    model = ResidualMLP().make_tandem_model()
    ref = reference_model((32, 32, 3), [[5, 400, 50]], [[]], [], [75, 35], 10, "softmax")
    assert layer_signature(model) == layer_signature(ref)
    assert model.count_params() == ref.count_params()
    assert model.loss.name == "categorical_crossentropy"


def test_two_blocks_with_bypass_and_inter_layers_match_the_original():
    kwargs = dict(input_shape=(2560,), blocks=[[5, 100, 10], [7, 75, 8]], residual_bypass_dense_layers=[[], [5]],
                  inter_block_layers_per_block=[30], final_dense_layers=[35, 35], dropout_rate=0.25,
                  b_norm_or_dropout_residual_bypass_layers="bnorm", number_of_classes=10)
    model = ResidualMLP(**kwargs).make_tandem_model()
    ref = reference_model((2560,), [[5, 100, 10], [7, 75, 8]], [[], [5]], [30], [35, 35], 10, "softmax",
                          reg_bypass="batchnorm", rate=0.25)
    assert layer_signature(model) == layer_signature(ref)
    assert model.count_params() == ref.count_params()
    assert rmlp.summarize(ResidualMLP(**kwargs).to_spec()).total_params == ref.count_params()


def test_to_spec_maps_names_and_defaults():
    spec = ResidualMLP(blocks=[[3, 60, 10]], residual_bypass_dense_layers=[[8]], learning_rate=0.001,
                       b_norm_or_dropout_last_layers="bnorm").to_spec()
    assert spec.blocks[0].layers == 3 and spec.blocks[0].width == 60 and spec.blocks[0].bypass == [8]
    assert spec.final_regularizer == "batchnorm"
    assert spec.optimizer.learning_rate == 0.001 and spec.optimizer.clipnorm == 1.0
    assert set(ORIGINAL_DEFAULTS) >= {"blocks", "base_model", "bw_images", "loss"}


def test_regression_gets_a_linear_output_and_mse_not_the_originals_softmax():
    model = ResidualMLP(problem_type="regression", input_shape=(8,), blocks=[[2, 16, 4]]).make_tandem_model()
    assert model.layers[-1].units == 1
    assert model.layers[-1].activation.__name__ == "linear"
    assert model.loss.name == "mean_squared_error"
    names = {x.name for m in model.metrics for x in getattr(m, "metrics", [m])}
    assert {"rmse", "mae"} <= names or model.compiled_metrics is not None


def test_binary_with_sigmoid():
    spec = ResidualMLP(number_of_classes=1, final_activation="sigmoid", input_shape=(4,), blocks=[[2, 8, 2]]).to_spec()
    assert spec.task == "binary" and spec.resolved_loss() == "binary_crossentropy"


def test_keras_objects_are_accepted_for_activation_and_loss():
    spec = ResidualMLP(activation=keras.activations.relu, loss=keras.losses.CategoricalCrossentropy(),
                       input_shape=(4,), blocks=[[2, 8, 2]]).to_spec()
    assert spec.activation == "relu" and spec.resolved_loss() == "categorical_crossentropy"


@pytest.mark.parametrize("kwargs,path", [
    ({"blocks": [[5, 40, 10]]}, "blocks[0].decrement"),
    ({"blocks": [[2, 40, 10], [2, 40, 10]], "residual_bypass_dense_layers": [[5]]}, "residual_bypass_dense_layers"),
    ({"b_norm_or_dropout_residual_bypass_layers": "layernorm"}, "b_norm_or_dropout_residual_bypass_layers"),
    ({"dropout_rate": 1.5}, "final_dropout"),
    ({"blockz": [[1, 2, 3]]}, "blockz"),
])
def test_invalid_arguments_raise_value_error_with_the_validators_message(kwargs, path):
    with pytest.raises(ValueError) as exc:
        ResidualMLP(**kwargs).make_tandem_model()
    assert path in str(exc.value)


def test_base_model_object_is_used_through_a_fresh_copy_each_build():
    inner = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D()])
    maker = ResidualMLP(base_model=inner, base_model_input_shape=(16, 16, 3), input_shape=(16, 16, 3),
                        blocks=[[2, 8, 2]], number_of_classes=3)
    first, second = maker.make_tandem_model(), maker.make_tandem_model()
    kinds = [type(layer).__name__ for layer in first.layers[:3]]
    assert kinds[:2] == ["InputLayer", "Resizing"]
    base_a = [layer for layer in first.layers if isinstance(layer, keras.Model)][0]
    base_b = [layer for layer in second.layers if isinstance(layer, keras.Model)][0]
    assert base_a is not base_b and base_a is not inner
    assert not base_a.trainable_weights  # frozen by default


def test_the_original_readme_preset_is_the_original_default_design():
    from rmlp.spec.presets import get_preset

    def resolved(spec):
        return spec.copy_with(name="x", output_activation=spec.resolved_output_activation(),
                              loss=spec.resolved_loss())

    assert resolved(get_preset("original_readme")) == resolved(ResidualMLP().to_spec())
