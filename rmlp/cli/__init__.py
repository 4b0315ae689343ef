"""The ``rmlp`` command line: a thin wrapper over the library.

Design commands (``validate``, ``summary``, ``graph``, ``export --format py|snippet``, ``init``)
never import TensorFlow; ``train``, ``resume``, ``inspect-base`` and ``export --format keras``
import it inside the command. A user's mistake (a missing or bad spec file, a bad data file, a
spec with errors) prints a plain message to stderr and exits non-zero, never a traceback; set
``RMLP_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rmlp.cli.errors import TaskChoice, UserError, guarded, print_problems, stop_on_ctrl_c
from rmlp.cli.errors import err as _err
from rmlp.spec.problems import SpecError

__all__ = ["app", "main"]


app = typer.Typer(
    name="rmlp",
    help=(
        "Design, check, train and export residual MLPs (Keras 3).\n\n"
        "A model is one spec file (JSON or YAML). Start with `rmlp init -o spec.json`, check it with "
        "`rmlp validate spec.json`, look at it with `rmlp summary spec.json` and `rmlp graph spec.json`, "
        "train it with `rmlp train spec.json --data table.csv --target label`, and export it with "
        "`rmlp export spec.json --format py`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


class GraphFormat(StrEnum):
    dot = "dot"
    svg = "svg"


class ExportFormat(StrEnum):
    py = "py"
    snippet = "snippet"
    keras = "keras"
    savedmodel = "savedmodel"
    bundle = "bundle"




# ----------------------------------------------------------------------------- errors and output
_guard = guarded()


def _load(path: Path) -> Any:
    """The spec in a JSON or YAML file (SpecError with a clear message otherwise)."""
    from rmlp.spec.io import load_spec

    if path.is_dir():
        raise UserError(f"{path} is a folder; give a spec file (.json or .yaml).")
    return load_spec(path)


def _write_text(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    _err(f"Wrote {out}")


SpecArg = Annotated[Path, typer.Argument(help="Model spec file (.json, .yaml or .yml).", show_default=False)]


# ----------------------------------------------------------------------------- design commands
@app.command()
@_guard
def validate(
    spec: SpecArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    """Check a spec and list its problems (errors and warnings) with fixes.

    Exits 1 when the spec has errors, 0 otherwise (warnings alone do not fail).

    Examples:

        rmlp validate spec.json

        rmlp validate spec.yaml --json
    """
    from rmlp.design.validate import validate as run_validate

    try:
        problems = run_validate(_load(spec))
    except SpecError as exc:  # unreadable or ill-typed: these are the problems
        problems = exc.problems
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in problems], indent=2, default=str))
    elif not problems:
        typer.echo(f"{spec}: no problems found.")
    else:
        print_problems(problems)
        warnings = len(problems) - len(errors)
        typer.echo(f"{spec}: {len(errors)} error(s), {warnings} warning(s).")
    if errors:
        raise typer.Exit(1)


@app.command()
@_guard
def summary(
    spec: SpecArg,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Batch size of the memory estimate.")]
    = 32,
    dtype: Annotated[str, typer.Option(help="Dtype policy of the memory estimate: float32, mixed_float16, "
                                            "mixed_bfloat16, float16 or bfloat16.")] = "float32",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Parameters, layers, depth, FLOPs and a memory estimate of a design, without building it.

    Examples:

        rmlp summary spec.json

        rmlp summary spec.json --batch-size 128 --dtype mixed_float16 --json
    """
    from rmlp.design.summary import DTYPE_BYTES, human_bytes, human_count, machine_memory_bytes, summarize

    if dtype not in DTYPE_BYTES:
        raise typer.BadParameter(f"{dtype!r} is not one of {', '.join(DTYPE_BYTES)}.", param_hint="--dtype")
    loaded = _load(spec)
    from rmlp.spec.problems import errors
    from rmlp.design.validate import validate as run_validate

    problems = errors(run_validate(loaded))
    if problems:
        raise SpecError(problems)
    s = summarize(loaded, batch_size=batch_size, dtype=dtype)
    if as_json:
        typer.echo(json.dumps(s.to_dict(), indent=2))
        return
    machine = machine_memory_bytes()
    rows = [
        ("Model", loaded.name),
        ("Task", f"{loaded.task}, {loaded.num_outputs} output(s)"),
        ("Parameters", f"{s.total_params:,} ({human_count(s.total_params)})"),
        ("Trainable", f"{s.trainable_params:,}"),
        ("Non-trainable", f"{s.non_trainable_params:,}"),
        ("Layers", str(s.layers)),
        ("Dense layers", str(s.dense_layers)),
        ("Depth", f"{s.depth} weight layers on the longest path"),
        ("Blocks", str(s.blocks)),
        ("Features into block 1", str(list(s.feature_shape))),
        ("FLOPs per example", human_count(s.flops)),
        ("Weights", human_bytes(s.weights_bytes)),
        (f"Training memory (batch {batch_size}, {dtype})", human_bytes(s.peak_training_bytes)
         + (f" of {human_bytes(machine)} on this machine" if machine else "")),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    if machine and s.peak_training_bytes > machine:
        typer.echo("Warning: training this design may need more memory than this machine has.")


@app.command()
@_guard
def graph(
    spec: SpecArg,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f", help="dot (Graphviz text) or svg (needs Graphviz).")]
    = GraphFormat.dot,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    compact: Annotated[bool | None, typer.Option("--compact/--full", help="One node per block, or every layer "
                                                 "(default: compact for large designs).", show_default=False)]
    = None,
) -> None:
    """Draw the architecture as a Graphviz graph (main path blue, bypass orange, merge green).

    Examples:

        rmlp graph spec.json > model.dot

        rmlp graph spec.json --format svg -o model.svg
    """
    from rmlp.design.graph import to_dot
    from rmlp.spec.problems import errors
    from rmlp.design.validate import validate as run_validate

    loaded = _load(spec)
    dot = to_dot(loaded, compact=compact)
    found = errors(run_validate(loaded))
    if found:
        _err(f"Note: the spec has {len(found)} error(s), drawn in red; `rmlp validate {spec}` lists them.")
    if fmt == GraphFormat.dot:
        _write_text(dot, output)
        return
    from rmlp.export import graph_svg

    svg = graph_svg(dot)
    if svg is None:
        raise UserError("SVG needs Graphviz's `dot` program, which was not found. Install Graphviz "
                        "(Debian: apt-get install graphviz), or use --format dot.")
    if output is None:
        sys.stdout.buffer.write(svg)
        sys.stdout.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(svg)
        _err(f"Wrote {output}")


@app.command()
@_guard
def export(
    spec: Annotated[Path | None, typer.Argument(help="Model spec file (not needed with --run).",
                                                show_default=False)] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="py: stand-alone Keras script; snippet: "
                                              "short rmlp script; keras: built model file; savedmodel: "
                                              "TensorFlow SavedModel for serving; bundle: zip of "
                                              "everything.")] = ExportFormat.py,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write (py/snippet: stdout "
                                                "when not given).")] = None,
    run: Annotated[Path | None, typer.Option("--run", help="A trained run folder (runs/...) to export instead "
                                             "of a spec.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="py: CSV file the training part reads.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="py: target column of the CSV.")] = None,
    training: Annotated[bool, typer.Option("--training/--no-training", help="py: include a training part "
                                           "(reads the CSV, encodes, trains, saves model.keras).")] = False,
    epochs: Annotated[int, typer.Option(min=1, help="py: epochs of the training part.")] = 10,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="py: batch size of the training part.")]
    = 32,
) -> None:
    """Export a design (or a trained run) as code, a .keras file or a zip bundle.

    Examples:

        rmlp export spec.json --format py -o model.py

        rmlp export spec.json --format py --training --csv wine.csv --target target -o train.py

        rmlp export spec.json --format snippet

        rmlp export spec.json --format keras -o model.keras

        rmlp export --run runs/20250101-120000-wine --format savedmodel -o serving/wine

        rmlp export --run runs/20250101-120000-wine --format bundle -o wine.zip
    """
    from rmlp import export as ex

    if spec is None and run is None:
        raise UserError("Give a spec file, or a trained run with --run RUN_DIR.")
    if run is not None and not (run / "spec.json").is_file():
        raise UserError(f"{run} is not a run folder: it has no spec.json.")
    loaded = _load(spec) if spec is not None else _load(run / "spec.json")  # type: ignore[operator]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in loaded.name) or "model"
    if fmt == ExportFormat.py:
        kwargs: dict[str, Any] = {}
        if run is not None:
            kwargs = ex.run_export_inputs(run)
        if csv is not None:
            kwargs["csv_path"] = str(csv)
        if target is not None:
            kwargs["target"] = target
        if training or csv is not None:
            kwargs["include_training"] = True
        if kwargs.get("include_training") and not kwargs.get("target"):
            raise UserError("The training part needs the target column: add --target COLUMN.")
        _write_text(ex.export_python(loaded, epochs=epochs, batch_size=batch_size, **kwargs), output)
    elif fmt == ExportFormat.snippet:
        _write_text(ex.export_snippet(loaded), output)
    elif fmt == ExportFormat.savedmodel:
        import keras

        from rmlp.keras.build import build_model

        model = (keras.saving.load_model(run / "model.keras", compile=False)
                 if run is not None and (run / "model.keras").is_file() else build_model(loaded))
        out = ex.export_savedmodel(model, output or Path(f"{safe}-savedmodel"))
        _err(f"Wrote {out}")
    elif fmt == ExportFormat.keras:
        out = output or Path(f"{safe}.keras")
        if run is not None and (run / "model.keras").is_file():
            import shutil

            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run / "model.keras", out)
        else:
            from rmlp.keras.build import build_model

            out = ex.save_keras(build_model(loaded), out)
        _err(f"Wrote {out}")
    else:
        out = output or Path(f"{safe}-bundle.zip")
        ex.make_bundle(run if run is not None else loaded, out)
        _err(f"Wrote {out}")


