"""The metadata table of the spec, read from the spec's own fields, and field-path access.

A *path* names one value of a spec: ``task``, ``blocks[1].decrement``, ``optimizer.learning_rate``,
``final_layers[0]``. A *pattern* names a field of every item of a list: ``blocks[].width``.
Widgets, validation bounds and search ranges all come from :func:`field_meta`.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec, OptimizerSpec

_NESTED: dict[str, type[BaseModel]] = {
    "blocks[]": BlockSpec,
    "base_model": BaseModelSpec,
    "optimizer": OptimizerSpec,
}


@dataclass(frozen=True)
class FieldMeta:
    """Everything the UI, the validator and the search need to know about one field."""

    pattern: str
    name: str
    label: str
    help: str
    kind: str  # "int", "float", "bool", "str", "choice", "int_list", "model", "model_list"
    default: Any
    optional: bool = False
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    step: float | None = None
    log: bool = False
    item_min: int | None = None
    item_max: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    length: int | None = None
    hidden: bool = False
    search: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def bounds_text(self) -> str:
        lo = "" if self.min is None else ("> " if self.exclusive_min else "≥ ") + f"{self.min:g}"
        hi = "" if self.max is None else ("< " if self.exclusive_max else "≤ ") + f"{self.max:g}"
        return " and ".join(t for t in (lo, hi) if t)


def _kind(annotation: Any) -> tuple[str, tuple[Any, ...], bool]:
    optional = False
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0]
        origin = get_origin(annotation)
    if origin is Literal:
        return "choice", get_args(annotation), optional
    if origin is list:
        (inner,) = get_args(annotation)
        if inner is int:
            return "int_list", (), optional
        return "model_list", (), optional
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", (), optional
    return {int: "int", float: "float", bool: "bool", str: "str"}.get(annotation, "str"), (), optional


def _default(info: Any) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value


@lru_cache(maxsize=1)
def all_fields() -> dict[str, FieldMeta]:
    """The metadata table: pattern -> FieldMeta, for every field of the spec."""
    table: dict[str, FieldMeta] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            pattern = f"{prefix}.{name}" if prefix else name
            extra = dict(info.json_schema_extra or {})
            kind, choices, optional = _kind(info.annotation)
            known = {k: extra.pop(k) for k in list(extra) if k in FieldMeta.__dataclass_fields__}
            table[pattern] = FieldMeta(
                pattern=pattern,
                name=name,
                label=info.title or name,
                help=info.description or "",
                kind=kind,
                default=_default(info),
                optional=optional,
                choices=choices,
                extra=extra,
                **known,
            )
            key = pattern + "[]" if kind == "model_list" else pattern
            if key in _NESTED:
                walk(_NESTED[key], key)

    walk(ModelSpec, "")
    return table


_INDEX = re.compile(r"\[\d+\]")


def pattern_of(path: str) -> str:
    """``blocks[2].width`` -> ``blocks[].width``; ``final_layers[0]`` -> ``final_layers``."""
    pattern = _INDEX.sub("[]", path)
    return pattern[:-2] if pattern.endswith("[]") else pattern


def field_meta(path: str) -> FieldMeta:
    """Metadata of the field a path (or pattern) names; KeyError for an unknown path."""
    return all_fields()[pattern_of(path)]


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in _TOKEN.findall(path):
        out.append(int(index) if index else name)
    return out


def get_path(spec: ModelSpec | dict, path: str) -> Any:
    """The value at ``path`` in a spec or its dict form."""
    node: Any = spec.to_dict() if isinstance(spec, ModelSpec) else spec
    for tok in _tokens(path):
        node = node[tok]
    return node


def set_path(spec: ModelSpec | dict, path: str, value: Any) -> ModelSpec:
    """A new spec with the value at ``path`` replaced (raises SpecError if the type is wrong)."""
    from rmlp.spec.io import parse_spec

    data = spec.to_dict() if isinstance(spec, ModelSpec) else copy.deepcopy(spec)
    tokens = _tokens(path)
    node: Any = data
    for tok in tokens[:-1]:
        if isinstance(tok, str) and node.get(tok) is None:
            node[tok] = {}
        node = node[tok]
    node[tokens[-1]] = value
    return parse_spec(data)
