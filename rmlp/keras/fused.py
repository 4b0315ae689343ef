"""Adam and AdamW updates as one TensorFlow op per weight, for graphs that trace in less time.

Keras's Adam builds its update from about a dozen small ops per weight, works out the step's
bias corrections again for every weight, and AdamW evaluates the learning-rate schedule once more
per weight for the decay. For the short fits of a search trial, tracing those ops is most of the
trial. :func:`fuse_adam` gives an Adam or AdamW object the same update (and the same per-weight
``clipnorm``), computed once per step and applied with TensorFlow's ``ResourceApplyAdam`` kernel
(the same formula as Keras's: ``m += (g - m)(1 - β1)``, ``v += (g² - v)(1 - β2)``,
``w -= lr·√(1 - β2ᵗ)/(1 - β1ᵗ) · m / (√v + ε)``).

Search trials use it. Training runs keep Keras's own update: the results agree to about 1e-7, not
bit for bit, and the exported training script (plain Keras) reproduces a run exactly.

Only the object's update methods change, not its class or configuration: a saved model records a
plain Keras Adam/AdamW and reloads without rmlp. Anything else (another optimizer, AMSGrad, a
distribution strategy, another backend, a Keras version the swap was not written for: see
:mod:`rmlp.compat`) is left as Keras made it.
"""

from __future__ import annotations

from typing import Any

from rmlp.compat import patch_optimizer_step

__all__ = ["fuse_adam"]


def _fusable(optimizer: Any) -> bool:
    import keras

    if keras.backend.backend() != "tensorflow" or type(optimizer) not in (keras.optimizers.Adam,
                                                                           keras.optimizers.AdamW):
        return False
    if getattr(optimizer, "amsgrad", False) or getattr(optimizer, "use_ema", False):
        return False
    import tensorflow as tf

    return not tf.distribute.has_strategy()


def _update_step(self: Any, grads: list[Any], trainable_variables: list[Any], learning_rate: Any) -> None:
    """One step for every weight: the bias corrections once, then one fused kernel per weight."""
    import tensorflow as tf

    step = tf.cast(self.iterations + 1, tf.float32)
    b1, b2 = float(self.beta_1), float(self.beta_2)
    # The step's scalars, once; tf.cast to a weight's own dtype adds no op for float32 weights.
    scalars = {"beta1_power": tf.pow(b1, step), "beta2_power": tf.pow(b2, step),
               "lr": tf.cast(learning_rate, tf.float32), "beta1": tf.constant(b1), "beta2": tf.constant(b2),
               "epsilon": tf.constant(float(self.epsilon))}
    for grad, variable in zip(grads, trainable_variables, strict=True):
        index = self._get_variable_index(variable)
        value = variable.value if hasattr(variable, "value") else variable
        dtype = value.dtype.base_dtype
        tf.raw_ops.ResourceApplyAdam(
            var=value.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
            grad=tf.cast(grad, dtype), use_locking=False, **{k: tf.cast(t, dtype) for k, t in scalars.items()})


def _weight_decay(self: Any, variables: list[Any]) -> None:
    """Decoupled weight decay, ``w -= w · decay · lr``, with the learning rate worked out once."""
    import tensorflow as tf

    if self.weight_decay is None:
        return
    factor = tf.cast(self.learning_rate, tf.float32) * float(self.weight_decay)
    for variable in variables:
        if self._use_weight_decay(variable):
            value = variable.value if hasattr(variable, "value") else variable
            value.assign_sub(value * tf.cast(factor, value.dtype))


def _clip_gradients(self: Any, grads: list[Any]) -> list[Any]:
    """``clipnorm``: each gradient scaled to a norm of at most ``clipnorm``, all norms in one vector.

    Keras clips each gradient with about nine ops of its own; here each gradient costs two (its
    ``L2Loss`` and one multiply) and the scales are worked out together.
    """
    import tensorflow as tf

    if not (self.clipnorm and self.clipnorm > 0):
        return self._plain_clip_gradients(grads)
    dense = [i for i, g in enumerate(grads) if g is not None and not isinstance(g, tf.IndexedSlices)]
    if not dense:
        return self._plain_clip_gradients(grads)
    limit = float(self.clipnorm)
    norms = tf.sqrt(2.0 * tf.stack([tf.cast(tf.raw_ops.L2Loss(t=grads[i]), tf.float32) for i in dense]))
    scales = tf.unstack(limit / tf.maximum(norms, limit))
    out = list(grads)
    for i, scale in zip(dense, scales, strict=True):
        out[i] = grads[i] * tf.cast(scale, grads[i].dtype)
    for i, g in enumerate(grads):  # sparse gradients (none in an rmlp model) are clipped as Keras does
        if g is not None and i not in dense:
            out[i] = self._clip_by_norm(g)
    return out


def fuse_adam(optimizer: Any) -> Any:
    """``optimizer`` with fused Adam/AdamW updates where that is safe (see the module); the same object."""
    if _fusable(optimizer):
        patch_optimizer_step(optimizer, _update_step, _weight_decay, _clip_gradients)
    return optimizer
