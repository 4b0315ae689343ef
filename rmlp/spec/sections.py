"""How the design controls are grouped: the Design page's tabs and the notebook designer's tabs.

Each :class:`Section` names its spec fields column by column (the fields' own metadata gives the
control), and the path prefixes whose problems it shows. Two sections are drawn specially by every
front end: ``Base model`` (a source choice, then the ``base_model.*`` fields) and ``Blocks`` (an
editable table of the ``blocks[].*`` fields).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BASE_MODEL_FIELDS", "BLOCK_FIELDS", "DESIGN_SECTIONS", "Section", "section"]


@dataclass(frozen=True)
class Section:
    label: str
    #: Field paths per column (empty for a section drawn specially).
    columns: tuple[tuple[str, ...], ...]
    #: Path prefixes of the spec whose problems belong to this section.
    holds: tuple[str, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for column in self.columns for path in column)


#: The fields of a base model, in the order they are shown once a source is chosen.
BASE_MODEL_FIELDS = ("base_model.name", "base_model.path", "base_model.weights", "base_model.input_size",
                     "base_model.pooling", "base_model.cut_layer", "base_model.trainable_layers",
                     "base_model.preprocess")
#: The columns of the blocks table.
BLOCK_FIELDS = ("layers", "width", "decrement", "bypass")

DESIGN_SECTIONS: tuple[Section, ...] = (
    Section("Input", (("task", "input_shape", "grayscale_to_rgb", "embedding", "embedding_dim", "embedding_bins"),
                      ("num_outputs", "name", "flatten", "feature_scale", "embedding_frequencies", "embedding_scale")),
            ("task", "num_outputs", "input_shape", "grayscale_to_rgb", "name", "flatten", "embedding",
             "feature_scale")),
    Section("Base model", (), ("base_model",)),
    Section("Blocks", (), ("blocks",)),
    Section("Around blocks", (("bypass_regularizer", "bypass_dropout", "inter_block_layers", "activation"),
                              ("normalization", "final_layers", "final_regularizer", "final_dropout")),
            ("normalization", "bypass_regularizer", "bypass_dropout", "inter_block_layers", "final_layers",
             "final_regularizer", "final_dropout", "activation")),
    Section("Optimizer", (("output_activation", "loss", "label_smoothing", "ensemble", "ensemble_layout"),
                          ("optimizer.name", "optimizer.learning_rate", "optimizer.weight_decay",
                           "optimizer.clipnorm")),
            ("output_activation", "loss", "label_smoothing", "ensemble", "optimizer")),
)


def section(label: str) -> Section:
    """The section called ``label``."""
    for item in DESIGN_SECTIONS:
        if item.label == label:
            return item
    raise KeyError(label)
