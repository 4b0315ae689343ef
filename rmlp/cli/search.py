"""Search commands of the ``rmlp`` command line: ``search``, ``search-space``, ``search-report``, ``promote``.

``register(app)`` adds them to a Typer app (``rmlp.cli`` calls it). A user's mistake (a missing
file, a bad space, an unknown study or metric, an unreachable database) prints a plain message to
stderr and exits with status 1, never a traceback; set ``RMLP_DEBUG=1`` to see one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rmlp.cli.errors import UserError, guarded, stop_on_ctrl_c
from rmlp.cli.errors import err as _err
from rmlp.cli.options import TaskOption, settings_options
from rmlp.data import load_data, spec_for_data
from rmlp.data.limits import LoadConfig
from rmlp.design.sizing import batch_size_for
from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import check_runs_dir
from rmlp.search.config import DataSource, SearchConfig
from rmlp.search.promote import promote
from rmlp.search.report import figures as make_figures
from rmlp.search.report import report_json, study_report
from rmlp.search.runner import run_search
from rmlp.search.space import SearchSpace, default_space
from rmlp.search.storage import load_study, open_storage
from rmlp.spec.fields import parse_settings
from rmlp.spec.model import load_spec
from rmlp.spec.units import count

__all__ = ["register"]


_guard = guarded("Interrupted. Finished trials are kept; run the same command to resume the study.")


def _data_source(data: Path, target: str, task: Any, seed: int) -> DataSource:
    if not data.exists():
        raise UserError(f"No data file at {data}.")
    if data.is_dir():
        raise UserError(f"{data} is a folder; give a CSV table.")
    return DataSource(str(data.resolve()), target, task or None, seed)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.4g}"
    return str(value)


def _print_table(frame: Any, title: str, limit_cols: int = 14) -> None:
    console = Console()
    if frame is None or len(frame) == 0:
        console.print(f"{title}: none yet.")
        return
    table = Table(title=title)
    cols = list(frame.columns)[:limit_cols]
    for col in cols:
        table.add_column(str(col).removeprefix("p:"), justify="right" if frame[col].dtype.kind in "if" else "left",
                         overflow="fold")
    for _, row in frame.iterrows():
        table.add_row(*(_fmt(row[c]) for c in cols))
    console.print(table)


def _print_report(study: Any, top: int) -> None:
    rep = study_report(study, top)
    console = Console()
    states = ", ".join(f"{k.lower()} {v}" for k, v in sorted(rep.states.items())) or "no trials"
    console.print(f"Study [bold]{rep.study_name}[/bold]: {states}.")
    console.print(f"Samples stopped by the caps before building: parameters {rep.caps['params_cap']}, "
                  f"memory {rep.caps['memory_cap']}.")
    if len(rep.directions) > 1:
        _print_table(rep.pareto, f"Pareto front ({rep.metric} vs parameters)")
    _print_table(rep.best, f"Best trials by {rep.metric} ({rep.directions[0]})")


def register(app: typer.Typer) -> None:
    """Add ``search``, ``search-space``, ``search-report`` and ``promote`` to ``app``."""

    @app.command("search")
    @_guard
    @settings_options(SearchConfig, LoadConfig, skip=("max_image_mp", "max_total_mp"))
    def search(
        spec: Annotated[Path, typer.Argument(help="Model spec file to start from (.json/.yaml).", show_default=False)],
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table to search on.", show_default=False)],
        target: Annotated[str, typer.Option("--target", "-t", help="Target column of the table.",
                                            show_default=False)],
        space: Annotated[Path | None, typer.Option("--space", "-s", help="Search space JSON (default: a "
                                                   "space around the spec; see `rmlp search-space`).")] = None,
        task: TaskOption = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Search residual MLP designs for a table with Optuna and print the best trials.

        Examples:

            rmlp search spec.json --data sample_data/wine.csv --target target --n-trials 30

            rmlp search spec.json --space space.json --data t.csv --target y --workers 2 --n-trials 40

            rmlp search spec.json --data t.csv --target y --storage postgresql://me@db/optuna --study s1
        """
        values = settings or {}
        config = parse_settings(SearchConfig, {k: v for k, v in values.items() if k not in LoadConfig.model_fields})
        limits = parse_settings(LoadConfig, {k: v for k, v in values.items() if k in LoadConfig.model_fields})
        if not config.storage:
            check_runs_dir(config.studies_dir, "--studies-dir", "studies folder")
        else:
            open_storage(config.storage, heartbeat=False)  # a wrong URL says so before the progress bar
        base = load_spec(spec)
        search_space = SearchSpace.load(space) if space is not None else None
        source = _data_source(data, target, task, config.seed)
        source.options.update(limits.options("table"))
        stop, restore = stop_on_ctrl_c("Stopping the search after the running batch")
        columns = (TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                   TimeElapsedColumn())
        progress = Progress(*columns, transient=False)
        bar = progress.add_task("starting...", total=config.n_trials)

        def on_progress(p: Any) -> None:
            best = "-" if p.best_value is None else f"{p.best_value:.4g} (trial {p.best_trial})"
            text = f"best {config.metric} {best}"
            if p.running:
                text += f" | running {len(p.running)}"
            if sum(p.rejected.values()):
                text += f" | capped {sum(p.rejected.values())}"
            progress.update(bar, completed=min(p.done, config.n_trials), description=text)

        try:
            with progress:
                result = run_search(base, source, search_space, config, progress=on_progress, stop_event=stop)
        finally:
            restore()
        for notice in result.notices:
            _err(f"note: {notice}")
        if result.recovered_trials:
            trials = ", ".join(str(t) for t in result.recovered_trials)
            _err(f"note: search workers died; {count(len(result.recovered_trials), 'trial')} ({trials}) were failed "
                 f"and queued again ({count(result.restarted_workers, 'worker')} restarted).")
        _print_report(result.load_study(), 10)
        url = result.storage
        typer.echo(f"Storage: {url}   study: {result.study_name}")
        if result.stopped:
            typer.echo("Stopped. Run the same command again to resume the study.")
        typer.echo(f"Report:  rmlp search-report --storage '{url}' --study {result.study_name}")
        typer.echo(f"Promote: rmlp promote --storage '{url}' --study {result.study_name} --data {data} "
                   f"--target {target}")
        typer.echo(f"Watch:   optuna-dashboard '{url.removeprefix('journal:')}'")

    @app.command("search-space")
    @_guard
    @settings_options(TrainConfig, LoadConfig, only=("batch_size", "max_mb", "non_finite"))
    def search_space_cmd(
        spec: Annotated[Path, typer.Argument(help="Model spec file.", show_default=False)],
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the space here (default: "
                                                 "print it).")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="The table the search will run on: the space "
                                                  "and batch size are sized to its rows.")] = None,
        target: Annotated[str | None, typer.Option("--target", help="Target column of the --data table.")] = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Print (or write) the default search space around a spec, to edit and pass to `rmlp search --space`."""
        loaded_spec, rows = load_spec(spec), None
        if data is not None:
            limits = {k: v for k, v in (settings or {}).items() if k in LoadConfig.model_fields}
            loaded = load_data(data, target, **parse_settings(LoadConfig, limits).options("table"))
            loaded_spec, _ = spec_for_data(loaded_spec, loaded)
            rows = len(loaded.x_train)
        given = (settings or {}).get("batch_size")
        batch = int(given) if given else (batch_size_for(rows) if rows else DEFAULT_BATCH_SIZE)
        text = default_space(loaded_spec, batch, rows=rows).to_json()
        if out is None:
            typer.echo(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
            _err(f"Wrote {out}")

    @app.command("search-report")
    @_guard
    def search_report(
        storage: Annotated[str, typer.Option(help="Optuna storage URL of the study.", show_default=False)],
        study: Annotated[str | None, typer.Option("--study", help="Study name (may be left out when the "
                                                  "storage holds one).")] = None,
        top: Annotated[int, typer.Option(min=1, help="How many of the best trials to list.")] = 10,
        figures: Annotated[Path | None, typer.Option("--figures", help="Write the Plotly figures as HTML "
                                                     "files into this folder.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Report on a stored study: trial counts, cap counts, best trials, Pareto front, figures."""
        loaded = load_study(storage, study)
        if as_json:
            typer.echo(report_json(loaded))
        else:
            _print_report(loaded, top)
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            for name, fig in make_figures(loaded).items():
                path = figures / f"{name}.html"
                fig.write_html(str(path), include_plotlyjs=True)
                _err(f"Wrote {path}")

    @app.command("promote")
    @_guard
    @settings_options(TrainConfig, LoadConfig, only=("runs_dir", "seed", "max_mb", "non_finite"))
    def promote_cmd(
        storage: Annotated[str, typer.Option(help="Optuna storage URL of the study.", show_default=False)],
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table (the one searched on).",
                                           show_default=False)],
        target: Annotated[str, typer.Option("--target", "-t", help="Target column.", show_default=False)],
        study: Annotated[str | None, typer.Option("--study", help="Study name.")] = None,
        epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default: the study's budget).")] = None,
        trial: Annotated[int | None, typer.Option(help="Promote this trial instead of the best.")] = None,
        task: TaskOption = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Retrain the best design of a study on train+validation for the full epoch budget.

        Writes the usual run folder (spec, history, model.keras, metrics) plus search.json and
        bundle.zip (model, stand-alone code, predict script).
        """
        values = settings or {}
        seed, runs_dir = int(values["seed"]), Path(values["runs_dir"])
        check_runs_dir(runs_dir)
        source = _data_source(data, target, task, seed)
        source.options.update(parse_settings(LoadConfig, {k: v for k, v in values.items()
                                                          if k in LoadConfig.model_fields}).options("table"))
        stop, restore = stop_on_ctrl_c("Stopping the search after the running batch")
        progress = Progress(TextColumn("[bold]promote"), BarColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn())
        bar = progress.add_task("starting...", total=1.0)

        def listener(event: Any) -> None:
            if event.kind in ("epoch", "train_end", "stopped"):
                progress.update(bar, completed=event.progress, description=f"epoch {event.epoch}/{event.epochs}")

        try:
            with progress:
                result = promote(storage, study, source, epochs, runs_dir, trial=trial, seed=seed,
                                 listener=listener, stop_event=stop)
        finally:
            restore()
        shown = {k: v for k, v in result.test_metrics.items() if isinstance(v, (int, float))
                 and not isinstance(v, bool)}
        typer.echo(f"Promoted trial {result.trial} ({result.epochs} epochs on train+validation).")
        for key, value in shown.items():
            typer.echo(f"  test {key}: {value:.4g}")
        typer.echo(f"Run folder: {result.run_dir}")
        typer.echo(f"Bundle:     {result.bundle}")
