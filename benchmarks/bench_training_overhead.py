"""Overhead of rmlp.runs.train.train() (events, stop checks, run folder, checkpoints, test metrics) over a bare fit.

Same spec (~90k parameters), same synthetic data (5,000 training rows, 32 features, 3 classes),
same seed and epochs. Each variant builds its model after ``clear_session`` so build time is in
every figure. Prints the median of a few repeats and the ratios measured in this one run; no
timing assertions. Goal: train() within 3% of the bare fit.

A run also pays fixed costs once (test metrics, the final save, the run folder). The second table
separates them from what every epoch pays: each variant runs with a short and a long epoch budget,
and the difference divided by the extra epochs is the time of one more epoch.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from rmlp.data import SplitData  # noqa: E402
from rmlp.spec.model import BlockSpec, ModelSpec  # noqa: E402

EPOCHS = 5
BATCH = 32
ROWS = 5000
FEATURES = 32
CLASSES = 3
REPEATS = 5


@dataclass
class Arrays(SplitData):
    """A minimal data object of the shape rmlp.runs.train expects."""

    input_shape: tuple[int, ...] = (FEATURES,)


def make_data(seed: int = 0) -> Arrays:
    rng = np.random.default_rng(seed)
    n = ROWS + 2 * ROWS // 5
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    w = rng.normal(size=(FEATURES, CLASSES))
    y = np.eye(CLASSES, dtype=np.float32)[np.argmax(x @ w + rng.normal(scale=0.5, size=(n, CLASSES)), axis=1)]
    a, b = ROWS, ROWS + ROWS // 5
    return Arrays(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], "multiclass", ["a", "b", "c"])


def spec() -> ModelSpec:
    return ModelSpec(input_shape=[FEATURES], num_outputs=CLASSES,
                     blocks=[BlockSpec(layers=3, width=160, decrement=32)])


def bare_fit(data: Arrays, epochs: int = EPOCHS) -> None:
    """clear_session, seed, build, fit with validation: what train() adds its extras to."""
    import keras

    import rmlp

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = rmlp.build_model(spec())
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=epochs,
              batch_size=BATCH, verbose=0, shuffle=True)


def fit_with_events(data: Arrays, epochs: int = EPOCHS) -> None:
    """The bare fit plus only the EventCallback (listener and stop flag)."""
    import keras

    import rmlp
    from rmlp.runs.callbacks import EventCallback

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = rmlp.build_model(spec())
    events = EventCallback(lambda e: None, threading.Event())
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=epochs,
              batch_size=BATCH, verbose=0, shuffle=True, callbacks=[events])


def full_train(data: Arrays, runs_dir: str, epochs: int = EPOCHS) -> None:
    """rmlp.runs.train.train(): events, run folder, checkpoints, final save, test metrics."""
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train

    config = TrainConfig(epochs=epochs, batch_size=BATCH, runs_dir=runs_dir, early_stopping=True,
                         patience=epochs)
    train(spec(), data, config, listener=lambda e: None, stop_event=threading.Event())


def timed(fn, *args) -> tuple[float, float]:  # noqa: ANN001 - tiny helper
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def checkpoint_seconds(runs_dir: str) -> list[float]:
    """Seconds each run spent writing checkpoints (from its state.json)."""
    import json
    from pathlib import Path

    return [json.loads(p.read_text())["checkpoint_seconds"] for p in sorted(Path(runs_dir).glob("*/state.json"))]


def main() -> None:
    data = make_data()
    variants = {"bare fit": bare_fit, "fit + EventCallback": fit_with_events, "train()": full_train}
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as runs_dir:
        bare_fit(data)  # warm up TensorFlow and the tracing caches
        full_train(data, runs_dir)
        for _ in range(REPEATS):
            for name, fn in variants.items():
                args = (data, runs_dir) if fn is full_train else (data,)
                w, c = timed(fn, *args)
                wall[name].append(w)
                cpu[name].append(c)
        ckpt = checkpoint_seconds(runs_dir)[1:]
    print(f"{EPOCHS} epochs, {ROWS} rows, batch {BATCH}, ~90k parameters, {REPEATS} repeats "
          f"({os.cpu_count()} CPUs; other load on the machine shows up as spread between repeats)")
    print(f"{'variant':<22} {'wall min':>9} {'wall med':>9} {'vs bare':>8} {'CPU min':>9} {'vs bare':>8}  wall (s)")
    for name in variants:
        wmin, wmed, cmin = min(wall[name]), statistics.median(wall[name]), min(cpu[name])
        print(f"{name:<22} {wmin:>9.3f} {wmed:>9.3f} {100 * (wmin / min(wall['bare fit']) - 1):>+7.1f}% "
              f"{cmin:>9.3f} {100 * (cmin / min(cpu['bare fit']) - 1):>+7.1f}%  "
              + ", ".join(f"{v:.2f}" for v in wall[name]))
    print(f"checkpoint writing inside train(): {', '.join(f'{v:.3f}' for v in ckpt)} s per run "
          f"({100 * statistics.median(ckpt) / min(wall['bare fit']):.1f}% of the fastest bare fit)")
    print("goal: train() within +3% of the bare fit")
    per_epoch(data)


def per_epoch(data: Arrays, short: int = 2, long: int = 8, repeats: int = 3) -> None:
    """Marginal time of one epoch in each variant: (time at `long` - time at `short`) / extra epochs."""
    variants = {"bare fit": bare_fit, "fit + EventCallback": fit_with_events, "train()": full_train}
    marginal: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        for name, fn in variants.items():
            times = {}
            for epochs in (short, long):
                args = (data, runs_dir, epochs) if fn is full_train else (data, epochs)
                times[epochs] = min(timed(fn, *args)[0] for _ in range(repeats))
            marginal[name] = (times[long] - times[short]) / (long - short)
    print(f"\none more epoch (best of {repeats}, {long} vs {short} epochs):")
    for name, seconds in marginal.items():
        print(f"{name:<22} {seconds:>7.3f} s  {100 * (seconds / marginal['bare fit'] - 1):>+6.1f}%")


if __name__ == "__main__":
    main()
