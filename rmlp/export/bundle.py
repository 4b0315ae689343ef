"""Bundles: one zip with everything about a design or a trained run, and a README that explains it."""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from rmlp.data.preprocessor import PREPROCESSOR_FORMAT
from rmlp.data.split import SPLIT, SplitConfig
from rmlp.design.graph import to_dot
from rmlp.design.summary import summarize
from rmlp.export.code import ExportError
from rmlp.export.files import graph_svg, named, save_keras
from rmlp.export.render import render
from rmlp.export.scripts import export_predict_script, export_python, export_snippet
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir
from rmlp.spec.model import ModelSpec, load_spec
from rmlp.spec.units import human_bytes, human_count

__all__ = ["make_bundle", "run_export_inputs"]


def _md(text: Any) -> str:
    """Text for one Markdown table cell or heading line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _readme(spec: ModelSpec, files: dict[str, str], *, run_name: str = "", metrics: Any = None,
            has_model: bool = False, model_trains: bool = False) -> str:
    figures: list[tuple[str, str]] = []
    try:
        s = summarize(spec)
        figures = [
            ("Parameters", f"{s.total_params:,} ({human_count(s.total_params)})"),
            ("Trainable parameters", f"{s.trainable_params:,}"),
            ("Layers", str(s.layers)),
            ("Dense layers", str(s.dense_layers)),
            ("Depth (weight layers on the longest path)", str(s.depth)),
            ("FLOPs per example", human_count(s.flops)),
            ("Weights", human_bytes(s.weights_bytes)),
            (f"Training memory estimate (batch {s.batch_size})", human_bytes(s.peak_training_bytes)),
        ]
    except Exception:  # noqa: BLE001 - a base model not inspected here: the README says less
        figures = [("Parameters", "not known (base model not inspected)")]
    base_text = ""
    if spec.base_model is not None:
        bm = spec.base_model
        what = f"keras.applications.{bm.name}" if bm.source == "applications" else f"the file {bm.path}"
        base_text = f"A base model ({_md(what)}) runs in front of the residual blocks."
    metric_rows = []
    if isinstance(metrics, dict):
        flat = metrics.get("test", metrics) if isinstance(metrics.get("test"), dict) else metrics
        for key, value in flat.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metric_rows.append((_md(key), f"{value:.4g}"))
    return render(
        "README.md.j2",
        title=_md(f"Residual MLP {spec.name}"),
        date=_dt.date.today().isoformat(),
        run_name=_md(run_name),
        task=spec.task,
        num_outputs=spec.num_outputs,
        input_shape=list(spec.input_shape),
        base_text=base_text,
        blocks=len(spec.blocks),
        figures=figures,
        metrics=metric_rows,
        files=sorted(files.items()),
        has_model=has_model,
        has_predict=RunDir.PREPROCESSOR in files,
        model_trains=model_trains,
    )


def run_export_inputs(run_dir: str | Path) -> dict[str, Any]:
    """Keyword arguments of :func:`~rmlp.export.scripts.export_python` for a trained run: its preprocessor,
    the CSV file and target it was trained on (from data.json), and a training part when the run is a table."""
    run = RunDir(run_dir)
    prep = run.read_json(RunDir.PREPROCESSOR)
    if not (isinstance(prep, dict) and prep.get("format") == PREPROCESSOR_FORMAT):
        prep = None
    record = run.read_json(RunDir.DATA)
    record = record if isinstance(record, dict) else {}
    csv_path = str(record.get("path") or "") or None
    target = str(record.get("target") or "") or None
    training = prep is not None and record.get("kind", "table") == "table"
    config = None
    try:
        config = TrainConfig.from_json(run.file(RunDir.CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None  # an older or damaged run: the default training settings
    return {"csv_path": csv_path, "target": target, "include_training": training, "preprocessor": prep,
            "training": config, **_split_inputs(record)}


def _split_inputs(record: dict[str, Any]) -> dict[str, Any]:
    """The split a run's data.json records (shares and seed), as :func:`export_python` takes it."""
    given = record.get("load_args")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    try:
        split = SplitConfig(val_size=args.get("val_size", SPLIT.val_size),
                            test_size=args.get("test_size", SPLIT.test_size))
        seed = int(record["seed"]) if record.get("seed") is not None else None
    except (TypeError, ValueError):
        return {}  # an older or damaged record: the default split
    return {"split": split, "split_seed": seed}


