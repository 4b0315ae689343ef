"""What differs between two specs (or any two settings documents), named by field path.

``spec_diff(a, b)`` lists one :class:`FieldChange` per differing value: ``blocks[0].width: 128 → 64``,
``final_dropout: 0.1 → 0.3``. Objects are compared field by field; lists of objects (the blocks)
item by item, an item only one side has being one change (``blocks[2]: none → {...}``); lists of
numbers (``final_layers``) are one value. Pure data: no Keras, usable on the design path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

__all__ = ["FieldChange", "diff_documents", "format_value", "spec_diff"]


def format_value(value: Any) -> str:
    """A value as a change shows it: ``none``, numbers as typed, text as is, the rest as compact JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, separators=(", ", ": "), default=str)


@dataclass(frozen=True)
class FieldChange:
    """One differing value: its field path, the value in the first document and in the second (None: absent)."""

    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {format_value(self.before)} → {format_value(self.after)}"


def _plain(doc: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(doc, BaseModel):
        return doc.model_dump(mode="json")
    return dict(doc)


def _walk(a: Any, b: Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(FieldChange(sub, None, b[key]))
            elif key not in b:
                out.append(FieldChange(sub, a[key], None))
            else:
                _walk(a[key], b[key], sub, out)
        return
    objects = (isinstance(a, list) and isinstance(b, list) and (a or b)
               and all(isinstance(v, Mapping) for v in [*a, *b]))
    if objects:
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(a):
                out.append(FieldChange(sub, None, b[i]))
            elif i >= len(b):
                out.append(FieldChange(sub, a[i], None))
            else:
                _walk(a[i], b[i], sub, out)
        return
    if not _same(a, b):
        out.append(FieldChange(path, a, b))


def _same(a: Any, b: Any) -> bool:
    """Equal values, with NaN equal to NaN and 1 equal to 1.0 (not to True)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def diff_documents(a: BaseModel | Mapping[str, Any], b: BaseModel | Mapping[str, Any]) -> list[FieldChange]:
    """Every differing value of two settings documents (pydantic models or their plain dicts), by field path."""
    out: list[FieldChange] = []
    _walk(_plain(a), _plain(b), "", out)
    return out


def spec_diff(a: BaseModel | Mapping[str, Any], b: BaseModel | Mapping[str, Any]) -> list[FieldChange]:
    """What changes from spec ``a`` to spec ``b``, one :class:`FieldChange` per differing field path.

    The format version (``spec_version``) is left out: it is the file's, not the design's.
    """
    return [c for c in diff_documents(a, b) if c.path != "spec_version"]
