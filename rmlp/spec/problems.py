"""Problems found in a spec, and the error that carries them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) with a spec, addressed by its field path."""

    path: str
    severity: Severity
    message: str
    fix: str = ""
    #: A value for ``path`` that resolves the problem, when there is an obvious one.
    fix_value: object = None

    def __str__(self) -> str:
        tail = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.severity}: {self.path or '<spec>'}: {self.message}{tail}"

    def to_dict(self) -> dict:
        return asdict(self)


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems that stop a spec from being built."""
    return [p for p in problems if p.severity == "error"]


class SpecError(ValueError):
    """A spec (or arguments standing for one) that cannot be used; carries the problems."""

    def __init__(self, problems: list[Problem], what: str = "The model spec"):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what} has {len(errors(self.problems)) or len(self.problems)} problem(s):\n{lines}")
