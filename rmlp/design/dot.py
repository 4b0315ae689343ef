"""Writing Graphviz DOT: the colours of each role, escaping user text, nodes with unique field-path ids.

The drawing of a design (:mod:`rmlp.design.graph`) speaks through :class:`DotWriter`; every string a
user typed reaches the DOT text only through :func:`esc` (quoted) or :func:`html_text` (HTML-like
labels), so it is always shown literally.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from rmlp.spec.edit import field_meta

__all__ = [
    "BASE_COLOR", "BYPASS_COLOR", "INVALID_COLOR", "INVALID_FILL", "MAIN_COLOR", "MERGE_COLOR", "OTHER_COLOR",
    "OUTPUT_COLOR", "STYLES", "DotWriter", "Style", "esc", "field_path", "html_text", "label", "quote",
]

#: Border/arrow colour of the main path (blue).
MAIN_COLOR = "#1f5fa8"
#: Border/arrow colour of the bypass path (orange).
BYPASS_COLOR = "#d9730d"
#: Border colour of the Concatenate merge (green).
MERGE_COLOR = "#2e8b3e"
OTHER_COLOR = "#6b6b6b"
BASE_COLOR = "#9a7b00"
OUTPUT_COLOR = "#6a3d9a"
INVALID_COLOR = "#c62828"
INVALID_FILL = "#f9d6d5"


@dataclass(frozen=True)
class Style:
    color: str
    fill: str
    light: str  # fill of regulariser nodes (BN / Dropout)


STYLES: dict[str, Style] = {
    "main": Style(MAIN_COLOR, "#cfe2f7", "#eaf2fb"),
    "bypass": Style(BYPASS_COLOR, "#fdd9b5", "#fff0e0"),
    "merge": Style(MERGE_COLOR, "#cdebd3", "#cdebd3"),
    "other": Style(OTHER_COLOR, "#e9e9e9", "#f6f6f6"),
    "base": Style(BASE_COLOR, "#fff1bf", "#fff1bf"),
    "output": Style(OUTPUT_COLOR, "#e4d9f1", "#e4d9f1"),
}

EDGE_ATTRS: dict[str, str] = {
    "main": f'color="{MAIN_COLOR}", penwidth=1.6, weight=8, tooltip="main path"',
    "bypass": f'color="{BYPASS_COLOR}", penwidth=1.6, style=dashed, weight=1, tooltip="bypass path"',
    "other": f'color="{OTHER_COLOR}", weight=4',
}


# ----------------------------------------------------------------------------- escaping

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INDEX = re.compile(r"\[\d+\]")


@lru_cache(maxsize=4096)
def _escape(text: str) -> str:
    return _CONTROL.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')


def esc(text: object) -> str:
    """Text made safe inside a double-quoted DOT string, shown literally (remembered: labels repeat)."""
    return _escape(str(text))


def quote(text: object) -> str:
    """A double-quoted DOT string."""
    return f'"{esc(text)}"'


def label(*lines: object) -> str:
    """A quoted DOT label with one (escaped) line per argument."""
    return '"' + "\\n".join(esc(line) for line in lines) + '"'


def html_text(text: object) -> str:
    """Text made safe inside an HTML-like label."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=True)


def field_path(node_id: str) -> str:
    """The spec field path of a node ``id`` (``blocks[1].width#2`` -> ``blocks[1].width``)."""
    return node_id.split("#", 1)[0]


def _control_hint(path: str) -> str:
    """' Set with “<widget label>”.' for a field path, or '' when the path is unknown."""
    try:
        return f" Set with “{field_meta(path).label}”."
    except KeyError:
        return ""


# ----------------------------------------------------------------------------- DOT writer


class DotWriter:
    """Collects DOT lines; names nodes n0, n1, ... and keeps node ids unique."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.count = 0
        self._ids: dict[str, int] = {}
        self._hints: dict[str, str] = {}  # by field path, and by path with its indices left out

    def emit(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def _unique_id(self, path: str) -> str:
        seen = self._ids.get(path, 0) + 1
        self._ids[path] = seen
        return path if seen == 1 else f"{path}#{seen}"

    def _hint(self, path: str) -> str:
        hint = self._hints.get(path)
        if hint is None:
            key = _INDEX.sub("[]", path)
            if key not in self._hints:
                self._hints[key] = _control_hint(path)
            hint = self._hints[path] = self._hints[key]
        return hint

    def node(
        self,
        label: str,
        tooltip: str,
        role: str,
        field: str | None,
        *,
        reg: bool = False,
        invalid: bool = False,
        html_label: bool = False,
        **extra: str | None,
    ) -> str:
        """Write one node; ``label`` is already quoted (or ``<...>``); ``extra`` None values are left out."""
        name = f"n{self.count}"
        self.count += 1
        if field:
            tooltip += self._hint(field)
        attrs = [f"label={label}", f"tooltip={quote(tooltip)}"]
        if field:
            attrs.append(f"id={quote(self._unique_id(field))}")
        attrs.append(f'class="{role}"')
        if html_label:
            attrs.append('shape=plaintext, style="", margin=0')
        else:
            style = STYLES[role]
            if invalid:
                attrs.append(f'color="{INVALID_COLOR}", fillcolor="{INVALID_FILL}", penwidth=2.2')
            else:
                attrs.append(f'color="{style.color}", fillcolor="{style.light if reg else style.fill}"')
            if reg:
                attrs.append('fontsize=9, height=0.22, margin="0.06,0.02"')
        attrs.extend(f"{key}={quote(value)}" for key, value in extra.items() if value is not None)
        self.emit(f"{name} [{', '.join(attrs)}];")
        return name

    def edge(self, tail: str, head: str, role: str = "other") -> None:
        self.emit(f"{tail} -> {head} [{EDGE_ATTRS[role]}];")

    def open_cluster(self, name: str, label: str, tooltip: str, field: str | None = None) -> None:
        self.emit(f"subgraph {name} {{")
        self.depth += 1
        self.emit(f"label={quote(label)};")
        self.emit(f"tooltip={quote(tooltip)};")
        if field:
            self.emit(f"id={quote(self._unique_id(field))};")
        self.emit('style="rounded,dashed"; color="#9a9a9a"; fontsize=11; labeljust=l;')

    def close_cluster(self) -> None:
        self.depth -= 1
        self.emit("}")
