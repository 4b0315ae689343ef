"""The Learn page's experiments on this machine: a toy experiment, a depth sweep, and what gradients cost.

Prints (no timing assertions):

- seconds of the default experiment (spirals, both variants, :class:`ExperimentConfig` defaults), the epoch and
  the second at which each variant first reaches the target validation accuracy ("converged"), and their final
  validation accuracies, for each seed;
- the depth sweep's seconds (both variants at each depth) and its rows;
- the cost of recording the per-block gradient norms: the experiment's seconds with recording over without.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rmlp.learn.experiment import ExperimentConfig, ExperimentResult, depth_sweep, run_experiment  # noqa: E402


def _converged(result: ExperimentResult, variant: str, target: float) -> str:
    for shot in result.snapshots:
        if shot.variant == variant and shot.val_score >= target:
            return f"epoch {shot.epoch} at {shot.seconds:.1f} s"
    return "not reached"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the default experiment")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the config's)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8, 12, 16], help="depths of the sweep")
    parser.add_argument("--target", type=float, default=0.9, help="validation accuracy counted as converged")
    args = parser.parse_args()
    base = ExperimentConfig() if args.epochs is None else ExperimentConfig(epochs=args.epochs)
    import tensorflow  # noqa: F401 - imported before any timing, so no figure includes the import

    print(f"config: {base.model_dump()}")
    print("| seed | seconds (both) | residual: converged | plain: converged | val acc residual | val acc plain |")
    print("|---|---|---|---|---|---|")
    timed = {}
    for seed in range(args.seeds):
        cfg = base.model_copy(update={"seed": seed})
        start = time.perf_counter()
        result = run_experiment(cfg)
        timed[seed] = time.perf_counter() - start
        f = result.final
        print(f"| {seed} | {timed[seed]:.1f} | {_converged(result, 'residual', args.target)} | "
              f"{_converged(result, 'plain', args.target)} | {f['residual'].val_score:.3f} | "
              f"{f['plain'].val_score:.3f} |", flush=True)
    start = time.perf_counter()
    bare = run_experiment(base, record_gradients=False)
    without = time.perf_counter() - start
    print(f"gradient recording: {timed[0]:.1f} s with, {without:.1f} s without (seed 0): "
          f"ratio {timed[0] / without:.2f}; training seconds {sum(s.seconds for s in bare.final.values()):.1f} "
          "without recording", flush=True)
    start = time.perf_counter()
    rows = depth_sweep(base, depths=args.depths)
    print(f"depth sweep {args.depths}: {time.perf_counter() - start:.1f} s")
    for row in rows:
        print(f"  depth {row['depth']:>2} {row['variant']:<8} val acc {row['val_score']:.3f}  "
              f"val loss {row['val_loss']:.3f}  {row['seconds']:.1f} s")


if __name__ == "__main__":
    main()
