"""The live experiment: one depth trained twice, with and without the bypass, on a toy set, side by side.

Both twins are the plans of two specs (:func:`twin_specs`) that differ only in ``residual``: the same Dense
layers, widths and batch normalisation, the plain one without the bypass and the Concatenate. They train
together in the calling thread (:class:`rmlp.learn.twins.Pair`), on the whole training set at every step, with
the same Adam settings and learning-rate schedule: a linear warm-up over the first tenth of the epochs, then a
cosine decay to zero (:func:`learning_rate_at`). Every ``snapshot_every`` epochs each gives a :class:`Snapshot`:
losses, validation score, the gradient norm of each block's Dense kernels and its decision surface over
:func:`rmlp.learn.toys.plane`.

The residual twin starts with the scale of each block's last main-path normalisation at zero (a "quiet start",
as residual networks are commonly initialised): the main paths add nothing at first and the signal takes the
short way through the entry layers and bypasses, while the main paths grow in as they learn. The plain twin
cannot start that way (its only way through is its main paths), so it starts as Keras would, every scale at 1.

``import rmlp.learn.experiment`` imports neither TensorFlow nor Keras, and running an experiment does not either.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from rmlp.design.plan import make_plan
from rmlp.learn.toys import ToyData, ToyName, grid_points, make_toy, plane
from rmlp.learn.twins import Pair, init_weights, losses_of, output
from rmlp.spec.fields import StrictSettings, setting
from rmlp.spec.model import BlockSpec, ModelSpec

__all__ = ["SWEEP_DEPTHS", "ExperimentConfig", "ExperimentResult", "Snapshot", "depth_sweep", "learning_rate_at",
           "run_experiment", "twin_specs"]

Variant = Literal["residual", "plain"]
VARIANTS: tuple[Variant, Variant] = ("residual", "plain")
#: Points per side of the decision surface's grid.
SURFACE_SIZE = 40
#: Share of the epochs over which the learning rate warms up.
WARMUP_SHARE = 0.1
#: The depths of the sweep (blocks).
SWEEP_DEPTHS: tuple[int, ...] = (1, 2, 4, 8, 12, 16)


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
        16, label="Blocks (depth)", help="How many blocks both networks stack. Deep "
        "plain networks are where the bypass matters: try 1, then 4, then 16.", low=1, high=32, step=1,
    )
    width: int = setting(
        16, label="Units per layer", help="Units of every Dense layer in every block (both networks alike).",
        low=2, high=128, step=1,
    )
    layers: int = setting(
        1, label="Dense layers per block", help="Dense layers on each block's main path after its entry layer.",
        low=1, high=4, step=1,
    )
    learning_rate: float = setting(
        0.003, label="Learning rate", help="Largest step size of the Adam optimizer, the same for both networks: "
        "it rises from 0 over the first tenth of the epochs, then eases off to 0 by the last one.",
        low=1e-4, high=0.3, log=True, format="%.4f",
    )
    epochs: int = setting(
        300, label="Epochs", help="Passes over the training points; each is one step on all of them at once.",
        low=1, high=2000, step=1,
    )
    seed: int = setting(
        0, label="Seed", help="Makes the points and the starting weights; the same seed gives the same "
        "experiment.", low=0, high=1_000_000, step=1,
    )
    snapshot_every: int = setting(
        10, label="Redraw every (epochs)", help="Epochs between two redraws of the surfaces and charts.",
        low=1, high=100, step=1,
    )

    def toy(self) -> ToyData:
        """The toy set this experiment trains on."""
        return make_toy(self.data, samples=self.samples, noise=self.noise, seed=self.seed)


def twin_specs(config: ExperimentConfig, data: ToyData) -> tuple[ModelSpec, ModelSpec]:
    """The residual design for ``config`` and its plain twin, identical except ``residual``.

    Batch normalisation on the main path, as in the original design; the bypass's dropout has rate 0, so the
    bypass carries the entry output unchanged.
    """
    block = BlockSpec(layers=config.layers, width=config.width, decrement=0)
    residual = ModelSpec(
        name=f"{data.name}_residual", task=data.task, num_outputs=1, input_shape=list(data.input_shape),
        blocks=[block] * config.depth, residual=True, normalization="batchnorm", bypass_dropout=0.0,
        final_layers=[], optimizer={"name": "adam", "learning_rate": config.learning_rate, "clipnorm": None},
    )
    return residual, residual.copy_with(residual=False, name=f"{data.name}_plain")


def learning_rate_at(config: ExperimentConfig, step: int) -> float:
    """The learning rate of step ``step`` (0-based): linear warm-up, then cosine decay to 0 at the last epoch."""
    warm = max(1, round(config.epochs * WARMUP_SHARE))
    if step < warm:
        return config.learning_rate * (step + 1) / warm
    span = max(1, config.epochs - warm)
    return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * (step - warm) / span))


@dataclass
class Snapshot:
    """One variant after ``epoch`` epochs."""

    variant: Variant
    epoch: int
    loss: float
    val_loss: float
    #: Accuracy (binary) or RMSE (curve) on the validation points.
    val_score: float
    #: Gradient norm of each block's Dense kernels on the training set, first block to last.
    grad_norms: list[float]
    #: Probabilities over the plane's grid (size × size, rows along ys); for the curve, predictions over xs.
    surface: np.ndarray
    #: Seconds since the twins began training (they train together).
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
    #: Both twins' trained weights (:class:`rmlp.learn.twins.TwinWeights`), residual then plain.
    weights: tuple[Any, ...] = ()


def block_kernels(spec: ModelSpec) -> list[list[str]]:
    """Names of each block's Dense layers (entry, main path, bypass), from the plan."""
    groups: list[list[str]] = [[] for _ in spec.blocks]
    for node in make_plan(spec):
        if node.op == "dense" and node.block is not None:
            groups[node.block].append(node.name)
    return groups


