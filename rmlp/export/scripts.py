"""Runnable Python from a design: a stand-alone Keras script, a short rmlp snippet, a predict script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlp.base.info import BaseInfo
from rmlp.data.preprocessor import ENCODING, PREPROCESSOR_FORMAT
from rmlp.data.split import SPLIT, SplitConfig
from rmlp.design import sizing
from rmlp.export.code import ExportError, call, lit, model_code_data, raw_json
from rmlp.export.render import check_json_literal, finish, render
from rmlp.keras.build import check_buildable
from rmlp.runs.config import TRAINING, TrainConfig
from rmlp.runs.recipe import make_recipe
from rmlp.spec.model import ModelSpec

__all__ = ["export_predict_script", "export_python", "export_snippet"]


def export_python(spec: ModelSpec | dict, *, csv_path: str | Path | None = None, target: str | None = None,
                  training: TrainConfig | None = None, include_training: bool = False,
                  preprocessor: dict[str, Any] | None = None, info: BaseInfo | None = None,
                  split: SplitConfig | None = None, split_seed: int | None = None) -> str:
    """A stand-alone Python script (Keras only, no rmlp) that rebuilds and compiles the model.

    With ``include_training`` it is also a command, ``python model.py DATA.csv [--target ...]``,
    that reads the table with pandas, splits it as :func:`rmlp.data.load_table` does (``split``'s
    shares, seeded by ``split_seed`` or else the training seed, stratified by class: the same
    rows), encodes it like the ``preprocessor`` (a saved ``preprocessor.json`` as a dict; None:
    one is learned from the training rows the same way), trains as :func:`rmlp.runs.train.train`
    does with the ``training`` settings (the defaults when None), prints the test metrics and
    saves ``model.keras``, ``preprocessor.json`` and ``metrics.json``. Only the file name of
    ``csv_path`` enters the script (in its help), never the path: the data is an argument.
    """
    config = training or TRAINING
    data = model_code_data(spec, info)
    built = check_buildable(spec)
    budget = sizing.budget_for(built.ensemble, built.ensemble_layout)
    # The recipe's decisions that do not depend on the rows, written as values (the script sizes epochs and
    # batches to the table it is given by the same budget).
    recipe = make_recipe(built, config, None)
    data.update(optimizer_options=lit(recipe.optimizer_options()), compile_options=lit(recipe.compile_options()),
                recipe_callbacks=[call(f"keras.callbacks.{name}", **kwargs)
                                  for name, kwargs in recipe.keras_callbacks()])
    if include_training:
        if not target:
            target = (preprocessor or {}).get("target", {}).get("name")
        if not target:
            raise ExportError("A training script needs the target column (target=...).")
        bad = [p for p in config.problems() if p.severity == "error"]
        if bad:
            raise ExportError("The training settings have problems: " + " ".join(f"{p.path}: {p.message}" for p in bad))
        if preprocessor is not None and preprocessor.get("format") != PREPROCESSOR_FORMAT:
            raise ExportError("The preprocessor is not an rmlp preprocessor description (preprocessor.json).")
        data.update(
            data_name=lit(Path(str(csv_path)).name if csv_path is not None else "data.csv"),
            target=lit(str(target)),
            val_size=lit(float((split or SPLIT).val_size)),
            test_size=lit(float((split or SPLIT).test_size)),
            split_seed=lit(None if split_seed is None or split_seed == config.seed else int(split_seed)),
            reduce_lr=lit(config.reduce_lr),
            epochs=lit(config.epochs),
            batch_size=lit(config.batch_size),
            lr_schedule=lit(config.lr_schedule),
            warmup=lit(config.warmup),
            early_stopping=lit(config.early_stopping),
            patience=lit(config.patience),
            min_epochs_setting=lit(config.min_epochs),
            restore_best=lit(config.restore_best),
            monitor=lit(config.monitor),
            ensemble_folds=lit(config.ensemble_folds),
            seed=lit(config.seed),
            target_steps=budget.target_steps, min_epochs=budget.min_epochs, max_epochs=budget.max_epochs,
            min_batch=budget.min_batch, max_batch=budget.max_batch, batch_share=budget.share,
            wait_divisor=budget.wait_divisor,
            preprocessor=f"json.loads({raw_json(preprocessor)})" if preprocessor is not None else "None",
            preprocessor_embedded=preprocessor is not None,
            robust_scaling=lit(ENCODING.numeric_scaling == "robust"),
            clip=lit(ENCODING.clip),
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


def export_predict_script(run_dir: str | Path | None = None) -> str:
    """A stand-alone script (Keras, NumPy, pandas; no rmlp) that predicts on raw CSV rows with the
    run's ``model.keras`` and ``preprocessor.json``: those beside the script, else those in ``run_dir``
    (None: only the script's own folder, as in a bundle, which works wherever it is unzipped)."""
    where = None if run_dir is None else str(Path(run_dir).resolve())
    return finish(render("predict.py.j2", run_dir=lit(where)), "predict script")


