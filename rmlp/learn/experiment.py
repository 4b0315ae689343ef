"""The live experiment: one depth trained twice, with and without the bypass, on a toy set, side by side.

Both variants are built from specs (:func:`twin_specs`) through :func:`rmlp.keras.build.build_uncompiled`, so
each is exactly its spec's plan: the same Dense layers and widths, the plain one without the bypass and the
Concatenate. They train in the calling thread in alternating chunks of ``snapshot_every`` epochs (one compiled
TensorFlow function runs a whole chunk), on the same batches, and after every chunk each gives a
:class:`Snapshot`: losses, validation score, the gradient norm of each block's Dense kernels on a fixed
batch (``tf.GradientTape``) and its decision surface over :func:`rmlp.learn.toys.plane`.

``import rmlp.learn.experiment`` does not import TensorFlow.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rmlp.design.plan import make_plan
from rmlp.learn.toys import ToyData, ToyName, grid_points, make_toy, plane
from rmlp.spec.fields import StrictSettings, setting
from rmlp.spec.model import BlockSpec, ModelSpec

__all__ = ["ExperimentConfig", "ExperimentResult", "Snapshot", "depth_sweep", "run_experiment", "twin_specs"]

Variant = Literal["residual", "plain"]
VARIANTS: tuple[Variant, Variant] = ("residual", "plain")
#: Rows of the fixed batch the gradient norms are measured on.
GRAD_BATCH = 128
#: Points per side of the decision surface's grid.
SURFACE_SIZE = 40


class ExperimentConfig(StrictSettings):
    """One teaching experiment: the toy data, the depth and widths of both twins, and how to train them."""

    data: ToyName = setting(
        "spirals", label="Data set",
        help="The toy data both networks learn: two spirals, a disc in a ring, XOR quadrants, two moons, a "
        "checkerboard (all: tell two classes apart in the plane) or a wavy curve (predict a number).",
    )
    noise: float = setting(
        0.1, label="Noise", help="How much the points are jittered: more noise blurs the border between the "
        "classes.", low=0.0, high=0.5, step=0.05,
    )
    samples: int = setting(
        400, label="Points", help="How many points the data set has (a quarter of them are kept for validation).",
        low=40, high=2000, step=20,
    )
    depth: int = setting(
        8, label="Blocks (depth)", help="How many blocks both networks stack. Deep plain networks are where the "
        "bypass matters: try 1, then 8, then 16.", low=1, high=32, step=1,
    )
    width: int = setting(
        16, label="Units per layer", help="Units of every Dense layer in every block (both networks alike).",
        low=2, high=128, step=1,
    )
    layers: int = setting(
        2, label="Dense layers per block", help="Dense layers on each block's main path after its entry layer.",
        low=1, high=4, step=1,
    )
    learning_rate: float = setting(
        0.01, label="Learning rate", help="Step size of the Adam optimizer, the same for both networks.",
        low=1e-4, high=0.3, log=True, format="%.4f",
    )
    epochs: int = setting(
        150, label="Epochs", help="Passes over the training points.", low=1, high=2000, step=1,
    )
    seed: int = setting(
        0, label="Seed", help="Makes the points, the starting weights and the batches; the same seed gives the "
        "same experiment.", low=0, high=1_000_000, step=1,
    )
    batch_size: int = setting(
        64, label="Batch size", help="Points per training step.", low=4, high=512, step=4,
    )
    snapshot_every: int = setting(
        5, label="Redraw every (epochs)", help="Epochs between two redraws of the surfaces and charts.",
        low=1, high=100, step=1,
    )

    def toy(self) -> ToyData:
        """The toy set this experiment trains on."""
        return make_toy(self.data, samples=self.samples, noise=self.noise, seed=self.seed)


def twin_specs(config: ExperimentConfig, data: ToyData) -> tuple[ModelSpec, ModelSpec]:
    """The residual design for ``config`` and its plain twin, identical except ``residual``."""
    block = BlockSpec(layers=config.layers, width=config.width, decrement=0)
    residual = ModelSpec(
        name=f"{data.name}_residual", task=data.task, num_outputs=1, input_shape=list(data.input_shape),
        blocks=[block] * config.depth, residual=True, bypass_dropout=0.0, final_layers=[],
        optimizer={"name": "adam", "learning_rate": config.learning_rate, "clipnorm": None},
    )
    return residual, residual.copy_with(residual=False, name=f"{data.name}_plain")


@dataclass
class Snapshot:
    """One variant after ``epoch`` epochs."""

    variant: Variant
    epoch: int
    loss: float
    val_loss: float
    #: Accuracy (binary) or RMSE (curve) on the validation points.
    val_score: float
    #: Gradient norm of each block's Dense kernels on a fixed batch, first block to last.
    grad_norms: list[float]
    #: Probabilities over the plane's grid (size × size, rows along ys); for the curve, predictions over xs.
    surface: np.ndarray
    #: Training seconds of this variant so far.
    seconds: float

    @property
    def grad_spread(self) -> float:
        """Largest over smallest block gradient norm: how unevenly the blocks learn (1.0 when even or unmeasured).

        A zero norm (a block that gets no gradient at all) counts as 1e-12, so the ratio stays finite.
        """
        if not self.grad_norms:
            return 1.0
        return max(max(self.grad_norms), 1e-12) / max(min(self.grad_norms), 1e-12)


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    snapshots: list[Snapshot] = field(default_factory=list)
    final: dict[str, Snapshot] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False


def block_kernels(spec: ModelSpec) -> list[list[str]]:
    """Names of each block's Dense layers (entry, main path, bypass), from the plan."""
    groups: list[list[str]] = [[] for _ in spec.blocks]
    for node in make_plan(spec):
        if node.op == "dense" and node.block is not None:
            groups[node.block].append(node.name)
    return groups


