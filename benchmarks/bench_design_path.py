"""Design path (validate + summarize + to_dot) against a Keras build, for 2, 14 and 100 blocks.

Prints the times measured in this one run and their ratio. Goal: at 100 blocks the design path is
at least 100 times faster than building the Keras model.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import rmlp  # noqa: E402
from rmlp.spec.model import BlockSpec, ModelSpec  # noqa: E402


def spec_with(n_blocks: int) -> ModelSpec:
    return ModelSpec(input_shape=[64], num_outputs=5, inter_block_layers=[32],
                     blocks=[BlockSpec(layers=4, width=96, decrement=12, bypass=[16])] * n_blocks)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    import keras

    rmlp.build_model(spec_with(1))  # warm up TensorFlow once
    print(f"{'blocks':>6} {'design path (ms)':>17} {'keras build (ms)':>17} {'ratio':>8}")
    for n in (2, 14, 100):
        spec = spec_with(n)

        def design(spec=spec):
            rmlp.validate(spec)
            rmlp.summarize(spec)
            rmlp.to_dot(spec)

        def build(spec=spec):
            keras.backend.clear_session()
            rmlp.build_model(spec)

        design_s = best_of(design, 5)
        build_s = best_of(build, 2 if n < 100 else 1)
        print(f"{n:>6} {design_s * 1e3:>17.2f} {build_s * 1e3:>17.1f} {build_s / design_s:>7.0f}x")


if __name__ == "__main__":
    main()
