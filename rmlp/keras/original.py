"""The original ``ResidualMLP(**kwargs).make_tandem_model()`` API, mapped onto the model spec.

The keyword names and defaults are the original package's; the graph is the original's
(same layer types in the same order, same widths, same parameter count), without its bugs:
regression gets a linear output and MSE, grayscale conversion works, invalid widths and
regulariser names are reported before Keras is touched, and every build gets a fresh base model.
"""

from __future__ import annotations

import numbers
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from rmlp.design.validate import validate
from rmlp.keras.build import build_uncompiled, compile_model
from rmlp.keras.metrics import make_metrics
from rmlp.spec.edit import spec_fields
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.paths import pattern_of, set_in
from rmlp.spec.problems import Problem, SpecError, errors, shown

#: The original keyword arguments and their defaults.
ORIGINAL_DEFAULTS: dict[str, Any] = {
    "problem_type": "classification",
    "learning_rate": 0.0007,
    "input_shape": (32, 32, 3),
    "bw_images": False,
    "base_model": "",
    "base_model_input_shape": (600, 600, 3),
    "flatten_after_base_model": True,
    "blocks": [[5, 400, 50]],
    "residual_bypass_dense_layers": [],
    "b_norm_or_dropout_residual_bypass_layers": "dropout",
    "dropout_rate_for_bypass_layers": 0.35,
    "inter_block_layers_per_block": [],
    "b_norm_or_dropout_last_layers": "dropout",
    "dropout_rate": 0.2,
    "activation": "relu",
    "final_dense_layers": [75, 35],
    "number_of_classes": 10,
    "final_activation": "softmax",
    "loss": "categorical_crossentropy",
}

_REGULARISERS = {"dropout": "dropout", "bnorm": "batchnorm", "batchnorm": "batchnorm"}
_LOSSES = {
    "categoricalcrossentropy": "categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "binarycrossentropy": "binary_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "meansquarederror": "mse",
    "mean_squared_error": "mse",
    "mse": "mse",
    "meanabsoluteerror": "mae",
    "mean_absolute_error": "mae",
    "mae": "mae",
    "huber": "huber",
}


#: The spec field each original argument sets (longest first when matching a path).
_ARGUMENT_OF: dict[str, str] = {
    "optimizer.learning_rate": "learning_rate", "base_model.input_size": "base_model_input_shape",
    "base_model": "base_model", "task": "problem_type", "num_outputs": "number_of_classes",
    "input_shape": "input_shape", "grayscale_to_rgb": "bw_images", "flatten": "flatten_after_base_model",
    "bypass_regularizer": "b_norm_or_dropout_residual_bypass_layers",
    "bypass_dropout": "dropout_rate_for_bypass_layers",
    "inter_block_layers": "inter_block_layers_per_block", "final_layers": "final_dense_layers",
    "final_regularizer": "b_norm_or_dropout_last_layers", "final_dropout": "dropout_rate", "activation": "activation",
    "output_activation": "final_activation", "loss": "loss",
}
_BLOCK_BYPASS = re.compile(r"^blocks\[(\d+)\]\.bypass(\[\d+\])?")
_BLOCK = re.compile(r"^blocks\[(\d+)\]")
_WHAT = "The ResidualMLP arguments"


