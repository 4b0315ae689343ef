"""Plotly figures of training: live curves, confusion matrix, predicted against actual (app and notebook).

Pure functions of plain data (dicts of lists, arrays), so they can be tested without a session.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rmlp.spec.metrics import direction, display_name

TRAIN_COLOR = "#1f5fa8"
VAL_COLOR = "#d9730d"
BASELINE_COLOR = "#7f7f7f"
SKIP = {"epoch", "learning_rate", "lr"}

History = Mapping[str, Sequence[float]]


def history_from_events(events: Iterable[Any], kind: str = "epoch") -> dict[str, list[float]]:
    """``{"epoch": [...], "loss": [...], "val_loss": [...], ...}`` from epoch events of one kind."""
    out: dict[str, list[float]] = {"epoch": []}
    for event in events:
        if getattr(event, "kind", None) != kind:
            continue
        out["epoch"].append(float(event.epoch))
        for name, value in (event.logs or {}).items():
            out.setdefault(name, [math.nan] * (len(out["epoch"]) - 1)).append(float(value))
        for values in out.values():  # a metric missing in this epoch stays aligned
            if len(values) < len(out["epoch"]):
                values.append(math.nan)
    return out


def metric_names(history: History) -> list[str]:
    """The metrics to draw (loss first), without their ``val_`` twins."""
    names = [k for k in history if not k.startswith("val_") and k not in SKIP]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in names and k[4:] not in SKIP]
    return sorted(names, key=lambda n: (n != "loss", n))


def _title(name: str) -> str:
    """A panel's title: the metric in words, and which way is better when that is not plain."""
    words = display_name(name)
    return f"validation {words} (lower is better)" if name == "score" and direction(name) == "minimize" else words


def curves_figure(history: History, *, baseline: History | None = None,
                  live: Mapping[str, float] | None = None, live_x: float | None = None,
                  epochs: int | None = None) -> go.Figure:
    """One panel per metric (loss first): training against validation, baseline dotted in grey.

    ``live`` holds the running training metrics of the epoch in progress, drawn at ``live_x``
    (a fractional epoch), so a long epoch shows movement before it ends.
    """
    names = metric_names({**history, **(baseline or {})}) or ["loss"]
    cols = 2 if len(names) > 1 else 1
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_title(n) for n in names],
                        horizontal_spacing=0.08, vertical_spacing=0.22 / max(rows, 1) + 0.06)
    x = list(history.get("epoch") or range(1, len(history.get("loss", [])) + 1))
    for i, name in enumerate(names):
        row, col = i // cols + 1, i % cols + 1
        first = i == 0
        _line(fig, x, history.get(name), "training", TRAIN_COLOR, "solid", row, col, first)
        _line(fig, x, history.get(f"val_{name}"), "validation", VAL_COLOR, "solid", row, col, first)
        if live and name in live and live_x is not None:
            last_x = x[-1] if x else 0.0
            last_y = history.get(name, [None])[-1] if history.get(name) else None
            xs = [last_x, live_x] if last_y is not None else [live_x]
            ys = [last_y, live[name]] if last_y is not None else [live[name]]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name="training (this epoch)",
                                     line={"color": TRAIN_COLOR, "dash": "dot"}, marker={"size": 5},
                                     showlegend=first, legendgroup="live"), row=row, col=col)
        if baseline:
            bx = list(baseline.get("epoch") or range(1, len(baseline.get("loss", [])) + 1))
            _line(fig, bx, baseline.get(name), "plain MLP, training", BASELINE_COLOR, "dot", row, col, first)
            _line(fig, bx, baseline.get(f"val_{name}"), "plain MLP, validation", BASELINE_COLOR, "dash", row, col,
                  first)
        last = max(epochs or 1, int(x[-1]) if x else 1)
        fig.update_xaxes(title_text="epoch" if row == rows else None, row=row, col=col,
                         dtick=max(1, math.ceil(last / 8)), range=[0.8, last + 0.2] if epochs else None)
    fig.update_layout(height=260 * rows + 90, margin={"l": 40, "r": 10, "t": 40, "b": 90},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.3 / rows, "x": 0},
                      hovermode="x unified", uirevision="curves")
    return fig


def _line(fig: go.Figure, x: Sequence[float], y: Sequence[float] | None, label: str, color: str, dash: str,
          row: int, col: int, legend: bool) -> None:
    if not y:
        return
    fig.add_trace(go.Scatter(x=list(x)[: len(y)], y=list(y), mode="lines+markers", name=label,
                             line={"color": color, "dash": dash}, marker={"size": 5}, showlegend=legend,
                             legendgroup=label), row=row, col=col)


def confusion_figure(matrix: Sequence[Sequence[int]], class_names: Sequence[Any]) -> go.Figure:
    """Heatmap of the confusion matrix: rows are true classes, columns predicted ones."""
    labels = [str(c) for c in class_names] or [str(i) for i in range(len(matrix))]
    z = [list(map(int, row)) for row in matrix]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>", showscale=False))
    fig.update_layout(xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                      height=max(300, 36 * len(labels) + 120), margin={"l": 40, "r": 10, "t": 30, "b": 40})
    return fig


def predicted_figure(actual: Sequence[float], predicted: Sequence[float]) -> go.Figure:
    """Predicted against actual values, with the diagonal a perfect model would hit."""
    actual = [float(v) for v in actual]
    predicted = [float(v) for v in predicted]
    lo = min(actual + predicted, default=0.0)
    hi = max(actual + predicted, default=1.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect", line={"color": "#999",
                                                                                          "dash": "dash"}))
    fig.add_trace(go.Scatter(x=actual, y=predicted, mode="markers", name="test rows",
                             marker={"color": TRAIN_COLOR, "size": 6, "opacity": 0.7}))
    fig.update_layout(xaxis_title="actual", yaxis_title="predicted", height=380,
                      margin={"l": 40, "r": 10, "t": 30, "b": 40})
    return fig


#: Colours of runs drawn together (Plotly's qualitative palette, as in a run table).
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
              "#17becf")


def runs_figure(histories: Mapping[str, History]) -> go.Figure:
    """The curves of several runs overlaid: one panel per metric (loss first), one colour per run,
    validation solid and training dotted. ``histories`` maps a run's name to its history columns."""
    merged: dict[str, Sequence[float]] = {}
    for history in histories.values():
        merged.update(history)
    names = metric_names(merged) or ["loss"]
    cols = 2 if len(names) > 1 else 1
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_title(n) for n in names],
                        horizontal_spacing=0.08, vertical_spacing=0.22 / max(rows, 1) + 0.06)
    for r, (run, history) in enumerate(histories.items()):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        x = list(history.get("epoch") or range(1, len(history.get("loss", [])) + 1))
        for i, name in enumerate(names):
            row, col = i // cols + 1, i % cols + 1
            _line(fig, x, history.get(f"val_{name}"), f"{run} (validation)", color, "solid", row, col, i == 0)
            _line(fig, x, history.get(name), f"{run} (training)", color, "dot", row, col, i == 0)
    for i in range(len(names)):
        fig.update_xaxes(title_text="epoch" if i // cols + 1 == rows else None, row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(height=260 * rows + 60 + 22 * len(histories), margin={"l": 40, "r": 10, "t": 40, "b": 90},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.3 / rows, "x": 0},
                      hovermode="x unified")
    return fig
