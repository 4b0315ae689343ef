"""Fitting a design to the data: input shape, task, outputs, loss and base model follow what was loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rmlp.base.info import lookup
from rmlp.data.images import ImageData
from rmlp.data.split import Splits
from rmlp.data.tables import TabularData
from rmlp.design.sizing import SIZED_FIELDS, design_for
from rmlp.spec.model import ModelSpec
from rmlp.spec.tasks import facts

Data = TabularData | ImageData


def target_scale(data: Splits) -> dict[str, float] | None:
    """Mean and spread of a regression target on the training rows (None for classification)."""
    if data.task != "regression" or not len(data.y_train):
        return None
    y = np.asarray(data.y_train, dtype="float64")
    std = float(y.std())
    return {"mean": round(float(y.mean()), 6), "std": round(std, 6) if std > 1e-12 else 1.0}


def _numeric_columns(data: Splits) -> int | None:
    """Encoded numeric columns of a table (None when not known: every feature counts as a number)."""
    columns = getattr(getattr(data, "preprocessor", None), "columns", None)
    if not isinstance(columns, list):
        return None
    return sum(1 for col in columns if isinstance(col, dict) and col.get("kind") == "numeric")


def _classes_text(names: Sequence[Any]) -> str:
    shown = ", ".join(str(n) for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _base_wants_one_channel(base: Any) -> bool:
    """True only when the base model is known (without Keras) to take one-channel images."""
    try:
        info = lookup(base)
    except (OSError, ValueError):
        return False
    return info is not None and info.input_channels == 1


def is_undesigned(spec: ModelSpec) -> bool:
    """True when the spec still has its default name and every field a sized design proposes its default value.

    A named spec was chosen (a preset such as ``original_readme``, which has the default design, or
    a design the user saved under a name), so it is kept as it is.
    """
    plain = ModelSpec().to_dict()
    mine = spec.to_dict()
    return mine.get("name") == plain.get("name") and all(mine.get(name) == plain.get(name) for name in SIZED_FIELDS)


def spec_for_data(spec: ModelSpec, data: Splits, size: bool | None = None) -> tuple[ModelSpec, list[str]]:
    """A copy of ``spec`` whose input shape, task, outputs and loss follow the data, and notices.

    With ``size`` (None: when the spec's design is still the default and the data is a table) the
    blocks, widths, regularisation and optimizer are also sized to the table
    (:func:`rmlp.design.sizing.design_for`). The notices say in plain words what changed and why;
    nothing else in the spec is touched.
    """
    changes: dict[str, Any] = {}
    notices: list[str] = []
    shape = [int(d) for d in data.input_shape]
    task = data.task
    if size is None:
        size = isinstance(data, TabularData) and is_undesigned(spec)
    if size:
        fields, why = design_for(len(data.y_train), int(np.prod(shape)), task != "regression", _numeric_columns(data),
                                 spec.embedding_bins)
        if any(spec.to_dict().get(k) != v for k, v in fields.items()):
            changes.update(fields)
            notices.append(why)
    if list(spec.input_shape) != shape:
        changes["input_shape"] = shape
        if isinstance(data, TabularData):
            why = f"the {shape[0]} encoded feature columns"
        elif len(shape) == 3:
            why = f"the images ({shape[0]}×{shape[1]} pixels, {shape[2]} channel{'s' if shape[2] > 1 else ''})"
        else:
            why = "the arrays"
        notices.append(f"Input shape set to {shape} from {why}.")
    if spec.task != task:
        changes["task"] = task
        if task == "multiclass":
            what = f"multiclass with {len(data.class_names)} classes ({_classes_text(data.class_names)})"
        elif task == "binary":
            what = (
                f"binary (classes {_classes_text(data.class_names)}; the output is the probability "
                f"of {data.class_names[1]!s})"
            )
        else:
            what = "regression (one numeric output)"
        notices.append(f"Task set to {what}.")
    if spec.num_outputs != data.num_outputs:
        changes["num_outputs"] = data.num_outputs
        per = "one per class" if task == "multiclass" else "one output"
        notices.append(f"Output units set to {data.num_outputs} ({per}).")
    natural = facts(task).output_activation
    if spec.output_activation not in ("auto", natural):
        changes["output_activation"] = "auto"
        notices.append(
            f"Output activation {spec.output_activation!r} does not fit a {task} task; set back to "
            f"'auto' ({natural})."
        )
    if not facts(task).fits(spec.loss):
        changes["loss"] = "auto"
        notices.append(f"Loss {spec.loss!r} does not fit a {task} task; set back to 'auto' ({facts(task).loss}).")
    scale = target_scale(data)
    current = spec.target_scale.model_dump() if spec.target_scale is not None else None
    if scale != current:
        changes["target_scale"] = scale
        if scale is not None:
            notices.append(f"Target standardised: the network learns it at mean 0 and spread 1 (mean "
                           f"{scale['mean']:.4g}, spread {scale['std']:.4g} on the training rows); predictions come "
                           "out in its own units.")
    if isinstance(data, TabularData):
        if spec.base_model is not None:
            changes["base_model"] = None
            notices.append(
                f"Base model removed: it needs images, and this data is a table of {shape[0]} feature columns."
            )
        if spec.grayscale_to_rgb:
            changes["grayscale_to_rgb"] = False
            notices.append("Grayscale to RGB switched off: the data is a table, not images.")
    elif len(shape) == 3:
        channels = shape[2]
        if channels == 1 and spec.base_model is not None and not _base_wants_one_channel(spec.base_model):
            if not spec.grayscale_to_rgb:
                changes["grayscale_to_rgb"] = True
                notices.append(
                    "Grayscale to RGB switched on: the images have one channel and the base model "
                    "expects three (the channel is repeated)."
                )
        elif channels != 1 and spec.grayscale_to_rgb:
            changes["grayscale_to_rgb"] = False
            notices.append(f"Grayscale to RGB switched off: the images already have {channels} channels.")
        if spec.base_model is None and not spec.flatten:
            changes["flatten"] = True
            notices.append("Flatten switched on: without a base model the images must become one vector.")
    return (spec.copy_with(**changes) if changes else spec), notices
