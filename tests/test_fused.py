"""Fused Adam/AdamW updates: the same weights as Keras's own update, and a plain Keras optimizer on disk."""

from __future__ import annotations

import numpy as np
import pytest

from rmlp.spec.model import ModelSpec

keras = pytest.importorskip("keras")


def _fit(fused: bool, cls: type, **kwargs: object) -> tuple[list[np.ndarray], object, object]:
    from rmlp.keras.fused import fuse_adam
    from rmlp.keras.optimizers import cosine_schedule

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 7)).astype("float32")
    y = (x[:, :2].sum(axis=1, keepdims=True) > 0).astype("float32")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(16, activation="gelu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])
    optimizer = cls(learning_rate=cosine_schedule(3e-3, 30, 0.1), **kwargs)
    if fused:
        fuse_adam(optimizer)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    model.fit(x, y, batch_size=16, epochs=5, verbose=0, shuffle=False)
    return model.get_weights(), optimizer, model


@pytest.mark.parametrize(("cls", "kwargs"), [
    ("Adam", {}), ("AdamW", {"weight_decay": 0.05}), ("Adam", {"clipnorm": 0.05, "weight_decay": 0.01}),
    ("AdamW", {"clipnorm": 1e-3}),
])
def test_fused_updates_give_kerass_weights(cls, kwargs):
    cls = getattr(keras.optimizers, cls)
    plain, _, _ = _fit(False, cls, **kwargs)
    fused, optimizer, _ = _fit(True, cls, **kwargs)
    assert "_backend_update_step" in vars(optimizer)  # the fused step is the one that ran
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(plain, fused, strict=True)) < 1e-5
    assert max(float(np.max(np.abs(a))) for a in plain) > 0.1  # and the weights did move


def test_fused_optimizer_saves_as_plain_keras(tmp_path):
    _, optimizer, model = _fit(True, keras.optimizers.AdamW, weight_decay=0.02)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is keras.optimizers.AdamW
    assert loaded.optimizer.weight_decay == pytest.approx(0.02)
    assert int(loaded.optimizer.iterations.numpy()) == int(optimizer.iterations.numpy()) == 30


def test_other_optimizers_are_left_alone():
    from rmlp.keras.fused import fuse_adam
    from rmlp.keras.optimizers import make_optimizer

    for name in ("sgd", "rmsprop"):
        other = make_optimizer(ModelSpec(optimizer={"name": name, "learning_rate": 0.01}))
        assert "_backend_update_step" not in vars(fuse_adam(other))
    assert "_backend_update_step" not in vars(fuse_adam(keras.optimizers.Adam(amsgrad=True)))
    assert "_backend_update_step" in vars(fuse_adam(make_optimizer(ModelSpec())))
    assert "_backend_update_step" not in vars(make_optimizer(ModelSpec()))  # training runs keep Keras's update
