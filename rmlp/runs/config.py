"""How to train: every training setting, declared once (the app, the command line and the search read it)."""

from __future__ import annotations

from typing import ClassVar, Literal

from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.spec.fields import Search, StrictSettings, When, setting
from rmlp.spec.problems import Problem

LrSchedule = Literal["constant", "cosine"]

__all__ = ["TRAINING", "LrSchedule", "TrainConfig"]


class TrainConfig(StrictSettings):
    """How to train: epochs, batch size, callbacks, seed and where the run folder goes."""

    what: ClassVar[str] = "The training settings"

    epochs: int = setting(20, label="Epochs", help="Passes over the training rows.", low=1, high=100000, step=1)
    batch_size: int = setting(
        DEFAULT_BATCH_SIZE, label="Batch size", help="Rows per training step.", low=1, high=65536, step=1, cli=("--batch-size", "-b"),
        search=Search(choices=(16, 32, 64, 128)),
    )
    early_stopping: bool = setting(
        True, label="Early stopping",
        help="Stop when the validation loss has not improved for 'patience' epochs and keep the weights of the "
        "best epoch.",
    )
    patience: int = setting(
        10, label="Patience", help="Epochs without a better validation loss before early stopping.",
        low=0, high=10000, step=1, when=(When("early_stopping", (True,)),),
    )
    lr_schedule: LrSchedule = setting(
        "constant", label="Learning-rate schedule",
        help="constant: the optimizer's learning rate throughout; cosine: it decays along a cosine to zero over "
        "the planned epochs, which usually ends training in a better minimum.",
    )
    reduce_lr: bool = setting(
        False, label="Reduce learning rate on plateau",
        help="Halve the learning rate after 3 epochs without a better validation loss.",
        when=(When("lr_schedule", ("constant",)),),
    )
    seed: int = setting(0, label="Seed", help="Seeds weights, shuffling and dropout: same seed, same run.",
                        low=0, high=2**31 - 1, step=1)
    baseline: bool = setting(
        False, label="Train a plain-MLP baseline",
        help="Also train a plain MLP with about the same parameter count on the same split, to see what the "
        "residual bypasses buy.",
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
        "very short ones only as often as this allows (1: after every epoch). The last epoch is always saved.",
        low=0.0, high=1.0, low_open=True, group="advanced",
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
        return found

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.model_validate_json(text)


#: The training defaults (for the default arguments of functions that take one setting, not a config).
TRAINING = TrainConfig()
