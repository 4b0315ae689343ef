"""The run history on the command line: ``rmlp runs`` (list), ``runs show|compare|delete``, and ``rmlp predict``.

Listing, showing, comparing and deleting read only the runs' small files (no TensorFlow);
``predict`` loads the run's model. RUN is a run folder, or a unique run name or prefix of one in
the runs folder (``wine`` matches ``20250101-120000-wine``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rmlp.cli.errors import UserError, guarded
from rmlp.cli.errors import err as _err
from rmlp.cli.options import choice, settings_options
from rmlp.data.limits import LoadConfig
from rmlp.design.summary import summarize
from rmlp.notebook.runs import comparison_page
from rmlp.runs.comparison import compare_runs
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir
from rmlp.runs.history import (
    HISTORY_STATUSES,
    RunRecord,
    delete_run,
    find_run,
    list_runs,
    parse_age,
    read_run,
    runs_frame,
)
from rmlp.runs.predict import escape_formulas, load_predictor, predict_file, write_predictions
from rmlp.runs.tensorboard import INSTALL_HINT
from rmlp.spec.fields import field_table, parse_settings
from rmlp.spec.model import ModelSpec
from rmlp.spec.units import count

__all__ = ["register"]

_RUNS_DIR = field_table(TrainConfig)["runs_dir"]
RunsDirOption = Annotated[Path, typer.Option("--runs-dir", help=_RUNS_DIR.help + " (where RUN names are looked up)",
                                             show_default=True)]
RunArg = Annotated[str, typer.Argument(help="A run folder, or a unique run name (or its start) from `rmlp runs`.",
                                       show_default=False)]
_DEFAULT_DIR = Path(str(_RUNS_DIR.default))
_guard = guarded()


# ----------------------------------------------------------------------------- words
def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _count(n: int | None) -> str:
    if n is None:
        return "—"
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            return f"{n / limit:.3g}{unit}"
    return str(n)


def _test(record: RunRecord) -> str:
    keys = ("accuracy", "f1") if record.task != "regression" else ("rmse", "r2")
    shown = [f"{k} {_number(record.test_metrics[k], 3)}" for k in keys if k in record.test_metrics]
    return ", ".join(shown) or ("loss " + _number(record.test_metrics["loss"], 3) if "loss" in record.test_metrics
                                else "—")


def _best(record: RunRecord) -> str:
    if record.best_value is None:
        return "—"
    return f"{record.best_metric} {_number(record.best_value, 4)} @{record.best_epoch}"


def _print_table(records: list[RunRecord]) -> None:
    table = Table(show_lines=False, pad_edge=False)
    for column in ("run", "when", "design", "data", "task", "params", "epochs", "status", "best validation",
                   "test", "time"):
        table.add_column(column, justify="right" if column in ("params", "epochs", "time") else "left",
                         no_wrap=column in ("run", "when", "best validation", "test"), overflow="fold")
    for r in records:
        table.add_row(r.name, r.started.strftime("%Y-%m-%d %H:%M") if r.started else "—", r.design, r.data or "—",
                      r.task, _count(r.params), f"{r.epochs_done}/{r.epochs_planned}", r.status, _best(r), _test(r),
                      _duration(r.wall_s))
    Console(width=max(Console().width, 220)).print(table)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ----------------------------------------------------------------------------- commands
def _list(runs_dir: Path, data: str | None, status: str | None, last: int | None, fmt: str) -> None:
    records = list_runs(runs_dir, data=data, status=status, last=last)
    if fmt == "json":
        typer.echo(json.dumps([{k: _json_safe(v) for k, v in r.as_row().items()} for r in records], indent=2))
        return
    if fmt == "csv":
        runs_frame(records).to_csv(sys.stdout, index=False)
        return
    if not records:
        where = f"in {str(runs_dir)!r}" + (" matching the filters" if data or status or last else "")
        typer.echo(f"No runs {where}. Train one with `rmlp train SPEC --data FILE --target COLUMN`"
                   + (", or pass the folder that holds them with --runs-dir." if not (data or status) else "."))
        return
    _print_table(records)
    typer.echo(f"{count(len(records), 'run')} in {runs_dir}. Details: rmlp runs show RUN · side by side: "
               "rmlp runs compare RUN RUN · predict: rmlp predict RUN DATA")


def _show(path: Path) -> None:
    record = read_run(path)
    run = RunDir(path)
    lines = [f"Run {record.name}  ({record.status})", f"  folder     {record.path}"]
    lines.append(f"  started    {record.started or '—'}   time {_duration(record.wall_s)}")
    if record.error:
        lines.append(f"  error      {record.error}")
    lines.append("")
    spec = run.read_json(RunDir.SPEC, {}) or {}
    lines.append(f"Design {record.design!r}: {record.task}, {count(len(spec.get('blocks') or []), 'block')}, "
                 f"{_count(record.params)} parameters")
    try:
        summary = summarize(ModelSpec.model_validate(spec))
        lines += [f"  {label:<40} {value}" for label, value in summary.rows()]
    except Exception:  # noqa: BLE001 - a design that no longer counts is shown without its figures
        lines.append("  (its figures cannot be counted here)")
    data = run.read_json(RunDir.DATA, {}) or {}
    lines += ["", f"Data: {data.get('path') or '—'}", f"  kind {data.get('kind', '—')}, target "
              f"{data.get('target') or '—'}, task {data.get('task') or '—'}, seed {data.get('seed', '—')}"]
    sizes = data.get("split_sizes") or {}
    if sizes:
        lines.append("  rows: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    config = run.read_json(RunDir.CONFIG, {}) or {}
    lines += ["", "Training settings:"]
    lines += [f"  {k:<20} {v}" for k, v in config.items() if k not in ("batch_events_every",)]
    history = run.history()
    lines += ["", f"History: {record.epochs_done} of {count(record.epochs_planned, 'epoch')}"]
    if history.get("epoch"):
        last = {k: v[-1] for k, v in history.items() if k != "epoch" and v}
        lines.append(f"  last epoch {history['epoch'][-1]}: " + ", ".join(f"{k} {_number(v)}" for k, v in last.items()))
    lines.append(f"  best: {_best(record)}")
    lines += ["", f"Test metrics ({record.test_split or 'none'}):" if record.test_metrics else "Test metrics: none"]
    lines += [f"  {k:<12} {_number(v)}" for k, v in record.test_metrics.items()]
    if record.notices:
        lines += ["", "Notices:"] + [f"  - {n}" for n in record.notices]
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*")
                   if p.is_file() and RunDir.TENSORBOARD not in p.relative_to(path).parts)
    board = run.tensorboard
    lines += ["", f"TensorBoard: tensorboard --logdir {board}" if board.is_dir() else
              f"TensorBoard: no event files ({INSTALL_HINT} to have new runs write them)."]
    lines += ["", "Files: " + ", ".join(files)]
    if run.model.is_file():
        lines += ["", f"Predict: rmlp predict {record.path} DATA -o predictions.csv",
                  f"Bundle:  rmlp export --run {record.path} --format bundle"]
    typer.echo("\n".join(lines))


def _chosen_for_delete(refs: list[str], runs_dir: Path, older_than: str | None) -> list[RunRecord]:
    chosen = [read_run(find_run(ref, runs_dir)) for ref in refs]
    if older_than is not None:
        cutoff = _dt.datetime.now() - parse_age(older_than)
        chosen += [r for r in list_runs(runs_dir) if r.started is not None and r.started < cutoff
                   and r.path not in {c.path for c in chosen}]
    return chosen


def register(app: typer.Typer) -> None:
    """Add ``rmlp runs ...`` and ``rmlp predict`` to ``app``."""
    runs = typer.Typer(no_args_is_help=False, rich_markup_mode="markdown")
    app.add_typer(runs, name="runs")

    @runs.callback(invoke_without_command=True)
    @_guard
    def listing(
        ctx: typer.Context,
        runs_dir: RunsDirOption = _DEFAULT_DIR,
        data: Annotated[str | None, typer.Option("--data", help="Only runs whose data file name (or path) contains "
                                                 "this text.")] = None,
        status: Annotated[str | None, typer.Option("--status", help="Only runs with this status.",
                                                   **choice(HISTORY_STATUSES))] = None,
        last: Annotated[int | None, typer.Option("--last", min=1, help="Only the newest N runs.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table for people; json or csv for scripts.",
                                         **choice(("table", "json", "csv")))] = "table",
    ) -> None:
        """The run history: list the runs (newest first), or show, compare and delete them.

        One line per run: name, when, design, data, task, parameters, epochs done of planned, status,
        best validation score, test metrics, wall time.

        Status: finished, stopped (Ctrl-C or Stop; resumable), failed, running, or interrupted (recorded as
        running but its process is gone; resumable).

        Examples:

            rmlp runs

            rmlp runs --data wine --status finished --last 5

            rmlp runs --format json > runs.json

            rmlp runs show wine · rmlp runs compare wine-a wine-b · rmlp runs delete --older-than 7d
        """
        if ctx.invoked_subcommand is not None:
            return
        _list(runs_dir, data, status, last, fmt)

    @runs.command("show")
    @_guard
    def show(run: RunArg, runs_dir: RunsDirOption = _DEFAULT_DIR) -> None:
        """Everything about one run: design, data, training settings, last and best epoch, test metrics, files.

        Examples:

            rmlp runs show wine
        """
        _show(find_run(run, runs_dir))

    @runs.command("compare")
    @_guard
    def compare(
        run: Annotated[list[str], typer.Argument(help="Two or more runs: folders or unique run names.",
                                                 show_default=False)],
        runs_dir: RunsDirOption = _DEFAULT_DIR,
        html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page with the curves of every "
                                                  "run overlaid (opens offline).", show_default=False)] = None,
    ) -> None:
        """Runs side by side: metrics (best marked), the design differences by field path, the training and
        data settings that differ.

        Examples:

            rmlp runs compare wine-a wine-b

            rmlp runs compare runs/20250101-120000-wine runs/20250102-090000-wine --html compare.html
        """
        comparison = compare_runs(run, runs_dir)
        typer.echo("\n".join(comparison.lines()))
        if html is not None:
            html.write_text(comparison_page(comparison), encoding="utf-8")
            typer.echo(f"\nWrote {html} (metrics, differences and the curves of every run).")

    @runs.command("delete")
    @_guard
    def delete(
        run: Annotated[list[str] | None, typer.Argument(help="Runs to delete: folders or unique run names.",
                                                        show_default=False)] = None,
        runs_dir: RunsDirOption = _DEFAULT_DIR,
        older_than: Annotated[str | None, typer.Option("--older-than", help="Also every run started longer ago "
                                                       "than this: 30m, 12h, 7d, 2w.", show_default=False)] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    ) -> None:
        """Delete run folders (everything in them), after a confirmation. A run still training is kept.

        Examples:

            rmlp runs delete wine-old

            rmlp runs delete --older-than 7d --yes
        """
        if not run and older_than is None:
            raise UserError("Name the runs to delete, or give --older-than AGE (e.g. 7d).")
        chosen = _chosen_for_delete(list(run or []), runs_dir, older_than)
        if not chosen:
            typer.echo(f"No runs in {runs_dir} started more than {older_than} ago; nothing deleted.")
            return
        busy = [r for r in chosen if r.status == "running"]
        for r in busy:
            _err(f"Kept {r.name}: it is still training (stop it first).")
        chosen = [r for r in chosen if r.status != "running"]
        if not chosen:
            raise typer.Exit(1)
        typer.echo("To delete:\n" + "\n".join(f"  {r.name}  ({r.status}, {r.path})" for r in chosen))
        if not yes:
            try:
                folders = "this run folder" if len(chosen) == 1 else f"these {len(chosen)} run folders"
                sure = typer.confirm(f"Delete {folders}?", default=False)
            except typer.Abort:
                sure = False
            if not sure:
                _err("Nothing deleted.")
                raise typer.Exit(1)
        for r in chosen:
            delete_run(r.path)
        typer.echo(f"Deleted {count(len(chosen), 'run')}.")
        if busy:
            raise typer.Exit(1)

    @app.command("predict")
    @_guard
    @settings_options(LoadConfig)
    def predict(
        run: RunArg,
        data: Annotated[Path, typer.Argument(help="Rows to predict: a CSV table (for a table run), or images "
                                             "(a folder, .zip or .npz) for an image run.", show_default=False)],
        output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file to write (default: print the "
                                                    "predictions).", show_default=False)] = None,
        runs_dir: RunsDirOption = _DEFAULT_DIR,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Predict with a trained run on new rows: a CSV table, or images for an image run.

        The run's preprocessor is applied to the raw rows, then its model; one row out per row in, in the input
        order: `prediction` (the label, or the value in target units) and for a classifier one
        `p(CLASS)` column per class. Images keep their file names in a `file` column.

        Refused (exit 1, nothing written): a missing feature column (named); no rows; text that is no number,
        or a number that is not finite, in a numeric column (with --non-finite impute these are filled like
        empty cells, with a notice). Predicted with a notice: the target column present (ignored); extra
        columns (ignored, named); empty cells (filled as in training); categories training never saw.
        Text cells a spreadsheet would run as a formula (starting with = + - @) are written with a leading '.

        Examples:

            rmlp predict wine new_rows.csv -o predictions.csv

            rmlp predict runs/20250101-120000-digits more_digits.zip -o predictions.csv
        """
        limits = parse_settings(LoadConfig, dict(settings or {}))
        path = find_run(run, runs_dir)
        if not data.exists():
            raise UserError(f"No data file or folder at {data}.")
        predictor = load_predictor(path)
        options = limits.options(predictor.kind)
        result = predict_file(predictor, data, **options)
        for notice in result.notices:
            _err(f"note: {notice}")
        if output is None:
            escape_formulas(result.table).to_csv(sys.stdout, index=False)
            return
        write_predictions(result, output)
        _err(f"Wrote {count(len(result.table), 'prediction')} to {output}.")
