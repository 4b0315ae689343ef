"""Problems found in a spec or in settings, the errors that carry them, and pydantic's errors in words."""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import ValidationError

from rmlp.spec.display import hook

Severity = Literal["error", "warning"]

__all__ = ["Problem", "ProblemList", "ProblemsError", "Severity", "SettingsError", "SpecError", "errors",
           "problems_from_validation_error", "shown"]

#: The longest a value quoted in a message may be (a huge input is cut, never repr'd whole).
SHOWN_CHARS = 80
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict, _SHORT.maxset = 3, 4, 4, 4, 4
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = SHOWN_CHARS


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters without building the whole repr."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious), addressed by its field path."""

    path: str
    severity: Severity
    message: str
    fix: str = ""
    #: A value for ``path`` that resolves the problem, when there is an obvious one.
    fix_value: object = None

    def __str__(self) -> str:
        tail = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.severity}: {self.path or '<spec>'}: {self.message}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProblemList(list[Problem]):
    """A list of problems that a notebook shows as a table (path, severity, what, fix)."""

    def _repr_html_(self) -> str:
        return str(hook("problems_html")(self))


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems that stop something from being used."""
    return [p for p in problems if p.severity == "error"]


class ProblemsError(ValueError):
    """Something that cannot be used as given; ``problems`` says what, where, and how to fix it."""

    what = "The input"

    def __init__(self, problems: list[Problem], what: str | None = None):
        self.problems = list(problems)
        self.what = what or type(self).what
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(errors(self.problems)) or len(self.problems)
        verb = "have" if self.what.split()[-1].endswith("s") else "has"
        super().__init__(f"{self.what} {verb} {count} problem{'s' if count != 1 else ''}:\n{lines}")


class SpecError(ProblemsError):
    """A spec (or arguments standing for one) that cannot be used."""

    what = "The model spec"


class SettingsError(ProblemsError):
    """Training or search settings that cannot be used."""

    what = "The settings"


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problems_from_validation_error(exc: ValidationError, noun: str = "the model spec",
                                   label_of: Callable[[str], str] | None = None) -> list[Problem]:
    """Pydantic's errors as problems with field paths and plain words (a settings check's own come back whole).

    ``label_of`` gives a field's label from its path ("" when unknown), to name the setting in a message.
    """
    found: list[Problem] = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        if err.get("type") == "rmlp_settings" and ctx.get("problems"):
            found += list(ctx["problems"])
            continue
        path = _loc_to_path(tuple(p for p in err["loc"] if p not in ("function-after",)))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            msg, fix = f"'{path}' is not a field of {noun}.", "Remove it or check its spelling."
        elif kind == "literal_error":
            msg, fix = f"{shown(err['input'])} is not allowed here.", f"Use one of {ctx.get('expected', '')}."
        elif kind == "missing":
            msg, fix = "This field is required.", "Add it."
        elif kind == "finite_number":
            label = label_of(path) if label_of is not None else ""
            msg = (f"{label + ' is ' if label else ''}{shown(err.get('input'))}, not a finite number (NaN and "
                   "infinity are not allowed).")
            fix = "Use a finite number."
        else:
            msg, fix = f"{err['msg']} (got {shown(err.get('input'))}).", "Give a value of the right type."
        found.append(Problem(path, "error", msg, fix))
    return found
