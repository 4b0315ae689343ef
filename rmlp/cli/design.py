"""Design commands: ``validate``, ``summary``, ``graph``, ``export``, ``init`` (no TensorFlow, but for model files)."""

from __future__ import annotations

import json
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rmlp import export as ex
from rmlp.cli.errors import UserError, guarded, print_problems
from rmlp.cli.errors import err as _err
from rmlp.cli.options import TaskOption, choice, settings_options
from rmlp.data import load_data, spec_for_data
from rmlp.data.limits import LoadConfig
from rmlp.design.graph import to_dot
from rmlp.design.memory import memory_verdict
from rmlp.design.summary import DEFAULT_BATCH_SIZE, DTYPE_BYTES, summarize
from rmlp.design.validate import validate as run_validate
from rmlp.export import graph_svg
from rmlp.keras.build import build_model
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir
from rmlp.spec.fields import parse_settings
from rmlp.spec.model import ModelSpec, load_spec
from rmlp.spec.presets import PRESET_HELP, get_preset, preset_names
from rmlp.spec.problems import Problem, SpecError, errors
from rmlp.spec.units import count

__all__ = ["register"]


class GraphFormat(StrEnum):
    dot = "dot"
    svg = "svg"


class ExportFormat(StrEnum):
    py = "py"
    snippet = "snippet"
    keras = "keras"
    savedmodel = "savedmodel"
    bundle = "bundle"


SpecArg = Annotated[Path, typer.Argument(help="Model spec file (.json, .yaml or .yml).", show_default=False)]
_guard = guarded()