def make_bundle(run_dir_or_spec: str | Path | ModelSpec, out_zip: str | Path, model: Any = None) -> Path:
    """One zip with everything about a design or a trained run.

    Holds spec.json, model.py (stand-alone Keras script; with a training part for a tabular run),
    snippet.py (rmlp), predict.py, model.keras (a run's, or ``model`` saved), preprocessor.json,
    history.csv, metrics.json, train_config.json, graph.dot (+ graph.svg with Graphviz) and a
    README.md describing the model and how to load it. ``.zip`` is added to a name without it.
    """
    out_zip = named(out_zip, ".zip")
    run: RunDir | None = None
    if isinstance(run_dir_or_spec, ModelSpec):
        spec = run_dir_or_spec
    else:
        run = RunDir(run_dir_or_spec)
        if not run.is_run():
            raise ExportError(f"{run.path} is not a run folder: it has no {RunDir.SPEC}.")
        spec = load_spec(run.file(RunDir.SPEC))
    texts: dict[str, str | bytes] = {RunDir.SPEC: spec.to_json() + "\n"}
    what: dict[str, str] = {RunDir.SPEC: "the model spec (rmlp loads it: `rmlp.load_spec`)"}
    inputs = run_export_inputs(run.path) if run else {}
    preprocessor = inputs.get("preprocessor")
    texts["model.py"] = export_python(spec, **inputs)
    what["model.py"] = ("stand-alone Keras script that rebuilds the model"
                        + (" and trains it" if inputs.get("include_training") else ""))
    texts["snippet.py"] = export_snippet(spec)
    what["snippet.py"] = "rebuilds the model with rmlp from the spec"
    texts["predict.py"] = export_predict_script()  # the files beside it, wherever the bundle is unzipped
    what["predict.py"] = f"predicts on raw CSV rows with {RunDir.MODEL} and {RunDir.PREPROCESSOR} (no rmlp)"
    if preprocessor is not None:
        texts[RunDir.PREPROCESSOR] = json.dumps(preprocessor, indent=2) + "\n"
        what[RunDir.PREPROCESSOR] = "how raw table columns become model inputs"
    dot = to_dot(spec)
    texts["graph.dot"] = dot
    what["graph.dot"] = "the architecture as a Graphviz graph"
    svg = graph_svg(dot)
    if svg is not None:
        texts["graph.svg"] = svg
        what["graph.svg"] = "the architecture drawn"
    model_file: Path | None = None
    tmp_dir = None
    if run is not None:
        for name, desc in RunDir.RECORDS.items():
            if run.has(name):
                texts[name] = run.file(name).read_bytes()
                what[name] = desc
        if run.model.is_file() and model is None:
            model_file = run.model
    if model is not None:
        tmp_dir = tempfile.TemporaryDirectory()
        model_file = save_keras(model, Path(tmp_dir.name) / RunDir.MODEL)
    if model_file is not None:
        what[RunDir.MODEL] = "the trained model (keras.saving.load_model)"
    metrics = run.read_json(RunDir.METRICS) if run else None
    what["README.md"] = "this file"
    texts["README.md"] = _readme(spec, what, run_name=run.name if run else "", metrics=metrics,
                                 has_model=model_file is not None,
                                 model_trains=bool(inputs.get("include_training")))
    try:
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, content in texts.items():
                zf.writestr(name, content)
            if model_file is not None:
                zf.write(model_file, RunDir.MODEL)
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return out_zip
