"""HTML views of rmlp objects for Jupyter: a design card, figures, problems, a finished run.

Pure functions returning HTML text (no IPython, no TensorFlow), so they are tested directly and
reused by the designer widget. Every user-typed string goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

from rmlp.design.graph import to_dot
from rmlp.design.summary import DEFAULT_BATCH_SIZE, Summary, summarize
from rmlp.design.svg import dot_to_svg
from rmlp.design.validate import validate
from rmlp.spec.model import ModelSpec
from rmlp.spec.problems import Problem
from rmlp.spec.units import count

__all__ = ["graph_html", "metrics_html", "problems_html", "run_html", "spec_html", "summary_html", "summary_of"]

_STYLE = (
    "<style>.rmlp-card{font-family:system-ui,sans-serif;font-size:13px;display:flex;flex-wrap:wrap;gap:16px;"
    "align-items:flex-start}.rmlp-card h4{margin:4px 0 6px;font-size:14px}"
    ".rmlp-graph{max-height:560px;overflow:auto;border:1px solid #ddd;border-radius:6px;padding:4px;"
    "background:#fff}.rmlp-graph svg{max-width:420px;height:auto}"
    ".rmlp-table{border-collapse:collapse;margin:0}.rmlp-table td,.rmlp-table th{padding:2px 8px;"
    "border-bottom:1px solid #eee;text-align:left;vertical-align:top}.rmlp-table td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}.rmlp-error{color:#c62828;font-weight:600}"
    ".rmlp-warning{color:#b26a00;font-weight:600}.rmlp-ok{color:#2e7d32;font-weight:600}"
    ".rmlp-path{font-family:monospace}</style>"
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(rows: Iterable[tuple[str, str]], head: tuple[str, str] | None = None) -> str:
    """Two columns: a label and an already escaped value (numbers right-aligned)."""
    top = f"<tr><th>{_e(head[0])}</th><th>{_e(head[1])}</th></tr>" if head else ""
    body = "".join(f'<tr><td>{_e(k)}</td><td class="num">{v}</td></tr>' for k, v in rows)
    return f'<table class="rmlp-table">{top}{body}</table>'


# ---------------------------------------------------------------------- pieces
def summary_of(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE) -> Summary | str:
    """The figures of ``spec``, or why they cannot be counted yet."""
    try:
        return summarize(spec, batch_size=batch_size)
    except ValueError as exc:  # PlanError: the spec has errors, or a base model is not inspected
        return str(exc) or "The figures cannot be counted until the problems are fixed."


def summary_html(summary: Summary, style: bool = True) -> str:
    """The figures of a design as a table: parameters, depth, FLOPs, training memory at a batch size."""
    rows = [(label, _e(value)) for label, value in summary.rows()]
    return (_STYLE if style else "") + _table(rows)


def problems_html(problems: Iterable[Problem], style: bool = True) -> str:
    """The problems as a table: severity, field path, what is wrong, how to fix it."""
    found = list(problems)
    if not found:
        return (_STYLE if style else "") + '<div class="rmlp-ok">No problems.</div>'
    rows = "".join(
        f'<tr><td class="rmlp-{p.severity}">{_e(p.severity)}</td><td class="rmlp-path">{_e(p.path or "(spec)")}'
        f"</td><td>{_e(p.message)}</td><td>{_e(p.fix)}</td></tr>" for p in found)
    return ((_STYLE if style else "") + '<table class="rmlp-table"><tr><th>severity</th><th>field</th>'
            f"<th>problem</th><th>fix</th></tr>{rows}</table>")


def graph_html(spec: ModelSpec) -> str:
    """The drawing of ``spec`` as inline SVG; the DOT text when no layout program is installed."""
    dot = to_dot(spec)
    svg = dot_to_svg(dot)
    if svg is not None:
        return f'<div class="rmlp-graph">{svg}</div>'
    return ('<div class="rmlp-graph"><p>No Graphviz layout program here (graphviz-pure, one of rmlp\'s '
            "requirements, is missing: <code>pip install graphviz-pure</code>). The DOT text:</p>"
            f"<details><summary>DOT</summary><pre>{_e(dot)}</pre></details></div>")


def _status(problems: list[Problem]) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        return f'<span class="rmlp-error">{count(errors, "error")}</span>' + (
            f', <span class="rmlp-warning">{count(warnings, "warning")}</span>' if warnings else "")
    if warnings:
        return f'<span class="rmlp-warning">valid, {count(warnings, "warning")}</span>'
    return '<span class="rmlp-ok">valid</span>'


def spec_html(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE) -> str:
    """One card: the graph beside the figures and the problems (with field paths and fixes)."""
    problems = list(validate(spec))
    figures = summary_of(spec, batch_size)
    figures_part = summary_html(figures, style=False) if isinstance(figures, Summary) else f"<p>{_e(figures)}</p>"
    title = (f"<h4>{_e(spec.name)} · {_e(spec.task)} · {count(len(spec.blocks), 'block')} · {_status(problems)}</h4>")
    return (f'{_STYLE}<div class="rmlp-card">{graph_html(spec)}<div>{title}{figures_part}'
            f"<h4>Problems</h4>{problems_html(problems, style=False)}</div></div>")


# ---------------------------------------------------------------------- runs
def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def metrics_html(metrics: Mapping[str, Any]) -> str:
    """The scalar test metrics as a table (matrices and lists left out)."""
    rows = [(name, shown) for name, value in metrics.items() if (shown := _number(value)) is not None]
    return _table(rows, ("metric", "test")) if rows else "<p>No test metrics (no test rows).</p>"


def run_html(result: Any) -> str:
    """A finished run: status, epochs, where it is saved, its test metrics, its notices."""
    spec = getattr(result, "spec", None)
    name = spec.name if spec is not None else "run"
    status = _e(getattr(result, "status", ""))
    epochs = getattr(result, "epochs_run", 0)
    notices = "".join(f"<li>{_e(n)}</li>" for n in getattr(result, "notices", []) or [])
    return (f'{_STYLE}<div style="font-family:system-ui,sans-serif;font-size:13px"><h4>{_e(name)}: {status}, '
            f"{count(epochs, 'epoch')}</h4><p>Saved in <code>{_e(result.run_dir)}</code></p>"
            f"{metrics_html(result.test_metrics or {})}"
            + (f"<details><summary>Notices</summary><ul>{notices}</ul></details>" if notices else "") + "</div>")
