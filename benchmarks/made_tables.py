"""Write two made tables whose targets follow sharp thresholds of single numeric columns, as CSV files.

    python benchmarks/made_tables.py OUT_DIR    # prints FILE:TARGET arguments for bench_quality.py

Trees find such thresholds at once; an MLP fed the scaled numbers has to bend a smooth function around
each one, which is what the numerical feature embeddings are for. Both tables have 3,000 rows of six
numeric columns with different spreads (log-normal, uniform, whole numbers, normal, exponential):

* ``thresholds``: a yes/no class whose log-odds add up steps of five columns (one of them an
  interaction of two thresholds) and a small linear term of the sixth;
* ``steps``: a regression target made of steps of three columns, a linear term and normal noise.

Seeded, so every run writes the same rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROWS, SEED = 3000, 42


def features(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Six numeric columns of different spreads."""
    return pd.DataFrame({"a": rng.lognormal(0, 1, n), "b": rng.uniform(0, 10, n),
                         "c": rng.integers(0, 20, n).astype(float), "d": rng.normal(50, 15, n),
                         "e": rng.exponential(3, n), "f": rng.normal(0, 1, n)})


def write(out: Path) -> list[str]:
    """Write both tables into ``out``; their FILE:TARGET arguments."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    x = features(rng, ROWS)
    logit = (2.5 * ((x.a > 1.5) & (x.b < 6)) - 2.0 * (x.c > 14) + 1.5 * (x.d > 60) - 1.0 * (x.e > 4)
             + 0.3 * x.f)
    chance = 1 / (1 + np.exp(-(logit * 1.6 - 0.5)))
    classes = x.assign(label=np.where(rng.uniform(size=ROWS) < chance, "yes", "no"))
    classes.to_csv(out / "thresholds.csv", index=False)
    y = 3 * (x.a > 2) + 2 * np.sign(x.b - 5) + 1.5 * (x.c % 5 == 0) + 0.5 * x.f + rng.normal(0, 0.5, ROWS)
    x.assign(y=y).to_csv(out / "steps.csv", index=False)
    return [f"{out / 'thresholds.csv'}:label", f"{out / 'steps.csv'}:y"]


if __name__ == "__main__":
    print(" ".join(write(Path(sys.argv[1] if len(sys.argv) > 1 else "made_tables"))))
