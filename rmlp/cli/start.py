"""Getting started: ``rmlp app`` (the designer, with its own Streamlit settings) and ``rmlp samples``."""

from __future__ import annotations

import ctypes
import importlib.util
import ipaddress
import math
import os
import secrets
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from rmlp.cli.errors import UserError, err, guarded
from rmlp.cli.options import settings_options
from rmlp.data.samples import BASE_MODEL, sample, sample_dir, samples
from rmlp.search.config import SearchError
from rmlp.search.storage import storage_kind
from rmlp.spec.fields import parse_settings
from rmlp.spec.server import ENV_ALLOW_STORAGE, ENV_EXPOSED, ENV_PASSWORD, ENV_SETTINGS, ServerLimits

__all__ = ["app_script", "is_loopback", "register", "run_forwarding_signals", "streamlit_command"]

#: The app's Streamlit settings, beside its entry point.
SETTINGS_FILE = "streamlit.toml"
#: Where ``rmlp app`` listens unless told otherwise: this machine only.
LOOPBACK = "127.0.0.1"

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
    @settings_options(ServerLimits)
    def run_app(
        ctx: typer.Context,
        port: Annotated[int | None, typer.Option(help="Port of the app server.")] = None,
        host: Annotated[str, typer.Option("--host", "--address", help="Address the server listens on: "
                                          "127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one "
                                          "address of this machine.")] = LOOPBACK,
        no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve other machines without a password "
                                              "(only on a network you trust).")] = False,
        allow_storage: Annotated[list[str] | None, typer.Option(
            "--allow-storage", help="A storage URL (sqlite:///..., postgresql://...) visitors may use for "
            "studies besides the server's studies folder; give it once per URL.", show_default=False)] = None,
        headless: Annotated[bool, typer.Option("--headless", help="Do not open a browser.")] = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Open the designer app in the browser (Streamlit, with the app's own settings).

        The server listens on 127.0.0.1 (this machine only) unless --host says otherwise; then visitors
        need the password in the RMLP_APP_PASSWORD environment variable, or the token printed at
        start-up, unless --no-auth is given. The limits below apply to every visitor. Further Streamlit
        options can follow, e.g. `rmlp app -- --server.fileWatcherType none`.

        Examples:

            rmlp app

            rmlp app --port 8502 --headless

            RMLP_APP_PASSWORD=... rmlp app --host 0.0.0.0 --max-columns 50000
        """
        if importlib.util.find_spec("streamlit") is None:
            raise UserError("The app needs Streamlit: pip install 'rmlp[app]'.")
        limits = parse_settings(ServerLimits, settings or {})
        env = dict(os.environ, **{ENV_SETTINGS: limits.to_env()})
        env[ENV_ALLOW_STORAGE] = "\n".join(_storage_urls(allow_storage or []))
        password = os.environ.get(ENV_PASSWORD, "")
        if not is_loopback(host) and not password and not no_auth:
            password = secrets.token_urlsafe(18)
            err(f"The app listens on {host}, so visitors need this token to get in: {password}\n"
                f"(Set {ENV_PASSWORD} to choose a password, or pass --no-auth on a network you trust.)")
        elif not is_loopback(host) and no_auth and not password:
            err(f"Warning: the app listens on {host} without a password (--no-auth): anyone who can reach "
                "this machine can use it.")
        env[ENV_EXPOSED] = "" if is_loopback(host) else "1"
        if no_auth:
            env.pop(ENV_PASSWORD, None)
        elif password:
            env[ENV_PASSWORD] = password
        extra = ["--server.address", host, "--server.maxUploadSize", str(max(1, math.ceil(limits.upload_mb)))]
        if port is not None:
            extra += ["--server.port", str(port)]
        if headless:
            extra += ["--server.headless", "true"]
        raise typer.Exit(run_forwarding_signals(streamlit_command(app_script(), *extra, *ctx.args), env))


def _storage_urls(urls: list[str]) -> list[str]:
    """The ``--allow-storage`` URLs, each checked to be a storage URL (UserError otherwise)."""
    for url in urls:
        try:
            storage_kind(url)
        except SearchError as exc:
            raise UserError(f"--allow-storage {url!r}: {exc}") from None
    return [url.strip() for url in urls]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip()).is_loopback
    except ValueError:
        return False


def _end_with_parent() -> None:
    """In the child, before Streamlit starts: on Linux, have the kernel send it SIGTERM should this process
    die without passing a signal on (SIGKILL); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_forwarding_signals(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` as a child, pass SIGTERM, SIGINT and SIGHUP on to it, and wait for it to end.

    The child's exit status (a signal's number as 128 + n) is returned; the child never outlives this process
    because of a signal sent to it.
    """
    extra: dict[str, Any] = {"preexec_fn": _end_with_parent} if os.name == "posix" else {}
    child = subprocess.Popen(command, env=env, **extra)  # noqa: S603 - our own interpreter and Streamlit
    forwarded = [s for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)) if s is not None]

    def forward(signum: int, frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in forwarded}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - the handler above replaces the default one
                continue
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - code if code < 0 else code
