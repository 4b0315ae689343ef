"""DOT text -> SVG without needing Graphviz's ``dot`` program (the notebook, the CLI, bundles, the app's export).

The layout engine is ``graphviz-pure`` (a self-contained Graphviz program shipped in a wheel for
Linux, macOS and Windows, one of rmlp's requirements). Where it is missing, a ``dot`` found on
PATH is used instead; where neither is there, the functions return None and the caller says so
or shows the DOT text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

__all__ = ["RENDER_TIMEOUT_S", "dot_to_svg", "layout_program", "svg_document"]

#: A layout that takes longer than this is abandoned (the DOT text is shown instead).
RENDER_TIMEOUT_S = 20.0
_PURE = "graphviz-pure"


def _script_dirs() -> list[Path]:
    """Where pip put the scripts of this Python (a kernel's venv need not be on PATH)."""
    dirs = [Path(sys.executable).parent]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    return dirs


def layout_program() -> str | None:
    """The program that lays out graphs here: graphviz-pure first, else ``dot`` on PATH, else None."""
    suffix = ".exe" if os.name == "nt" else ""
    for folder in _script_dirs():
        candidate = folder / (_PURE + suffix)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(_PURE) or shutil.which("dot")


@lru_cache(maxsize=64)
def _render(dot: str, program: str, timeout: float) -> str | None:
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or b"<svg" not in done.stdout:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def svg_document(dot: str, timeout: float = RENDER_TIMEOUT_S) -> str | None:
    """The SVG file of ``dot`` (with its XML prologue), or None when no layout program is here or it failed."""
    program = layout_program()
    return None if program is None else _render(dot, program, timeout)


def dot_to_svg(dot: str) -> str | None:
    """The drawing of ``dot`` as an ``<svg>`` element that can sit inside HTML, or None (see :func:`svg_document`)."""
    text = svg_document(dot)
    return None if text is None else text[text.index("<svg"):]
