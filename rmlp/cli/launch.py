"""Starting the designer app: ``rmlp app``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from rmlp.cli.errors import UserError, guarded

__all__ = ["register"]

_guard = guarded()


def register(app: typer.Typer) -> None:
    """Add ``app`` (the designer) to the command line."""

    @app.command("app")
    @_guard
    def run_app(
        port: Annotated[int | None, typer.Option(help="Port of the app server.")] = None,
        headless: Annotated[bool, typer.Option("--headless", help="Do not open a browser.")] = False,
    ) -> None:
        """Open the designer app in the browser (runs `streamlit run designer_app/app.py`).

        Examples:

            rmlp app

            rmlp app --port 8502 --headless
        """
        script = Path(__file__).resolve().parents[2] / "designer_app" / "app.py"
        if not script.is_file():
            found = importlib.util.find_spec("designer_app")
            if found is not None and found.origin:
                script = Path(found.origin).with_name("app.py")
        if not script.is_file():
            raise UserError("The designer app (designer_app/app.py) is not installed with this copy of rmlp.")
        if importlib.util.find_spec("streamlit") is None:
            raise UserError("The app needs Streamlit: pip install 'rmlp[app]'.")
        command = [sys.executable, "-m", "streamlit", "run", str(script)]
        if port is not None:
            command += ["--server.port", str(port)]
        if headless:
            command += ["--server.headless", "true"]
        raise typer.Exit(subprocess.call(command))