class _Twin:
    """One variant's model with its compiled chunk trainer, gradient probe and predictor."""

    def __init__(self, variant: Variant, spec: ModelSpec, data: ToyData, config: ExperimentConfig) -> None:
        import keras
        import tensorflow as tf

        from rmlp.keras.build import build_uncompiled
        from rmlp.keras.losses import make_loss
        from rmlp.keras.optimizers import make_optimizer

        keras.utils.set_random_seed(config.seed)
        self.variant, self.data, self.epoch, self.seconds = variant, data, 0, 0.0
        self.model = build_uncompiled(spec)
        self.loss_fn = make_loss(spec)[0]
        self.optimizer = make_optimizer(spec)
        self.optimizer.build(self.model.trainable_variables)
        layers = {layer.name: layer for layer in self.model.layers}
        self.kernels = [[layers[name].kernel for name in group] for group in block_kernels(spec)]
        self.grid = grid_points(*plane(data, SURFACE_SIZE))
        self.shape = (SURFACE_SIZE,) if data.task == "regression" else (SURFACE_SIZE, SURFACE_SIZE)
        d = data.x_train.shape[1]
        self._chunk = tf.function(self._train_chunk, input_signature=[
            tf.TensorSpec([None, None, d], tf.float32), tf.TensorSpec([None, None, 1], tf.float32)])
        self._grads = tf.function(self._grad_norms)
        self._predict = tf.function(lambda x: self.model(x, training=False),
                                    input_signature=[tf.TensorSpec([None, d], tf.float32)])

    def _train_chunk(self, xb: Any, yb: Any) -> Any:
        """All steps of a chunk (xb: steps × batch × features) in one graph; returns the mean batch loss."""
        import tensorflow as tf

        total = tf.constant(0.0)
        for i in tf.range(tf.shape(xb)[0]):
            with tf.GradientTape() as tape:
                loss = self.loss_fn(yb[i], self.model(xb[i], training=True))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
            total += loss
        return total / tf.cast(tf.shape(xb)[0], tf.float32)

    def _grad_norms(self, x: Any, y: Any) -> Any:
        import tensorflow as tf

        flat = [k for group in self.kernels for k in group]
        with tf.GradientTape() as tape:
            loss = self.loss_fn(y, self.model(x, training=True))
        grads = tape.gradient(loss, flat)
        norms, k = [], 0
        for group in self.kernels:
            norms.append(tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads[k:k + len(group)]])))
            k += len(group)
        return tf.stack(norms)

    def train(self, xb: np.ndarray, yb: np.ndarray, epochs: int) -> None:
        start = time.perf_counter()
        self._chunk(xb, yb)
        self.seconds += time.perf_counter() - start
        self.epoch += epochs

    def snapshot(self, record_gradients: bool, surface: bool = True) -> Snapshot:
        start = time.perf_counter()
        d = self.data
        train_loss = float(self.loss_fn(d.y_train, self._predict(d.x_train)))
        pred = np.asarray(self._predict(d.x_val))
        val_loss = float(self.loss_fn(d.y_val, pred))
        if d.task == "regression":
            score = float(np.sqrt(np.mean((pred - d.y_val) ** 2)))
        else:
            score = float(np.mean((pred > 0.5) == (d.y_val > 0.5)))
        norms: list[float] = []
        if record_gradients:
            norms = [float(v) for v in np.asarray(self._grads(d.x_train[:GRAD_BATCH], d.y_train[:GRAD_BATCH]))]
        grid = np.asarray(self._predict(self.grid)).reshape(self.shape) if surface else np.zeros((0,))
        self.seconds += time.perf_counter() - start
        return Snapshot(self.variant, self.epoch, train_loss, val_loss, score, norms, grid, self.seconds)


