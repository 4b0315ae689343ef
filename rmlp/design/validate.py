"""Validation: a spec in, a list of problems out. Never raises for a user's mistake.

Bounds come from each field's declaration (:mod:`rmlp.spec.fields`); the rules below cover what no single
field can say alone. A spec without errors always builds; :func:`rmlp.build_model` refuses one
with errors before Keras is touched.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from rmlp.base import info as base_info
from rmlp.base.safety import check_keras_file
from rmlp.design.plan import base_size
from rmlp.design.summary import summarize
from rmlp.spec.fields import check_values
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.problems import Problem, ProblemList, SpecError

#: A head above this many parameters gets a warning (the original's users ran out of memory).
HUGE_PARAMS = 50_000_000


def validate(spec: ModelSpec | dict[str, Any]) -> ProblemList:
    """All problems of a spec (or of a dict meant to be one), errors first (a table in a notebook)."""
    if not isinstance(spec, ModelSpec):
        try:
            spec = parse_spec(spec)
        except SpecError as exc:
            return ProblemList(exc.problems)
    found: list[Problem] = []
    found += _bounds(spec)
    found += _blocks(spec)
    found += _task(spec)
    found += _shapes(spec)
    if not any(p.severity == "error" for p in found):
        found += _likely_mistakes(spec)
    return ProblemList(sorted(found, key=lambda p: p.severity != "error"))


def is_valid(spec: ModelSpec | dict[str, Any]) -> bool:
    return not any(p.severity == "error" for p in validate(spec))


# ----------------------------------------------------------------------------- field bounds
def _bounds(spec: ModelSpec) -> list[Problem]:
    """Every value against its field's declared bounds (the one check in :mod:`rmlp.spec.fields`)."""
    return check_values(ModelSpec, spec.to_dict())


# ----------------------------------------------------------------------------- blocks
def largest_decrement(layers: int, width: int) -> int:
    """The largest decrement that keeps every main-path width of a block at least 1."""
    return (width - 1) // (layers - 1) if layers > 1 else width


def _blocks(spec: ModelSpec) -> list[Problem]:
    found = _ignored_bypass(spec)
    for i, block in enumerate(spec.blocks):
        if block.layers < 1 or block.width < 1 or block.decrement < 0:
            continue  # the bounds check already reports these
        last = block.width - (block.layers - 1) * block.decrement
        if last < 1:
            best = largest_decrement(block.layers, block.width)
            found.append(Problem(
                f"blocks[{i}].decrement", "error",
                f"Block {i + 1} shrinks below one unit: its last main-path layer would have "
                f"{block.width} − ({block.layers}−1)·{block.decrement} = {last} units.",
                f"Use a decrement of at most {best}, fewer layers, or a wider first layer.", best))
    return found


def _ignored_bypass(spec: ModelSpec) -> list[Problem]:
    """With the bypass off, a block's bypass Dense widths are not built: say so."""
    if spec.residual:
        return []
    return [Problem(f"blocks[{i}].bypass", "warning", f"Block {i + 1} has bypass Dense widths, but the bypass "
                    "(residual connections) is off, so they are ignored.",
                    "Turn the bypass on, or empty the bypass widths.", [])
            for i, block in enumerate(spec.blocks) if block.bypass]


# ----------------------------------------------------------------------------- task and output
_CROSSENTROPY = {"categorical_crossentropy", "binary_crossentropy"}


