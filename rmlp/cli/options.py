"""Command-line options made from setting declarations: a setting's flag, help, default and choices are its field's.

``@settings_options(TrainConfig)`` adds one option per setting of ``TrainConfig`` to a command and
hands their values to it as one dict (its ``settings`` parameter). A new field in a settings
model is a new option of every command that takes that model, with no line written here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from rmlp.spec.fields import FieldMeta, field_table
from rmlp.spec.tasks import TASKS

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["TaskOption", "choice", "flags_of", "settings_options"]

_PYTHON_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


def choice(choices: Sequence[Any]) -> dict[str, Any]:
    """``typer.Option`` arguments that accept only ``choices``, shown as the option's metavar."""
    allowed = [str(c) for c in choices]

    def parse(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(allowed)}.")
        return value

    return {"parser": parse, "metavar": "[" + "|".join(allowed) + "]"}


def flags_of(meta: FieldMeta) -> list[str]:
    """The option's names: the field's own, else ``--field-name``; booleans get ``--x/--no-x``."""
    given = list(meta.cli or ())
    long = given.pop(0) if given and given[0].startswith("--") else f"--{meta.name.replace('_', '-')}"
    if meta.kind == "bool":
        return [f"{long}/--no-{long[2:]}", *given]
    return [long, *given]


def _parameter(meta: FieldMeta) -> inspect.Parameter:
    """The keyword parameter typer reads for one setting."""
    default = meta.default
    kind: Any = _PYTHON_TYPES.get(meta.kind, str)
    extra: dict[str, Any] = choice(meta.choices) if meta.kind == "choice" else {}
    if meta.optional or default is None:
        kind = kind | None
    option = typer.Option(*flags_of(meta), help=meta.describe(choices=False), show_default=default is not None, **extra)
    return inspect.Parameter(meta.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, option])


def settings_options(*models: type[BaseModel], only: Sequence[str] | None = None,
                     skip: Sequence[str] = ()) -> Callable[[F], F]:
    """Decorator: one option per top-level setting of ``models``, passed to the command as ``settings``.

    ``only`` / ``skip`` choose the settings by name; a field declared with ``cli=None`` is never an
    option. The command's own parameters keep their places; the settings follow them.
    """
    metas: dict[str, FieldMeta] = {}
    for model in models:
        for name, meta in field_table(model).items():
            if "." in name or meta.cli is None or name in skip or (only is not None and name not in only):
                continue
            metas.setdefault(name, meta)

    def decorate(func: F) -> F:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "settings"]
        clash = {p.name for p in own} & set(metas)
        if clash:
            raise TypeError(f"{func.__name__} declares {sorted(clash)} itself and as settings.")
        added = [_parameter(meta) for meta in metas.values()]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            settings = {name: kwargs.pop(name) for name in metas if name in kwargs}
            return func(*args, settings=settings, **kwargs)

        wrapper.__signature__ = inspect.Signature([*own, *added])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
        return wrapper  # type: ignore[return-value]

    return decorate


#: ``--task``: one of the tasks of the spec's own table.
TaskOption = Annotated[str | None, typer.Option(help="Task (default: inferred from the target).", **choice(TASKS))]
