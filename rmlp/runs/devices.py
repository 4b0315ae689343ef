"""Which devices train: the GPUs TensorFlow sees, and mirroring over all of them when asked."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["gpu_count", "gpu_present", "strategy_scope"]


def gpu_count() -> int:
    """Number of GPUs TensorFlow sees."""
    import tensorflow as tf

    return len(tf.config.list_logical_devices("GPU"))


def gpu_present() -> bool:
    """Whether a GPU may train here, without importing TensorFlow when it is not loaded yet.

    No NVIDIA device file, or ``CUDA_VISIBLE_DEVICES`` set empty or to -1: no. Otherwise TensorFlow
    is asked when it is loaded, and a device file counts as a GPU when it is not.
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if "tensorflow" in sys.modules:
        return gpu_count() > 0
    return Path("/dev/nvidia0").exists() or Path("/dev/dxg").exists()


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


