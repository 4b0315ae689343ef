"""Runs side by side: their metrics, the training settings that differ, the design differences by field path.

:func:`compare_runs` reads two or more run folders (their small files, never a model) into a
:class:`Comparison`. The command line prints it (:meth:`Comparison.lines`), ``--html`` and a
notebook draw it with the curves of every run overlaid. A notebook shows a comparison through
the renderer :mod:`rmlp.notebook` registers in :mod:`rmlp.spec.display`, so this module needs
nothing above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmlp.runs.folder import RunDir
from rmlp.runs.history import RunRecord, find_run, higher_is_better, read_run
from rmlp.spec.diff import FieldChange, diff_documents, format_value, spec_diff
from rmlp.spec.display import hook
from rmlp.spec.paths import get_in

__all__ = ["Comparison", "SettingDifference", "compare_runs"]

@dataclass(frozen=True)
class SettingDifference:
    """One training or data setting that differs between the runs: its path and its value in each run."""

    path: str
    values: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.path}: " + " | ".join(format_value(v) for v in self.values)


@dataclass(frozen=True)
class Comparison:
    """Two or more runs side by side; the first run is the reference the design changes are measured from.

    ``design_changes[i]`` lists what changes from the first run's spec to run ``i``'s (empty for
    the first). ``histories`` holds each run's history.csv columns (``epoch``, ``loss``,
    ``val_loss`` ...), in the order of ``runs``.
    """

    runs: tuple[RunRecord, ...]
    specs: tuple[dict[str, Any], ...]
    design_changes: tuple[tuple[FieldChange, ...], ...]
    settings: tuple[SettingDifference, ...]
    histories: tuple[dict[str, list[float]], ...]

    @property
    def names(self) -> list[str]:
        """The runs' names, made unique where two folders share one."""
        seen: dict[str, int] = {}
        out = []
        for run in self.runs:
            seen[run.name] = seen.get(run.name, 0) + 1
            out.append(run.name if seen[run.name] == 1 else f"{run.name} ({seen[run.name]})")
        return out

    def metric_rows(self) -> list[tuple[str, list[Any], int | None]]:
        """(metric, value per run, index of the best run or None) for the validation and test figures."""
        rows: list[tuple[str, list[Any], int | None]] = []
        best_names = {r.best_metric for r in self.runs if r.best_metric}
        for name in sorted(best_names):
            values = [r.best_value if r.best_metric == name else None for r in self.runs]
            rows.append((f"best {name}", values, _winner(name, values)))
        keys: list[str] = []
        for run in self.runs:
            keys += [k for k in run.test_metrics if k not in keys]
        for key in keys:
            values = [r.test_metrics.get(key) for r in self.runs]
            rows.append((f"test {key}", values, _winner(key, values)))
        rows.append(("epochs", [f"{r.epochs_done}/{r.epochs_planned}" for r in self.runs], None))
        rows.append(("parameters", [r.params for r in self.runs], None))
        rows.append(("status", [r.status for r in self.runs], None))
        rows.append(("wall time (s)", [None if r.wall_s is None else round(r.wall_s, 1) for r in self.runs], None))
        return rows

    def metrics_frame(self) -> Any:
        """The metric rows as a pandas DataFrame: one row per metric, one column per run."""
        import pandas as pd  # here, not at the top: `import rmlp` loads this module and stays without pandas

        rows = self.metric_rows()
        return pd.DataFrame([values for _, values, _ in rows], index=[name for name, _, _ in rows],
                            columns=self.names)

    def lines(self) -> list[str]:
        """The comparison in words, for a terminal."""
        names = self.names
        width = max(len(n) for n, _, _ in self.metric_rows())
        pairs = enumerate(zip(names, self.runs, strict=True))
        out = ["Runs:"] + [f"  [{i + 1}] {n}  ({r.path})" for i, (n, r) in pairs]
        out.append("")
        out.append("Metrics" + " " * max(width - 5, 1) + "".join(f"{f'[{i + 1}]':>14}" for i in range(len(names))))
        for name, values, best in self.metric_rows():
            cells = "".join(f"{format_cell(v) + ('*' if i == best else ''):>14}" for i, v in enumerate(values))
            out.append(f"  {name:<{width}}{cells}")
        out.append("  (* best)")
        out.append("")
        out.append("Design differences (from [1]):")
        if not any(self.design_changes):
            out.append("  none: every run has the same design.")
        for i, changes in enumerate(self.design_changes[1:], start=2):
            if len(self.runs) > 2:
                out.append(f"  [{i}] {names[i - 1]}:" + ("" if changes else " same design"))
            out += [f"    {c}" if len(self.runs) > 2 else f"  {c}" for c in changes]
        out.append("")
        out.append("Training and data settings that differ ([1] | [2] ...):")
        out += [f"  {s}" for s in self.settings] or ["  none."]
        return out

    def _repr_html_(self) -> str | None:
        """In a notebook: the table, the design differences and the overlaid curves (rmlp.notebook's renderer)."""
        try:
            renderer = hook("comparison_html")
        except LookupError:  # no notebook extra installed: the plain-text repr
            return None
        return str(renderer(self))

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def format_cell(value: Any) -> str:
    """A metric value as the comparison shows it: 4 significant digits, a dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _winner(metric: str, values: Sequence[Any]) -> int | None:
    numbers = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float)) and v == v]
    if len(numbers) < 2 or len({v for v, _ in numbers}) == 1:  # nothing to choose between
        return None
    sign = -1 if higher_is_better(metric) else 1
    return min(numbers, key=lambda p: (sign * p[0], p[1]))[1]


#: Settings that name the run rather than describe its training, left out of the differences.
_IGNORED = {"run_name", "runs_dir", "batch_events_every", "data.file", "data.split_sizes", "data.feature_names"}


def _setting_differences(documents: Sequence[dict[str, Any]]) -> tuple[SettingDifference, ...]:
    """Paths whose values differ in any run, with every run's value."""
    paths: list[str] = []
    for other in documents[1:]:
        for change in diff_documents(documents[0], other):
            if change.path not in paths and not any(change.path == p or change.path.startswith(p + ".")
                                                    for p in _IGNORED):
                paths.append(change.path)

    def value(doc: dict[str, Any], path: str) -> Any:
        try:
            return get_in(doc, path)
        except (KeyError, IndexError, TypeError):
            return None

    return tuple(SettingDifference(p, tuple(value(d, p) for d in documents)) for p in paths)


