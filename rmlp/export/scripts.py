"""Runnable Python from a design: a stand-alone Keras script, a short rmlp snippet, a predict script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlp.base.info import BaseInfo
from rmlp.data.preprocessor import PREPROCESSOR_FORMAT
from rmlp.export.code import ExportError, lit, model_code_data, raw_json
from rmlp.export.render import check_json_literal, finish, render
from rmlp.keras.build import check_buildable
from rmlp.runs.config import TRAINING
from rmlp.spec.model import ModelSpec

__all__ = ["export_predict_script", "export_python", "export_snippet"]


def export_python(spec: ModelSpec | dict, *, csv_path: str | Path | None = None, target: str | None = None,
                  epochs: int = TRAINING.epochs, batch_size: int = TRAINING.batch_size, include_training: bool = False,
                  preprocessor: dict[str, Any] | None = None, info: BaseInfo | None = None) -> str:
    """A stand-alone Python script (Keras only, no rmlp) that rebuilds and compiles the model.

    With ``include_training`` it also reads ``csv_path`` with pandas, encodes it like the
    ``preprocessor`` (a saved ``preprocessor.json`` as a dict; None: one is learned from the
    training rows the same way), holds out 20% for validation, trains for ``epochs`` and saves
    ``model.keras`` and ``preprocessor.json``.
    """
    data = model_code_data(spec, info)
    if include_training:
        if not target:
            target = (preprocessor or {}).get("target", {}).get("name")
        if not target:
            raise ExportError("A training script needs the target column (target=...).")
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ExportError(f"Epochs and batch size must be at least 1 (got {epochs} and {batch_size}).")
        if preprocessor is not None and preprocessor.get("format") != PREPROCESSOR_FORMAT:
            raise ExportError("The preprocessor is not an rmlp preprocessor description (preprocessor.json).")
        data.update(
            csv_path=lit(str(csv_path) if csv_path is not None else "data.csv"),
            target=lit(str(target)),
            epochs=int(epochs),
            batch_size=int(batch_size),
            preprocessor=f"json.loads({raw_json(preprocessor)})" if preprocessor is not None else "None",
            preprocessor_embedded=preprocessor is not None,
        )
    code = finish(render("model.py.j2", training=include_training, **data), "model script")
    if include_training:
        check_json_literal(code, "PREPROCESSOR", preprocessor)
    return code


def export_snippet(spec: ModelSpec | dict) -> str:
    """A short script that rebuilds the model with rmlp from the spec's JSON (SpecError if it has errors)."""
    spec = check_buildable(spec)
    code = finish(render("snippet.py.j2", spec_json=raw_json(spec.to_dict())), "snippet")
    check_json_literal(code, "SPEC_JSON", spec.to_dict())
    return code


def export_predict_script(run_dir: str | Path) -> str:
    """A stand-alone script (Keras, NumPy, pandas; no rmlp) that predicts on raw CSV rows with the
    run's ``model.keras`` and ``preprocessor.json``."""
    run_dir = Path(run_dir)
    return finish(render("predict.py.j2", run_dir=lit(str(run_dir.resolve()))), "predict script")


