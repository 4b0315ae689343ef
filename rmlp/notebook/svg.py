"""DOT text -> SVG in this process's Python, without the ``dot`` program.

The layout engine is ``graphviz-pure`` (a self-contained Graphviz program shipped in a wheel for
Linux, macOS and Windows, installed with rmlp's notebook extra). Where it is missing, a ``dot``
found on PATH is used instead; where neither is there, :func:`dot_to_svg` returns None and the
caller shows the DOT text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

__all__ = ["RENDER_TIMEOUT_S", "dot_to_svg", "layout_program"]

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
def _render(dot: str, program: str) -> str | None:
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                              timeout=RENDER_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or b"<svg" not in done.stdout:
        return None
    text = done.stdout.decode("utf-8", errors="replace")
    return text[text.index("<svg"):]  # without the XML prologue, so it can sit inside HTML


def dot_to_svg(dot: str) -> str | None:
    """The SVG drawing of ``dot`` (an ``<svg>`` element), or None when no layout program is here."""
    program = layout_program()
    return None if program is None else _render(dot, program)
