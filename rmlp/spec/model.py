"""The model spec: one declarative, versioned, JSON-serialisable description of a residual MLP.

Every field carries its own metadata (label, help text, bounds, widget hints, search range) in
its pydantic ``Field``; :mod:`rmlp.spec.fields` reads that table for widgets, validation and search.
Types are enforced by pydantic; bounds and cross-field rules are checked by :func:`rmlp.validate`,
so a spec may hold an invalid design while a user edits it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = 1

Task = Literal["multiclass", "binary", "regression"]
Regularizer = Literal["dropout", "batchnorm"]
Activation = Literal["relu", "gelu", "elu", "selu", "swish", "tanh", "sigmoid", "leaky_relu", "linear"]
OutputActivation = Literal["auto", "softmax", "sigmoid", "linear"]
Loss = Literal[
    "auto",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mse",
    "mae",
    "huber",
]
OptimizerName = Literal["adam", "adamw", "rmsprop", "sgd"]
Pooling = Literal["avg", "max", "none"]
Weights = Literal["imagenet", "none"]
BaseSource = Literal["applications", "file"]


def _meta(label: str, help: str, **extra: Any) -> dict[str, Any]:
    """Metadata kept in the field itself: label, help text, bounds, widget and search hints."""
    return {"title": label, "description": help, "json_schema_extra": extra}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class BlockSpec(_Strict):
    """One residual block ``[j, k, l]`` plus the Dense widths on its bypass path."""

    layers: int = Field(
        5,
        **_meta(
            "Dense layers (j)",
            "How many Dense layers the main path runs after its entry layer. More layers make the "
            "block deeper; each one is followed by batch normalisation.",
            min=1, max=50, step=1, search={"low": 1, "high": 8},
        ),
    )
    width: int = Field(
        400,
        **_meta(
            "First width (k)",
            "Units of the block's entry Dense layer and of the first main-path layer. The bypass "
            "forks off the entry layer's output, so this is also the width the bypass carries.",
            min=1, max=8192, step=1, search={"low": 8, "high": 512, "log": True},
        ),
    )
    decrement: int = Field(
        50,
        **_meta(
            "Decrement (l)",
            "How many units each next main-path Dense layer loses. The last one has "
            "k − (j−1)·l units, which must stay at least 1.",
            min=0, max=8192, step=1, search={"low": 0, "high": 64},
        ),
    )
    bypass: list[int] = Field(
        default_factory=list,
        **_meta(
            "Bypass Dense widths",
            "Dense layers on the bypass path, each followed by the bypass regulariser. Empty: the "
            "bypass carries the entry layer's output straight to the merge.",
            item_min=1, item_max=8192, max_items=8, search={"choices": [[], [16], [32], [64]]},
        ),
    )

    def main_widths(self) -> list[int]:
        """Widths of the main-path Dense layers after the entry layer."""
        return [self.width - m * self.decrement for m in range(self.layers)]


class BaseModelSpec(_Strict):
    """A pre-trained model put in front of the residual MLP."""

    source: BaseSource = Field(
        "applications",
        **_meta(
            "Base model source",
            "'applications': a model from keras.applications by name; 'file': a .keras file of "
            "your own (checked for unsafe layers before it is loaded).",
        ),
    )
    name: str = Field(
        "MobileNetV2",
        **_meta(
            "Base model",
            "The keras.applications model to put in front of the residual MLP.",
            choices_from="applications",
        ),
    )
    path: str = Field(
        "",
        **_meta("Base model file", "Path of a .keras file to use as the base model (source 'file')."),
    )
    weights: Weights = Field(
        "imagenet",
        **_meta(
            "Pre-trained weights",
            "'imagenet' downloads the pre-trained weights on first use and caches them; 'none' "
            "starts from random weights (no download).",
        ),
    )
    input_size: list[int] | None = Field(
        None,
        **_meta(
            "Resize to (height, width)",
            "Images are resized to this size before the base model. Empty: the model's usual size.",
            item_min=1, item_max=2048, length=2,
        ),
    )
    pooling: Pooling = Field(
        "avg",
        **_meta(
            "Pooling at the cut",
            "How an applications model's last feature map becomes a vector: global average, "
            "global max, or none (the feature map is flattened).",
        ),
    )
    cut_layer: str = Field(
        "",
        **_meta(
            "Cut at layer",
            "Name of the layer whose output feeds the residual MLP (file models). Empty: the "
            "model's own output.",
        ),
    )
    trainable_layers: int = Field(
        0,
        **_meta(
            "Trainable last layers",
            "How many of the base model's last layers are trained with the head; all others stay "
            "frozen. 0 freezes the whole base model.",
            min=0, max=1000, step=1,
        ),
    )
    preprocess: bool = Field(
        True,
        **_meta(
            "Model's own preprocessing",
            "Apply the base model family's input preprocessing (scaling, channel order, mean) "
            "after resizing, as the pre-trained weights expect pixels in 0–255.",
        ),
    )


class OptimizerSpec(_Strict):
    """Optimizer and learning rate given to ``compile``."""

    name: OptimizerName = Field(
        "adam", **_meta("Optimizer", "The optimizer that trains the network.")
    )
    learning_rate: float = Field(
        0.0007,
        **_meta(
            "Learning rate",
            "Step size of the optimizer. Too large diverges, too small learns slowly.",
            min=1e-6, max=1.0, exclusive_min=True, log=True, format="%.5f",
            search={"low": 1e-4, "high": 1e-2, "log": True},
        ),
    )
    clipnorm: float | None = Field(
        1.0,
        **_meta(
            "Gradient clip norm",
            "Gradients are rescaled so their norm never exceeds this value (empty: no clipping).",
            min=0.0, max=100.0, exclusive_min=True,
        ),
    )


class ModelSpec(_Strict):
    """Everything a user designs about one residual MLP."""

    spec_version: int = Field(
        SPEC_VERSION, **_meta("Spec version", "Version of the spec format.", hidden=True)
    )
    name: str = Field("residual_mlp", **_meta("Model name", "Name given to the Keras model."))
    task: Task = Field(
        "multiclass",
        **_meta(
            "Task",
            "multiclass: one of several classes (softmax); binary: yes/no (sigmoid); "
            "regression: a number (linear output).",
        ),
    )
    num_outputs: int = Field(
        10,
        **_meta(
            "Classes / outputs",
            "Units of the output layer: the number of classes, 1 for binary, the number of "
            "targets for regression.",
            min=1, max=100000, step=1,
        ),
    )
    input_shape: list[int] = Field(
        default_factory=lambda: [32, 32, 3],
        **_meta(
            "Input shape",
            "Shape of one example without the batch axis: [features] for a table, "
            "[height, width, channels] for images.",
            item_min=1, item_max=100000, min_items=1, max_items=4,
        ),
    )
    grayscale_to_rgb: bool = Field(
        False,
        **_meta(
            "Grayscale to RGB",
            "Repeat a single-channel image into three channels, as pre-trained image models need.",
        ),
    )
    base_model: BaseModelSpec | None = Field(
        None,
        **_meta(
            "Base model",
            "Optional pre-trained model in front of the residual MLP (transfer learning).",
        ),
    )
    flatten: bool = Field(
        True,
        **_meta(
            "Flatten",
            "Flatten what reaches the blocks into one vector. The blocks concatenate along the "
            "feature axis, so they need a rank-1 example.",
        ),
    )
    blocks: list[BlockSpec] = Field(
        default_factory=lambda: [BlockSpec()],
        **_meta(
            "Residual blocks",
            "Each block: an entry Dense layer, a main path of shrinking Dense layers and a bypass "
            "that carries the entry output around them; the two are concatenated.",
            min_items=1, max_items=200, search={"low": 1, "high": 4},
        ),
    )
    bypass_regularizer: Regularizer = Field(
        "dropout",
        **_meta(
            "Bypass regulariser",
            "What follows the fork and each bypass Dense layer: dropout or batch normalisation.",
            search={"choices": ["dropout", "batchnorm"]},
        ),
    )
    bypass_dropout: float = Field(
        0.35,
        **_meta(
            "Bypass dropout rate",
            "Fraction of bypass units dropped during training (with the dropout regulariser).",
            min=0.0, max=1.0, exclusive_max=True, step=0.05, search={"low": 0.0, "high": 0.6},
        ),
    )
    inter_block_layers: list[int] = Field(
        default_factory=list,
        **_meta(
            "Between-block widths",
            "Dense layers (each with batch normalisation) inserted in every gap between two "
            "blocks. The same list is used at every gap.",
            item_min=1, item_max=8192, max_items=8, search={"choices": [[], [64], [128]]},
        ),
    )
    final_layers: list[int] = Field(
        default_factory=lambda: [75, 35],
        **_meta(
            "Final Dense widths",
            "Dense layers after the last block, each followed by the final regulariser.",
            item_min=1, item_max=8192, max_items=8,
            search={"choices": [[], [32], [75, 35], [128, 64]]},
        ),
    )
    final_regularizer: Regularizer = Field(
        "dropout",
        **_meta(
            "Final regulariser",
            "What follows each final Dense layer: dropout or batch normalisation.",
            search={"choices": ["dropout", "batchnorm"]},
        ),
    )
    final_dropout: float = Field(
        0.2,
        **_meta(
            "Final dropout rate",
            "Fraction of units dropped after each final Dense layer (with the dropout regulariser).",
            min=0.0, max=1.0, exclusive_max=True, step=0.05, search={"low": 0.0, "high": 0.6},
        ),
    )
    activation: Activation = Field(
        "relu",
        **_meta(
            "Hidden activation",
            "Activation of every hidden Dense layer.",
            search={"choices": ["relu", "gelu", "elu", "swish"]},
        ),
    )
    output_activation: OutputActivation = Field(
        "auto",
        **_meta(
            "Output activation",
            "'auto' follows the task: softmax for multiclass, sigmoid for binary, linear for "
            "regression.",
        ),
    )
    loss: Loss = Field(
        "auto",
        **_meta(
            "Loss",
            "'auto' follows the task: categorical cross-entropy, binary cross-entropy or mean "
            "squared error.",
        ),
    )
    optimizer: OptimizerSpec = Field(
        default_factory=OptimizerSpec,
        **_meta("Optimizer", "Optimizer settings (Adam with clipnorm 1.0 by default)."),
    )

    # ----------------------------------------------------------------- derived values
    def resolved_output_activation(self) -> str:
        """The output activation actually used ('auto' resolved from the task)."""
        if self.output_activation != "auto":
            return self.output_activation
        return {"multiclass": "softmax", "binary": "sigmoid", "regression": "linear"}[self.task]

    def resolved_loss(self) -> str:
        """The loss actually used ('auto' resolved from the task)."""
        if self.loss != "auto":
            return self.loss
        return {
            "multiclass": "categorical_crossentropy",
            "binary": "binary_crossentropy",
            "regression": "mse",
        }[self.task]

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Parse a dict; raises :class:`rmlp.SpecError` with problems when it does not fit."""
        from rmlp.spec.io import parse_spec

        return parse_spec(data)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        from rmlp.spec.io import load_spec_text

        return load_spec_text(text)

    def save(self, path: str | Path) -> Path:
        """Write the spec as JSON (or YAML when the name ends in .yaml/.yml)."""
        from rmlp.spec.io import save_spec

        return save_spec(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ModelSpec:
        from rmlp.spec.io import load_spec

        return load_spec(path)

    def copy_with(self, **changes: Any) -> ModelSpec:
        """A deep copy with top-level fields replaced (values re-parsed)."""
        data = self.to_dict()
        data.update(changes)
        return ModelSpec.model_validate(data)
