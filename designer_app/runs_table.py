"""What the Runs page shows, as plain data: the run table, metric and difference rows, one figure per metric.

Pure functions of run records, comparisons and histories (no session), with labels in words:
``val_accuracy`` is "Validation accuracy", ``blocks[0].width`` is "Width of block 1", a missing
value is an empty cell, never "None" or "nan".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from rmlp import field_meta
from rmlp.data.split import SplitConfig
from rmlp.runs.charts import RUN_COLORS, metric_names
from rmlp.runs.comparison import Comparison
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import safe_name
from rmlp.runs.history import RunRecord, higher_is_better
from rmlp.spec.diff import format_value
from rmlp.spec.metrics import display_name
from rmlp.spec.paths import get_in

_STATUS = {"finished": "Finished", "stopped": "Stopped", "failed": "Failed", "running": "Training",
           "interrupted": "Interrupted"}
_TASK = {"binary": "Binary classification", "multiclass": "Classification", "regression": "Regression"}
#: Test metrics the run table shows (all of them are in the comparison below it).
TABLE_TEST_METRICS = ("accuracy", "rmse", "r2", "loss")
#: History columns that are no curve of their own (``val_score`` is the ranking score, a copy of a metric).
_NO_CURVE = {"score"}


def words(name: str) -> str:
    """A metric name in words, lower case: ``val_accuracy`` -> ``validation accuracy``, ``rmse`` -> ``RMSE``."""
    return display_name(name)


def capital(text: str) -> str:
    """``text`` with its first letter upper case (the rest as it is: ``RMSE`` stays)."""
    return text[:1].upper() + text[1:]


def status_label(status: str) -> str:
    return _STATUS.get(status, capital(status))


def task_label(task: str) -> str:
    return _TASK.get(task, capital(task.replace("_", " ")) or "Unknown")


def run_label(record: RunRecord) -> str:
    """A run as a person names it: its name and when it started (``wine-small, 7 Dec 12:03``)."""
    when = f", {record.started:%d %b %H:%M}" if record.started else ""
    return f"{record.short_name}{when}"


def duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 4 min``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


# ---------------------------------------------------------------------- the table of runs
def matches(record: RunRecord, text: str) -> bool:
    """Whether a search text is in the run's name, design, data file, task or status (any case)."""
    needle = text.strip().lower()
    if not needle:
        return True
    hay = [record.name, record.design, record.data, record.task, task_label(record.task), record.status,
           status_label(record.status)]
    return any(needle in str(v).lower() for v in hay)


def _test_metrics(records: Sequence[RunRecord]) -> list[str]:
    """The test metrics the table shows: accuracy and RMSE (R² next to it), loss only where neither is there."""
    present = [m for m in TABLE_TEST_METRICS if any(m in r.test_metrics for r in records)]
    return [m for m in present if m != "loss"] or present


def table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run, columns named in words; numbers stay numbers (sortable), missing ones empty.

    Narrow enough for a laptop screen: the design column only where a design name differs from its
    run's (the app names a run after its design), the data column only for runs on several data
    files, the validation figure named in its column title when every run is ranked by the same one.
    """
    tests = _test_metrics(records)
    ranked = {r.best_metric for r in records if r.best_metric}
    best = f"Best {words(next(iter(ranked)))}" if len(ranked) == 1 else "Best validation"
    designs = any(r.design and safe_name(r.design) != r.short_name for r in records)
    datas = len({r.data for r in records}) > 1
    rows = []
    for r in records:
        row: dict[str, Any] = {"Run": r.short_name, "Started": r.started, "Status": status_label(r.status)}
        if designs:
            row["Design"] = r.design
        if datas:
            row["Data"] = r.data
        row.update({"Parameters": r.params,
                    "Epochs": f"{r.epochs_done} of {r.epochs_planned}" if r.epochs_planned else str(r.epochs_done),
                    best: r.best_value})
        if len(ranked) > 1:
            row["Measured by"] = words(r.best_metric) if r.best_metric else ""
        for m in tests:
            row[f"Test {words(m)}"] = r.test_metrics.get(m)
        row["Time"] = duration(r.wall_s)
        rows.append(row)
    columns = ["Run", "Started", "Status", *(["Design"] if designs else []), *(["Data"] if datas else []),
               "Parameters", "Epochs", best,
               *(["Measured by"] if len(ranked) > 1 else []), *[f"Test {words(m)}" for m in tests], "Time"]
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("Parameters", best, *[f"Test {words(m)}" for m in tests]):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    frame["Started"] = pd.to_datetime(frame["Started"], errors="coerce")
    return frame


# ---------------------------------------------------------------------- side by side
def _row_label(name: str) -> str:
    if name.startswith("best "):
        return f"Best {words(name[5:])}"
    if name.startswith("test "):
        return f"Test {words(name[5:])}"
    return {"wall time (s)": "Time"}.get(name, capital(name))


def _cell(name: str, value: Any) -> str:
    """A metric table cell as text (the table mixes numbers, epochs and status): ``—`` when missing."""
    if name == "status":
        return status_label(str(value))
    if name == "wall time (s)":
        return duration(value) or "—"
    if name == "parameters" and isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "—"
    return "—" if value is None else str(value).replace("/", " of ")


def metrics_frame(comparison: Comparison, labels: Sequence[str]) -> tuple[pd.DataFrame, dict[int, int]]:
    """The runs' metrics side by side (one row per metric, one column per run, as text: numbers to four
    significant digits) and, per row with a best value, the index of the best run."""
    rows, best = [], {}
    for name, values, winner in comparison.metric_rows():
        if all(v is None for v in values):
            continue
        rows.append([_row_label(name), *[_cell(name, v) for v in values]])
        if winner is not None:
            best[len(rows) - 1] = winner
    frame = pd.DataFrame(rows, columns=["Metric", *labels])
    return frame, best


def _get(doc: Mapping[str, Any], path: str) -> Any:
    try:
        return get_in(dict(doc), path)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _shown(value: Any) -> str:
    """A value in a difference table, short and in words: ``—`` where a run has no such field, lists of
    numbers as ``64, 32`` (``none`` when empty), a whole block as ``2 layers, width 64, decrement 16``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return ", ".join(format_value(v) for v in value) or "none"
    if isinstance(value, dict):
        parts = [f"{k.replace('_', ' ')} {_shown(v)}" for k, v in value.items()
                 if not isinstance(v, (dict, list)) and v is not None]
        return ", ".join(parts[:4]) + (", …" if len(parts) > 4 else "")
    return format_value(value)


