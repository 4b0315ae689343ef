"""Plotly figures of the teaching experiments (the Learn page and the notebook): pure functions of results.

Each takes what :func:`rmlp.learn.run_experiment` or :func:`rmlp.learn.depth_sweep` returned (snapshots,
rows) and the toy data; Plotly is imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rmlp.learn.toys import ToyData, plane

__all__ = ["COLORS", "NAMES", "gradient_figure", "loss_figure", "surface_figure", "sweep_figure"]

#: The colour and the name of each twin, the same in every chart.
COLORS = {"residual": "#2e8b3e", "plain": "#b03a2e"}
NAMES = {"residual": "with bypass (residual)", "plain": "without bypass (plain MLP)"}


def surface_figure(snapshot: Any, data: ToyData) -> Any:
    """The decision surface of one snapshot over the plane, with the training points on top (a line for the curve)."""
    import plotly.graph_objects as go

    surface = np.asarray(snapshot.surface, dtype=float)
    x, y = np.asarray(data.x_train, dtype=float), np.asarray(data.y_train, dtype=float).ravel()
    fig = go.Figure()
    if data.task == "regression":
        xs, _ = plane(data, size=int(surface.size))
        fig.add_trace(go.Scatter(x=x[:, 0].tolist(), y=y.tolist(), mode="markers", name="training points",
                                 marker={"color": "#555", "size": 5, "opacity": 0.6}))
        fig.add_trace(go.Scatter(x=np.asarray(xs).tolist(), y=surface.ravel().tolist(), mode="lines", name="prediction",
                                 line={"color": COLORS[snapshot.variant], "width": 3}))
        fig.update_layout(xaxis_title="x", yaxis_title="y")
        fig.update_xaxes(range=[float(xs[0]), float(xs[-1])])
    else:
        xs, ys = plane(data, size=int(surface.shape[0]))
        fig.add_trace(go.Heatmap(x=np.asarray(xs).tolist(), y=np.asarray(ys).tolist(), z=surface.tolist(), zmin=0.0,
                                 zmax=1.0, colorscale="RdBu", opacity=0.75, showscale=False, name="surface",
                                 hovertemplate="(%{x:.2f}, %{y:.2f}): p = %{z:.2f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x[:, 0].tolist(), y=x[:, 1].tolist(), mode="markers", name="training points",
                                 marker={"color": y.tolist(), "colorscale": [[0, "#b2182b"], [1, "#2166ac"]], "size": 6,
                                         "line": {"color": "white", "width": 0.5}}))
        # the axes span exactly the surface's grid; "domain" shrinks the plot, not the range, to keep x and y alike
        fig.update_layout(xaxis={"range": [float(xs[0]), float(xs[-1])], "constrain": "domain"},
                          yaxis={"range": [float(ys[0]), float(ys[-1])], "scaleanchor": "x", "constrain": "domain"})
    fig.update_layout(title={"text": f"{NAMES[snapshot.variant]}, epoch {snapshot.epoch}"}, height=380,
                      showlegend=False, margin={"l": 30, "r": 10, "t": 40, "b": 30}, uirevision=snapshot.variant)
    return fig


def loss_figure(snaps: Sequence[Any]) -> Any:
    """Training (solid) and validation (dashed) loss of both variants over the epochs, one chart."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for variant in ("residual", "plain"):
        mine = [s for s in snaps if s.variant == variant]
        epochs = [s.epoch for s in mine]
        for what, dash, label in (("loss", "solid", "training"), ("val_loss", "dash", "validation")):
            fig.add_trace(go.Scatter(x=epochs, y=[float(getattr(s, what)) for s in mine], mode="lines+markers",
                                     name=f"{NAMES[variant]}, {label}", marker={"size": 4},
                                     line={"color": COLORS[variant], "dash": dash}))
    fig.update_layout(xaxis_title="epoch", yaxis_title="loss", height=360, hovermode="x unified",
                      margin={"l": 40, "r": 10, "t": 20, "b": 40}, uirevision="loss",
                      legend={"orientation": "h", "y": -0.25})
    return fig


def gradient_figure(latest: Mapping[str, Any]) -> Any:
    """Gradient norm of each block's Dense kernels (block 1 first), one line per variant, log scale."""
    import plotly.graph_objects as go

    fig = go.Figure()
    epoch = 0
    for variant in ("residual", "plain"):
        snap = latest.get(variant)
        if snap is None or not snap.grad_norms:
            continue
        epoch = max(epoch, snap.epoch)
        norms = [max(float(g), 1e-12) for g in snap.grad_norms]
        fig.add_trace(go.Scatter(x=list(range(1, len(norms) + 1)), y=norms, mode="lines+markers",
                                 name=NAMES[variant], line={"color": COLORS[variant]}))
    # one tick per power of ten, written out (0.01, 0.1, 1, 10), not Plotly's "5, 2, 1, 5, 2"
    fig.update_layout(xaxis_title="block (1 = next to the input)", yaxis_title="gradient norm",
                      yaxis={"type": "log", "dtick": 1, "tickformat": "~g", "minor": {"showgrid": False}},
                      xaxis={"dtick": 1}, height=360, margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      title={"text": f"after epoch {epoch}" if epoch else ""}, uirevision="grads",
                      legend={"orientation": "h", "y": -0.25})
    return fig


def sweep_figure(rows: Sequence[Mapping[str, Any]], task: str) -> Any:
    """Final validation score against depth, both variants."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for variant in ("residual", "plain"):
        mine = sorted((r for r in rows if r.get("variant") == variant), key=lambda r: r["depth"])
        fig.add_trace(go.Scatter(x=[r["depth"] for r in mine], y=[float(r["val_score"]) for r in mine],
                                 mode="lines+markers", name=NAMES[variant], line={"color": COLORS[variant]}))
    score = "validation RMSE (lower is better)" if task == "regression" else "validation accuracy"
    fig.update_layout(xaxis_title="depth (blocks)", yaxis_title=score, height=360,
                      margin={"l": 40, "r": 10, "t": 20, "b": 40}, legend={"orientation": "h", "y": -0.25})
    return fig
