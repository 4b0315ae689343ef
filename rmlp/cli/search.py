"""Search commands of the ``rmlp`` command line: ``search``, ``search-space``, ``search-report``, ``promote``.

``register(app)`` adds them to a Typer app (``rmlp.cli`` calls it). A user's mistake (a missing
file, a bad space, an unknown study or metric, an unreachable database) prints a plain message to
stderr and exits with status 1, never a traceback; set ``RMLP_DEBUG=1`` to see one.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rmlp.cli.errors import TaskChoice, UserError, guarded, stop_on_ctrl_c
from rmlp.cli.errors import err as _err

__all__ = ["register"]


class SamplerChoice(StrEnum):
    tpe = "tpe"
    random = "random"
    grid = "grid"


class PrunerChoice(StrEnum):
    median = "median"
    hyperband = "hyperband"
    none = "none"


class DirectionChoice(StrEnum):
    minimize = "minimize"
    maximize = "maximize"


_guard = guarded("Interrupted. Finished trials are kept; run the same command to resume the study.")


def _data_source(data: Path, target: str, task: TaskChoice | None, seed: int) -> Any:
    from rmlp.search.runner import DataSource

    if not data.exists():
        raise UserError(f"No data file at {data}.")
    if data.is_dir():
        raise UserError(f"{data} is a folder; give a CSV table.")
    return DataSource(str(data.resolve()), target, task.value if task else None, seed)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.4g}"
    return str(value)


def _print_table(frame: Any, title: str, limit_cols: int = 14) -> None:
    from rich.console import Console
    from rich.table import Table

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
    from rich.console import Console

    from rmlp.search.report import study_report

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
    def search(
        spec: Annotated[Path, typer.Argument(help="Model spec file to start from (.json/.yaml).", show_default=False)],
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table to search on.", show_default=False)],
        target: Annotated[str, typer.Option("--target", "-t", help="Target column of the table.",
                                            show_default=False)],
        space: Annotated[Path | None, typer.Option("--space", "-s", help="Search space JSON (default: a "
                                                   "space around the spec; see `rmlp search-space`).")] = None,
        n_trials: Annotated[int, typer.Option("--n-trials", "-n", min=1, help="Trials this command runs.")] = 20,
        timeout: Annotated[float | None, typer.Option(min=1, help="Stop starting trials after this many "
                                                      "seconds.")] = None,
        storage: Annotated[str | None, typer.Option(help="Optuna storage URL (sqlite:///FILE.db, "
                                                    "postgresql+psycopg2://USER@HOST/DB, journal:FILE). Default: "
                                                    "a file under --studies-dir.")] = None,
        study: Annotated[str | None, typer.Option("--study", help="Study name (same name + storage resumes "
                                                  "or joins it). Default: model name-data file name.")] = None,
        workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
        seed: Annotated[int, typer.Option(min=0, help="Seed of the split, the weights and (by default) the "
                                          "sampler. Keep it the same on every machine of a study.")] = 0,
        sampler_seed: Annotated[int | None, typer.Option("--sampler-seed", min=0, help="Seed of the sampler "
                                                         "(default: --seed). Give each machine its own.")] = None,
        metric: Annotated[str, typer.Option(help="Validation metric to optimise (val_loss, val_accuracy, "
                                            "val_auc, val_rmse, ...).")] = "val_loss",
        direction: Annotated[DirectionChoice | None, typer.Option(help="Default: maximize for accuracy/AUC, "
                                                                  "else minimize.")] = None,
        two_objectives: Annotated[bool, typer.Option("--two-objectives", help="Optimise the metric and the "
                                                     "parameter count together (Pareto front; no pruning).")] = False,
        epochs: Annotated[int, typer.Option(min=1, help="Epochs per trial (the pruner may stop earlier).")] = 10,
        batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Batch size when the space "
                                                "does not search it.")] = 32,
        sampler: Annotated[SamplerChoice, typer.Option(help="tpe, random, or grid (small spaces).")] = (
            SamplerChoice.tpe),
        pruner: Annotated[PrunerChoice, typer.Option(help="median, hyperband or none.")] = PrunerChoice.median,
        patience: Annotated[int, typer.Option(min=0, help="Early-stopping patience within a trial.")] = 5,
        task: Annotated[TaskChoice | None, typer.Option(help="Task (default: inferred from the target).")] = None,
        max_params: Annotated[int | None, typer.Option("--max-params", min=1, help="Reject designs with more "
                                                       "parameters (overrides the space).")] = None,
        max_memory_mb: Annotated[float | None, typer.Option("--max-memory-mb", min=1, help="Reject designs "
                                                            "needing more training memory (MiB).")] = None,
        studies_dir: Annotated[Path, typer.Option("--studies-dir", help="Folder of the default storage.")] = (
            Path("studies")),
    ) -> None:
        """Search residual MLP designs for a table with Optuna and print the best trials.

        Examples:

            rmlp search spec.json --data sample_data/wine.csv --target target --n-trials 30

            rmlp search spec.json --space space.json --data t.csv --target y --workers 2 --n-trials 40

            rmlp search spec.json --data t.csv --target y --storage postgresql+psycopg2://me@db/optuna --study s1
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from rmlp.spec.io import load_spec
        from rmlp.search.space import SearchSpace
        from rmlp.search.runner import default_storage, run_search

        if spec.is_dir():
            raise UserError(f"{spec} is a folder; give a spec file (.json or .yaml).")
        base = load_spec(spec)
        search_space = SearchSpace.load(space) if space is not None else None
        source = _data_source(data, target, task, seed)
        stop, restore = stop_on_ctrl_c("Stopping the search after the running batch")
        columns = (TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                   TimeElapsedColumn())
        progress = Progress(*columns, transient=False)
        bar = progress.add_task("starting...", total=n_trials)
        metric_label = metric

        def on_progress(p: Any) -> None:
            best = "-" if p.best_value is None else f"{p.best_value:.4g} (trial {p.best_trial})"
            text = f"best {metric_label} {best}"
            if p.running:
                text += f" | running {len(p.running)}"
            if sum(p.rejected.values()):
                text += f" | capped {sum(p.rejected.values())}"
            progress.update(bar, completed=min(p.done, n_trials), description=text)

        try:
            with progress:
                result = run_search(
                    base, source, search_space, n_trials=n_trials, timeout=timeout, storage=storage,
                    study_name=study, workers=workers, seed=seed, sampler=sampler.value, pruner=pruner.value,
                    metric=metric, direction=direction.value if direction else None,
                    objectives=2 if two_objectives else 1, epochs=epochs, batch_size=batch_size, patience=patience,
                    studies_dir=studies_dir, progress=on_progress, stop_event=stop, max_params=max_params,
                    max_memory_mb=max_memory_mb, sampler_seed=sampler_seed)
        finally:
            restore()
        for notice in result.notices:
            _err(f"note: {notice}")
        if result.recovered_trials:
            _err(f"note: worker(s) died; trial(s) {result.recovered_trials} were failed and queued again "
                 f"({result.restarted_workers} worker(s) restarted).")
        _print_report(result.load_study(), 10)
        url = result.storage or default_storage(result.study_name, workers, studies_dir)
        typer.echo(f"Storage: {url}   study: {result.study_name}")
        if result.stopped:
            typer.echo("Stopped. Run the same command again to resume the study.")
        typer.echo(f"Report:  rmlp search-report --storage '{url}' --study {result.study_name}")
        typer.echo(f"Promote: rmlp promote --storage '{url}' --study {result.study_name} --data {data} "
                   f"--target {target}")
        typer.echo(f"Watch:   optuna-dashboard '{url.removeprefix('journal:')}'")

    @app.command("search-space")
    @_guard
    def search_space_cmd(
        spec: Annotated[Path, typer.Argument(help="Model spec file.", show_default=False)],
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the space here (default: "
                                                 "print it).")] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 32,
    ) -> None:
        """Print (or write) the default search space around a spec, to edit and pass to `rmlp search --space`."""
        from rmlp.spec.io import load_spec
        from rmlp.search.space import default_space

        text = default_space(load_spec(spec), batch_size).to_json()
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
        from rmlp.search.report import figures as make_figures
        from rmlp.search.report import load_study, report_json

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
    def promote_cmd(
        storage: Annotated[str, typer.Option(help="Optuna storage URL of the study.", show_default=False)],
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table (the one searched on).",
                                           show_default=False)],
        target: Annotated[str, typer.Option("--target", "-t", help="Target column.", show_default=False)],
        study: Annotated[str | None, typer.Option("--study", help="Study name.")] = None,
        epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default: the study's budget).")] = None,
        trial: Annotated[int | None, typer.Option(help="Promote this trial instead of the best.")] = None,
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder for run folders.")] = Path("runs"),
        seed: Annotated[int, typer.Option(min=0, help="Seed of the split and the weights (use the search's).")] = 0,
        task: Annotated[TaskChoice | None, typer.Option(help="Task (default: inferred from the target).")] = None,
    ) -> None:
        """Retrain the best design of a study on train+validation for the full epoch budget.

        Writes the usual run folder (spec, history, model.keras, metrics) plus search.json and
        bundle.zip (model, stand-alone code, predict script).
        """
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from rmlp.search.report import promote

        source = _data_source(data, target, task, seed)
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