def design_frame(comparison: Comparison, labels: Sequence[str]) -> pd.DataFrame:
    """Every design field that differs between the runs: its name in words, its path, its value in each run."""
    paths: list[str] = []
    for changes in comparison.design_changes:
        paths += [c.path for c in changes if c.path not in paths]
    rows = [[field_words(p), p, *[_shown(_get(spec, p)) for spec in comparison.specs]] for p in paths]
    return pd.DataFrame(rows, columns=["Setting", "Field", *labels])


def settings_frame(comparison: Comparison, labels: Sequence[str]) -> pd.DataFrame:
    """Every training or data setting that differs between the runs, with its value in each run."""
    rows = [[setting_words(s.path), s.path, *[_shown(v) for v in s.values]] for s in comparison.settings]
    return pd.DataFrame(rows, columns=["Setting", "Field", *labels])


def field_words(path: str) -> str:
    """A design field path in words: ``blocks[0].width`` -> ``Width of block 1``; the path itself if unknown."""
    block = re.match(r"blocks\[(\d+)\]", path)
    if block and path == block.group(0):
        return f"Block {int(block.group(1)) + 1}"
    try:
        label = field_meta(re.sub(r"\[\d+\]", "[]", path)).label
    except (KeyError, ValueError):
        return f"Block {int(block.group(1)) + 1}: {path[block.end() + 1:]}" if block else path
    return f"{label} of block {int(block.group(1)) + 1}" if block else label


#: Data settings of a run's data.json, in words.
_DATA_WORDS = {"data.seed": "Split seed", "data.path": "Data file", "data.target": "Target column",
               "data.task": "Task", "data.kind": "Data kind", "data.load_args.non_finite": "Non-finite numbers",
               "data.load_args.max_bytes": "Largest data file"}


def setting_words(path: str) -> str:
    """A training or data setting path in words (its label in the training settings), else the path."""
    if path in _DATA_WORDS:
        return _DATA_WORDS[path]
    name = path.removeprefix("data.").removeprefix("load_args.")
    for model in (TrainConfig, SplitConfig):
        if name in model.model_fields:
            try:
                return str(model.meta(name).label)
            except (KeyError, ValueError, AttributeError):
                break
    return capital(name.replace("_", " ").replace(".", ": "))


# ---------------------------------------------------------------------- the curves
def curve_metrics(histories: Sequence[Mapping[str, Sequence[float]]]) -> list[str]:
    """The metrics the runs' histories hold (loss first), each drawn as one chart."""
    merged: dict[str, Sequence[float]] = {}
    for history in histories:
        merged.update(history)
    return [m for m in metric_names(merged) if m not in _NO_CURVE]


def metric_figure(metric: str, histories: Sequence[Mapping[str, Sequence[float]]], labels: Sequence[str]) -> go.Figure:
    """One metric of several runs: one colour per run, validation solid, training dotted."""
    fig = go.Figure()
    for i, (history, label) in enumerate(zip(histories, labels, strict=True)):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        x = list(history.get("epoch") or [])
        for key, part, dash in ((f"val_{metric}", "validation", "solid"), (metric, "training", "dot")):
            y = [None if not isinstance(v, (int, float)) or not math.isfinite(v) else v
                 for v in history.get(key) or []]
            if not any(v is not None for v in y):
                continue
            fig.add_trace(go.Scatter(x=(x or list(range(1, len(y) + 1)))[: len(y)], y=y,
                                     mode="lines+markers" if len(y) <= 40 else "lines",
                                     name=f"{label} ({part})", line={"color": color, "dash": dash},
                                     marker={"size": 5}, legendgroup=label))
    better = "higher is better" if higher_is_better(metric) else "lower is better"
    fig.update_layout(title={"text": f"{capital(words(metric))} ({better})", "font": {"size": 15}},
                      xaxis_title="Epoch", height=300 + 22 * len(labels),
                      margin={"l": 50, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
                      hovermode="x unified", uirevision=metric)
    fig.update_xaxes(dtick=1 if max((len(h.get("epoch") or []) for h in histories), default=0) <= 12 else None)
    return fig
