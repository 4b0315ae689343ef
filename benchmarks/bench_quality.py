"""How good is the model a newcomer gets? The default design and training against simple and strong baselines.

For each table and each seeded split (train / validation / test, from :func:`rmlp.data.load_table`):

* **default**: ``spec_for_data(ModelSpec(), data)`` trained by :func:`rmlp.train` with the default
  :class:`~rmlp.runs.config.TrainConfig`: exactly what ``rmlp train`` without options and the app's
  Train button do (below 10,000 training rows a packed ensemble of five networks on folds, with the
  piecewise-linear embedding on mostly numeric tables of 1,000 rows or more);
* **previous default**: the default before packed ensembles: the same design with its members as
  separate towers, no embedding, no feature scales, batches of a sixteenth of the rows for about 2,000
  steps, a patience of 30 epochs and one training step per graph call;
* **single network**: the same design with one member (``ensemble=1``);
* **ensemble K**: the same design with ``--ensemble K`` members (off by default: the default is one);
* **searched**: :func:`rmlp.search.run_search` for ``--search-budget`` seconds (60 by default), the best
  design retrained with the default training settings;
* **plain MLP**: the equal-width MLP of about the default design's size (all members together),
  trained with the same settings on the training rows;
* **constant**: the majority class or the mean of the training target (the floor a model must clear);
* **HistGradientBoosting** and a **linear** model (LogisticRegression / Ridge) from scikit-learn,
  trained on training + validation; **CatBoost** and **LightGBM** with their defaults when installed
  (``pip install '.[bench]'``; the column is left out otherwise).

Wall time is also given per column as a ratio to the previous default's.

Scores are on the test split: accuracy for classification, RMSE in target units for regression.
Prints a markdown table (mean ± std over the seeds) and the wall time of each column; no assertions.

    python benchmarks/bench_quality.py                          # the sample tables, 3 seeds
    python benchmarks/bench_quality.py my.csv:price other.csv   # your tables (TARGET after ':', else guessed)
    python benchmarks/bench_quality.py --seeds 1 --search-budget 300
    python benchmarks/bench_quality.py --seeds 1 --first-seed 1 --search-budget 300  # the next split only
    python benchmarks/bench_quality.py --search-budget 0 --ensemble 10  # no search; a 10-member ensemble too
    python benchmarks/bench_quality.py --fast --seeds 1   # default, previous default and the other models only
"""

from __future__ import annotations

import argparse
import dataclasses
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
from rmlp.data import load_table, read_table, spec_for_data, suggest_target  # noqa: E402
from rmlp.data.samples import SAMPLES, sample_dir  # noqa: E402
from rmlp.design.sizing import SINGLE  # noqa: E402

COLUMNS = ("default", "previous default", "single network", "ensemble", "searched", "plain MLP", "constant",
           "HistGradientBoosting", "CatBoost", "LightGBM", "linear")
#: The column wall times are compared with.
REFERENCE = "previous default"


@dataclass
class Table:
    """One table's scores and seconds per column over the seeds."""

    name: str
    task: str = ""
    scores: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, column: str, value: float, seconds: float) -> None:
        self.scores.setdefault(column, []).append(value)
        self.seconds.setdefault(column, []).append(seconds)


def score(data: Any, pred: np.ndarray) -> float:
    """Accuracy (classification) or RMSE in target units (regression) on the test split."""
    truth, guess = data.inverse_target(data.y_test), data.inverse_target(pred)
    if data.task == "regression":
        return float(np.sqrt(np.mean((np.asarray(truth, float) - np.asarray(guess, float)) ** 2)))
    return float(np.mean(np.asarray(truth) == np.asarray(guess)))


def _metric(metrics: dict[str, Any], task: str) -> float:
    return float(metrics["rmse"] if task == "regression" else metrics["accuracy"])


@dataclass
class Trained:
    """Test metrics of one training run, and its seconds (the plain-MLP baseline's apart)."""

    metrics: dict
    seconds: float
    baseline: dict | None = None
    baseline_seconds: float = 0.0