def _task(spec: ModelSpec) -> list[Problem]:
    found = []
    task, n = spec.task, spec.num_outputs
    act, loss = spec.resolved_output_activation(), spec.resolved_loss()
    if task == "multiclass" and n < 2:
        found.append(Problem("num_outputs", "error", f"A multiclass task needs at least 2 classes (got {n}).",
                             "Set the number of classes, or choose the binary task for two classes.", 2))
    if task == "binary" and n != 1:
        found.append(Problem("num_outputs", "error",
                             f"A binary task has one output unit (the probability of the positive class), not {n}.",
                             "Set outputs to 1, or choose multiclass.", 1))
    if act == "softmax" and n == 1:
        found.append(Problem("output_activation", "error",
                             "Softmax over a single unit always outputs 1, so the model cannot learn.",
                             "Use sigmoid (binary) or linear (regression).", "auto"))
    if task == "regression" and act == "softmax":
        found.append(Problem("output_activation", "error", "Softmax makes outputs sum to 1; a regression "
                             "target is a free number.", "Use a linear output ('auto').", "auto"))
    if task == "regression" and act == "sigmoid":
        found.append(Problem("output_activation", "warning", "A sigmoid output limits predictions to 0…1.",
                             "Use a linear output unless your target is scaled to 0…1.", "auto"))
    if task == "multiclass" and act == "sigmoid":
        found.append(Problem("output_activation", "error", f"Sigmoid treats the {n} classes as independent "
                             "yes/no outputs; one-of-many classes need softmax.", "Use softmax ('auto').", "auto"))
    if task != "regression" and act == "linear" and loss in _CROSSENTROPY:
        found.append(Problem("output_activation", "error", "Cross-entropy expects probabilities, but a linear "
                             "output gives unbounded scores.", "Use 'auto' for this task.", "auto"))
    if task == "regression" and loss in _CROSSENTROPY:
        found.append(Problem("loss", "error", "Cross-entropy is a classification loss; regression needs an "
                             "error loss.", "Use mse ('auto'), mae or huber.", "auto"))
    if task == "multiclass" and loss == "binary_crossentropy":
        found.append(Problem("loss", "error", "Binary cross-entropy scores each class on its own; "
                             "one-of-many classes need categorical cross-entropy.", "Use 'auto'.", "auto"))
    if task == "binary" and loss == "categorical_crossentropy":
        found.append(Problem("loss", "error", "Categorical cross-entropy over one unit is always 0.",
                             "Use binary cross-entropy ('auto').", "auto"))
    if task != "regression" and loss in ("mse", "mae", "huber"):
        found.append(Problem("loss", "warning", f"{loss} on class probabilities trains slowly.",
                             "Use cross-entropy ('auto').", "auto"))
    return found


# ----------------------------------------------------------------------------- shapes and base model
def _shapes(spec: ModelSpec) -> list[Problem]:
    found = []
    shape = list(spec.input_shape)
    if spec.grayscale_to_rgb:
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] != 1):
            found.append(Problem("grayscale_to_rgb", "error",
                                 f"Grayscale-to-RGB needs a single-channel image input, but the input is {shape}.",
                                 "Use an input shape [height, width, 1], or turn this off.", False))
            return found
        shape = [*shape[:2], 3]
    bm = spec.base_model
    if bm is not None:
        found += _base_model(spec, shape)
        if any(p.severity == "error" for p in found):
            return found
        info = base_info.lookup(bm)
        if info is None:
            return found
        shape = list(info.output_shape(*base_size(spec, info), bm.pooling))
    if len(shape) > 1 and not spec.flatten:
        found.append(Problem("flatten", "error",
                             f"The blocks receive a tensor of shape {shape} per example, but they concatenate "
                             "along the feature axis and need one vector per example.",
                             "Turn on flatten.", True))
    return found