@app.command()
@_guard
def init(
    output: Annotated[Path, typer.Option("--output", "-o", help="Spec file to write (.json, .yaml or .yml).")]
    = Path("spec.json"),
    preset: Annotated[str, typer.Option("--preset", "-p", help="Starter design: original_readme, "
                                        "cifar10_transfer, small_tabular or deep_14.")] = "original_readme",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    list_presets: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
) -> None:
    """Write a starter spec from a preset.

    Examples:

        rmlp init

        rmlp init -o tabular.yaml --preset small_tabular

        rmlp init --list
    """
    from rmlp.spec.presets import PRESET_HELP, get_preset

    if list_presets:
        width = max(len(n) for n in PRESET_HELP)
        for name, text in PRESET_HELP.items():
            typer.echo(f"{name:<{width}}  {text}")
        return
    spec = get_preset(preset)
    if output.exists() and not force:
        raise UserError(f"{output} already exists; use --force to overwrite it, or -o to choose another file.")
    output.parent.mkdir(parents=True, exist_ok=True)
    spec.save(output)
    _err(f"Wrote {output} (preset {preset}). Next: rmlp validate {output}")


# ----------------------------------------------------------------------------- training
class _Progress:
    """A rich progress bar driven by training events."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[logs]}"),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task(title, total=1.0, logs="")

    def __enter__(self) -> _Progress:
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
        if kind in ("batch", "epoch", "train_begin"):
            what = f"epoch {max(event.epoch, 1)}/{event.epochs}" if event.epochs else "training"
            self.progress.update(self.task, completed=float(event.progress), description=what,
                                 logs=shown if kind == "epoch" or shown else "")
            if kind == "epoch":
                self.progress.console.print(f"epoch {event.epoch}/{event.epochs}  {shown}")
        elif kind == "baseline_epoch":
            self.progress.update(self.task, description=f"baseline epoch {event.epoch}/{event.epochs}", logs=shown)
        elif kind in ("train_end", "stopped"):
            self.progress.update(self.task, completed=float(event.progress) if kind == "stopped" else 1.0)
            if event.message:
                self.progress.console.print(event.message)


def _report(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

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
    state = "stopped" if result.stopped else "finished"
    console.print(f"Run {state} after {result.epochs_run} epoch(s) in this call: {result.run_dir}")
    console.print(f"Resume:  rmlp resume {result.run_dir}" + (" --epochs N" if not result.stopped else ""))
    console.print(f"Bundle:  rmlp export --run {result.run_dir} --format bundle")


@app.command()
@_guard
def train(
    spec: SpecArg,
    data: Annotated[Path, typer.Option("--data", "-d", help="CSV table (with --target), or images: a folder "
                                       "or .zip of class folders, or a .npz file.", show_default=False)],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target column of the CSV table.")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to train.")] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Rows per training step.")] = 32,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split, weights, shuffling and dropout.")] = 0,
    task: Annotated[TaskChoice | None, typer.Option(help="Task (default: inferred from the target).")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder for run folders.")] = Path("runs"),
    name: Annotated[str, typer.Option("--name", help="Run name (default: the model name).")] = "",
    early_stopping: Annotated[bool, typer.Option("--early-stopping/--no-early-stopping",
                                                 help="Stop when the validation loss stops improving.")] = True,
    patience: Annotated[int, typer.Option(min=0, help="Epochs without improvement before stopping.")] = 10,
    baseline: Annotated[bool, typer.Option("--baseline", help="Also train a plain-MLP baseline of about the "
                                           "same size.")] = False,
) -> None:
    """Train a spec on a CSV table (or images) and save a run folder.

    The spec's input shape, task and outputs follow the data. The run folder holds spec.json,
    history.csv, checkpoints, model.keras, metrics.json and preprocessor.json. Ctrl-C stops after
    the current batch and keeps the run resumable.

    Examples:

        rmlp train spec.json --data sample_data/wine.csv --target target --epochs 30

        rmlp train spec.json --data table.csv --target price --task regression --no-early-stopping
    """
    from rmlp.data import load_data, spec_for_data

    loaded = _load(spec)
    if not data.exists():
        raise UserError(f"No data file or folder at {data}.")
    task_value = task.value if task is not None else None
    if target:
        dataset = load_data(data, target, task=task_value, seed=seed)
    else:
        dataset = load_data(data, None, task=task_value, seed=seed)
    source = {"kind": "table" if target else "images", "path": str(data.resolve()), "target": target or "",
              "task": getattr(dataset, "task", task_value), "seed": seed}
    for warning in getattr(dataset, "warnings", []) or []:
        _err(f"note: {warning}")
    fitted, notices = spec_for_data(loaded, dataset)
    for notice in notices:
        _err(f"note: {notice}")
    from rmlp.runs.train import TrainConfig
    from rmlp.runs.train import train as run_train

    config = TrainConfig(epochs=epochs, batch_size=batch_size, early_stopping=early_stopping, patience=patience,
                         seed=seed, runs_dir=str(runs_dir), run_name=name, baseline=baseline)
    stop, restore = stop_on_ctrl_c("Stopping after this batch")
    try:
        with _Progress("starting") as bar:
            result = run_train(fitted, dataset, config, listener=bar, stop_event=stop, data_source=source)
    finally:
        restore()
    _report(result)


@app.command()
@_guard
def resume(
    run_dir: Annotated[Path, typer.Argument(help="Run folder to continue (runs/...).", show_default=False)],
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Train this many more epochs (default: "
                                               "up to the configured epochs).")] = None,
) -> None:
    """Continue a stopped run from its last checkpoint (the data is reloaded from data.json).

    Examples:

        rmlp resume runs/20250101-120000-wine

        rmlp resume runs/20250101-120000-wine --epochs 10
    """
    if not run_dir.is_dir():
        raise UserError(f"No run folder at {run_dir}.")
    if not (run_dir / "spec.json").is_file():
        raise UserError(f"{run_dir} is not a run folder: it has no spec.json.")
    if epochs is None:
        done, planned = _run_progress(run_dir)
        if planned and done >= planned:
            raise UserError(f"The run {run_dir.name} has already trained all {planned} epochs; add --epochs N to "
                            "train N more.")
    from rmlp.runs.train import resume as run_resume

    stop, restore = stop_on_ctrl_c("Stopping after this batch")
    try:
        with _Progress("resuming") as bar:
            result = run_resume(run_dir, listener=bar, stop_event=stop, extra_epochs=epochs)
    finally:
        restore()
    _report(result)


def _run_progress(run_dir: Path) -> tuple[int, int]:
    """(epochs done, epochs configured) of a run folder; 0 where unknown."""
    def number(path: Path, key: str) -> int:
        try:
            return int(json.loads(path.read_text(encoding="utf-8")).get(key) or 0)
        except (OSError, ValueError, TypeError, AttributeError):
            return 0

    return number(run_dir / "state.json", "epochs_done"), number(run_dir / "train_config.json", "epochs")


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
    from rmlp.base.models import check_keras_file

    problems = check_keras_file(file)
    if problems:
        raise SpecError(problems, what="The base model file")
    from rmlp.base.models import inspect_base_file

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


@app.command("app")
@_guard
def run_app(
    port: Annotated[int | None, typer.Option(help="Port of the app server.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="Do not open a browser.")] = False,
) -> None:
    """Open the designer app in the browser (runs `streamlit run designer_app/app.py`).

    Examples:

        rmlp app

        rmlp app --port 8502 --headless
    """
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "designer_app" / "app.py"
    if not script.is_file():
        found = importlib.util.find_spec("designer_app")
        if found is not None and found.origin:
            script = Path(found.origin).with_name("app.py")
    if not script.is_file():
        raise UserError("The designer app (designer_app/app.py) is not installed with this copy of rmlp.")
    if importlib.util.find_spec("streamlit") is None:
        raise UserError("The app needs Streamlit: pip install 'rmlp[app]'.")
    command = [sys.executable, "-m", "streamlit", "run", str(script)]
    if port is not None:
        command += ["--server.port", str(port)]
    if headless:
        command += ["--server.headless", "true"]
    raise typer.Exit(subprocess.call(command))


def _register_search() -> None:
    """Add the search commands (search, search-space, search-report, promote) of rmlp.cli.search."""
    try:
        from rmlp.cli.search import register
    except ImportError:  # the search part is not installed with this copy
        return
    register(app)


_register_search()


def main() -> None:
    """Entry point of the ``rmlp`` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow start-up chatter
    app(prog_name="rmlp")


if __name__ == "__main__":  # pragma: no cover
    main()