def _batches(data: ToyData, config: ExperimentConfig, rng: np.random.Generator,
             epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """``epochs`` shuffled passes over the training points as steps × batch arrays (the last batch topped up)."""
    n = len(data.x_train)
    size = min(config.batch_size, n)
    steps = math.ceil(n / size)
    order = np.concatenate([np.concatenate([rng.permutation(n), rng.integers(0, n, steps * size - n)])
                            for _ in range(epochs)])
    x, y = data.x_train[order], data.y_train[order]
    return x.reshape(epochs * steps, size, -1), y.reshape(epochs * steps, size, -1)


def _stopped(stop_event: threading.Event | None) -> bool:
    return stop_event is not None and stop_event.is_set()


def run_experiment(config: ExperimentConfig, on_snapshot: Callable[[Snapshot], None] | None = None,
                   stop_event: threading.Event | None = None, record_gradients: bool = True,
                   data: ToyData | None = None, surfaces: bool = True) -> ExperimentResult:
    """Train both twins chunk by chunk (same seed, data and batches); ``on_snapshot`` after each chunk of each.

    Stops within one chunk once ``stop_event`` is set (``stopped`` then says so). ``surfaces=False`` skips the
    decision surfaces (empty arrays), as a depth sweep needs only the scores.
    """
    from rmlp.runs.quiet import quiet_tensorflow_import

    quiet_tensorflow_import()
    start = time.perf_counter()
    data = data if data is not None else config.toy()
    result = ExperimentResult(config)
    specs = dict(zip(VARIANTS, twin_specs(config, data), strict=True))
    twins = [_Twin(v, specs[v], data, config) for v in VARIANTS]
    rng = np.random.default_rng(config.seed)
    done = 0
    while done < config.epochs and not _stopped(stop_event):
        chunk = min(config.snapshot_every, config.epochs - done)
        xb, yb = _batches(data, config, rng, chunk)
        for twin in twins:
            if _stopped(stop_event):
                break
            twin.train(xb, yb, chunk)
            shot = twin.snapshot(record_gradients, surfaces)
            result.snapshots.append(shot)
            result.final[twin.variant] = shot
            if on_snapshot is not None:
                on_snapshot(shot)
        done += chunk
    result.stopped = _stopped(stop_event) and done < config.epochs
    result.seconds = time.perf_counter() - start
    return result


def depth_sweep(config: ExperimentConfig, depths: Sequence[int] = (1, 2, 4, 8, 12, 16),
                on_progress: Callable[[float, str], None] | None = None,
                stop_event: threading.Event | None = None) -> list[dict[str, Any]]:
    """Both variants at each depth (the rest of ``config`` kept): rows {depth, variant, val_loss, val_score, seconds}.

    ``on_progress(share done, message)`` after each depth; a set ``stop_event`` ends the sweep early (the rows so
    far are returned).
    """
    rows: list[dict[str, Any]] = []
    data = config.toy()
    for k, d in enumerate(depths):
        if _stopped(stop_event):
            break
        if on_progress is not None:
            on_progress(k / len(depths), f"Training depth {d} ({k + 1} of {len(depths)})")
        cfg = config.model_copy(update={"depth": int(d), "snapshot_every": config.epochs})
        result = run_experiment(cfg, stop_event=stop_event, record_gradients=False, data=data, surfaces=False)
        if result.stopped:
            break
        rows += [{"depth": int(d), "variant": v, "val_loss": s.val_loss, "val_score": s.val_score,
                  "seconds": s.seconds} for v, s in result.final.items()]
    if on_progress is not None and not _stopped(stop_event):
        on_progress(1.0, "Done")
    return rows