def make_pair(config: ExperimentConfig, data: ToyData) -> Any:
    """Both twins of ``config``, at their starting weights."""
    inputs = int(data.x_train.shape[1])
    return Pair(*(init_weights(residual, inputs, config.depth, config.width, config.layers, config.seed,
                               quiet_start=True) for residual in (True, False)))


def _scores(out: np.ndarray, y: np.ndarray, regression: bool) -> np.ndarray:
    """Each twin's RMSE (regression) or accuracy from outputs before the activation."""
    if regression:
        return np.sqrt(np.mean((out - y) ** 2, axis=(1, 2)))
    return np.mean((out > 0) == (y > 0.5), axis=(1, 2))


def _snapshots(pair: Any, data: ToyData, epoch: int, seconds: float, grid: np.ndarray | None,
               record_gradients: bool) -> list[Snapshot]:
    regression = data.task == "regression"
    n_train, n_val = len(data.x_train), len(data.x_val)
    everything = pair.evaluate(data.x_train, data.x_val if grid is None else np.concatenate([data.x_val, grid]))
    losses, out = losses_of(everything[:, :n_train], data.y_train, regression), everything[:, n_train:]
    norms = np.zeros((2, 0))
    if record_gradients:
        pair.loss_and_gradient(data.x_train, data.y_train, regression)
        norms = pair.block_gradient_norms()
    val_losses = losses_of(out[:, :n_val], data.y_val, regression)
    scores = _scores(out[:, :n_val], data.y_val, regression)
    shots = []
    for k, variant in enumerate(VARIANTS):
        surface = np.zeros((0,))
        if grid is not None:
            values = output(out[k, n_val:, 0], regression)
            surface = values if regression else values.reshape(SURFACE_SIZE, SURFACE_SIZE)
        shots.append(Snapshot(variant, epoch, float(losses[k]), float(val_losses[k]), float(scores[k]),
                              [float(g) for g in norms[k]], surface, seconds))
    return shots


def _stopped(stop_event: threading.Event | None) -> bool:
    return stop_event is not None and stop_event.is_set()


def run_experiment(config: ExperimentConfig, on_snapshot: Callable[[Snapshot], None] | None = None,
                   stop_event: threading.Event | None = None, record_gradients: bool = True,
                   data: ToyData | None = None, surfaces: bool = True) -> ExperimentResult:
    """Train both twins together (same data, seed and schedule); after every ``snapshot_every`` epochs a snapshot
    of each (residual first) goes to ``on_snapshot``.

    Stops within one step once ``stop_event`` is set (``stopped`` then says so; the snapshots so far stay; a
    chunk cut short gives none). ``surfaces=False``
    skips the decision surfaces (empty arrays), as a depth sweep needs only the scores. The BLAS library runs
    single-threaded meanwhile: its threads cost more than they save on matrices this small (about 2.5 times
    the CPU time, measured).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(config, on_snapshot, stop_event, record_gradients, data, surfaces)


def _run(config: ExperimentConfig, on_snapshot: Callable[[Snapshot], None] | None,
         stop_event: threading.Event | None, record_gradients: bool, data: ToyData | None,
         surfaces: bool) -> ExperimentResult:
    start = time.perf_counter()
    data = data if data is not None else config.toy()
    regression = data.task == "regression"
    result = ExperimentResult(config)
    pair = make_pair(config, data)
    grid = grid_points(*plane(data, SURFACE_SIZE)) if surfaces else None
    done = 0
    while done < config.epochs and not _stopped(stop_event):
        chunk = min(config.snapshot_every, config.epochs - done)
        for step in range(done, done + chunk):
            if _stopped(stop_event):  # within one step, even in a sweep's single long chunk
                break
            pair.step(data.x_train, data.y_train, regression, learning_rate_at(config, step))
            time.sleep(0)  # hand the interpreter to waiting threads (a web server's) after every step
        else:
            done += chunk
        if _stopped(stop_event):
            break
        for shot in _snapshots(pair, data, done, time.perf_counter() - start, grid, record_gradients):
            result.snapshots.append(shot)
            result.final[shot.variant] = shot
            if on_snapshot is not None:
                on_snapshot(shot)
    result.stopped = _stopped(stop_event) and done < config.epochs
    result.seconds = time.perf_counter() - start
    result.weights = pair.weights()
    return result


def depth_sweep(config: ExperimentConfig, depths: Sequence[int] = SWEEP_DEPTHS,
                on_progress: Callable[[float, str], None] | None = None,
                stop_event: threading.Event | None = None) -> list[dict[str, Any]]:
    """Both variants at each depth (the rest of ``config`` kept): rows {depth, variant, val_loss, val_score, seconds}.

    ``on_progress(share done, message)`` after each depth, the share counted in blocks trained; a set
    ``stop_event`` ends the sweep early (the rows so far are returned).
    """
    rows: list[dict[str, Any]] = []
    data = config.toy()
    total, done = sum(int(d) for d in depths), 0
    for k, d in enumerate(depths):
        if _stopped(stop_event):
            break
        if on_progress is not None:
            on_progress(done / total, f"Training depth {d} ({k + 1} of {len(depths)})")
        cfg = config.model_copy(update={"depth": int(d), "snapshot_every": config.epochs})
        result = run_experiment(cfg, stop_event=stop_event, record_gradients=False, data=data, surfaces=False)
        if result.stopped:
            break
        done += int(d)
        rows += [{"depth": int(d), "variant": v, "val_loss": s.val_loss, "val_score": s.val_score,
                  "seconds": s.seconds} for v, s in result.final.items()]
    if on_progress is not None and not _stopped(stop_event):
        on_progress(1.0, "Done")
    return rows
