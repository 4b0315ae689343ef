"""The training recipe: every decision of how a network trains, made once from the settings and the data.

:func:`make_recipe` turns a :class:`~rmlp.runs.config.TrainConfig` (sized), a spec and the data
into a :class:`Recipe`: epochs, batch size, rows and steps, folds, the learning-rate schedule, what
is watched and which way is better, the stopping rules. ``train``, ``resume``, the plain-MLP
baseline, search trials and ``promote`` (through ``train``) all read it, so a new training
behaviour is one field here and the one method that acts on it. Pure at import: Keras is imported
only by the methods that make Keras objects.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rmlp.design.sizing import budget_for
from rmlp.keras.optimizers import cosine_schedule
from rmlp.runs.config import LrSchedule, TrainConfig
from rmlp.runs.folds import rows_fitted, uses_folds
from rmlp.runs.state import RunState
from rmlp.spec.metrics import Goal, direction
from rmlp.spec.model import ModelSpec

if TYPE_CHECKING:
    from rmlp.data.split import Splits

__all__ = ["Recipe", "make_recipe", "watched"]

#: What a run watches with validation rows: the score (classification) or the loss.
SCORE = "val_score"


def _rows(data: Splits | None, split: str) -> int:
    x = getattr(data, f"x_{split}", None)
    return 0 if x is None else len(x)


def watched(spec: ModelSpec, config: TrainConfig, data: Splits | None) -> str:
    """What early stopping and the best checkpoint of a run watch: ``val_score``, ``val_loss`` or ``loss``."""
    if not _rows(data, "val") and not uses_folds(spec, config, data):
        return "loss"
    if config.monitor == "score" and spec.task != "regression":
        return SCORE
    return "val_loss"


@dataclass(frozen=True)
class Recipe:
    """How one network (or ensemble) trains: numbers and choices only, JSON-serialisable."""

    epochs: int
    batch_size: int
    rows: int  # rows one epoch goes through (the pooled rows when members train on folds)
    folds: int  # members trained on folds (1: no folds)
    learning_rate: float  # the peak rate (the spec's optimizer)
    schedule: LrSchedule
    warmup: float  # share of the steps the rate warms up over (cosine)
    monitor: str  # what early stopping, the plateau rule and the best epoch watch
    goal: Goal  # which way ``monitor`` is better
    early_stopping: bool
    patience: int
    min_epochs: int  # epochs before early stopping may stop
    restore_best: bool
    reduce_lr: bool
    seed: int
    weight_averaging: float | None = None  # the momentum of the weights' moving average (None: off)
    steps_per_execution: int = 1  # training steps per call of the compiled graph

    @property
    def steps_per_epoch(self) -> int:
        return max(math.ceil(self.rows / max(self.batch_size, 1)), 1) if self.rows else 0

    @property
    def steps(self) -> int:
        """The planned optimizer steps (the cosine schedule spans them)."""
        return max(self.epochs, 1) * self.steps_per_epoch

    @property
    def mode(self) -> str:
        """Keras's word for :attr:`goal`: "min" or "max"."""
        return "max" if self.goal == "maximize" else "min"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # ------------------------------------------------------------------ decisions as plain values
    def optimizer_options(self) -> dict[str, Any]:
        """Arguments the optimizer gets besides the spec's (its class, rate, clipping and decay)."""
        if self.weight_averaging is None:
            return {}
        return {"use_ema": True, "ema_momentum": float(self.weight_averaging)}

    def compile_options(self) -> dict[str, Any]:
        """Arguments of ``model.compile`` besides the optimizer, loss and metrics."""
        return {"steps_per_execution": int(self.steps_per_execution)} if self.steps_per_execution > 1 else {}

    def keras_callbacks(self) -> list[tuple[str, dict[str, Any]]]:
        """Keras's own callbacks the recipe adds before the stopping rules, as (name under
        ``keras.callbacks``, arguments): made by :meth:`callbacks`, written as code by the exporter."""
        if self.weight_averaging is None:
            return []
        # The averaged weights are in the model at every epoch's end and while validating, so the score,
        # the best epoch and the saved checkpoints are the averaged model's.
        return [("SwapEMAWeights", {"swap_on_epoch": True})]

    # ------------------------------------------------------------------ Keras objects (imports Keras)
    def compile_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rmlp.keras.build.compile_model` (and ``build_baseline``) for this recipe."""
        return {"learning_rate": self.rate(), "optimizer_options": self.optimizer_options(),
                "compile_options": self.compile_options()}

    def callbacks(self, *, keep_best_weights: bool = False, run_state: RunState | None = None) -> list[Any]:
        """The recipe's callbacks in the order they must run: Keras's own (:meth:`keras_callbacks`), the
        plateau rule, then early stopping (see :meth:`stopping` for the arguments)."""
        import keras

        made = [getattr(keras.callbacks, name)(**kwargs) for name, kwargs in self.keras_callbacks()]
        return [*made, *self.plateau(), *self.stopping(keep_best_weights=keep_best_weights, run_state=run_state)]

    def rate(self) -> Any:
        """The learning rate to compile with: None for the optimizer's own number, else the schedule."""
        if self.schedule == "constant":
            return None

        return cosine_schedule(self.learning_rate, self.steps, self.warmup)

    def plateau(self) -> list[Any]:
        """``ReduceLROnPlateau`` when the recipe halves the rate on a plateau, else nothing."""
        if not self.reduce_lr:
            return []
        import keras

        return [keras.callbacks.ReduceLROnPlateau(monitor=self.monitor, factor=0.5, patience=3, mode=self.mode)]

    def stopping(self, *, keep_best_weights: bool = False, run_state: RunState | None = None) -> list[Any]:
        """The early-stopping callback, if any.

        ``keep_best_weights``: a model without checkpoints (the baseline) gets the best epoch's weights
        back from the callback, and so needs it even without early stopping. ``run_state``: a run goes on
        from the best value and wait count its state recorded.
        """
        import keras

        if run_state is not None:
            if not self.early_stopping:
                return []
            from rmlp.runs.callbacks import ResumableEarlyStopping

            return [ResumableEarlyStopping(
                monitor=self.monitor, mode=self.mode, patience=self.patience, start_from_epoch=self.min_epochs,
                restore_best_weights=False, initial_best=run_state.best, initial_wait=run_state.wait,
                initial_best_epoch=max(run_state.best_epoch - 1, 0))]
        keep = keep_best_weights and self.restore_best
        if not (self.early_stopping or keep):
            return []
        patience = self.patience if self.early_stopping else self.epochs + 1
        return [keras.callbacks.EarlyStopping(
            monitor=self.monitor, mode=self.mode, patience=patience, restore_best_weights=keep,
            start_from_epoch=self.min_epochs if self.early_stopping else 0)]


def make_recipe(spec: ModelSpec, config: TrainConfig, data: Splits | None, *, monitor: str | None = None,
                goal: Goal | None = None) -> Recipe:
    """The recipe of ``config`` (its empty settings sized to the data) for ``spec`` on ``data``.

    ``monitor`` and ``goal`` override what is watched and which way is better (a search trial watches
    its study's metric); by default a run watches :func:`watched` and the metric table says the way.
    """
    # keeps what is set, fills what is empty (a packed ensemble by its own budget)
    config = config.sized(rows_fitted(spec, config, data), budget_for(spec.ensemble, spec.ensemble_layout))[0]
    watch = monitor or watched(spec, config, data)
    return Recipe(
        epochs=config.n_epochs, batch_size=config.n_batch, rows=rows_fitted(spec, config, data),
        folds=int(spec.ensemble) if uses_folds(spec, config, data) else 1,
        learning_rate=float(spec.optimizer.learning_rate), schedule=config.lr_schedule, warmup=float(config.warmup),
        monitor=watch, goal=goal or direction(watch), early_stopping=config.early_stopping,
        patience=int(config.patience), min_epochs=int(config.min_epochs or 0), restore_best=config.restore_best,
        reduce_lr=config.reduce_lr, seed=int(config.seed), weight_averaging=config.weight_averaging,
        steps_per_execution=int(config.steps_per_execution))
