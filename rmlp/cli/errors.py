"""What every ``rmlp`` command shares: user errors printed as messages (never a traceback), exit codes."""

from __future__ import annotations

import functools
import os
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from rmlp.spec.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A mistake the user can fix; printed as a message, no traceback."""


def err(text: str) -> None:
    typer.echo(text, err=True)


def print_problems(problems: list[Problem], *, stream_err: bool = False) -> None:
    for p in problems:
        line = f"{p.severity:7} {p.path or '<spec>'}: {p.message}"
        if p.fix:
            line += f"\n        fix: {p.fix}"
        typer.echo(line, err=stream_err)


def describe(exc: BaseException) -> str:
    """A one-line, plain-words account of a user-facing exception."""
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"No such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return f"{exc.filename} is a folder, not a file."
    if isinstance(exc, PermissionError) and exc.filename:
        return f"Permission denied: {exc.filename}"
    return str(exc).strip() or type(exc).__name__


def guarded(interrupted: str = "Interrupted.") -> Callable[[F], F]:
    """Decorator: a user's mistake -> message on stderr and exit 1; a bug -> exit 2; Ctrl-C -> 130.

    Exceptions that carry ``.problems`` (SpecError, SpaceError) list them with their fixes.
    ``RMLP_DEBUG=1`` re-raises, to see the traceback.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            debug = bool(os.environ.get("RMLP_DEBUG"))
            try:
                return func(*args, **kwargs)
            except (typer.Exit, typer.Abort, typer.BadParameter, SystemExit):
                raise
            except KeyboardInterrupt:
                err(interrupted)
                raise typer.Exit(130) from None
            except (UserError, ValueError, OSError) as exc:
                if debug:
                    raise
                problems = getattr(exc, "problems", None)
                if problems:
                    err(f"Error: {str(exc).splitlines()[0]}")
                    print_problems(problems, stream_err=True)
                else:
                    err(f"Error: {describe(exc)}")
                raise typer.Exit(1) from None
            except Exception as exc:  # noqa: BLE001 - last resort: still no traceback for the user
                if debug:
                    raise
                err(f"Unexpected error: {type(exc).__name__}: {exc}\n"
                    "Set RMLP_DEBUG=1 to see the traceback, and please report it.")
                raise typer.Exit(2) from None

        return wrapper  # type: ignore[return-value]

    return decorate


def stop_on_ctrl_c(message: str) -> tuple[threading.Event, Callable[[], None]]:
    """A stop event set by the first Ctrl-C (work stops after the running batch); the second aborts.

    Returns the event and a function that restores the previous handler.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return stop, lambda: None

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err(f"\n{message} (Ctrl-C again to abort)...")

    previous = signal.signal(signal.SIGINT, handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return stop, restore
