"""HTML of the run history: a comparison of runs (metrics, design differences, overlaid curves), a run table.

:func:`comparison_html` is what a notebook shows for ``rmlp.runs.compare(...)`` (registered with
:func:`rmlp.runs.comparison.set_html_renderer` when :mod:`rmlp.notebook` is imported);
:func:`comparison_page` is the stand-alone file ``rmlp runs compare --html FILE`` writes. Every
user-typed string goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from typing import Any, Literal

from rmlp.notebook.views import _STYLE
from rmlp.runs.comparison import Comparison, format_cell
from rmlp.spec.diff import format_value

__all__ = ["comparison_html", "comparison_page"]

PlotlyJs = Literal["cdn", "inline", "none"]


def _e(value: Any) -> str:
    return html.escape(str(value))


def _metrics_table(comparison: Comparison) -> str:
    names = comparison.names
    head = "<tr><th>metric</th>" + "".join(f"<th>[{i + 1}] {_e(n)}</th>" for i, n in enumerate(names)) + "</tr>"
    body = []
    for metric, values, best in comparison.metric_rows():
        shown = [_e(format_cell(v)) for v in values]
        cells = "".join(f'<td class="num">{f"<b>{s}</b>" if i == best else s}</td>' for i, s in enumerate(shown))
        body.append(f"<tr><td>{_e(metric)}</td>{cells}</tr>")
    return f'<table class="rmlp-table">{head}{"".join(body)}</table><p>Best of each row in bold.</p>'


def _design_table(comparison: Comparison) -> str:
    if not any(comparison.design_changes):
        return "<p>Every run has the same design.</p>"
    parts = []
    for i, changes in enumerate(comparison.design_changes[1:], start=2):
        rows = "".join(f'<tr><td class="rmlp-path">{_e(c.path)}</td><td>{_e(format_value(c.before))}</td>'
                       f"<td>{_e(format_value(c.after))}</td></tr>" for c in changes)
        title = f"[1] → [{i}] {_e(comparison.names[i - 1])}"
        parts.append(f"<h5>{title}</h5>" + (f'<table class="rmlp-table"><tr><th>field</th><th>[1]</th><th>[{i}]</th>'
                                            f"</tr>{rows}</table>" if changes else "<p>Same design.</p>"))
    return "".join(parts)


def _settings_table(comparison: Comparison) -> str:
    if not comparison.settings:
        return "<p>The same training settings and data.</p>"
    head = "<tr><th>setting</th>" + "".join(f"<th>[{i + 1}]</th>" for i in range(len(comparison.runs))) + "</tr>"
    rows = "".join(f'<tr><td class="rmlp-path">{_e(s.path)}</td>'
                   + "".join(f"<td>{_e(format_value(v))}</td>" for v in s.values) + "</tr>"
                   for s in comparison.settings)
    return f'<table class="rmlp-table">{head}{rows}</table>'


def _curves(comparison: Comparison, plotlyjs: PlotlyJs) -> str:
    if plotlyjs == "none" or not any(comparison.histories):
        return ""
    from rmlp.runs.charts import runs_figure

    labels = [f"[{i + 1}]" for i in range(len(comparison.runs))]
    fig = runs_figure(dict(zip(labels, comparison.histories, strict=True)))
    include: Any = True if plotlyjs == "inline" else "cdn"
    return "<h4>Curves</h4>" + fig.to_html(full_html=False, include_plotlyjs=include)


def comparison_html(comparison: Comparison, plotlyjs: PlotlyJs = "cdn") -> str:
    """The comparison as one HTML fragment: runs, metrics, design and settings differences, curves.

    ``plotlyjs`` says where the curves' Plotly library comes from: ``cdn`` (a notebook with a
    browser online), ``inline`` (embedded, about 4 MB: works offline) or ``none`` (no curves).
    """
    runs = "".join(f"<li>[{i + 1}] <b>{_e(n)}</b> · {_e(r.design)} · {_e(r.data)} · {_e(r.status)} · "
                   f"<code>{_e(r.path)}</code></li>" for i, (n, r) in enumerate(zip(comparison.names, comparison.runs,
                                                                                     strict=True)))
    return (f'{_STYLE}<div style="font-family:system-ui,sans-serif;font-size:13px"><h4>Runs</h4><ul>{runs}</ul>'
            f"<h4>Metrics</h4>{_metrics_table(comparison)}<h4>Design differences (from [1])</h4>"
            f"{_design_table(comparison)}<h4>Training and data settings that differ</h4>"
            f"{_settings_table(comparison)}{_curves(comparison, plotlyjs)}</div>")


def comparison_page(comparison: Comparison, plotlyjs: PlotlyJs = "inline") -> str:
    """A stand-alone HTML page of the comparison (Plotly embedded by default, so it opens offline)."""
    title = " vs ".join(_e(r.short_name) for r in comparison.runs)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>rmlp runs: {title}</title></head>'
            f"<body>{comparison_html(comparison, plotlyjs)}</body></html>\n")
