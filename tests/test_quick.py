"""A search trial's quick set-up: the same model as plain Keras, TensorFlow's state put back after."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rmlp.spec.model import ModelSpec

keras = pytest.importorskip("keras")
tf_ops = pytest.importorskip("tensorflow.python.ops.gen_resource_variable_ops")


def _weights(quick: bool) -> list[tuple[str, np.ndarray]]:
    from rmlp.keras.build import build_uncompiled
    from rmlp.keras.quick import quick_variables, reset_keras

    spec = ModelSpec(input_shape=[6], num_outputs=3, blocks=[{"layers": 2, "width": 16, "decrement": 4, "bypass": [8]}],
                     final_layers=[8], bypass_regularizer="batchnorm")
    reset_keras()
    keras.utils.set_random_seed(5)
    if quick:
        with quick_variables():
            model = build_uncompiled(spec)
    else:
        model = build_uncompiled(spec)
    return [(v.path, v.numpy()) for v in model.variables]


def test_quick_variables_make_the_same_named_weights_and_put_the_op_back():
    original = tf_ops.var_handle_op
    plain, quick = _weights(False), _weights(True)
    assert [p for p, _ in plain] == [p for p, _ in quick]  # names survive: Keras holds them
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(plain, quick, strict=True))
    assert tf_ops.var_handle_op is original


def test_quick_variables_drop_only_the_debug_name_and_nest_across_threads():
    from rmlp.keras.quick import quick_variables

    original = tf_ops.var_handle_op
    seen: list[object] = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("debug_name"))
        return original(*args, **kwargs)

    tf_ops.var_handle_op = spy
    try:
        inside, release = threading.Event(), threading.Event()

        def other() -> None:
            with quick_variables():
                inside.set()
                release.wait(10)

        thread = threading.Thread(target=other)
        thread.start()
        assert inside.wait(10)
        with quick_variables():
            keras.Variable(np.zeros((3, 2), "float32"), name="kernel")
        assert tf_ops.var_handle_op is not spy  # the other thread is still inside
        release.set()
        thread.join(10)
        assert tf_ops.var_handle_op is spy  # the last one out put back what it found
        keras.Variable(np.zeros((3, 2), "float32"), name="kernel")
    finally:
        tf_ops.var_handle_op = original
    assert seen[0] == "" and seen[1].startswith("kernel")


def test_quick_variables_keep_their_shape_in_graphs_and_train_to_the_same_weights():
    import tensorflow as tf

    from rmlp.keras.build import build_model
    from rmlp.keras.quick import quick_variables, reset_keras

    original = tf_ops.var_handle_op
    shapes: list[object] = []

    def spy(*args, **kwargs):
        shapes.append(kwargs.get("shape"))
        return original(*args, **kwargs)

    def trained(quick: bool) -> list[np.ndarray]:
        spec = ModelSpec(input_shape=[5], num_outputs=3, blocks=[{"layers": 2, "width": 12, "decrement": 4}],
                         final_layers=[6])
        reset_keras()
        keras.utils.set_random_seed(2)
        if quick:
            with quick_variables():
                model = build_model(spec)
                kernel = model.trainable_variables[0]
                read = tf.function(lambda: kernel.value).get_concrete_function()
                assert tuple(kernel.shape) == (5, 12) and tuple(read.outputs[0].shape) == (5, 12)
        else:
            model = build_model(spec)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(48, 5)).astype("float32"), np.eye(3, dtype="float32")[np.arange(48) % 3]
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return model.get_weights()

    plain = trained(False)
    tf_ops.var_handle_op = spy
    try:
        quick = trained(True)
    finally:
        tf_ops.var_handle_op = original
    assert shapes and all(s is not None and s.rank is None for s in shapes)  # one kernel for every shape
    assert all(np.array_equal(a, b) for a, b in zip(plain, quick, strict=True))


def test_reset_keras_restarts_names_and_clears_kernels_only_now_and_then(monkeypatch):
    from tensorflow.python.eager import context

    from rmlp.keras import quick

    calls: list[int] = []
    monkeypatch.setattr(context.Context, "clear_kernel_cache", lambda self: calls.append(1))
    monkeypatch.setitem(quick._resets, "since_clear", 0)
    keras.layers.Dense(2)
    quick.reset_keras()
    assert keras.layers.Dense(2).name == "dense"  # Keras's name counter starts again
    for _ in range(quick.KERNEL_CACHE_RESETS - 2):
        quick.reset_keras()
    assert calls == []
    quick.reset_keras()
    assert calls == [1]
