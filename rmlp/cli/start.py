"""Getting started: ``rmlp app`` (the designer, with its own Streamlit settings) and ``rmlp samples``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from rmlp.cli.errors import UserError, guarded
from rmlp.data.samples import BASE_MODEL, sample, sample_dir, samples

__all__ = ["app_script", "register", "streamlit_command"]

#: The app's Streamlit settings, beside its entry point.
SETTINGS_FILE = "streamlit.toml"

_guard = guarded()


def app_script() -> Path:
    """The designer's entry point ``designer_app/app.py`` (UserError when this copy has no app)."""
    found = importlib.util.find_spec("designer_app")
    script = Path(found.origin).with_name("app.py") if found is not None and found.origin else None
    if script is None or not script.is_file():
        raise UserError("The designer app (designer_app/app.py) is not installed with this copy of rmlp: "
                        "pip install 'rmlp[app]'.")
    return script


def _flags(settings: dict[str, Any]) -> list[str]:
    """``{"server": {"maxUploadSize": 200}}`` -> ``["--server.maxUploadSize", "200"]``."""
    out = []
    for section, values in settings.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            out += [f"--{section}.{key}", text]
    return out


def streamlit_command(script: Path, *extra: str) -> list[str]:
    """``python -m streamlit run SCRIPT`` with the app's settings, then ``extra`` options (which win)."""
    settings = script.with_name(SETTINGS_FILE)
    flags = _flags(tomllib.loads(settings.read_text(encoding="utf-8"))) if settings.is_file() else []
    return [sys.executable, "-m", "streamlit", "run", str(script), *flags, *extra]


def register(app: typer.Typer) -> None:
    """Add ``app`` (the designer) and ``samples`` to the command line."""

    @app.command("samples")
    @_guard
    def list_samples(
        path_of: Annotated[str | None, typer.Option("--path", help="Print only the path of this sample "
                                                    "(e.g. wine.csv), for scripts.", show_default=False)] = None,
    ) -> None:
        """The sample data sets that ship with rmlp, their target columns and where they are.

        Examples:

            rmlp samples

            rmlp train spec.json --data "$(rmlp samples --path wine.csv)" --target target
        """
        if path_of is not None:
            found = sample(path_of)
            if found is None or not found.path.is_file():
                names = ", ".join(s.file for s in samples())
                raise UserError(f"There is no sample {path_of!r}. The samples are: {names}.")
            typer.echo(str(found.path))
            return
        shown = samples()
        if not shown:
            raise UserError(f"No sample data is installed (looked in {sample_dir()}).")
        width = max(len(s.file) for s in shown)
        for item in shown:
            target = f"--target {item.target}" if item.target else "(images)"
            typer.echo(f"{item.file:<{width}}  {target:<22}  {item.title}")
        base = sample_dir() / BASE_MODEL
        if base.is_file():
            typer.echo(f"{BASE_MODEL:<{width}}  {'(base model)':<22}  A small CNN pre-trained on the digits; "
                       "cut it at 'features'.")
        typer.echo(f"Folder: {sample_dir()}")

    @app.command("app", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    @_guard
    def run_app(
        ctx: typer.Context,
        port: Annotated[int | None, typer.Option(help="Port of the app server.")] = None,
        address: Annotated[str | None, typer.Option(help="Address the server listens on (e.g. 127.0.0.1).")] = None,
        headless: Annotated[bool, typer.Option("--headless", help="Do not open a browser.")] = False,
    ) -> None:
        """Open the designer app in the browser (Streamlit, with the app's own settings).

        Further Streamlit options can follow, e.g. `rmlp app -- --server.fileWatcherType none`.

        Examples:

            rmlp app

            rmlp app --port 8502 --headless
        """
        if importlib.util.find_spec("streamlit") is None:
            raise UserError("The app needs Streamlit: pip install 'rmlp[app]'.")
        extra = []
        if port is not None:
            extra += ["--server.port", str(port)]
        if address is not None:
            extra += ["--server.address", address]
        if headless:
            extra += ["--server.headless", "true"]
        raise typer.Exit(subprocess.call(streamlit_command(app_script(), *extra, *ctx.args)))
