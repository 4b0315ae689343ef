"""TensorFlow settings that make a search trial's set-up cheap: the same model, less time outside ``fit``.

A search builds a fresh model every trial and trains it for a few hundred steps, so costs that a
long training run never notices add up:

* :func:`quick_graphs` turns TensorFlow's graph optimiser off while a trial traces its steps;
* :func:`quick_variables` creates variables without their debug name and without the shape
  attribute of the op that makes their handle, so TensorFlow reuses one kernel for every variable
  of a dtype instead of building one per name and shape (about 0.4 ms a new name and 3.5 ms a new
  shape; a trial's model and optimizer have over a hundred variables, of shapes that change from
  design to design). The variable still knows its shape, and so do the graphs that read it;
* :func:`reset_keras` clears Keras's state between trials but keeps those kernels.

None of this changes a weight or a step: the variables, their values and the graphs are the ones
Keras makes. Search trials use all three; a training run on a table (no base model) fits inside
:func:`quick_graphs` too, for the same reason: a few hundred to a thousand small steps.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

#: How many resets keep TensorFlow's kernel cache before one clears it (bounds its memory).
KERNEL_CACHE_RESETS = 50

_lock = threading.Lock()
_patched: dict[str, Any] = {"users": 0, "original": None}
_resets = {"since_clear": 0}


def _is_tensorflow() -> bool:
    import keras

    return bool(keras.backend.backend() == "tensorflow")


@contextlib.contextmanager
def quick_graphs() -> Iterator[None]:
    """TensorFlow's graph optimiser (Grappler) off while a trial traces its steps, then as it was.

    A short trial runs its training step a few hundred times at most, so optimising the graph
    costs more than it saves (about a fifth of a 5-epoch trial on a small table).
    """
    if not _is_tensorflow():
        yield
        return
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False, **before})


@contextlib.contextmanager
def quick_variables() -> Iterator[None]:
    """Variables made inside are created by a kernel shared by every variable of their dtype.

    TensorFlow passes a variable's name and shape to the op that creates its handle as attributes
    (``debug_name``, ``shape``), and an eager op's kernel is cached by its attributes, so each new
    name or shape builds a new kernel. Inside this context the name is left empty and the shape
    unknown. Neither is lost: Keras holds the name, and the variable keeps its shape on the Python
    side, from which TensorFlow gives the handle's reads their static shape in graphs.
    Safe across threads: the first user replaces the op, the last puts it back.
    """
    if not _is_tensorflow():
        yield
        return
    import tensorflow as tf
    from tensorflow.python.ops import gen_resource_variable_ops as ops

    unknown = tf.TensorShape(None)
    with _lock:
        if _patched["users"] == 0:
            original = ops.var_handle_op

            def var_handle_op(*args: Any, **kwargs: Any) -> Any:
                kwargs["debug_name"] = ""
                kwargs["shape"] = unknown
                return original(*args, **kwargs)

            _patched["original"] = original
            ops.var_handle_op = var_handle_op
        _patched["users"] += 1
    try:
        yield
    finally:
        with _lock:
            _patched["users"] -= 1
            if _patched["users"] == 0:
                ops.var_handle_op = _patched["original"]


def reset_keras() -> None:
    """Keras's global state cleared, as ``keras.backend.clear_session(free_memory=False)``, keeping kernels.

    ``clear_session`` also empties TensorFlow's eager kernel cache, which the next trial would fill
    again op by op; this keeps it for :data:`KERNEL_CACHE_RESETS` resets, then clears it once.
    """
    import keras

    if not _is_tensorflow():
        keras.backend.clear_session(free_memory=False)
        return
    from tensorflow.python.eager import context

    _resets["since_clear"] += 1
    if _resets["since_clear"] >= KERNEL_CACHE_RESETS:
        _resets["since_clear"] = 0
        keras.backend.clear_session(free_memory=False)
        return
    ctx_class = context.Context
    with _lock:
        clear = ctx_class.clear_kernel_cache
        ctx_class.clear_kernel_cache = lambda self: None
        try:
            keras.backend.clear_session(free_memory=False)
        finally:
            ctx_class.clear_kernel_cache = clear