def _base_model(spec: ModelSpec, shape: list[int]) -> list[Problem]:
    bm = spec.base_model
    assert bm is not None
    found = []
    if bm.source == "file":
        if not bm.path:
            return [Problem("base_model.path", "error", "No base model file is given.",
                            "Upload or name a .keras file.")]
        if not Path(bm.path).is_file():
            return [Problem("base_model.path", "error", f"The base model file {bm.path} does not exist.",
                            "Check the path.")]
        unsafe = base_file_problems(bm.path)
        if unsafe:
            return unsafe
        info = base_info.lookup(bm)
        if info is None:
            return [Problem("base_model.path", "warning", "This .keras file has not been inspected yet, so "
                            "its size and output are not counted.", "Build the model once, or run "
                            "`rmlp inspect-base FILE` to count it.")]
    else:
        table = base_info.applications()
        info = table.get(bm.name)
        if info is None:
            names = ", ".join(sorted(table))
            return [Problem("base_model.name", "error", f"{bm.name!r} is not an offered base model.",
                            f"Choose one of: {names}.")]
    if len(shape) != 3:
        found.append(Problem("input_shape", "error", f"A base model takes images [height, width, channels], "
                             f"but the input shape is {list(spec.input_shape)}.",
                             "Give an image input shape, or remove the base model."))
        return found
    want = info.input_channels
    if shape[-1] != want:
        message = f"The base model expects {want} channels but the images have {shape[-1]}."
        if shape[-1] == 1 and want == 3:
            found.append(Problem("grayscale_to_rgb", "error", message, "Turn on grayscale-to-RGB.", True))
        else:
            found.append(Problem("input_shape", "error", message, f"Give images with {want} channels."))
    if bm.source == "applications":
        h, w = base_size(spec, info)
        if min(h, w) < info.min_size:
            found.append(Problem("base_model.input_size", "error", f"{bm.name} needs images of at least "
                                 f"{info.min_size}×{info.min_size}; the resize target is {h}×{w}.",
                                 f"Resize to at least {info.min_size}.", [info.min_size, info.min_size]))
        elif bm.weights == "imagenet" and info.imagenet_sizes and (h != w or h not in info.imagenet_sizes):
            sizes = ", ".join(map(str, info.imagenet_sizes))
            found.append(Problem("base_model.input_size", "warning", f"ImageNet weights of {bm.name} exist "
                                 f"for square sizes {sizes}; Keras falls back to the default size's weights.",
                                 f"Resize to one of {sizes}."))
        if bm.trainable_layers > info.num_layers:
            found.append(Problem("base_model.trainable_layers", "error", f"{bm.name} has {info.num_layers} "
                                 f"layers; {bm.trainable_layers} cannot be unfrozen.",
                                 f"Use at most {info.num_layers}.", info.num_layers))
    return found


def base_file_problems(path: str | Path) -> list[Problem]:
    """The safety check of a base model file (:func:`rmlp.base.safety.check_keras_file`, no Keras needed).

    Cached by the file's path, size and modification time, so a spec validated on every edit reads it once.
    """
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        return []
    return list(_checked_file(str(p.resolve()), stat.st_size, stat.st_mtime_ns))


@lru_cache(maxsize=32)
def _checked_file(path: str, size: int, mtime_ns: int) -> tuple[Problem, ...]:
    return tuple(check_keras_file(path))


# ----------------------------------------------------------------------------- warnings
def _likely_mistakes(spec: ModelSpec) -> list[Problem]:
    found = []
    if spec.task != "regression":
        n = spec.num_outputs
        for i, block in enumerate(spec.blocks):
            narrowest = min(block.main_widths())
            if narrowest < n:
                found.append(Problem(f"blocks[{i}]", "warning", f"Block {i + 1} narrows to {narrowest} units, "
                                     f"fewer than the {n} classes: a bottleneck that may lose information.",
                                     "Use a smaller decrement or fewer layers."))
        for j, units in enumerate(spec.final_layers):
            if units < n:
                found.append(Problem(f"final_layers[{j}]", "warning", f"Final layer {j + 1} has {units} units, "
                                     f"fewer than the {n} classes.", f"Use at least {n} units.", n))
    try:
        total = summarize(spec).total_params
    except Exception:  # noqa: BLE001 - a summary that cannot be made is reported elsewhere
        return found
    if total > HUGE_PARAMS:
        found.append(Problem("blocks", "warning", f"The model has {total:,} parameters; training it may be slow "
                             "and run out of memory.", "Use narrower blocks, or a pooling cut on the base model."))
    return found