def _write_text(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    _err(f"Wrote {out}")


def _say_memory(spec: ModelSpec, batch_size: int, dtype: str = "float32") -> None:
    """The memory verdict (the same as the app's and training's), as a line; a warning when it is tight."""
    verdict = memory_verdict(spec, batch_size, dtype=dtype)
    if verdict is not None:
        typer.echo(("Warning: " if verdict.level != "ok" else "Memory: ") + verdict.words())


def register(app: typer.Typer) -> None:
    """Add the design commands to ``app``."""

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
        loaded: ModelSpec | None = None
        try:
            loaded = load_spec(spec)
            problems: list[Problem] = run_validate(loaded)
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
            typer.echo(f"{spec}: {count(len(errors), 'error')}, {count(warnings, 'warning')}.")
        if errors:
            raise typer.Exit(1)
        if loaded is not None and not as_json:
            _say_memory(loaded, DEFAULT_BATCH_SIZE)


    @app.command()
    @_guard
    @settings_options(TrainConfig, only=("batch_size",))
    def summary(
        spec: SpecArg,
        settings: dict[str, Any],
        dtype: Annotated[str, typer.Option(help="Dtype policy of the memory estimate.", **choice(DTYPE_BYTES))]
        = "float32",
        as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    ) -> None:
        """Parameters, layers, depth, FLOPs and a memory estimate of a design, without building it.

        The memory estimate is for one training step at --batch-size.

        Examples:

            rmlp summary spec.json

            rmlp summary spec.json --batch-size 128 --dtype mixed_float16 --json
        """
        loaded = load_spec(spec)
        problems = errors(run_validate(loaded))
        if problems:
            raise SpecError(problems)
        batch_size, dtype_name = int(settings["batch_size"] or DEFAULT_BATCH_SIZE), dtype
        s = summarize(loaded, batch_size=batch_size, dtype=dtype_name)
        if as_json:
            typer.echo(json.dumps(s.to_dict(), indent=2))
            return
        rows = [
            ("Model", loaded.name),
            ("Task", f"{loaded.task}, {count(loaded.num_outputs, 'output')}"),
            *s.rows(),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            typer.echo(f"{key:<{width}}  {value}")
        _say_memory(loaded, batch_size, dtype_name)


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
        loaded = load_spec(spec)
        dot = to_dot(loaded, compact=compact)
        found = errors(run_validate(loaded))
        if found:
            _err(f"Note: the spec has {count(len(found), 'error')}, drawn in red; `rmlp validate {spec}` lists them.")
        if fmt == GraphFormat.dot:
            _write_text(dot, output)
            return
        svg = graph_svg(dot)
        if svg is None:
            raise UserError("SVG needs a Graphviz layout program: neither graphviz-pure (pip install "
                            "graphviz-pure, one of rmlp's requirements) nor Graphviz's `dot` was found. "
                            "Install one, or use --format dot.")
        if output is None:
            sys.stdout.buffer.write(svg)
            sys.stdout.flush()
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(svg)
            _err(f"Wrote {output}")


    @app.command()
    @_guard
    @settings_options(TrainConfig, only=("epochs", "batch_size"))
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
        settings: dict[str, Any] | None = None,
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
        if spec is None and run is None:
            raise UserError("Give a spec file, or a trained run with --run RUN_DIR.")
        if run is not None and not RunDir(run).is_run():
            raise UserError(f"{run} is not a run folder: it has no {RunDir.SPEC}.")
        loaded = load_spec(spec) if spec is not None else load_spec(run / RunDir.SPEC)  # type: ignore[operator]
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
            given = {k: v for k, v in (settings or {}).items() if v is not None}
            if given or "training" not in kwargs:
                base = kwargs.get("training") or TrainConfig()
                kwargs["training"] = base.model_copy(update=given)
            _write_text(ex.export_python(loaded, **kwargs), output)
        elif fmt == ExportFormat.snippet:
            _write_text(ex.export_snippet(loaded), output)
        elif fmt == ExportFormat.savedmodel:
            import keras

            trained = RunDir(run).model if run is not None else None
            model = (keras.saving.load_model(trained, compile=False)
                     if trained is not None and trained.is_file() else build_model(loaded))
            out = ex.export_savedmodel(model, output or Path(f"{safe}-savedmodel"))
            _err(f"Wrote {out}")
        elif fmt == ExportFormat.keras:
            out = ex.named(output or Path(f"{safe}.keras"), ".keras")
            if run is not None and RunDir(run).model.is_file():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(RunDir(run).model, out)
            else:
                out = ex.save_keras(build_model(loaded), out)
            _err(f"Wrote {out}")
        else:
            out = ex.make_bundle(run if run is not None else loaded, output or Path(f"{safe}-bundle.zip"))
            _err(f"Wrote {out}")


    @app.command()
    @_guard
    @settings_options(LoadConfig)
    def init(
        output: Annotated[Path, typer.Option("--output", "-o", help="Spec file to write (.json, .yaml or .yml).")]
        = Path("spec.json"),
        preset: Annotated[str | None, typer.Option(
            "--preset", "-p", help=f"Starter design: {', '.join(preset_names())} (`rmlp init --list` describes them). "
            f"Default: {preset_names()[0]}, or with --data a design sized to the data.", show_default=False)] = None,
        data: Annotated[Path | None, typer.Option("--data", help="A table (CSV) or image set the design is fitted "
                                                  "to: input shape, task, outputs and, without --preset, blocks, "
                                                  "widths and regularisation sized to its rows.")] = None,
        target: Annotated[str | None, typer.Option("--target", help="Target column of the --data table.")] = None,
        task: TaskOption = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
        list_presets: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Write a starter spec from a preset, or one sized to your data.

        Examples:

            rmlp init

            rmlp init -o tabular.yaml --preset small_tabular

            rmlp init --data wine.csv --target target

            rmlp init --list
        """
        if list_presets:
            width = max(len(n) for n in PRESET_HELP)
            for name, text in PRESET_HELP.items():
                typer.echo(f"{name:<{width}}  {text}")
            return
        if output.exists() and not force:
            raise UserError(f"{output} already exists; use --force to overwrite it, or -o to choose another file.")
        if data is None:
            chosen = preset or preset_names()[0]
            spec, what = get_preset(chosen), f"preset {chosen}"
        else:
            limits = parse_settings(LoadConfig, settings or {}).options("table" if target else "images")
            loaded = load_data(data, target, **({"task": task} if task else {}), **limits)
            for warning in getattr(loaded, "warnings", []) or []:
                _err(f"note: {warning}")
            spec, notices = spec_for_data(get_preset(preset) if preset else ModelSpec(), loaded)
            for notice in notices:
                _err(notice)
            what = f"{'preset ' + preset if preset else 'a design'} fitted to {data.name}"
        output.parent.mkdir(parents=True, exist_ok=True)
        spec.save(output)
        _err(f"Wrote {output} ({what}). Next: rmlp validate {output}")
