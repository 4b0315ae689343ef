"""Helpers for the AppTest tests: open pages, tabs and popovers; read charts, figures and alerts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "designer_app" / "app.py"
PAGES = {name: f"../pages/{name}.py" for name in ("design", "data", "train", "runs", "export", "learn")}


def open_page(at: AppTest, name: str) -> AppTest:
    """Run the app (once if needed) and switch to a page."""
    if not at._tree:  # noqa: SLF001 - AppTest has no public "has run" flag
        at.run()
    return at.switch_page(PAGES[name]).run()


def walk(node: Any) -> Iterator[Any]:
    """Every element and block below ``node``, depth first."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def charts(at: AppTest, kind: str) -> list[Any]:
    """The unknown elements of a kind ('graphviz_chart', 'plotly_chart'): their ``proto.spec`` holds the data."""
    return [e for e in walk(at.main) if getattr(e, "type", "") == kind]


def dot_of(at: AppTest) -> str:
    """The DOT text given to the first graphviz chart of the page."""
    found = charts(at, "graphviz_chart")
    assert found, "no graph on the page"
    return found[0].proto.spec


def container_of(at: AppTest, predicate: Any) -> Any:
    """The innermost block whose direct children include an element matching ``predicate``."""
    best = None
    for node in walk(at.main):
        children = getattr(node, "children", {})
        if any(predicate(c) for c in children.values()):
            best = node
    return best


def alerts_in(node: Any, kind: str = "error") -> list[str]:
    """The texts of the alerts of a kind ('error', 'warning', 'info', 'success') below ``node``."""
    return [e.value for e in walk(node) if getattr(e, "type", "") == kind and hasattr(e, "icon")]


def metric_value(at: AppTest, label: str) -> str:
    for metric in at.main.metric:
        if metric.label == label:
            return metric.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.main.metric]}")


def figure_value(at: AppTest, label: str) -> str:
    """A figure of the Design page's summary grid (big number under a label)."""
    for markdown in at.main.markdown:
        found = re.search(rf'data-figure="{re.escape(html.escape(label))}".*?line-height:1.25">([^<]*)</div>',
                          markdown.value)
        if found:
            return html.unescape(found.group(1))
    raise AssertionError(f"no figure {label!r} on the page")


def sidebar_parameters(at: AppTest) -> str:
    return next(m.value for m in at.sidebar.metric if m.label == "Parameters")


def open_section(at: AppTest, label: str) -> AppTest:
    """Open a tab of the Design page's controls (only the open tab is drawn)."""
    at.session_state["design_section"] = label
    return at.run()


def open_popover(at: AppTest, key: str) -> AppTest:
    """Open a popover whose content is drawn only when open."""
    at.session_state[key] = True
    return at.run()


def widget(at: AppTest, kind: str, label: str) -> Any:
    """The first widget of a kind ('text_input', 'selectbox', ...) with this label."""
    for element in getattr(at, kind):
        if element.label == label:
            return element
    raise AssertionError(f"no {kind} labelled {label!r}")
