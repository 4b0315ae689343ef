"""How to train: every training setting, declared once (the app, the command line and the search read it)."""

from __future__ import annotations

from typing import ClassVar, Literal

from rmlp.design.sizing import SINGLE, Budget, batch_size_for
from rmlp.spec.fields import Search, StrictSettings, When, setting
from rmlp.spec.problems import Problem

LrSchedule = Literal["constant", "cosine"]
Monitor = Literal["score", "loss"]

__all__ = ["TRAINING", "LrSchedule", "TrainConfig"]


class TrainConfig(StrictSettings):
    """How to train: epochs, batch size, callbacks, seed and where the run folder goes."""

    what: ClassVar[str] = "The training settings"

    epochs: int | None = setting(
        None, label="Epochs", help="Passes over the training rows (empty: sized to the data, about 1,000 training "
        "steps in 40 to 300 epochs).", low=1, high=100000, step=1, empty="sized to the data",
    )
    batch_size: int | None = setting(
        None, label="Batch size", help="Rows per training step (empty: sized to the data, about an eighth of the "
        "training rows, 16 to 256).", low=1, high=65536, step=1, cli=("--batch-size", "-b"),
        search=Search(choices=(16, 32, 64, 128)), empty="sized to the data",
    )
    early_stopping: bool = setting(
        True, label="Early stopping",
        help="Stop when the validation score has not improved for 'patience' epochs (counted after the "
        "minimum epochs).",
    )
    patience: int = setting(
        16, label="Patience", help="Epochs without a better validation score before early stopping (16, as in "
        "the published tabular-MLP recipes).",
        low=0, high=10000, step=1, when=(When("early_stopping", (True,)),),
    )
    min_epochs: int | None = setting(
        None, label="Minimum epochs",
        help="Epochs trained before early stopping may stop (empty: a fifth of the epochs), so a run whose "
        "validation score is noisy at first is not cut off while the learning rate warms up.",
        low=0, high=100000, step=1, when=(When("early_stopping", (True,)),),
        empty="a fifth of the epochs",
    )
    restore_best: bool = setting(
        True, label="Keep the best epoch",
        help="End with the weights of the epoch with the best validation score (accuracy for classification, "
        "ties broken by the loss; the loss for regression), not those of the last epoch.",
    )
    ensemble_folds: bool = setting(
        True, label="Ensemble members on folds",
        help="With an ensemble (more than one member): pool the training and validation rows, split them into one "
        "fold per member, and train each member on the other folds, validated on its own. The ensemble learns "
        "from every row, and early stopping watches an out-of-fold score over all of them. Off: every member "
        "trains on the training rows and is validated on the validation rows.",
        group="advanced",
    )
    monitor: Monitor = setting(
        "score", label="Watch", help="What early stopping and 'keep the best epoch' watch on the validation rows: "
        "score (accuracy, ties broken by the loss, for classification; the loss for regression) or loss.",
        group="advanced",
    )
    lr_schedule: LrSchedule = setting(
        "cosine", label="Learning-rate schedule",
        help="cosine: the learning rate warms up, then decays along a cosine to zero over the planned epochs, "
        "which usually ends training in a better minimum; constant: the optimizer's learning rate throughout.",
    )
    warmup: float = setting(
        0.05, label="Warm-up share",
        help="With the cosine schedule, the learning rate first rises from 0 over this share of the planned steps, "
        "so the first updates of freshly initialised weights stay small.",
        low=0.0, high=0.5, step=0.01, when=(When("lr_schedule", ("cosine",)),),
    )
    reduce_lr: bool = setting(
        False, label="Reduce learning rate on plateau",
        help="Halve the learning rate after 3 epochs without a better validation loss.",
        when=(When("lr_schedule", ("constant",)),),
    )
    weight_averaging: float | None = setting(
        None, label="Weight averaging",
        help="Keep a moving average of the weights (this share of the average is kept at every step: 0.9 to "
        "0.999, 0.99 is usual), validate and save the averaged weights, and end with them: a smoother model "
        "from the last noisy steps (empty: off). With early stopping it needs 'Keep the best epoch'.",
        low=0.9, high=1.0, high_open=True, step=0.001, group="advanced", empty="off",
    )
    steps_per_execution: int = setting(
        16, label="Steps per graph call",
        help="Training steps run in one call of the compiled graph. More is faster on small batches (less "
        "Python between steps) and trains the same weights; progress updates and Stop come between calls.",
        low=1, high=1000, step=1, group="advanced",
    )
    seed: int = setting(0, label="Seed", help="Seeds weights, shuffling and dropout: same seed, same run.",
                        low=0, high=2**31 - 1, step=1)
    baseline: bool = setting(
        False, label="Train a plain-MLP baseline",
        help="Also train a plain MLP with about the same parameter count on the same split, to see what the "
        "residual bypasses buy.",
    )
    tensorboard: bool = setting(
        True, label="TensorBoard event files",
        help="Write the scalars of every epoch as TensorBoard event files into the run folder (tensorboard/), so "
        "`tensorboard --logdir runs/` shows every run by name. Needs the tensorboard package (pip install "
        "tensorboard); without it none are written.", group="advanced",
    )
    runs_dir: str = setting("runs", label="Runs folder", help="Folder in which each run gets its own folder.",
                            hidden=True)
    run_name: str = setting("", label="Run name", help="Name of the run folder (empty: the model name).",
                            group="advanced", cli=("--name",))
    multi_gpu: bool = setting(False, label="Use all GPUs",
                              help="Mirror training over every visible GPU (needs more than one).", group="advanced")
    checkpoint_budget: float = setting(
        0.01, label="Checkpoint time budget",
        help="Largest share of training time spent writing checkpoints/last.keras: long epochs are all saved, "
        "very short ones only as often as this allows (1: after every epoch), but never less often than every "
        "10 s of training, so a crash loses at most one epoch or 10 s. The last epoch is always saved.",
        low=0.0, high=1.0, low_open=True, group="advanced",
    )
    memory_check: bool = setting(
        True, label="Check the memory first",
        help="Refuse to train a design whose estimated training memory (as `rmlp summary` gives it, at the batch "
        "size used) is above the memory this machine has available; turn off to train anyway.",
        group="advanced",
    )
    batch_events_every: float = setting(
        0.5, label="Progress updates every (s)",
        help="Least seconds between two batch progress events (0: after every batch).", low=0.0, hidden=True,
        cli=None,
    )

    def problems(self) -> list[Problem]:
        found = super().problems()
        if self.reduce_lr and self.lr_schedule != "constant":
            found.append(Problem("reduce_lr", "error", "Reducing the learning rate on a plateau fights the "
                                 f"{self.lr_schedule} schedule, which sets the rate itself.",
                                 "Turn one of them off.", False))
        if self.weight_averaging is not None and self.early_stopping and not self.restore_best:
            found.append(Problem("weight_averaging", "error", "Weight averaging with early stopping ends with the "
                                 "averaged weights of the best epoch, so it needs 'Keep the best epoch' (a run "
                                 "stopped early would otherwise end with the last step's weights).",
                                 "Turn on 'Keep the best epoch', or clear 'Weight averaging'."))
        return found

    def sized(self, rows: int, budget: Budget = SINGLE,
              rows_named: str = "training rows") -> tuple[TrainConfig, list[str]]:
        """A copy with the settings left empty sized to ``rows`` training rows (by ``budget``), and a notice
        naming them ``rows_named`` (the pooled rows of an ensemble on folds are the training and validation rows)."""
        batch = self.batch_size or budget.batch_size(rows)
        epochs = self.epochs or budget.epochs(rows, batch)
        min_epochs = self.min_epochs if self.min_epochs is not None else budget.wait(epochs)
        notices = []
        steps = f"{-(-rows // batch)} step{'s' if -(-rows // batch) != 1 else ''} an epoch"
        if self.epochs is None and self.batch_size is None:
            notices.append(f"Training sized to the {rows} {rows_named}: {epochs} epochs of batches of {batch} rows "
                           f"({steps}).")
        elif self.epochs is None:
            notices.append(f"Epochs sized to the {rows} {rows_named}: {epochs} epochs of your batches of {batch} "
                           f"rows ({steps}).")
        elif self.batch_size is None:
            notices.append(f"Batch size sized to the {rows} {rows_named}: batches of {batch} rows ({steps}) for "
                           f"the {epochs} epochs you set.")
        return self.model_copy(update={"batch_size": batch, "epochs": epochs, "min_epochs": min_epochs}), notices

    @property
    def n_epochs(self) -> int:
        """The epochs as a number: the setting, or 0 in a config not yet :meth:`sized`."""
        return int(self.epochs or 0)

    @property
    def n_batch(self) -> int:
        """The batch size as a number: the setting, or what :meth:`sized` would give for no rows."""
        return int(self.batch_size or batch_size_for(0))

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.model_validate_json(text)


#: The training defaults (for the default arguments of functions that take one setting, not a config).
TRAINING = TrainConfig()
