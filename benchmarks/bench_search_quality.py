"""Quality of searched residual MLPs on the sample tables, against simple and strong baselines.

For each table (wine, breast cancer, diabetes, digits) and each seeded split (train / validation /
test from :func:`rmlp.data.load_table`):

* **default**: the default design (``ModelSpec()``) fitted to the data;
* **searched**: :func:`rmlp.search.run_search` over the default space for a fixed time budget
  (split evenly over the seeds), then the best spec retrained;
* **plain MLP**: :mod:`rmlp.design.baseline`'s equal-width MLP of about the searched design's size;
* **HistGradientBoosting** and a **linear** model (LogisticRegression / Ridge) from scikit-learn.

Keras models train on the training split with early stopping on the validation split (best
weights kept); scikit-learn models train on training + validation. All are scored on the test
split: accuracy for classification, RMSE (target units) for regression. Prints a markdown table
(mean ± std over the seeds) and whether the goals hold; no assertions.

    python benchmarks/bench_search_quality.py                       # ~5 CPU-minutes of search per set
    python benchmarks/bench_search_quality.py --budget 60 --seeds 2 # a quick look
    RMLP_BENCH_SEARCH_BUDGET_S=60 python benchmarks/bench_search_quality.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from rmlp import ModelSpec  # noqa: E402
from rmlp.data import load_table, spec_for_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETS = {"wine": "target", "breast_cancer": "diagnosis", "diabetes": "progression", "digits": "digit"}
MODELS = ("default", "searched", "plain MLP", "HistGradientBoosting", "linear")
FINAL_EPOCHS = int(os.environ.get("RMLP_BENCH_FINAL_EPOCHS", 80))
PATIENCE = 10
TRIAL_EPOCHS = 25


@dataclass
class Scores:
    """Test scores per model over the seeds, for one table."""

    task: str
    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MODELS})
    trials: list[int] = field(default_factory=list)
    params: dict[str, list[int]] = field(default_factory=lambda: {"searched": [], "plain MLP": []})


def score(data: Any, pred: np.ndarray) -> float:
    """Accuracy (classification) or RMSE in target units (regression) on the test split."""
    truth = data.inverse_target(data.y_test)
    guess = data.inverse_target(pred)
    if data.task == "regression":
        return float(np.sqrt(np.mean((np.asarray(truth, float) - np.asarray(guess, float)) ** 2)))
    return float(np.mean(np.asarray(truth) == np.asarray(guess)))


def fit_keras(model: Any, data: Any, batch_size: int, seed: int) -> np.ndarray:
    """Train with early stopping on the validation loss; test predictions."""
    import keras

    keras.utils.set_random_seed(seed)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=FINAL_EPOCHS,
              batch_size=batch_size, callbacks=[stop], verbose=0)
    return model.predict(data.x_test, verbose=0)


def keras_score(spec: ModelSpec, data: Any, batch_size: int, seed: int, plain: bool = False) -> tuple[float, int]:
    import keras

    from rmlp.keras.baseline import build_baseline
    from rmlp.keras.build import build_model

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_baseline(spec) if plain else build_model(spec)
    return score(data, fit_keras(model, data, batch_size, seed)), int(model.count_params())


def sklearn_scores(data: Any, seed: int) -> tuple[float, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    if data.task == "regression":
        target = y[:, 0]
        models = [HistGradientBoostingRegressor(random_state=seed), Ridge()]
        preds = [m.fit(x, target).predict(data.x_test).reshape(-1, 1) for m in models]
    else:
        codes = np.argmax(y, axis=1) if data.task == "multiclass" else y[:, 0].astype(int)
        models = [HistGradientBoostingClassifier(random_state=seed), LogisticRegression(max_iter=5000)]
        preds = [m.fit(x, codes).predict_proba(data.x_test) for m in models]
        if data.task == "binary":
            preds = [p[:, 1:] for p in preds]
    return score(data, preds[0]), score(data, preds[1])


def run_set(name: str, target: str, seeds: list[int], budget_s: float, workdir: Path) -> Scores:
    from rmlp.search import run_search
    from rmlp.search.report import best_trial, trial_spec
    from rmlp.search.storage import load_study

    scores: Scores | None = None
    for seed in seeds:
        data = load_table(ROOT / "sample_data" / f"{name}.csv", target, seed=seed)
        scores = scores or Scores(data.task)
        default, _ = spec_for_data(ModelSpec(), data)
        scores.values["default"].append(keras_score(default, data, 32, seed)[0])
        storage = f"sqlite:///{workdir / f'{name}-{seed}.db'}"
        result = run_search(ModelSpec(), data, n_trials=100_000, timeout=budget_s / len(seeds), storage=storage,
                            study_name=f"{name}-{seed}", seed=seed, epochs=TRIAL_EPOCHS, patience=8)
        scores.trials.append(result.progress.complete + result.progress.pruned)
        best, batch = trial_spec(best_trial(load_study(storage, f"{name}-{seed}")))
        value, params = keras_score(best, data, batch, seed)
        scores.values["searched"].append(value)
        scores.params["searched"].append(params)
        value, params = keras_score(best, data, batch, seed, plain=True)
        scores.values["plain MLP"].append(value)
        scores.params["plain MLP"].append(params)
        hgb, linear = sklearn_scores(data, seed)
        scores.values["HistGradientBoosting"].append(hgb)
        scores.values["linear"].append(linear)
        print(f"  {name} seed {seed}: " + ", ".join(f"{m} {v[-1]:.4g}" for m, v in scores.values.items()),
              flush=True)
    assert scores is not None
    return scores


def _cell(values: list[float]) -> str:
    if len(values) > 1:
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
    return f"{values[0]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=float(os.environ.get("RMLP_BENCH_SEARCH_BUDGET_S", 300)),
                        help="Seconds of search per table, split over the seeds (default 300).")
    parser.add_argument("--seeds", type=int, default=3, help="Seeded splits per table (default 3).")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    results: dict[str, Scores] = {}
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="rmlp-bench-search-") as tmp:
        for name in args.sets:
            print(f"{name}: searching {args.budget:.0f} s over {len(seeds)} split(s)...", flush=True)
            results[name] = run_set(name, SETS[name], seeds, args.budget, Path(tmp))
    print(f"\nSearch budget {args.budget:.0f} s per table, {len(seeds)} seeded split(s); "
          f"total wall time {(time.time() - start) / 60:.1f} min.\n")
    print("| data set | metric | " + " | ".join(MODELS) + " | trials | params searched / plain |")
    print("|---|---|" + "---|" * len(MODELS) + "---|---|")
    beats_plain = matches_best = 0
    for name, s in results.items():
        metric = "RMSE ↓" if s.task == "regression" else "accuracy ↑"
        cells = " | ".join(_cell(s.values[m]) for m in MODELS)
        sizes = (f"{statistics.mean(s.params['searched']):,.0f} / {statistics.mean(s.params['plain MLP']):,.0f}")
        print(f"| {name} | {metric} | {cells} | {statistics.mean(s.trials):.0f} | {sizes} |")
        mean = {m: statistics.mean(v) for m, v in s.values.items()}
        better = (lambda a, b: a < b) if s.task == "regression" else (lambda a, b: a > b)
        at_least = (lambda a, b: a <= b) if s.task == "regression" else (lambda a, b: a >= b)
        beats_plain += better(mean["searched"], mean["plain MLP"])
        strongest = min if s.task == "regression" else max
        matches_best += at_least(mean["searched"], strongest(mean["HistGradientBoosting"], mean["linear"]))
    n = len(results)
    print(f"\nSearched beats the plain MLP on {beats_plain}/{n} sets (goal: all); matches or beats the best of "
          f"gradient boosting and the linear model on {matches_best}/{n} (goal: at least half).")


if __name__ == "__main__":
    main()
