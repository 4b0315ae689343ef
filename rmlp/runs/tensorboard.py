"""TensorBoard event files: Keras's own ``TensorBoard`` callback, scalars per epoch, when TensorBoard is installed.

A run writes them into its folder (``<run>/tensorboard/train`` and ``.../validation``), so
``tensorboard --logdir runs/`` lists every run by its folder name. Keras writes the scalars with
``tf.summary``, whose implementation is the ``tensorboard`` package: without it no files are
written (``pip install tensorboard`` adds it, and the viewer with it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["INSTALL_HINT", "tensorboard_available", "tensorboard_callback"]

INSTALL_HINT = "pip install tensorboard (the same release line as TensorFlow)"


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package (needed to write and to view event files) is installed."""
    return importlib.util.find_spec("tensorboard") is not None


def tensorboard_callback(log_dir: str | Path) -> Any | None:
    """``keras.callbacks.TensorBoard`` writing scalars per epoch into ``log_dir`` (no histograms, no graph,
    no profiling); None when TensorBoard is not installed."""
    if not tensorboard_available():
        return None
    import keras

    return keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0, write_graph=False,
                                       update_freq="epoch", profile_batch=0)
