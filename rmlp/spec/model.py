"""The model spec: one declarative, versioned, JSON-serialisable description of a residual MLP.

Every field is declared once with :func:`rmlp.spec.fields.setting`: its label, help text, allowed
values, widget hints and how a search may vary it. Types are enforced by pydantic; bounds and
cross-field rules are checked by :func:`rmlp.validate`, so a spec may hold an invalid design while
a user edits it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rmlp.spec.display import hook
from rmlp.spec.fields import SETTINGS_CONFIG, Search, When, setting
from rmlp.spec.io import dump_document, parse_document, parse_model, read_document, refuse_unknown_version
from rmlp.spec.problems import SpecError
from rmlp.spec.tasks import Task, facts

SPEC_VERSION = 1

Regularizer = Literal["dropout", "batchnorm"]
Normalization = Literal["batchnorm", "none"]
Activation = Literal["relu", "gelu", "elu", "selu", "swish", "tanh", "sigmoid", "leaky_relu", "linear"]
OutputActivation = Literal["auto", "softmax", "sigmoid", "linear"]
Loss = Literal["auto", "categorical_crossentropy", "binary_crossentropy", "mse", "mae", "huber"]
OptimizerName = Literal["adam", "adamw", "rmsprop", "sgd"]
EnsembleLayout = Literal["packed", "shared", "separate"]
Embedding = Literal["none", "periodic", "piecewise"]


@dataclass(frozen=True)
class OptimizerFacts:
    """What an optimizer is in Keras, and how much state it keeps per trainable weight."""

    keras_class: str
    #: Adam and AdamW keep two moments per weight, RMSprop one, SGD (no momentum) none.
    slots: int


OPTIMIZERS: dict[str, OptimizerFacts] = {
    "adam": OptimizerFacts("Adam", 2), "adamw": OptimizerFacts("AdamW", 2),
    "rmsprop": OptimizerFacts("RMSprop", 1), "sgd": OptimizerFacts("SGD", 0),
}
Pooling = Literal["avg", "max", "none"]
Weights = Literal["imagenet", "none"]
BaseSource = Literal["applications", "file"]

__all__ = [
    "OPTIMIZERS", "SPEC_VERSION", "Activation", "BaseModelSpec", "BaseSource", "BlockSpec", "Embedding",
    "EnsembleLayout", "Loss", "ModelSpec",
    "OptimizerName", "OptimizerSpec", "OutputActivation", "Pooling", "Regularizer", "TargetScale", "Task", "Weights",
    "load_spec", "load_spec_text", "parse_spec", "save_spec",
]


class _Strict(BaseModel):
    model_config = ConfigDict(**SETTINGS_CONFIG, validate_assignment=False)


class BlockSpec(_Strict):
    """One residual block ``[j, k, l]`` plus the Dense widths on its bypass path."""

    layers: int = setting(
        5, label="Dense layers (j)",
        help="How many Dense layers the main path runs after its entry layer. More layers make the block "
        "deeper; each one is followed by the main-path normalisation (batch normalisation unless set to none).",
        low=1, high=50, step=1, search=Search(low=1, high=8),
    )
    width: int = setting(
        400, label="First width (k)",
        help="Units of the block's entry Dense layer and of the first main-path layer. The bypass forks off "
        "the entry layer's output, so this is also the width the bypass carries.",
        low=1, high=8192, step=1, search=Search(low=8, high=512, log=True),
    )
    decrement: int = setting(
        50, label="Decrement (l)",
        help="How many units each next main-path Dense layer loses. The last one has k − (j−1)·l units, "
        "which must stay at least 1.",
        low=0, high=8192, step=1, search=Search(low=0, high=64),
    )
    bypass: list[int] = setting(
        label="Bypass Dense widths",
        help="Dense layers on the bypass path, each followed by the bypass regulariser. Empty: the bypass "
        "carries the entry layer's output straight to the merge.",
        default_factory=list, low=1, high=8192, max_items=8, search=Search(choices=((), (16,), (32,), (64,))),
    )

    def main_widths(self) -> list[int]:
        """Widths of the main-path Dense layers after the entry layer."""
        return [self.width - m * self.decrement for m in range(self.layers)]


class BaseModelSpec(_Strict):
    """A pre-trained model put in front of the residual MLP."""

    source: BaseSource = setting(
        "applications", label="Base model source",
        help="'applications': a model from keras.applications by name; 'file': a .keras file of your own "
        "(checked for unsafe layers before it is loaded).",
        searchable=False,
    )
    name: str = setting(
        "MobileNetV2", label="Base model",
        help="The keras.applications model to put in front of the residual MLP.", searchable=False,
    )
    path: str = setting(
        "", label="Base model file", help="Path of a .keras file to use as the base model (source 'file').",
        searchable=False,
    )
    weights: Weights = setting(
        "imagenet", label="Pre-trained weights",
        help="'imagenet' downloads the pre-trained weights on first use and caches them; 'none' starts from "
        "random weights (no download).",
        searchable=False,
    )
    input_size: list[int] | None = setting(
        None, label="Resize to (height, width)",
        help="Images are resized to this size before the base model. Empty: the model's usual size.",
        low=1, high=2048, length=2, searchable=False,
    )
    pooling: Pooling = setting(
        "avg", label="Pooling at the cut",
        help="How an applications model's last feature map becomes a vector: global average, global max, "
        "or none (the feature map is flattened).",
        searchable=False,
    )
    cut_layer: str = setting(
        "", label="Cut at layer",
        help="Name of the layer whose output feeds the residual MLP (file models). Empty: the model's own "
        "output.",
        searchable=False,
    )
    trainable_layers: int = setting(
        0, label="Trainable last layers",
        help="How many of the base model's last layers are trained with the head; all others stay frozen. "
        "0 freezes the whole base model.",
        low=0, high=1000, step=1,
    )
    preprocess: bool = setting(
        True, label="Model's own preprocessing",
        help="Apply the base model family's input preprocessing (scaling, channel order, mean) after "
        "resizing, as the pre-trained weights expect pixels in 0–255.",
    )


class OptimizerSpec(_Strict):
    """Optimizer and learning rate given to ``compile``."""

    name: OptimizerName = setting("adam", label="Optimizer", help="The optimizer that trains the network.")
    learning_rate: float = setting(
        0.0007, label="Learning rate",
        help="Step size of the optimizer. Too large diverges, too small learns slowly.",
        low=1e-6, high=1.0, low_open=True, log=True, format="%.5f", search=Search(low=1e-4, high=1e-2, log=True),
    )
    clipnorm: float | None = setting(
        1.0, label="Gradient clip norm",
        help="Gradients are rescaled so their norm never exceeds this value (empty: no clipping).",
        low=0.0, high=100.0, low_open=True,
    )
    weight_decay: float = setting(
        0.0, label="Weight decay",
        help="Every step shrinks each weight by this share of the learning rate (decoupled, as AdamW does): a "
        "regulariser that keeps a network trained on few rows from memorising them. 0: none.",
        low=0.0, high=1.0, step=0.005, format="%.4f", search=Search(choices=(0.0, 1e-4, 1e-3, 0.01, 0.03, 0.1)),
    )


class TargetScale(_Strict):
    """The spread and centre of a regression target, so that the network learns it at mean 0 and spread 1."""

    mean: float = setting(0.0, label="Target mean", help="Mean of the target on the training rows.", hidden=True)
    std: float = setting(1.0, label="Target spread", help="Standard deviation of the target on the training rows.",
                         low=0.0, low_open=True, hidden=True)


class ModelSpec(_Strict):
    """Everything a user designs about one residual MLP."""

    spec_version: int = setting(
        SPEC_VERSION, label="Spec version", help="Version of the spec format.", hidden=True, searchable=False,
        cli=None,
    )
    name: str = setting("residual_mlp", label="Model name", help="Name given to the Keras model.",
                        searchable=False)
    task: Task = setting(
        "multiclass", label="Task",
        help="multiclass: one of several classes (softmax); binary: yes/no (sigmoid); regression: a number "
        "(linear output).",
        searchable=False,
    )
    num_outputs: int = setting(
        10, label="Classes / outputs",
        help="Units of the output layer: the number of classes, 1 for binary, the number of targets for "
        "regression.",
        low=1, high=100000, step=1, searchable=False,
    )
    input_shape: list[int] = setting(
        label="Input shape",
        help="Shape of one example without the batch axis: [features] for a table, [height, width, channels] "
        "for images.",
        default_factory=lambda: [32, 32, 3], low=1, high=100000, min_items=1, max_items=4, searchable=False,
    )
    grayscale_to_rgb: bool = setting(
        False, label="Grayscale to RGB",
        help="Repeat a single-channel image into three channels, as pre-trained image models need.",
        searchable=False,
    )
    base_model: BaseModelSpec | None = setting(
        None, label="Base model",
        help="Optional pre-trained model in front of the residual MLP (transfer learning).", searchable=False,
    )
    flatten: bool = setting(
        True, label="Flatten",
        help="Flatten what reaches the blocks into one vector. The blocks concatenate along the feature "
        "axis, so they need a rank-1 example.",
        searchable=False,
    )
    embedding: Embedding = setting(
        "none", label="Numeric feature embedding",
        help="How each input feature enters the blocks. 'periodic': every feature becomes a small vector of its "
        "own (learned frequencies, their sine and cosine, a per-feature linear layer and ReLU: the 'PLR' "
        "embedding), which lets an MLP follow sharp thresholds of single columns as trees do. 'piecewise': every "
        "feature is encoded over bins between quantiles of its training values (0 below a bin, 1 above it, "
        "the position inside it), then a per-feature linear layer and ReLU (the 'PLE' embedding): fixed bins, "
        "fewer weights to learn than 'periodic'. 'none': the features as they are.",
        search=Search(choices=("none", "periodic", "piecewise")), when=(When("flatten", (True,)),),
    )
    embedding_frequencies: int = setting(
        16, label="Embedding frequencies",
        help="Learned frequencies per feature of the periodic embedding; each gives a sine and a cosine.",
        low=1, high=128, step=1, search=Search(choices=(8, 16, 32)), when=(When("embedding", ("periodic",)),),
    )
    embedding_bins: int = setting(
        16, label="Embedding bins",
        help="Bins per feature of the piecewise-linear embedding. Their edges are quantiles of the feature's "
        "training values, set when training starts (a model built without data starts from the quantiles of a "
        "normal spread); a feature with fewer distinct values gets fewer bins.",
        low=2, high=128, step=1, search=Search(choices=(8, 16, 32)), when=(When("embedding", ("piecewise",)),),
    )
    embedding_dim: int = setting(
        8, label="Embedding width",
        help="Values each feature becomes after the embedding's per-feature linear layer and ReLU: the blocks "
        "see features × this many inputs.",
        low=1, high=256, step=1, search=Search(choices=(4, 8, 16)),
        when=(When("embedding", ("periodic", "piecewise")),),
    )
    embedding_scale: float = setting(
        0.1, label="Embedding frequency scale",
        help="Spread of the periodic embedding's initial frequencies (per unit of a scaled feature): small "
        "values start smooth, large ones start with sharp wiggles. The frequencies are learned from there.",
        low=0.0, high=100.0, low_open=True, log=True, format="%.4f", search=Search(low=0.01, high=3.0, log=True),
        when=(When("embedding", ("periodic",)),),
    )
    feature_scale: bool = setting(
        False, label="Learned feature scales",
        help="A learned factor for every value that enters the blocks (after the embedding, if any), starting "
        "at 1 (the 'scaling layer' of the RealMLP recipe): the optimizer moves each factor as fast as any weight, "
        "so the network can turn a column up or down within a few steps, where the first Dense layer spreads "
        "that over a whole row of its weights.",
        search=Search(choices=(False, True)), when=(When("flatten", (True,)),),
    )
    blocks: list[BlockSpec] = setting(
        label="Residual blocks",
        help="Each block: an entry Dense layer, a main path of shrinking Dense layers and a bypass that "
        "carries the entry output around them; the two are concatenated.",
        default_factory=lambda: [BlockSpec()], min_items=1, max_items=200, search=Search(low=1, high=4),
    )
    residual: bool = setting(
        True, label="Bypass (residual connections)",
        help="On: each block carries its entry layer's output around the main path and joins the two (the "
        "residual connection), so signals and gradients have a short way through a deep network. Off: the "
        "plain MLP of the same widths and depth, each block ending at its main path's last layer.",
        searchable=False,
    )
    normalization: Normalization = setting(
        "batchnorm", label="Main-path normalisation",
        help="What follows the entry layer and each Dense layer of a block's main path (and each "
        "between-block layer): batch normalisation, as in the original design, or none. Batches of a "
        "few dozen rows give batch normalisation noisy statistics; the published tabular-MLP recipes "
        "leave it out.",
        search=Search(choices=("batchnorm", "none")),
    )
    bypass_regularizer: Regularizer = setting(
        "dropout", label="Bypass regulariser",
        help="What follows the fork and each bypass Dense layer: dropout or batch normalisation.",
        search=Search(choices=("dropout", "batchnorm")),
    )
    bypass_dropout: float = setting(
        0.35, label="Bypass dropout rate",
        help="Fraction of bypass units dropped during training (with the dropout regulariser).",
        low=0.0, high=1.0, high_open=True, step=0.05, search=Search(low=0.0, high=0.6),
        when=(When("bypass_regularizer", ("dropout",)),),
    )
    inter_block_layers: list[int] = setting(
        label="Between-block widths",
        help="Dense layers (each followed by the main-path normalisation) inserted in every gap between two "
        "blocks. The same list is used at every gap.",
        default_factory=list, low=1, high=8192, max_items=8, search=Search(choices=((), (64,), (128,))),
    )
    final_layers: list[int] = setting(
        label="Final Dense widths",
        help="Dense layers after the last block, each followed by the final regulariser.",
        default_factory=lambda: [75, 35], low=1, high=8192, max_items=8,
        search=Search(choices=((), (32,), (75, 35), (128, 64))),
    )
    final_regularizer: Regularizer = setting(
        "dropout", label="Final regulariser",
        help="What follows each final Dense layer: dropout or batch normalisation.",
        search=Search(choices=("dropout", "batchnorm")), when=(When("final_layers", nonempty=True),),
    )
    final_dropout: float = setting(
        0.2, label="Final dropout rate",
        help="Fraction of units dropped after each final Dense layer (with the dropout regulariser).",
        low=0.0, high=1.0, high_open=True, step=0.05, search=Search(low=0.0, high=0.6),
        when=(When("final_layers", nonempty=True), When("final_regularizer", ("dropout",))),
    )
    activation: Activation = setting(
        "relu", label="Hidden activation", help="Activation of every hidden Dense layer.",
        search=Search(choices=("relu", "gelu", "elu", "swish")),
    )
    output_activation: OutputActivation = setting(
        "auto", label="Output activation",
        help="'auto' follows the task: softmax for multiclass, sigmoid for binary, linear for regression.",
        searchable=False,
    )
    loss: Loss = setting(
        "auto", label="Loss",
        help="'auto' follows the task: categorical cross-entropy, binary cross-entropy or mean squared error.",
        searchable=False,
    )
    label_smoothing: float = setting(
        0.0, label="Label smoothing",
        help="Classification: train towards 1 − ε for the true class and ε shared by the others instead of a hard "
        "0/1, which keeps a small network from growing over-confident on few rows. 0: none.",
        low=0.0, high=0.5, high_open=True, step=0.05, search=Search(low=0.0, high=0.2),
        when=(When("task", ("multiclass", "binary")),),
    )
    ensemble: int = setting(
        1, label="Ensemble members",
        help="Train this many copies of the network (after the shared input and base model) side by side from "
        "different initial weights, each on its own loss, and predict their average: steadier predictions on "
        "small data for K times the parameters and training time. 1: a single network.",
        low=1, high=32, step=1, searchable=False,
    )
    ensemble_layout: EnsembleLayout = setting(
        "packed", label="Ensemble layout",
        help="How the members are computed. 'packed': each layer of all members is one batched operation (a "
        "built-in EinsumDense over a member axis), the same networks for a fraction of the time. 'shared': the "
        "members share every Dense layer and differ by a learned scaling of each input feature per member (TabM's "
        "'mini' ensemble), a K-th of the weights, each layer one Dense over all members' rows. 'separate': "
        "one copy of every layer per member, as a plain functional graph.",
        searchable=False, when=(When("ensemble", tuple(range(2, 33))),),
    )
    target_scale: TargetScale | None = setting(
        None, label="Target scale",
        help="Regression: the network's output is multiplied by the target's spread and shifted by its mean "
        "(a built-in Rescaling layer), so it learns a target of mean 0 and spread 1 and predicts in the "
        "target's own units. Set from the training rows when the design is fitted to data.",
        hidden=True, searchable=False, when=(When("task", ("regression",)),),
    )
    optimizer: OptimizerSpec = setting(
        label="Optimizer", help="Optimizer settings (Adam with clipnorm 1.0 by default).",
        default_factory=OptimizerSpec,
    )

    # ----------------------------------------------------------------- derived values
    def resolved_output_activation(self) -> str:
        """The output activation actually used ('auto' resolved from the task)."""
        return facts(self.task).output_activation if self.output_activation == "auto" else self.output_activation

    def members_side_by_side(self) -> bool:
        """Whether an ensemble's members are computed together in each layer ('packed' or 'shared'), the
        features repeated once per member, rather than as separate towers (or there is one network)."""
        return self.ensemble > 1 and self.ensemble_layout != "separate"

    def resolved_loss(self) -> str:
        """The loss actually used ('auto' resolved from the task)."""
        return facts(self.task).loss if self.loss == "auto" else self.loss

    # ----------------------------------------------------------------- serialisation
    def _repr_html_(self) -> str:
        """In a notebook: the graph, the figures and the problems of this design in one view."""
        return str(hook("spec_html")(self))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Parse a dict; raises :class:`rmlp.SpecError` with problems when it does not fit."""
        return parse_spec(data)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        return load_spec_text(text)

    def save(self, path: str | Path) -> Path:
        """Write the spec as JSON (or YAML when the name ends in .yaml/.yml)."""
        return save_spec(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ModelSpec:
        return load_spec(path)

    def copy_with(self, **changes: Any) -> ModelSpec:
        """A deep copy with top-level fields replaced (values re-parsed)."""
        data = self.to_dict()
        data.update(changes)
        return ModelSpec.model_validate(data)


# ----------------------------------------------------------------------------- reading and writing
_NOUN = "the model spec"


def parse_spec(data: Any) -> ModelSpec:
    """A spec from a dict; raises SpecError (a ValueError) listing what does not fit."""
    refuse_unknown_version(data, "spec_version", SPEC_VERSION, SpecError, _NOUN)
    return parse_model(ModelSpec, data, SpecError, _NOUN)


def load_spec_text(text: str, suffix: str = ".json") -> ModelSpec:
    """Parse spec text (JSON, or YAML for .yaml/.yml)."""
    return parse_spec(parse_document(text, suffix, SpecError))


def load_spec(path: str | Path) -> ModelSpec:
    """Read a spec file; raises SpecError with a clear message for a missing or bad file."""
    return parse_spec(read_document(path, SpecError, "spec file"))


def save_spec(spec: ModelSpec, path: str | Path) -> Path:
    """Write ``spec`` as JSON (or YAML for .yaml/.yml)."""
    return dump_document(spec.to_dict(), path)
