"""How to search: every search setting, declared once (the command line, the app and the runner read it).

Pure Python: no Optuna or Keras is needed to make, check or show a :class:`SearchConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from rmlp.data import load_data
from rmlp.design.sizing import batch_size_for, trial_epochs_for
from rmlp.runs.config import TrainConfig
from rmlp.search.space import SearchSpace
from rmlp.spec.fields import StrictSettings, When, reuse, setting
from rmlp.spec.metrics import Goal, direction

Sampler = Literal["tpe", "random", "grid"]
Pruner = Literal["median", "hyperband", "none"]
Direction = Literal["auto", "minimize", "maximize"]

#: The folder of the default storage.
STUDIES_DIR = "studies"

__all__ = ["STUDIES_DIR", "DataSource", "Direction", "Pruner", "Sampler", "SearchConfig", "SearchError",
           "guess_direction"]


class SearchError(ValueError):
    """A search that cannot run as asked (bad storage, study, sampler, metric...), in plain words."""


@dataclass
class DataSource:
    """Where a table (or image set) comes from; each worker process loads it itself (same seed, same split)."""

    path: str
    target: str | None = None
    task: str | None = None
    seed: int = 0
    #: Further arguments of :func:`rmlp.data.load_data` (``val_size``, ``test_size``, ...).
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        options: dict[str, Any] = {"seed": self.seed, **self.options}
        if self.task:
            options["task"] = self.task
        return load_data(self.path, self.target, **options)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "target": self.target, "task": self.task, "seed": self.seed, **self.options}


def guess_direction(metric: str) -> Goal:
    """'maximize' for accuracy-like metrics, else 'minimize' (the metric table's direction)."""
    return direction(metric)


class SearchConfig(StrictSettings):
    """What a search runs: trials, workers, how each trial trains, the sampler and pruner, where it is stored."""

    what: ClassVar[str] = "The search settings"

    n_trials: int = setting(20, label="Trials", help="Trials this run starts (shared out over the workers).",
                            low=1, high=100000, step=1, cli=("--n-trials", "-n"))
    timeout: float | None = setting(
        None, label="Time limit (s)", help="Stop starting trials after this many seconds (empty: no limit).",
        low=1.0,
    )
    workers: int = setting(
        1, label="Worker processes",
        help="Local worker processes; each trains one design at a time with its share of the CPU cores.",
        low=1, high=256, step=1,
    )
    epochs: int | None = setting(
        None, label="Epochs per trial",
        help="Epochs each trial trains, the pruner may stop it earlier (empty: sized to the data, a sixth of "
        "what a full training run gets, 10 to 30).", low=1, high=10000, step=1, empty="sized to the data",
    )
    batch_size: int | None = reuse(TrainConfig, "batch_size", help="Rows per training step when the space does "
                                   "not search the batch size (empty: sized to the data).", search=None)
    early_stopping: bool = reuse(TrainConfig, "early_stopping", help="Stop a trial when its validation metric "
                                 "has not improved for 'patience' epochs.")
    patience: int = reuse(TrainConfig, "patience", default=5, help="Early-stopping patience within a trial.")
    ensemble_folds: bool = reuse(
        TrainConfig, "ensemble_folds", label="Score ensembles on folds",
        help="With an ensemble design: a trial trains its members on folds of the pooled training and validation "
        "rows, as a training run does, and is scored out of fold over all of them, which ranks designs on far "
        "more rows than the validation split holds. Off: a trial trains one member on the training rows and is "
        "scored on the validation rows (faster, noisier on a small table).",
    )
    metric: str = setting(
        "val_score", label="Metric",
        help="Validation metric to optimise. val_score: the error rate, ties broken by the cross-entropy without "
        "label smoothing, for classification (what a training run keeps its best epoch on), the loss for "
        "regression; or val_loss, val_accuracy, val_auc, val_rmse, ... (the task decides which exist).",
    )
    direction: Direction = setting("auto", label="Direction",
                                   help="auto: maximize for accuracy, AUC and the like, else minimize.")
    two_objectives: bool = setting(
        False, label="Also minimise parameters",
        help="Optimise the metric and the parameter count together: a Pareto front of quality against size "
        "(no pruning).",
    )
    sampler: Sampler = setting("tpe", label="Sampler", help="tpe: learns from finished trials; random; grid "
                               "(small spaces of choices and stepped ranges only).")
    n_startup_trials: int = setting(
        5, label="Random trials first",
        help="How many trials the TPE sampler draws at random before it models the results (more: a broader "
        "look first).",
        low=0, high=10000, step=1, group="advanced", when=(When("sampler", ("tpe",)),),
    )
    pruner: Pruner = setting("hyperband", label="Pruner",
                             help="Stop bad trials early: hyperband (successive halving on epochs: many designs get "
                             "a few epochs, the best of them the full budget), median (below the median of earlier "
                             "trials at the same epoch), or none.", when=(When("two_objectives", (False,)),))
    seed: int = reuse(TrainConfig, "seed", help="Seed of the split, the weights and (by default) the sampler. Keep "
                      "it the same on every machine of a study.")
    sampler_seed: int | None = setting(
        None, label="Sampler seed", help="Seed of the sampler (empty: the seed). Give each machine its own.",
        low=0, high=2**31 - 1, group="advanced",
    )
    max_params: int | None = reuse(SearchSpace, "max_params", help="Reject designs with more parameters "
                                   "(overrides the space's cap).")
    max_memory_mb: float | None = reuse(SearchSpace, "max_memory_mb", help="Reject designs needing more "
                                        "training memory, in MiB (overrides the space's cap).")
    study_name: str = setting("", label="Study name", help="The same name and storage resume (or join) a study. "
                              "Empty: model name-data file name.", group="storage", cli=("--study",))
    storage: str = setting(
        "", label="Storage URL",
        help="Optuna storage: sqlite:///FILE.db, journal:FILE.journal, or postgresql://USER@HOST/DB for several "
        "machines (psycopg2 or psycopg 3, whichever is installed). Empty: a file under the studies folder.",
        group="storage",
    )
    studies_dir: str = setting(STUDIES_DIR, label="Studies folder", help="Folder of the default storage.",
                               hidden=True)
    start_from_spec: bool = setting(
        True, label="Start from the design",
        help="A new study's first trial is the design itself, so the search never ends worse than it started.",
        group="advanced",
    )
    tensorboard_dir: str = setting(
        "", label="TensorBoard folder for trials",
        help="Empty: trials write no TensorBoard files. A folder: each trial writes its scalars per epoch into "
        "FOLDER/trial-N, so `tensorboard --logdir FOLDER` shows the trials side by side (needs the tensorboard "
        "package).", group="advanced",
    )
    throttle_s: float = setting(0.0, label="Pause after each epoch (s)", help="Slows trials down (demos, tests).",
                                low=0.0, hidden=True, cli=None)

    # ------------------------------------------------------------------ derived
    @property
    def n_epochs(self) -> int:
        """Epochs per trial as a number (after :meth:`sized`; 10 before)."""
        return int(self.epochs or 10)

    @property
    def n_batch(self) -> int:
        """The batch size as a number (after :meth:`sized`; that of no rows before)."""
        return int(self.batch_size or batch_size_for(0))

    def sized(self, rows: int) -> SearchConfig:
        """A copy with an empty batch size and epochs per trial sized to ``rows`` training rows."""
        batch = self.batch_size or batch_size_for(rows)
        return self.model_copy(update={"batch_size": batch, "epochs": self.epochs or trial_epochs_for(rows, batch)})

    def resolved_direction(self) -> Goal:
        """The metric's direction ('auto' guessed from its name)."""
        return guess_direction(self.metric) if self.direction == "auto" else self.direction

    def directions(self) -> list[Goal]:
        """Optuna study directions: the metric's, then "minimize" for the parameter count."""
        first = self.resolved_direction()
        second: Goal = "minimize"
        return [first, second] if self.two_objectives else [first]

    def record(self) -> dict[str, Any]:
        """What a study stores about how it was searched."""
        return {**self.model_dump(mode="json"), "direction": self.resolved_direction()}
