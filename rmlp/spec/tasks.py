"""The tasks a residual MLP can solve, and what follows from each one (the only list of them).

The output activation and loss that ``"auto"`` stands for, the losses that fit a task, and how
many output units it has are written here once; the spec, the validator, the data loader and the
app read them from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Task = Literal["multiclass", "binary", "regression"]
#: The tasks, in the order the app and the command line offer them.
TASKS: tuple[Task, ...] = get_args(Task)

__all__ = ["TASKS", "TASK_FACTS", "Task", "TaskFacts", "facts"]


@dataclass(frozen=True)
class TaskFacts:
    """What a task implies for the output layer and the loss."""

    #: The output activation 'auto' resolves to.
    output_activation: str
    #: The loss 'auto' resolves to.
    loss: str
    #: Every loss that fits the task (the first is the default).
    losses: tuple[str, ...]
    #: In plain words, for help texts.
    words: str

    def fits(self, loss: str) -> bool:
        return loss == "auto" or loss in self.losses


TASK_FACTS: dict[Task, TaskFacts] = {
    "multiclass": TaskFacts("softmax", "categorical_crossentropy", ("categorical_crossentropy",),
                            "one of several classes (softmax)"),
    "binary": TaskFacts("sigmoid", "binary_crossentropy", ("binary_crossentropy",), "yes/no (sigmoid)"),
    "regression": TaskFacts("linear", "mse", ("mse", "mae", "huber"), "a number (linear output)"),
}


def facts(task: str) -> TaskFacts:
    """The facts of ``task`` (KeyError naming the tasks when it is not one)."""
    try:
        return TASK_FACTS[task]  # type: ignore[index]
    except KeyError:
        raise KeyError(f"{task!r} is not a task; use one of {', '.join(TASKS)}.") from None
