"""rmlp: design, check, build, train, search and export residual MLPs.

``import rmlp`` stays light: the design path (spec, validation, summary, graph) never imports
TensorFlow, Keras or Streamlit. Keras is imported only when a model is built, trained or saved;
the names that need it (``build_model``, ``ResidualMLP``, ``train`` ...) load their module on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from rmlp.design.summary import Summary, summarize
from rmlp.design.validate import is_valid, validate
from rmlp.runs.quiet import quiet_tensorflow_import
from rmlp.spec.display import set_loader as _set_display_loader
from rmlp.spec.edit import field_meta, get_path, set_path
from rmlp.spec.model import (
    SPEC_VERSION,
    BaseModelSpec,
    BlockSpec,
    ModelSpec,
    OptimizerSpec,
    load_spec,
    parse_spec,
    save_spec,
)
from rmlp.spec.problems import Problem, SettingsError, SpecError

quiet_tensorflow_import(set_level=False)  # TensorFlow's start-up lines and retracing notes stay out of user output

__version__ = "0.1.0"

#: Names loaded on first use, and the module each one lives in.
_LAZY = {
    "to_dot": "rmlp.design.graph",
    "build_model": "rmlp.keras.build",
    "model_to_dot": "rmlp.keras.build",
    "ResidualMLP": "rmlp.keras.original",
    "TrainConfig": "rmlp.runs.config",
    "train": "rmlp.runs.train",
    "resume": "rmlp.runs.resume",
    "load_data": "rmlp.data",
    "set_bins": "rmlp.keras.bins",
}

__all__ = [
    "SPEC_VERSION", "BaseModelSpec", "BlockSpec", "ModelSpec", "OptimizerSpec", "Problem", "SettingsError",
    "SpecError", "Summary", "field_meta", "get_path", "is_valid", "load_spec", "parse_spec", "save_spec",
    "set_path", "summarize", "validate", *sorted(_LAZY),
]


def _load_notebook() -> None:
    """Import the notebook package, which registers how designs, runs and searches show themselves."""
    import rmlp.notebook  # noqa: F401


_set_display_loader(_load_notebook)


def __getattr__(name: str) -> Any:
    if name == "runs":  # rmlp.runs.list(), rmlp.runs.compare(...) after a plain `import rmlp`
        return importlib.import_module("rmlp.runs")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rmlp' has no attribute {name!r}")
