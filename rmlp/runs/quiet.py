"""TensorFlow's start-up lines kept off a command-line user's terminal (oneDNN, absl, CPU instructions).

TensorFlow 2.21 writes them from C++ while it is imported, before its log level applies, so
``TF_CPP_MIN_LOG_LEVEL`` alone does not stop them. :func:`quiet_tensorflow_import` installs an
import hook: the first ``import tensorflow`` (directly or through Keras) runs with the process's
stderr captured, and every captured line that is not one of those start-up lines is written back
afterwards, so real errors and warnings still show. Nothing is imported until TensorFlow is,
so commands that never need it stay fast. ``import rmlp`` installs the hook too (without touching
the log level), and drops TensorFlow's "triggered tf.function retracing" notes: a library user's
notebook or log shows only what they asked for.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

__all__ = ["CHATTER", "RETRACING", "filtered_stderr", "quiet_tensorflow_import"]

#: The start-up lines that are dropped.
CHATTER = re.compile(r"oneDNN custom operations|absl::InitializeLog\(\)|cpu_feature_guard|This TensorFlow binary"
                     r"|To enable the following instructions|rebuild TensorFlow with the appropriate compiler")

#: TensorFlow's Python-side note about functions traced again (Keras traces per model and shape by design).
RETRACING = "triggered tf.function retracing"


class _NoRetracing(logging.Filter):
    """Drops TensorFlow's retracing notes from the ``tensorflow`` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING not in record.getMessage()


@contextlib.contextmanager
def filtered_stderr(pattern: re.Pattern[str] = CHATTER) -> Iterator[None]:
    """Capture file descriptor 2 for the block, then write back the lines that do not match ``pattern``."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines = tmp.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not pattern.search(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` with its start-up lines filtered out."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)
        logging.getLogger("absl").setLevel(logging.ERROR)

    def __getattr__(self, name: str) -> Any:  # resources and the like: the real loader's
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, with the real finders, and wraps its loader."""

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import(set_level: bool = True) -> None:
    """Hide TensorFlow's start-up lines from the first ``import tensorflow`` on, and its retracing notes.

    ``set_level`` also sets ``TF_CPP_MIN_LOG_LEVEL=2`` (when unset), hiding TensorFlow's C++ info and
    warning lines for the rest of the process (the command line does; the library does not).
    """
    if set_level:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracing) for f in logger.filters):
        logger.addFilter(_NoRetracing())
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder())
