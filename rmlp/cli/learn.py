"""Teaching commands: ``ablate`` (the same design trained with and without the bypass; TensorFlow when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rmlp.cli.errors import UserError, err, guarded, stop_on_ctrl_c
from rmlp.cli.options import TaskOption, settings_options
from rmlp.cli.training import Progress, SpecArg
from rmlp.data import load_data, spec_for_data
from rmlp.data.limits import LoadConfig
from rmlp.data.split import SplitConfig
from rmlp.learn.ablate import AblationResult, ablate
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import check_runs_dir
from rmlp.runs.train import preflight
from rmlp.spec.fields import parse_settings
from rmlp.spec.model import load_spec

__all__ = ["register", "report_ablation"]

_guard = guarded()


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def report_ablation(result: AblationResult) -> None:
    """Both runs' test metrics side by side, and where their run folders are."""
    console = Console()
    table = Table(title="Test metrics: with and without the bypass")
    for column, justify in (("metric", "left"), ("residual", "right"), ("plain", "right"),
                            ("residual − plain", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in result.table():
        table.add_row(str(row["metric"]), _cell(row["residual"]), _cell(row["plain"]), _cell(row["difference"]))
    if table.row_count:
        console.print(table)
    else:
        console.print("No test metrics: a run was stopped before it was evaluated.")
    for variant, run in (("residual", result.residual), ("plain", result.plain)):
        console.print(f"{variant}: {run.run_dir}")


def register(app: typer.Typer) -> None:
    """Add the teaching commands to ``app``."""

    @app.command("ablate")
    @_guard
    @settings_options(TrainConfig, SplitConfig, LoadConfig)
    def ablate_command(
        spec: SpecArg,
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table (with --target), or images: a folder "
                                           "or .zip of class folders, or a .npz file.", show_default=False)],
        target: Annotated[str | None, typer.Option("--target", "-t", help="Target column of the CSV table.")] = None,
        task: TaskOption = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Train a spec twice, with and without the bypass (residual connections), and compare.

        Both runs share the seed, the data split and every training setting; they are saved as
        <name>-residual and <name>-plain. The test metrics are printed side by side.

        Examples:

            rmlp ablate spec.json --data sample_data/wine.csv --target target --epochs 30
        """
        values = dict(settings or {})
        config = parse_settings(TrainConfig, {k: v for k, v in values.items() if k in TrainConfig.model_fields})
        split = parse_settings(SplitConfig, {k: v for k, v in values.items() if k in SplitConfig.model_fields})
        limits = parse_settings(LoadConfig, {k: v for k, v in values.items() if k in LoadConfig.model_fields})
        check_runs_dir(config.runs_dir)
        loaded = load_spec(spec)
        if not data.exists():
            raise UserError(f"No data file or folder at {data}.")
        dataset = load_data(data, target or None, task=task, seed=config.seed, **split.model_dump(),
                            **limits.options("table" if target else "images"))
        for warning in getattr(dataset, "warnings", []) or []:
            err(f"note: {warning}")
        fitted, notices = spec_for_data(loaded, dataset)
        for notice in notices:
            err(f"note: {notice}")
        for residual in (True, False):  # both designs must be able to train before either starts
            preflight(fitted.copy_with(residual=residual), dataset, config)
        stop, restore = stop_on_ctrl_c("Stopping after this batch")
        try:
            with Progress("starting") as bar:
                result = ablate(fitted, dataset, config, listener=bar, stop_event=stop)
        finally:
            restore()
        report_ablation(result)
