"""Packed ensembles and the feature embeddings: the same networks as separate members, counted, drawn, reloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rmlp
from rmlp.design.plan import make_plan
from rmlp.spec.model import BlockSpec, ModelSpec


def _spec(**changes) -> ModelSpec:
    base = ModelSpec(input_shape=[6], num_outputs=3, blocks=[BlockSpec(layers=2, width=12, decrement=3, bypass=[5])],
                     final_layers=[7], ensemble=3)
    return base.copy_with(**changes)


def _copy_members(separate, packed, k: int) -> None:
    """Give the packed model the weights of the K separate members (member k's are slice k)."""
    import keras

    for layer in packed.layers:
        if not layer.weights:
            continue
        if layer.name.startswith("embed_") or layer.name == "feature_scale":  # shared by the members: the same layer
            layer.set_weights(separate.get_layer(layer.name).get_weights())
            continue
        members = [separate.get_layer(f"m{i + 1}_{layer.name}").get_weights() for i in range(k)]
        if isinstance(layer, keras.layers.BatchNormalization):  # members × units, flattened member by member
            layer.set_weights([np.concatenate([m[j] for m in members]) for j in range(len(members[0]))])
        else:  # EinsumDense: kernel (K, in, out), bias (K, out)
            layer.set_weights([np.stack([m[j] for m in members]) for j in range(len(members[0]))])


@pytest.mark.parametrize("changes", [
    {},
    {"normalization": "none", "bypass_regularizer": "batchnorm", "embedding": "periodic"},
    {"embedding": "piecewise", "embedding_bins": 5},
    {"embedding": "periodic", "feature_scale": True},
    {"task": "regression", "num_outputs": 1, "target_scale": {"mean": 3.0, "std": 2.0}, "activation": "gelu"},
])
def test_packed_members_compute_what_separate_members_compute_with_the_same_weights(changes):
    from rmlp.keras.build import build_model, members_model

    spec = _spec(**changes)
    separate = build_model(spec.copy_with(ensemble_layout="separate"), compile=False)
    packed = build_model(spec.copy_with(ensemble_layout="packed"), compile=False)
    assert packed.count_params() == separate.count_params()
    if spec.feature_scale:  # scales other than their starting ones, so that a misplaced layer shows
        scale = separate.get_layer("feature_scale")
        scale.set_weights([np.random.default_rng(5).uniform(0.2, 2.0, size=w.shape) for w in scale.get_weights()])
    _copy_members(separate, packed, spec.ensemble)
    x = np.random.default_rng(0).normal(size=(9, 6)).astype("float32")
    np.testing.assert_allclose(packed.predict(x, verbose=0), separate.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(members_model(packed).predict(x, verbose=0),
                               members_model(separate).predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_a_packed_member_starts_with_a_dense_layers_spread():
    """The member axis is not counted in a packed kernel's fans: each member starts as a Dense layer would."""
    from rmlp.keras.build import build_model

    packed = build_model(_spec(ensemble=8, blocks=[BlockSpec(layers=1, width=200, decrement=0)]), compile=False)
    single = build_model(_spec(ensemble=1, blocks=[BlockSpec(layers=1, width=200, decrement=0)]), compile=False)
    name = "block1_main_dense1"
    k_packed, k_single = packed.get_layer(name).get_weights()[0], single.get_layer(name).get_weights()[0]
    assert k_packed.shape == (8, *k_single.shape)
    assert np.std(k_packed) == pytest.approx(np.std(k_single), rel=0.1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.sampled_from([1, 2, 4]), layout=st.sampled_from(["packed", "shared", "separate"]),
       embedding=st.sampled_from(["none", "periodic", "piecewise"]), norm=st.sampled_from(["batchnorm", "none"]),
       frequencies=st.integers(1, 6), bins=st.integers(2, 7), dim=st.integers(1, 5), regression=st.booleans(),
       scale=st.booleans())
def test_the_summary_counts_what_keras_counts_for_every_embedding_and_ensemble(members, layout, embedding, norm,
                                                                               frequencies, bins, dim, regression,
                                                                               scale):
    from rmlp.keras.build import build_model

    task = {"task": "regression", "num_outputs": 1, "target_scale": {"mean": 1.0, "std": 2.0}} if regression else {}
    spec = _spec(ensemble=members, ensemble_layout=layout, embedding=embedding, normalization=norm,
                 embedding_frequencies=frequencies, embedding_bins=bins, embedding_dim=dim, feature_scale=scale,
                 **task)
    model = build_model(spec, compile=False)
    summary = rmlp.summarize(spec)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (summary.total_params, summary.trainable_params) == (model.count_params(), trainable)
    assert summary.layers == len(model.layers)


def test_the_graph_draws_packed_members_once_with_their_count():
    dot = rmlp.to_dot(_spec(ensemble=5, embedding="periodic"))
    assert "Dense 12 ×5" in dot and "×5 members" in dot and "Average" in dot
    assert dot.count("Periodic embedding") == 1 and "embed_sin" not in dot
    separate = rmlp.to_dot(_spec(ensemble=5, ensemble_layout="separate"))
    assert "×5" not in separate and "Average" in separate


def test_the_graph_draws_the_piecewise_embedding_as_one_node():
    dot = rmlp.to_dot(_spec(ensemble=2, embedding="piecewise", embedding_bins=10, embedding_dim=6))
    assert dot.count("Piecewise-linear embedding") == 1 and "10 bins → 6 per feature" in dot
    assert "embed_clip" not in dot and "Periodic" not in dot


def test_the_piecewise_embedding_encodes_each_feature_over_its_training_quantiles():
    """After set_bins the embedding's clipped bins are the data-side piecewise-linear encoding over the same
    quantile edges (rmlp.data.bins), padded with zeros where a feature has fewer distinct edges; fitting leaves
    them as they are (they are not trained) and the summary counts them as not trainable."""
    import keras

    from rmlp.data.bins import quantile_edges
    from rmlp.data.preprocessor import piecewise_linear
    from rmlp.keras.bins import set_bins
    from rmlp.keras.build import build_model, members_model

    spec = _spec(ensemble=2, embedding="piecewise", embedding_bins=6)
    model = build_model(spec)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6)).astype("float32")
    x[:, 3] = rng.integers(0, 3, size=200)  # three distinct values: two bins
    x[:, 5] = 1.0  # constant: no bin
    assert set_bins(members_model(model), x)
    got = keras.Model(model.input, model.get_layer("embed_clip").output).predict(x, verbose=0)
    for j in range(6):
        edges = quantile_edges(x[:, j], 6)
        want = piecewise_linear(x[:, j].astype("float64"), edges) if len(edges) > 1 else np.zeros((200, 0))
        np.testing.assert_allclose(got[:, j, :want.shape[1]], want, atol=1e-5)
        assert not got[:, j, want.shape[1]:].any()
    bins = [w.copy() for w in model.get_layer("embed_bins").get_weights()]
    fit = members_model(model)
    fit.compile(optimizer="adam", loss="categorical_crossentropy")
    fit.fit(x, np.repeat(np.eye(3)[rng.integers(0, 3, 200)][:, None], 2, axis=1), epochs=1, verbose=0)
    for before, after in zip(bins, model.get_layer("embed_bins").get_weights(), strict=True):
        assert np.array_equal(before, after)
    fixed = {e: rmlp.summarize(spec.copy_with(embedding=e)).non_trainable_params for e in ("piecewise", "none")}
    assert fixed["piecewise"] - fixed["none"] == 2 * 6 * 6  # a scale and an offset per feature and bin
    assert set_bins(build_model(_spec()), x) is False  # no embedding: nothing to set


def test_a_packed_ensemble_has_one_layer_per_layer_of_a_member():
    spec = _spec(ensemble=4)
    ops = [n.op for n in make_plan(spec)]
    assert ops.count("packed_dense") == len([n for n in make_plan(spec.copy_with(ensemble=1)) if n.op == "dense"])
    assert "stack" not in ops and ops.count("repeat") == 1


_LOAD = """
import json, sys
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1], safe_mode=True, compile=False)
x = np.asarray(json.loads(sys.argv[2]), dtype="float32")
print("RESULT:" + json.dumps({"pred": model.predict(x, verbose=0).tolist(), "rmlp": "rmlp" in sys.modules}))
"""


@pytest.mark.parametrize("embedding, classes", [("periodic", {"Sin", "Cos"}), ("piecewise", {"ReLU"})])
def test_a_packed_ensemble_with_an_embedding_reloads_without_rmlp_and_passes_the_safe_loader(tmp_path, embedding,
                                                                                             classes):
    from rmlp.base.safety import check_keras_file
    from rmlp.keras.bins import set_bins
    from rmlp.keras.build import build_model

    model = build_model(_spec(ensemble=3, embedding=embedding, normalization="batchnorm",
                              feature_scale=embedding == "piecewise"))
    set_bins(model, np.random.default_rng(2).gamma(2.0, size=(50, 6)))  # bins of data, not the starting ones
    if embedding == "piecewise":  # learned feature scales other than their starting ones
        scale = model.get_layer("feature_scale")
        scale.set_weights([np.random.default_rng(4).uniform(0.2, 2.0, size=w.shape) for w in scale.get_weights()])
    path = tmp_path / "model.keras"
    model.save(path)
    assert check_keras_file(path) == []
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert {"EinsumDense", "RepeatVector", *classes} <= {layer["class_name"] for layer in config["config"]["layers"]}
    x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _LOAD, str(path), json.dumps(x.tolist())], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT:"))[len("RESULT:"):])
    assert got["rmlp"] is False
    np.testing.assert_allclose(np.asarray(got["pred"]), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("embedding, called", [("periodic", "keras.ops.sin("),
                                               ("piecewise", "layers.ReLU(max_value=1.0")])
def test_the_exported_code_builds_the_packed_ensemble_with_an_embedding(embedding, called):
    from rmlp.export import export_python
    from rmlp.keras.build import build_model

    spec = _spec(ensemble=3, embedding=embedding, normalization="batchnorm", feature_scale=embedding == "piecewise")
    code = export_python(spec)
    assert "layers.EinsumDense(" in code and called in code and "RepeatVector(3" in code
    assert ('"bf,f->bf"' in code and "Learned feature scales" in code) == spec.feature_scale
    namespace: dict = {}
    exec(compile(code, "<model>", "exec"), namespace)
    model = namespace["build_model"]()
    assert model.count_params() == rmlp.summarize(spec).total_params
    if embedding == "piecewise":  # the same starting bins as rmlp's, and set_bins to set them from data
        ours = build_model(spec, compile=False).get_layer("embed_bins").get_weights()
        for theirs, mine in zip(model.get_layer("embed_bins").get_weights(), ours, strict=True):
            np.testing.assert_allclose(theirs, mine, rtol=1e-5)
        assert callable(namespace["set_bins"])


# ----------------------------------------------------------------------------- anytime feedback
def test_the_first_score_names_the_epoch_the_time_and_the_validation_figure():
    from rmlp.runs.callbacks import first_score_message

    text = first_score_message(3, 4.2, {"loss": 0.9, "val_accuracy": 0.93, "val_loss": 0.3})
    assert text.startswith("First score after 3 epochs (4 s): validation accuracy 0.93")
    assert "validation RMSE 2.5" in first_score_message(1, 0.0, {"val_rmse": 2.5, "val_loss": 6.25})
    assert first_score_message(2, 1.0, {"loss": 0.5}) == ""  # no validation rows: nothing to announce


def test_a_run_announces_its_first_score_early_and_says_how_it_ended(tmp_path):
    from rmlp.data import load_table
    from rmlp.data.samples import sample_dir
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    path = sample_dir() / "wine.csv"
    if not path.is_file():
        pytest.skip("sample_data/wine.csv is not there")
    data = load_table(path, "target", seed=0)
    events: list = []
    spec = _spec(input_shape=list(data.input_shape), ensemble=2, embedding="periodic")
    result = train(spec, data, TrainConfig(epochs=4, runs_dir=str(tmp_path), batch_events_every=60.0),
                   listener=events.append)
    first = [e for e in events if e.kind == "epoch" and e.message.startswith("First score")]
    # the 3rd epoch of a run of 30 or more; a tenth of the way into a shorter one, at least the 1st
    assert [e.epoch for e in first] == [1] and "validation accuracy" in first[0].message
    end = next(e for e in events if e.kind == "train_end")
    assert "Finished after 4 epochs" in end.message and "is kept" in end.message
    assert result.test_metrics["accuracy"] > 0


def test_a_shared_ensemble_holds_one_network_and_a_scale_per_member_and_feature():
    """TabM's 'mini' ensemble: the members share every Dense layer and differ by their scales of the features."""
    from rmlp.keras.build import build_model, members_model

    spec = _spec(ensemble=4, ensemble_layout="shared", normalization="none", bypass_regularizer="dropout")
    single = rmlp.summarize(spec.copy_with(ensemble=1)).total_params
    assert rmlp.summarize(spec).total_params == single + 4 * 6  # one network, and 4 members × 6 features
    ops = [n.op for n in make_plan(spec)]
    assert "packed_dense" not in ops and ops.count("member_scale") == 1 and ops.count("repeat") == 1
    model = build_model(spec, compile=False)
    scales = model.get_layer("members_scale").get_weights()[0]
    assert scales.shape == (4, 6) and len({tuple(np.sign(row)) for row in scales}) > 1  # members start apart
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    members = members_model(model).predict(x, verbose=0)
    assert members.shape == (5, 4, 3) and not np.allclose(members[:, 0], members[:, 1])
    np.testing.assert_allclose(model.predict(x, verbose=0), members.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_the_graph_draws_shared_members_once_without_a_count_on_their_layers():
    dot = rmlp.to_dot(_spec(ensemble=5, ensemble_layout="shared"))
    assert "×5 members" in dot and "shared weights" in dot and "Average" in dot
    assert "Dense 12 ×5" not in dot and "Dense 12" in dot


def test_the_bins_of_an_embedding_behind_a_base_model_come_from_its_features():
    """In front of a base model the bins are set from what the embedding receives (the base model's features),
    not from the pixels."""
    from pathlib import Path

    import keras

    from rmlp.data.bins import embedding_weights
    from rmlp.keras.bins import set_bins
    from rmlp.keras.build import build_model
    from rmlp.spec.model import BaseModelSpec

    cnn = Path(__file__).resolve().parents[1] / "sample_data" / "digits_cnn.keras"
    if not cnn.is_file():
        pytest.skip("sample_data/digits_cnn.keras is not there")
    spec = ModelSpec(input_shape=[16, 16], grayscale_to_rgb=True, num_outputs=10, embedding="piecewise",
                     embedding_bins=4, embedding_dim=2, blocks=[BlockSpec(layers=1, width=8, decrement=0)],
                     base_model=BaseModelSpec(source="file", path=str(cnn), cut_layer="features"))
    model = build_model(spec, compile=False)
    x = np.random.default_rng(4).uniform(0, 1, size=(40, 16, 16)).astype("float32")
    assert set_bins(model, x)
    layer = model.get_layer("embed_bins")
    features = keras.Model(model.inputs, layer.input).predict(x, verbose=0)
    assert features.shape[1] != 16 * 16  # the base model's features, not the pixels
    for got, want in zip(layer.get_weights(), embedding_weights(features, 4), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