def train_default(spec: ModelSpec, data: Any, seed: int, runs: Path, **changes: Any) -> Trained:
    """rmlp.train with the default settings (and ``changes``); with ``baseline=True`` the plain MLP too."""
    from rmlp import TrainConfig, train

    marks: list[float] = []

    def listen(event: Any) -> None:  # the first baseline epoch ends the residual model's time
        if event.kind == "baseline_epoch" and not marks:
            marks.append(time.perf_counter())

    config = TrainConfig(seed=seed, runs_dir=str(runs), batch_events_every=60.0, **changes)
    start = time.perf_counter()
    result = train(spec, data, config, listener=listen)
    end = time.perf_counter()
    split = marks[0] if marks else end
    baseline = result.baseline["test_metrics"] if result.baseline else None
    return Trained(result.test_metrics, split - start, baseline, end - split)


def sklearn_scores(data: Any, seed: int) -> dict[str, tuple[float, float]]:
    """(score, seconds) of the constant predictor, gradient boosting and the linear model."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    out: dict[str, tuple[float, float]] = {}
    boosters = _boosters(data.task, seed)
    if data.task == "regression":
        out["constant"] = (score(data, np.full((len(data.x_test), 1), data.y_train.mean())), 0.0)
        for name, model in (("HistGradientBoosting", HistGradientBoostingRegressor(random_state=seed)),
                            *boosters, ("linear", Ridge())):
            start = time.perf_counter()
            pred = model.fit(x, y[:, 0]).predict(data.x_test).reshape(-1, 1)
            out[name] = (score(data, pred), time.perf_counter() - start)
        return out
    codes = np.argmax(y, axis=1) if data.task == "multiclass" else y[:, 0].astype(int)
    counts = np.bincount(codes, minlength=max(len(data.class_names), 2))
    constant = np.tile(counts / counts.sum(), (len(data.x_test), 1))
    out["constant"] = (score(data, constant[:, 1:] if data.task == "binary" else constant), 0.0)
    for name, model in (("HistGradientBoosting", HistGradientBoostingClassifier(random_state=seed)),
                        *boosters, ("linear", LogisticRegression(max_iter=5000))):
        start = time.perf_counter()
        pred = model.fit(x, codes).predict_proba(data.x_test)
        out[name] = (score(data, pred[:, 1:] if data.task == "binary" else pred), time.perf_counter() - start)
    return out


def _boosters(task: str, seed: int) -> list[tuple[str, Any]]:
    """CatBoost and LightGBM with their defaults, those that are installed (``pip install '.[bench]'``)."""
    found: list[tuple[str, Any]] = []
    regression = task == "regression"
    try:
        import catboost

        cls = catboost.CatBoostRegressor if regression else catboost.CatBoostClassifier
        found.append(("CatBoost", cls(random_seed=seed, verbose=False, thread_count=2, allow_writing_files=False)))
    except ImportError:
        pass
    try:
        import lightgbm

        cls = lightgbm.LGBMRegressor if regression else lightgbm.LGBMClassifier
        found.append(("LightGBM", cls(random_state=seed, verbose=-1, n_jobs=2)))
    except ImportError:
        pass
    return found


def searched_score(data: Any, seed: int, budget_s: float, work: Path) -> float:
    """Search for ``budget_s`` seconds, then train the best design with the default settings."""
    from rmlp.search import run_search
    from rmlp.search.report import best_trial, trial_spec
    from rmlp.search.storage import load_study

    storage = f"sqlite:///{work / f'search-{seed}-{time.time_ns()}.db'}"
    run_search(ModelSpec(), data, n_trials=100_000, timeout=budget_s, storage=storage, study_name="s", seed=seed)
    best, batch = trial_spec(best_trial(load_study(storage, "s")))
    return _metric(train_default(best, data, seed, work / "runs", batch_size=batch).metrics, data.task)


#: The training budget of the previous default: batches of a sixteenth of the rows, about 2,000 steps.
PREVIOUS_BUDGET = dataclasses.replace(SINGLE, share=16, target_steps=2000)


def previous_training(spec: ModelSpec, data: Any) -> dict[str, Any]:
    """The training settings of the previous default: its budget, a patience of 30 epochs and one step per call."""
    from rmlp import TrainConfig
    from rmlp.runs.folds import rows_fitted

    rows = rows_fitted(spec, TrainConfig(), data)
    batch = PREVIOUS_BUDGET.batch_size(rows)
    return {"batch_size": batch, "epochs": PREVIOUS_BUDGET.epochs(rows, batch), "patience": 30,
            "steps_per_execution": 1}


def warm_up(work: Path) -> None:
    """One short run before anything is timed, so that no column pays for loading TensorFlow."""
    from rmlp import TrainConfig, train

    data = load_table(sample_dir() / "wine.csv", "target", seed=0)
    spec, _ = spec_for_data(ModelSpec(), data)
    train(spec.copy_with(ensemble=1), data, TrainConfig(epochs=1, runs_dir=str(work / "warm-up"),
                                                        batch_events_every=60.0))


def run_table(path: Path, target: str, seeds: list[int], args: argparse.Namespace, work: Path) -> Table:
    table = Table(path.stem)
    for seed in seeds:
        data = load_table(path, target, seed=seed)
        table.task = data.task
        spec, _ = spec_for_data(ModelSpec(), data)
        done = train_default(spec, data, seed, work / "runs", baseline=not args.fast)
        table.add("default", _metric(done.metrics, data.task), done.seconds)
        before = spec.copy_with(ensemble_layout="separate", embedding="none", feature_scale=False)
        previous = train_default(before, data, seed, work / "runs", **previous_training(before, data))
        table.add("previous default", _metric(previous.metrics, data.task), previous.seconds)
        if done.baseline is not None:
            table.add("plain MLP", _metric(done.baseline, data.task), done.baseline_seconds)
        if spec.ensemble > 1 and not args.fast:
            single = train_default(spec.copy_with(ensemble=1), data, seed, work / "runs")
            table.add("single network", _metric(single.metrics, data.task), single.seconds)
        if args.ensemble > 1 and args.ensemble != spec.ensemble and not args.fast:
            members = train_default(spec.copy_with(ensemble=args.ensemble), data, seed, work / "runs")
            table.add("ensemble", _metric(members.metrics, data.task), members.seconds)
        if args.search_budget and not args.fast:
            start = time.perf_counter()
            table.add("searched", searched_score(data, seed, args.search_budget, work), time.perf_counter() - start)
        for name, (value, secs) in sklearn_scores(data, seed).items():
            table.add(name, value, secs)
        shown = ", ".join(f"{c} {v[-1]:.4g}" for c, v in table.scores.items())
        print(f"  {table.name} seed {seed}: {shown}", flush=True)
    return table


def _cell(values: list[float]) -> str:
    if len(values) > 1:
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
    return f"{values[0]:.3f}"


def _verdict(tables: list[Table]) -> list[str]:
    """How the default design fares against the floor, the plain MLP and the better of the baselines."""
    def better(task: str, a: float, b: float, tol: float = 0.0) -> bool:
        return a <= b * (1 + tol) if task == "regression" else a >= b - tol

    floor = plain = best = 0
    above: dict[str, int] = {}
    for t in tables:
        mean = {c: statistics.mean(v) for c, v in t.scores.items()}
        rivals = [mean[c] for c in ("plain MLP", "HistGradientBoosting", "linear") if c in mean]
        for c in ("default", "ensemble", "searched"):
            if c in mean:
                above[c] = above.get(c, 0) + int(all(better(t.task, mean[c], r) and mean[c] != r for r in rivals))
        floor += int(better(t.task, mean["default"], mean["constant"]) and mean["default"] != mean["constant"])
        plain += int("plain MLP" in mean and better(t.task, mean["default"], mean["plain MLP"]))
        strong = min if t.task == "regression" else max
        top = strong(mean["HistGradientBoosting"], mean["linear"])
        best += int(better(t.task, mean["default"], top, tol=0.01))
    n = len(tables)
    return [f"Default beats the constant predictor on {floor}/{n}; the plain MLP on {plain}/{n}; "
            f"matches (within 1%) or beats the better of gradient boosting and linear on {best}/{n}.",
            "Beats every baseline (plain MLP, gradient boosting, linear) outright: "
            + ", ".join(f"{c} on {k}/{n}" for c, k in above.items()) + "."]


def _time_ratios(tables: list[Table], columns: list[str]) -> list[str]:
    """Wall time per column as a ratio to the previous default's, per table and over all tables."""
    if not any(REFERENCE in t.seconds for t in tables):
        return []
    out = [f"\nWall time as a ratio to the {REFERENCE} (per split, mean over the splits):\n",
           "| table | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for t in tables:
        ref = statistics.mean(t.seconds[REFERENCE])
        out.append(f"| {t.name} | " + " | ".join(
            f"{statistics.mean(t.seconds[c]) / ref:.2f}" if c in t.seconds and ref > 0 else "" for c in columns) + " |")
    total = sum(s for t in tables for s in t.seconds.get(REFERENCE, []))
    out.append("| all tables | " + " | ".join(
        f"{sum(s for t in tables for s in t.seconds.get(c, [])) / total:.2f}" if total > 0 else "" for c in columns)
        + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tables", nargs="*", help="CSV files, each FILE or FILE:TARGET (default: the sample tables)")
    parser.add_argument("--seeds", type=int, default=3, help="Seeded splits per table (default 3).")
    parser.add_argument("--first-seed", type=int, default=0, help="Seed of the first split (default 0); the "
                        "splits are seeds FIRST .. FIRST+SEEDS-1, so runs on several machines can share the work.")
    parser.add_argument("--ensemble", type=int, default=0, help="Members of an extra ensemble column (default 0: "
                        "none; the default design is already an ensemble below 10,000 rows).")
    parser.add_argument("--search-budget", type=float, default=60.0, help="Seconds of search per split (default "
                        "60; the closing figures used 300; 0: no search).")
    parser.add_argument("--fast", action="store_true", help="Only the default, the previous default and the models "
                        "outside rmlp (no single network, plain MLP, extra ensemble or search).")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.tables:
        chosen = []
        for item in args.tables:
            path, _, target = item.partition(":")
            chosen.append((Path(path), target or suggest_target(list(read_table(Path(path)).columns))))
    else:
        chosen = [(sample_dir() / s.file, s.target) for s in SAMPLES if s.target]
    start = time.perf_counter()
    tables = []
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    with tempfile.TemporaryDirectory(prefix="rmlp-bench-quality-") as tmp:
        warm_up(Path(tmp))
        for path, target in chosen:
            print(f"{path.stem} (target {target!r})...", flush=True)
            tables.append(run_table(path, target, seeds, args, Path(tmp)))
    columns = [c for c in COLUMNS if any(c in t.scores for t in tables)]
    minutes = (time.perf_counter() - start) / 60
    print(f"\n{len(seeds)} seeded split(s) per table (seeds {seeds[0]}..{seeds[-1]}); wall time {minutes:.1f} min.\n")
    print("| table | metric | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for t in tables:
        metric = "RMSE ↓" if t.task == "regression" else "accuracy ↑"
        print(f"| {t.name} | {metric} | " + " | ".join(_cell(t.scores[c]) if c in t.scores else "" for c in columns)
              + " |")
    print("\nMean seconds per split: " + ", ".join(
        f"{c} {statistics.mean(s for t in tables for s in t.seconds.get(c, [0.0])):.1f}" for c in columns))
    for line in _time_ratios(tables, columns):
        print(line)
    for line in _verdict(tables):
        print(line)


if __name__ == "__main__":
    main()