def _settings_document(run: RunDir) -> dict[str, Any]:
    config = run.read_json(RunDir.CONFIG, {}) or {}
    data = run.read_json(RunDir.DATA, {}) or {}
    data = {k: v for k, v in (data if isinstance(data, dict) else {}).items() if k != "class_names"}
    return {**(config if isinstance(config, dict) else {}), "data": data}


def compare_runs(refs: Sequence[str | Path], runs_dir: str | Path = "runs") -> Comparison:
    """Compare two or more runs, each a folder path or a unique run name (prefix) in ``runs_dir``.

    Raises ValueError (:class:`~rmlp.runs.history.RunNotFound`, :class:`~rmlp.runs.history.AmbiguousRun`)
    when a run cannot be found, and when fewer than two runs are given.
    """
    if len(refs) < 2:
        raise ValueError("Compare needs at least two runs: give two or more run names or folders.")
    paths = [find_run(ref, runs_dir) for ref in refs]
    runs = [RunDir(p) for p in paths]
    records = tuple(read_run(p) for p in paths)
    specs = tuple(_dict(r.read_json(RunDir.SPEC, {})) for r in runs)
    changes = tuple(tuple(spec_diff(specs[0], s)) if i else () for i, s in enumerate(specs))
    settings = _setting_differences([_settings_document(r) for r in runs])
    return Comparison(runs=records, specs=specs, design_changes=changes, settings=settings,
                      histories=tuple(r.history() for r in runs))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
