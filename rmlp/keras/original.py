"""The original ``ResidualMLP(**kwargs).make_tandem_model()`` API, mapped onto the model spec.

The keyword names and defaults are the original package's; the graph is the original's
(same layer types in the same order, same widths, same parameter count), without its bugs:
regression gets a linear output and MSE, grayscale conversion works, invalid widths and
regulariser names are reported before Keras is touched, and every build gets a fresh base model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rmlp.design.validate import validate
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.problems import Problem, SpecError, errors

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


def _name_of(value: Any) -> str:
    """'relu' for 'relu', keras.activations.relu or a Keras loss object."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    return getattr(value, "__name__", None) or type(value).__name__


def _as_int_list(value: Any) -> list[int]:
    return [int(v) for v in value]


class ResidualMLP:
    """Drop-in replacement for the original class: ``ResidualMLP(**kwargs).make_tandem_model()``."""

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(ORIGINAL_DEFAULTS))
        if unknown:
            raise SpecError([Problem(k, "error", f"Unknown argument {k!r}.",
                                     "Check the spelling against the original argument names.") for k in unknown],
                            "The ResidualMLP arguments")
        self.kwargs = {**ORIGINAL_DEFAULTS, **kwargs}
        self._given = set(kwargs)
        self._tmp: tempfile.TemporaryDirectory | None = None
        for key, value in self.kwargs.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ mapping
    def to_spec(self) -> ModelSpec:
        """The equivalent ModelSpec; SpecError (a ValueError) if the arguments do not fit."""
        spec, problems = self._map()
        problems = problems + (validate(spec) if spec is not None else [])
        if errors(problems) or spec is None:
            raise SpecError(errors(problems) or problems, "The ResidualMLP arguments")
        return spec

    def _map(self) -> tuple[ModelSpec | None, list[Problem]]:
        a, given, problems = self.kwargs, self._given, []
        regression = a["problem_type"] == "regression"
        if a["problem_type"] not in ("classification", "regression"):
            problems.append(Problem("problem_type", "error", f"{a['problem_type']!r} is not a problem type.",
                                    "Use 'classification' or 'regression'."))
        classes = int(a["number_of_classes"]) if (not regression or "number_of_classes" in given) else 1
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
            problems.append(Problem("loss", "error", f"The loss {loss_name!r} is not supported.",
                                    f"Use one of {sorted(set(_LOSSES.values()))}."))
        elif task == "binary" and loss == "categorical_crossentropy" and "loss" not in given:
            loss = "binary_crossentropy"
        regs = {}
        for key in ("b_norm_or_dropout_residual_bypass_layers", "b_norm_or_dropout_last_layers"):
            regs[key] = _REGULARISERS.get(str(a[key]).lower())
            if regs[key] is None:
                problems.append(Problem(key, "error", f"{a[key]!r} is not a regulariser.", "Use 'dropout' or 'bnorm'."))
        blocks = [list(b) for b in a["blocks"]]
        bypass = [list(b) for b in a["residual_bypass_dense_layers"]] or [[] for _ in blocks]
        if len(bypass) != len(blocks):
            problems.append(Problem("residual_bypass_dense_layers", "error",
                                    f"There are {len(blocks)} blocks but {len(bypass)} bypass lists.",
                                    "Give one list of bypass widths per block ([] for none), or [] for no bypass "
                                    "layers at all."))
        for i, block in enumerate(blocks):
            if len(block) != 3:
                problems.append(Problem(f"blocks[{i}]", "error", f"A block is [layers, width, decrement]; got {block}.",
                                        "Give three numbers."))
        if errors(problems):
            return None, problems
        data = {
            "task": task,
            "num_outputs": classes,
            "input_shape": _as_int_list(a["input_shape"]),
            "grayscale_to_rgb": bool(a["bw_images"]),
            "base_model": self._base_model(),
            "flatten": bool(a["flatten_after_base_model"]),
            "blocks": [{"layers": int(j), "width": int(k), "decrement": int(decr), "bypass": _as_int_list(bp)}
                       for (j, k, decr), bp in zip(blocks, bypass, strict=True)],
            "bypass_regularizer": regs["b_norm_or_dropout_residual_bypass_layers"],
            "bypass_dropout": float(a["dropout_rate_for_bypass_layers"]),
            "inter_block_layers": _as_int_list(a["inter_block_layers_per_block"]),
            "final_layers": _as_int_list(a["final_dense_layers"]),
            "final_regularizer": regs["b_norm_or_dropout_last_layers"],
            "final_dropout": float(a["dropout_rate"]),
            "activation": _name_of(a["activation"]),
            "output_activation": final_act,
            "loss": loss,
            "optimizer": {"name": "adam", "learning_rate": float(a["learning_rate"]), "clipnorm": 1.0},
        }
        try:
            return parse_spec(data), problems
        except SpecError as exc:
            return None, problems + exc.problems

    def _base_model(self) -> dict[str, Any] | None:
        base = self.kwargs["base_model"]
        if base in ("", None):
            return None
        size = [int(v) for v in tuple(self.kwargs["base_model_input_shape"])[:2]]
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
        from rmlp.keras.build import build_uncompiled, compile_model
        from rmlp.keras.metrics import make_metrics

        spec = self.to_spec()
        model = build_uncompiled(spec)
        return compile_model(model, spec, metrics=make_metrics(spec, flavour="original"))