def _name_of(value: Any) -> str:
    """'relu' for 'relu', keras.activations.relu or a Keras loss object."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    return getattr(value, "__name__", None) or type(value).__name__


def _is_number(value: Any) -> bool:
    """A finite or infinite real number (numpy's included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def argument_of(path: str) -> str:
    """The original argument behind a spec path: ``final_dropout`` -> ``dropout_rate``."""
    m = _BLOCK_BYPASS.match(path)
    if m:
        return f"residual_bypass_dense_layers[{m.group(1)}]"
    m = _BLOCK.match(path)
    if m:
        return f"blocks[{m.group(1)}]"
    for field, argument in _ARGUMENT_OF.items():
        if path == field or path.startswith((field + ".", field + "[")):
            rest = path[len(field):]
            return argument + (rest if rest.startswith("[") else "")
    return path or "<arguments>"


def _as_argument(problem: Problem) -> Problem:
    """A spec problem addressed to the original argument (the spec's own path kept in the message)."""
    argument = argument_of(problem.path)
    if argument == problem.path or not problem.path:
        return problem
    return replace(problem, path=argument, message=f"{problem.message} (the spec's {problem.path})")


class _Arguments:
    """The original arguments read one by one: a value that does not fit becomes a problem and a stand-in."""

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.problems: list[Problem] = []

    def bad(self, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem(key, "error", message, fix))

    def number(self, key: str, kind: type = float) -> Any:
        value = self.values[key]
        if not _is_number(value) or (kind is int and not float(value).is_integer()):
            what = "a whole number" if kind is int else "a number"
            self.bad(key, f"{shown(value)} is not {what}.", f"Give {what}, e.g. {ORIGINAL_DEFAULTS[key]!r}.")
            return ORIGINAL_DEFAULTS[key]
        return kind(value)

    def int_list(self, key: str, value: Any = None, default: Any = None) -> list[int]:
        value = self.values[key] if value is None else value
        try:
            items = list(value)
        except TypeError:
            items = None
        if items is None or isinstance(value, (str, bytes, dict)) or not all(
                _is_number(v) and float(v).is_integer() for v in items):
            self.bad(key, f"{shown(value)} is not a list of whole numbers.", "Give a list such as [75, 35].")
            return list(ORIGINAL_DEFAULTS.get(key, []) if default is None else default)
        return [int(v) for v in items]

    def blocks(self) -> list[list[int]]:
        value = self.values["blocks"]
        if not isinstance(value, (list, tuple)) or not value:
            self.bad("blocks", f"{shown(value)} is not a list of blocks.", "Give a list of [layers, width, "
                     "decrement] lists, e.g. [[5, 400, 50]].")
            return [list(b) for b in ORIGINAL_DEFAULTS["blocks"]]
        out = []
        for i, block in enumerate(value):
            numbers = self.int_list(f"blocks[{i}]", block if isinstance(block, (list, tuple)) else [None],
                                    default=[5, 400, 50])
            if len(numbers) != 3:
                self.bad(f"blocks[{i}]", f"A block is [layers, width, decrement]; got {shown(block)}.",
                         "Give three numbers.")
                numbers = [5, 400, 50]
            out.append(numbers)
        return out

    def bypass(self, count: int) -> list[list[int]]:
        value = self.values["residual_bypass_dense_layers"]
        if not isinstance(value, (list, tuple)):
            self.bad("residual_bypass_dense_layers", f"{shown(value)} is not a list of lists.",
                     "Give one list of bypass widths per block ([] for none), or [].")
            return [[] for _ in range(count)]
        lists = [self.int_list(f"residual_bypass_dense_layers[{i}]", b, default=[]) for i, b in enumerate(value)]
        if lists and len(lists) != count:
            self.bad("residual_bypass_dense_layers", f"There are {count} blocks but {len(lists)} bypass lists.",
                     "Give one list of bypass widths per block ([] for none), or [] for no bypass layers at all.")
            return [[] for _ in range(count)]
        return lists or [[] for _ in range(count)]

    def regularizer(self, key: str) -> str:
        name = _REGULARISERS.get(str(self.values[key]).lower())
        if name is None:
            self.bad(key, f"{shown(self.values[key])} is not a regulariser.", "Use 'dropout' or 'bnorm'.")
            return "dropout"
        return name


def _parse_all(data: dict[str, Any]) -> tuple[ModelSpec, list[Problem]]:
    """The spec of ``data``, each value that does not parse reported and set to its default, so the rest is checked."""
    found: list[Problem] = []
    for _ in range(len(data) + 1):
        try:
            return parse_spec(data), found
        except SpecError as exc:
            found += exc.problems
            for problem in exc.problems:
                path = re.sub(r"(\[\d+\])+$", "", problem.path)
                meta = spec_fields().get(pattern_of(path))
                if meta is None or not path:
                    data.pop(path.split(".")[0].split("[")[0], None)
                else:
                    set_in(data, path, meta.default)
    return ModelSpec(), found


class ResidualMLP:
    """Drop-in replacement for the original class: ``ResidualMLP(**kwargs).make_tandem_model()``.

    Every argument is checked at once: a call with several mistakes gets one error listing all of
    them, each under its argument's name.
    """

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(ORIGINAL_DEFAULTS))
        self.kwargs = {**ORIGINAL_DEFAULTS, **{k: v for k, v in kwargs.items() if k not in unknown}}
        self._given = set(kwargs) - set(unknown)
        self._tmp: tempfile.TemporaryDirectory | None = None
        if unknown:
            found = [Problem(k, "error", f"Unknown argument {k!r}.",
                             "Check the spelling against the original argument names.") for k in unknown]
            raise SpecError(found + errors(self.problems()), _WHAT)
        for key, value in self.kwargs.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ mapping
    def to_spec(self) -> ModelSpec:
        """The equivalent ModelSpec; SpecError (a ValueError) listing every argument that does not fit."""
        spec, problems = self._map()
        if errors(problems):
            raise SpecError(errors(problems), _WHAT)
        return spec

    def problems(self) -> list[Problem]:
        """Everything wrong with the arguments (errors and warnings), each under its argument's name."""
        return self._map()[1]

    def _map(self) -> tuple[ModelSpec, list[Problem]]:
        a, given = self.kwargs, self._given
        args = _Arguments(a)
        regression = a["problem_type"] == "regression"
        if a["problem_type"] not in ("classification", "regression"):
            args.bad("problem_type", f"{shown(a['problem_type'])} is not a problem type.",
                     "Use 'classification' or 'regression'.")
        classes = args.number("number_of_classes", int) if (not regression or "number_of_classes" in given) else 1
        final_act = _name_of(a["final_activation"]) if (not regression or "final_activation" in given) else "linear"
        if regression:
            task = "regression"
        elif classes == 1 or final_act == "sigmoid":
            task = "binary"
        else:
            task = "multiclass"
        loss_name = _name_of(a["loss"]) if (not regression or "loss" in given) else "mse"
        loss = _LOSSES.get(loss_name.lower())
        if loss is None:
            args.bad("loss", f"The loss {shown(loss_name)} is not supported.",
                     f"Use one of {sorted(set(_LOSSES.values()))}.")
            loss = "auto"
        elif task == "binary" and loss == "categorical_crossentropy" and "loss" not in given:
            loss = "binary_crossentropy"
        blocks = args.blocks()
        bypass = args.bypass(len(blocks))
        data = {
            "task": task,
            "num_outputs": classes,
            "input_shape": args.int_list("input_shape"),
            "grayscale_to_rgb": bool(a["bw_images"]),
            "base_model": self._base_model(args),
            "flatten": bool(a["flatten_after_base_model"]),
            "blocks": [{"layers": j, "width": k, "decrement": decr, "bypass": bp}
                       for (j, k, decr), bp in zip(blocks, bypass, strict=True)],
            "bypass_regularizer": args.regularizer("b_norm_or_dropout_residual_bypass_layers"),
            "bypass_dropout": args.number("dropout_rate_for_bypass_layers"),
            "inter_block_layers": args.int_list("inter_block_layers_per_block"),
            "final_layers": args.int_list("final_dense_layers"),
            "final_regularizer": args.regularizer("b_norm_or_dropout_last_layers"),
            "final_dropout": args.number("dropout_rate"),
            "activation": _name_of(a["activation"]),
            "output_activation": final_act,
            "loss": loss,
            "optimizer": {"name": "adam", "learning_rate": args.number("learning_rate"), "clipnorm": 1.0},
        }
        spec, parse_problems = _parse_all(data)
        found = args.problems + [_as_argument(p) for p in parse_problems + validate(spec)]
        unique = list(dict.fromkeys(found))
        return spec, sorted(unique, key=lambda p: p.severity != "error")

    def _base_model(self, args: _Arguments) -> dict[str, Any] | None:
        base = self.kwargs["base_model"]
        if isinstance(base, str) and base == "" or base is None:
            return None
        size = args.int_list("base_model_input_shape")[:2]
        if isinstance(base, str) and not base.endswith(".keras"):
            return {"source": "applications", "name": base, "input_size": size, "weights": "imagenet"}
        if isinstance(base, str | Path):
            return {"source": "file", "path": str(base), "input_size": size}
        # a Keras model object: save it once to a private file, so every build loads a fresh copy
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rmlp-base-")
        path = Path(self._tmp.name) / "base_model.keras"
        if not path.exists():
            base.save(path)
        return {"source": "file", "path": str(path), "input_size": size, "preprocess": False}

    # ------------------------------------------------------------------ building
    def make_tandem_model(self) -> Any:
        """The compiled Keras model, with the original's metrics (minus its broken Accuracy)."""
        spec = self.to_spec()
        model = build_uncompiled(spec)
        return compile_model(model, spec, metrics=make_metrics(spec, flavour="original"))
