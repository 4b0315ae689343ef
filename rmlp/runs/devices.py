"""Which devices train: the GPUs TensorFlow sees, and mirroring over all of them when asked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["gpu_count", "strategy_scope"]


def gpu_count() -> int:
    """Number of GPUs TensorFlow sees."""
    import tensorflow as tf

    return len(tf.config.list_logical_devices("GPU"))


@contextlib.contextmanager
def strategy_scope(multi_gpu: bool) -> Iterator[Any]:
    """MirroredStrategy over all GPUs when asked for and more than one is visible; else nothing."""
    if multi_gpu:
        import tensorflow as tf

        if gpu_count() > 1:
            strategy = tf.distribute.MirroredStrategy()
            with strategy.scope():
                yield strategy
            return
    yield None


