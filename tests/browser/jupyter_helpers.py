"""Helpers for the JupyterLab browser test: an offline JupyterLab server, notebooks, and driving the lab UI."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from browser_helpers import serving

#: Lab settings that keep the lab offline and every cell in the page (no windowing), so outputs can be read.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
#: Where a notebook's kernel says whether it is idle.
INDICATOR = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator"


def lab_env(home: Path) -> dict[str, str]:
    """Environment for a JupyterLab whose config, data, runtime and settings live under ``home``.

    The only kernel spec it sees first is ``python3`` running this interpreter (``sys.executable``).
    """
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "share")}
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    kernel = dirs["share"] / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (rmlp venv)", "language": "python"}))
    for plugin, values in LAB_SETTINGS.items():
        target = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1",
        JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTER_PATH=str(dirs["share"] / "jupyter"),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]), JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
    )


def lab_command(port: int, token: str, root: Path) -> list[str]:
    """``jupyter lab`` on 127.0.0.1:``port`` serving ``root``, with no browser, news or update checks."""
    return [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
        "--ServerApp.port_retries=0", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
    ]


def jupyter_lab(port: int, token: str, root: Path, home: Path, log: Path) -> contextlib.AbstractContextManager[str]:
    """Run JupyterLab until the block ends; yields its base URL once its API answers."""
    return serving(lab_command(port, token, root), port, root, lab_env(home), log,
                   ready=lambda url, process: wait_answering(f"{url}/api/status?token={token}", process, log))


def wait_answering(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Poll ``url`` until it answers 200 (the server's log is in the error when it does not)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer at {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write a notebook of ``(kind, source)`` cells (kind "code", "markdown" or "raw") for the python3 kernel."""
    import nbformat

    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
            "raw": nbformat.v4.new_raw_cell}
    book = nbformat.v4.new_notebook(cells=[make[kind](source) for kind, source in cells])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (rmlp venv)", "language": "python"}
    nbformat.write(book, str(path))
    return path


# ---------------------------------------------------------------------- driving the lab
def wait_kernel(page: Any, status: str = "idle", timeout_ms: int = 120_000) -> None:
    """Wait until the open notebook's kernel reports ``status`` (idle, busy, …)."""
    page.wait_for_function(
        "([sel, st]) => { const e = document.querySelector(sel); return e && e.dataset.status === st; }",
        arg=[INDICATOR, status], timeout=timeout_ms)


def menu(page: Any, top: str, item: str) -> None:
    """Click a command in the lab's menu bar (``menu(page, "Run", "Run All Cells")``)."""
    page.locator(".lm-MenuBar-item", has_text=top).first.click()
    entry = page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel").filter(has_text=item).first
    entry.wait_for(state="visible", timeout=10_000)
    entry.click()


def cell(page: Any, index: int) -> Any:
    """The ``index``-th cell (0-based) of the open notebook."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def run_cell(page: Any, index: int) -> None:
    """Select a cell by clicking its prompt area, then run it in place (Ctrl+Enter)."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Control+Enter")


def shot(page: Any, folder: Path, name: str) -> Path:
    """Screenshot the lab with the window as tall as the notebook (scrolled to its top), so every cell shows."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => { const n = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
        "; if (!n) return window.innerHeight; n.scrollTop = 0; return n.scrollHeight + 200; }")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6000))})
    page.wait_for_timeout(700)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def cell_shot(page: Any, folder: Path, name: str, index: int) -> Path:
    """Screenshot one cell (its code and its outputs) at the window's size."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    target.screenshot(path=str(path))
    return path
