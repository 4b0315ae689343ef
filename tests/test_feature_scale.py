"""The learned feature scales: a factor per value in front of the blocks, proposed by the sized design."""

from __future__ import annotations

import numpy as np

import rmlp
from rmlp.design import sizing
from rmlp.design.plan import make_plan
from rmlp.search.space import default_space
from rmlp.spec.model import BlockSpec, ModelSpec


def _spec(**changes) -> ModelSpec:
    base = ModelSpec(input_shape=[5], num_outputs=3, blocks=[BlockSpec(layers=2, width=12, decrement=3)],
                     final_layers=[], feature_scale=True)
    return base.copy_with(**changes)


def test_the_scales_come_after_the_embedding_and_before_the_members() -> None:
    ops = [n.op for n in make_plan(_spec(embedding="piecewise", embedding_bins=4, embedding_dim=3, ensemble=3))]
    assert ops.index("flatten") < ops.index("bins") < ops.index("feature_scale") < ops.index("repeat")
    scale = next(n for n in make_plan(_spec(embedding="periodic", embedding_dim=3)) if n.op == "feature_scale")
    assert scale.shape == (15,) and scale.trainable_params == 15  # one per embedded value
    assert "feature_scale" not in [n.op for n in make_plan(_spec(feature_scale=False))]


def test_neither_the_original_nor_the_sized_design_has_scales_unless_asked() -> None:
    assert ModelSpec().feature_scale is False  # the original architecture as it was
    fields, _ = sizing.design_for(300, 6, True)
    assert "feature_scale" not in fields  # the sized design leaves the setting as the user has it
    assert _spec().copy_with(**fields).feature_scale is True


def test_a_scale_of_zero_takes_a_column_out_and_training_moves_the_scales() -> None:
    from rmlp.keras.build import build_model

    model = build_model(_spec(task="regression", num_outputs=1, loss="mse", output_activation="linear"))
    layer = model.get_layer("feature_scale")
    assert np.array_equal(layer.get_weights()[0], np.ones(5, dtype="float32"))
    layer.set_weights([np.array([1.0, 1.0, 0.0, 1.0, 1.0], dtype="float32")])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    other = x.copy()
    other[:, 2] = rng.normal(size=16) * 100
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(other, verbose=0), rtol=1e-6, atol=1e-6)
    layer.set_weights([np.ones(5, dtype="float32")])
    model.fit(x, x[:, :1] * 3.0, epochs=2, verbose=0)
    assert not np.allclose(layer.get_weights()[0], 1.0)


def test_the_graph_the_summary_and_the_search_know_the_scales() -> None:
    spec = _spec(ensemble=4)
    dot = rmlp.to_dot(spec)
    assert dot.count('label="Feature scales') == 1 and "one per value → 5" in dot
    assert rmlp.summarize(spec).total_params - rmlp.summarize(spec.copy_with(feature_scale=False)).total_params == 5
    assert set(default_space(spec).params["feature_scale"].choices or []) == {False, True}


def test_the_scales_apply_only_to_a_flattened_input() -> None:
    """Without flatten the blocks see the input's own axes, and there is no scale layer."""
    ops = [n.op for n in make_plan(_spec(flatten=False), strict=False)]
    assert "flatten" not in ops and "feature_scale" not in ops
