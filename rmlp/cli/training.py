"""Training commands: ``train``, ``resume`` and ``inspect-base`` (TensorFlow is imported when they run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import rich.progress
import typer
from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rmlp.base.measure import inspect_base_file
from rmlp.base.safety import check_keras_file
from rmlp.cli.errors import UserError, guarded, stop_on_ctrl_c
from rmlp.cli.errors import err as _err
from rmlp.cli.options import TaskOption, settings_options
from rmlp.data import load_data, spec_for_data
from rmlp.data.limits import LoadConfig
from rmlp.data.split import SplitConfig
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir, check_runs_dir
from rmlp.runs.resume import resume as run_resume
from rmlp.runs.train import preflight
from rmlp.runs.train import train as run_train
from rmlp.spec.fields import field_table, parse_settings
from rmlp.spec.model import ModelSpec, load_spec
from rmlp.spec.problems import SpecError
from rmlp.spec.units import count

#: The spec's ensemble setting, offered by ``rmlp train --ensemble``.
ENSEMBLE_META = field_table(ModelSpec)["ensemble"]

__all__ = ["Progress", "register", "report"]

SpecArg = Annotated[Path, typer.Argument(help="Model spec file (.json, .yaml or .yml).", show_default=False)]
_guard = guarded()


class Progress:
    """A rich progress bar driven by training events; piped or redirected, whole plain lines only.

    A bar is drawn only on a terminal: in a pipe or a log file its columns would be cut to the
    console's assumed width of 80 characters.
    """

    def __init__(self, title: str) -> None:
        console = Console(stderr=True, soft_wrap=True)
        self.progress = rich.progress.Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[logs]}"),
            console=console, transient=False, disable=not console.is_terminal,
        )
        self.task = self.progress.add_task(title, total=1.0, logs="")

    def __enter__(self) -> Progress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "kind", "")
        logs = getattr(event, "logs", {}) or {}
        shown = "  ".join(f"{k} {v:.4g}" for k, v in logs.items()
                          if k in ("loss", "val_loss", "accuracy", "val_accuracy", "rmse", "val_rmse")
                          and isinstance(v, (int, float)))
        if kind == "train_begin" and event.message:
            self.progress.console.print(event.message)
        if kind in ("batch", "epoch", "train_begin"):
            what = f"epoch {max(event.epoch, 1)}/{event.epochs}" if event.epochs else "training"
            self.progress.update(self.task, completed=float(event.progress), description=what,
                                 logs=shown if kind == "epoch" or shown else "")
            if kind == "epoch":
                self.progress.console.print(f"epoch {event.epoch}/{event.epochs}  {shown}")
                if event.message.startswith("First score"):
                    self.progress.console.print(event.message)
        elif kind == "baseline_epoch":
            self.progress.update(self.task, description=f"baseline epoch {event.epoch}/{event.epochs}", logs=shown)
        elif kind in ("train_end", "stopped"):
            self.progress.update(self.task, completed=float(event.progress) if kind == "stopped" else 1.0)
            if event.message:
                self.progress.console.print(event.message)


def report(result: Any) -> None:
    for notice in result.notices or []:
        _err(notice if notice.startswith("Warning") else f"note: {notice}")
    console = Console()
    table = Table(title="Test metrics" if result.test_metrics else "Metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in (result.test_metrics or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            table.add_row(str(key), f"{value:.4g}")
    if result.baseline:
        for key, value in (result.baseline.get("test_metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                table.add_row(f"baseline {key}", f"{value:.4g}")
    if table.row_count:
        console.print(table)
    if result.model is None:  # stopped while starting: no epoch, no checkpoint to resume or export
        console.print("Nothing was trained or saved; run the same command again to train.")
        return
    state = "stopped" if result.stopped else "finished"
    console.print(f"Run {state} after {count(result.epochs_run, 'epoch')} in this call: {result.run_dir}")
    console.print(f"Resume:  rmlp resume {result.run_dir}" + (" --epochs N" if not result.stopped else ""))
    console.print(f"Bundle:  rmlp export --run {result.run_dir} --format bundle")


def register(app: typer.Typer) -> None:
    """Add the training commands to ``app``."""

    @app.command()
    @_guard
    @settings_options(TrainConfig, SplitConfig, LoadConfig)
    def train(
        spec: SpecArg,
        data: Annotated[Path, typer.Option("--data", "-d", help="CSV table (with --target), or images: a folder "
                                           "or .zip of class folders, or a .npz file.", show_default=False)],
        target: Annotated[str | None, typer.Option("--target", "-t", help="Target column of the CSV table.")] = None,
        task: TaskOption = None,
        ensemble: Annotated[int | None, typer.Option(
            "--ensemble", help=ENSEMBLE_META.describe() + " Overrides the spec's value.", show_default=False,
            min=int(ENSEMBLE_META.low or 1), max=int(ENSEMBLE_META.high or 32))] = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Train a spec on a CSV table (or images) and save a run folder.

        The spec's input shape, task and outputs follow the data. The run folder holds spec.json,
        history.csv, checkpoints, model.keras, metrics.json and preprocessor.json. Ctrl-C stops after
        the current batch and keeps the run resumable. Every training setting is an option; --seed
        also seeds the split.

        Examples:

            rmlp train spec.json --data sample_data/wine.csv --target target --epochs 30

            rmlp train spec.json --data table.csv --target price --task regression --no-early-stopping

            rmlp train spec.json --data sample_data/wine.csv --target target --ensemble 5
        """
        values = dict(settings or {})
        config = parse_settings(TrainConfig, {k: v for k, v in values.items() if k in TrainConfig.model_fields})
        split = parse_settings(SplitConfig, {k: v for k, v in values.items() if k in SplitConfig.model_fields})
        limits = parse_settings(LoadConfig, {k: v for k, v in values.items() if k in LoadConfig.model_fields})
        load_options = limits.options("table" if target else "images")
        check_runs_dir(config.runs_dir)
        loaded = load_spec(spec)
        if ensemble is not None:
            loaded = loaded.copy_with(ensemble=ensemble)
        if not data.exists():
            raise UserError(f"No data file or folder at {data}.")
        task_value = task
        dataset = load_data(data, target or None, task=task_value, seed=config.seed, **split.model_dump(),
                            **load_options)
        source = {"kind": "table" if target else "images", "path": str(data.resolve()), "target": target or "",
                  "task": getattr(dataset, "task", task_value), "seed": config.seed, **split.model_dump(),
                  **load_options}
        for warning in getattr(dataset, "warnings", []) or []:
            _err(f"note: {warning}")
        fitted, notices = spec_for_data(loaded, dataset)
        for notice in notices:
            _err(f"note: {notice}")
        preflight(fitted, dataset, config)  # a design that cannot train says so before TensorFlow loads
        stop, restore = stop_on_ctrl_c("Stopping after this batch")
        try:
            with Progress("starting") as bar:
                result = run_train(fitted, dataset, config, listener=bar, stop_event=stop, data_source=source)
        finally:
            restore()
        report(result)


    @app.command()
    @_guard
    def resume(
        run_dir: Annotated[Path, typer.Argument(help="Run folder to continue (runs/...).", show_default=False)],
        epochs: Annotated[int | None, typer.Option(
            "--epochs", min=1, help="Add N epochs to the run's plan: a run planned for 20 epochs goes on to 20 + N "
            "(default: on to the planned epochs). Never shortens the plan.")] = None,
        data: Annotated[Path | None, typer.Option(
            "--data", "-d", help="Data file to continue on, loaded with the run's recorded settings (default: the "
            "file in the run's data.json, which must be unchanged since training).", show_default=False)] = None,
    ) -> None:
        """Continue a stopped or crashed run from its last checkpoint (the data is reloaded from data.json).

        It says which epoch it restored and which epochs were lost (trained after the last checkpoint,
        or cut short) and are trained again. A crash loses at most one epoch or 10 s of training.

        Examples:

            rmlp resume runs/20250101-120000-wine

            rmlp resume runs/20250101-120000-wine --epochs 10

            rmlp resume runs/20250101-120000-wine --data moved/wine.csv
        """
        if not run_dir.is_dir():
            raise UserError(f"No run folder at {run_dir}.")
        if not RunDir(run_dir).is_run():
            raise UserError(f"{run_dir} is not a run folder: it has no {RunDir.SPEC}.")
        if epochs is None:
            done, planned = RunDir(run_dir).progress()
            state = RunDir(run_dir).read_json(RunDir.STATE, {})
            if isinstance(state, dict) and isinstance(state.get("checkpoint_epoch"), int):
                done = min(done, state["checkpoint_epoch"])  # epochs after the checkpoint are trained again
            if planned and done >= planned:
                raise UserError(f"The run {run_dir.name} has already trained all {planned} epochs; add --epochs N to "
                                "train N more.")
        stop, restore = stop_on_ctrl_c("Stopping after this batch")
        try:
            with Progress("resuming") as bar:
                result = run_resume(run_dir, listener=bar, stop_event=stop, extra_epochs=epochs, data_path=data)
        finally:
            restore()
        report(result)


    @app.command("inspect-base")
    @_guard
    def inspect_base(
        file: Annotated[Path, typer.Argument(help="A .keras model file.", show_default=False)],
        cut: Annotated[str, typer.Option("--cut", help="Layer whose output feeds the residual MLP (default: the "
                                         "model's output).")] = "",
    ) -> None:
        """Check a .keras base model for unsafe layers, load it safely and describe it.

        The facts are cached beside the file, so `rmlp summary` can count a spec that uses it.

        Examples:

            rmlp inspect-base sample_data/digits_cnn.keras --cut features
        """
        problems = check_keras_file(file)
        if problems:
            raise SpecError(problems, what="The base model file")
        info = inspect_base_file(file, cut)
        input_shape = info.extra.get("input_shape")
        rows = [
            ("File", str(file)),
            ("Cut at", cut or f"(output) {info.extra.get('output_layer', '')}"),
            ("Input (height, width, channels)", str(input_shape)),
            ("Usual size", f"{info.default_size[0]}x{info.default_size[1]}"),
            ("Smallest size", str(info.min_size)),
            ("Output per example", str(list(info.output_shape(*info.default_size, "none")))),
            ("Parameters", f"{info.total_params:,}"),
            ("Layers", str(info.num_layers)),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            typer.echo(f"{key:<{width}}  {value}")
        snippet = {"source": "file", "path": str(file), "cut_layer": cut, "trainable_layers": 0}
        typer.echo("Use it in a spec as:\n  \"base_model\": " + json.dumps(snippet))
