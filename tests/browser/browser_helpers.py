"""Helpers for the browser tests: free ports, health checks, settling and screenshots."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("RMLP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_command(rmlp: list[str], port: int) -> list[str]:
    """``rmlp app`` headless on ``port`` of 127.0.0.1, without a file watcher (``rmlp`` is how to run it)."""
    return [*rmlp, "app", "--headless", "--port", str(port), "--address", "127.0.0.1", "--",
            "--server.fileWatcherType", "none"]


@contextlib.contextmanager
def serving(command: list[str], port: int, cwd: Path, env: dict[str, str], log: Path,
            ready: Callable[[str, subprocess.Popen], None] | None = None) -> Iterator[str]:
    """Run a server command until the block ends; yields its base URL once ``ready`` (default: Streamlit's
    health check) returns."""
    with log.open("w") as out:
        # its own process group: the server and whatever it started (Streamlit under `rmlp app`) stop together
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            (ready or wait_healthy)(url, process)
            yield url
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group, then SIGKILL to what is left of it after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                os.killpg(process.pid, 0)  # anyone left in the group?
            except ProcessLookupError:
                process.wait(5)
                return
            process.poll()
            time.sleep(0.2)
    process.wait(5)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    """Poll Streamlit's health endpoint until it answers 'ok'."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {timeout:.0f} s")


def settle(page: Any, timeout_ms: int = 10_000) -> None:
    """Give a redraw a moment to finish: wait (at most ``timeout_ms``) until no element is marked stale."""
    try:
        page.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0",
                               timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - a polling fragment may keep redrawing; the shot is taken anyway
        pass
    page.wait_for_timeout(300)


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the whole page to test-artifacts/screenshots/<name>.png.

    Streamlit scrolls inside its main container, so the viewport is made as tall as the content
    for the shot (Playwright's full_page only sees the window) and restored afterwards.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    settle(page)
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stAppViewContainer\"], section.main')).map(e => e.scrollHeight), window.innerHeight)")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(500)
    settle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
