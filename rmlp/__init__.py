"""rmlp: design, check, build, train, search and export residual MLPs.

``import rmlp`` stays light: the design path (spec, validation, summary, graph) never imports
TensorFlow, Keras or Streamlit. Keras is imported only when a model is built, trained or saved.
"""

from __future__ import annotations

from typing import Any

from rmlp.spec.io import load_spec, parse_spec, save_spec
from rmlp.spec.fields import field_meta, get_path, set_path
from rmlp.spec.problems import Problem, SpecError
from rmlp.spec.model import SPEC_VERSION, BaseModelSpec, BlockSpec, ModelSpec, OptimizerSpec
from rmlp.design.summary import Summary, summarize
from rmlp.design.validate import is_valid, validate

__version__ = "0.1.0"

__all__ = [
    "SPEC_VERSION", "BaseModelSpec", "BlockSpec", "ModelSpec", "OptimizerSpec", "Problem", "ResidualMLP",
    "SpecError", "Summary", "build_model", "field_meta", "get_path", "is_valid", "load_spec",
    "model_to_dot", "parse_spec", "save_spec", "set_path", "summarize", "to_dot", "validate",
]


def build_model(spec: ModelSpec | dict, compile: bool = True) -> Any:
    """A compiled Keras model for ``spec`` (imports Keras). See :mod:`rmlp.keras.build`."""
    from rmlp.keras.build import build_model as _build

    return _build(spec, compile=compile)


def to_dot(spec: ModelSpec, **kwargs: Any) -> str:
    """Graphviz DOT of the design, without Keras. See :mod:`rmlp.design.graph`."""
    from rmlp.design.graph import to_dot as _to_dot

    return _to_dot(spec, **kwargs)


def model_to_dot(model: Any) -> str:
    """Graphviz DOT of a built Keras model (base model folded into one node)."""
    from rmlp.design.graph import model_to_dot as _model_to_dot

    return _model_to_dot(model)


def __getattr__(name: str) -> Any:
    if name == "ResidualMLP":
        from rmlp.keras.original import ResidualMLP

        return ResidualMLP
    raise AttributeError(f"module 'rmlp' has no attribute {name!r}")
