"""The one error data loading raises: what is wrong with the data and how to fix it, in plain words."""

from __future__ import annotations

from rmlp.spec.problems import Problem


class DataError(ValueError):
    """Data that cannot be used, said in plain words: what is wrong and how to fix it."""

    def __init__(self, message: str, fix: str = "", *, path: str = "data") -> None:
        self.problem = Problem(path=path, severity="error", message=message, fix=fix)
        super().__init__(f"{message} {fix}".strip())

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def fix(self) -> str:
        return self.problem.fix
