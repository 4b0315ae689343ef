"""Editing a spec one value at a time: its metadata table, and get/set by field path."""

from __future__ import annotations

import copy
from typing import Any

from rmlp.spec.fields import FieldMeta, field_table
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.paths import get_in, pattern_of, set_in

__all__ = ["field_meta", "get_path", "set_path", "spec_fields"]


def spec_fields() -> dict[str, FieldMeta]:
    """The metadata table of the model spec: pattern -> FieldMeta, nested models included."""
    return field_table(ModelSpec)


def field_meta(path: str) -> FieldMeta:
    """Metadata of the spec field a path (or pattern) names; KeyError for an unknown path."""
    return spec_fields()[pattern_of(path)]


def get_path(spec: ModelSpec | dict[str, Any], path: str) -> Any:
    """The value at ``path`` in a spec or its dict form."""
    return get_in(spec.to_dict() if isinstance(spec, ModelSpec) else spec, path)


def set_path(spec: ModelSpec | dict[str, Any], path: str, value: Any) -> ModelSpec:
    """A new spec with the value at ``path`` replaced (raises SpecError if the type is wrong)."""
    data = spec.to_dict() if isinstance(spec, ModelSpec) else copy.deepcopy(spec)
    set_in(data, path, value)
    return parse_spec(data)
