"""Fitting a design to the data: input shape, task, outputs, loss and base model follow what was loaded."""

from __future__ import annotations

from typing import Any

from rmlp.base.info import lookup
from rmlp.data.images import ImageData
from rmlp.data.tables import TabularData
from rmlp.spec.model import ModelSpec
from rmlp.spec.tasks import facts

Data = TabularData | ImageData


def _classes_text(names: list[Any]) -> str:
    shown = ", ".join(str(n) for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _base_wants_one_channel(base: Any) -> bool:
    """True only when the base model is known (without Keras) to take one-channel images."""
    try:
        info = lookup(base)
    except (OSError, ValueError):
        return False
    return info is not None and info.input_channels == 1


def spec_for_data(spec: ModelSpec, data: Data) -> tuple[ModelSpec, list[str]]:
    """A copy of ``spec`` whose input shape, task, outputs and loss follow the data, and notices.

    The notices say in plain words what changed and why; nothing else in the spec is touched.
    """
    changes: dict[str, Any] = {}
    notices: list[str] = []
    shape = [int(d) for d in data.input_shape]
    task = data.task
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
