"""Field paths: one name for every value of a settings document (a spec, a config, a space entry).

A *path* names one value: ``task``, ``blocks[1].decrement``, ``optimizer.learning_rate``,
``final_layers[0]``. A *pattern* names a field of every item of a list: ``blocks[].width``.
These helpers work on the plain dict form (``model_dump(mode="json")``) of any settings model.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["get_in", "is_within", "pattern_of", "set_in", "tokens", "values_at"]

_INDEX = re.compile(r"\[\d+\]")
_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d*)\]")


def pattern_of(path: str) -> str:
    """``blocks[2].width`` -> ``blocks[].width``; ``final_layers[0]`` -> ``final_layers``."""
    pattern = _INDEX.sub("[]", path)
    return pattern[:-2] if pattern.endswith("[]") else pattern


def tokens(path: str) -> list[str | int]:
    """``blocks[1].width`` -> ``["blocks", 1, "width"]``."""
    out: list[str | int] = []
    for name, index in _TOKEN.findall(path):
        out.append(int(index) if index else name)
    return out


def get_in(data: Any, path: str) -> Any:
    """The value at ``path`` in a nested dict/list (KeyError, IndexError or TypeError when absent)."""
    node = data
    for tok in tokens(path):
        node = node[tok]
    return node


def set_in(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at ``path`` in place, creating a missing (or None) nested object on the way."""
    toks = tokens(path)
    node: Any = data
    for tok in toks[:-1]:
        if isinstance(tok, str) and node.get(tok) is None:
            node[tok] = {}
        node = node[tok]
    node[toks[-1]] = value


def values_at(data: Any, pattern: str) -> list[tuple[str, Any]]:
    """(path, value) of every value a pattern names in a nested dict; absent or None parts are skipped."""
    out: list[tuple[str, Any]] = [("", data)]
    for part in pattern.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        found = []
        for path, node in out:
            if not isinstance(node, dict) or node.get(key) is None:
                continue
            sub = f"{path}.{key}" if path else key
            if many:
                found += [(f"{sub}[{i}]", v) for i, v in enumerate(node[key])]
            else:
                found.append((sub, node[key]))
        out = found
    return out


def is_within(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or lies inside it (``blocks[0].width`` is within ``blocks``)."""
    return path == prefix or path.startswith((prefix + "[", prefix + "."))
