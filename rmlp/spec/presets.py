"""Starter designs: named model specs for `rmlp init --preset NAME` and the app's preset picker.

Every preset is a plain :class:`~rmlp.spec.model.ModelSpec`; :func:`get_preset` hands out a fresh copy so
a caller may edit it freely.
"""

from __future__ import annotations

from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec, OptimizerSpec

__all__ = ["PRESETS", "PRESET_HELP", "PRESET_TITLES", "get_preset", "preset_names"]


def _original_readme() -> ModelSpec:
    """The original package's defaults (which are the spec's): 32×32×3 images, one block [5, 400, 50]."""
    return ModelSpec(name="original_readme")


def _cifar10_transfer() -> ModelSpec:
    """The original's headline run: EfficientNetB7 at 600×600 in front of two residual blocks."""
    return ModelSpec(
        name="cifar10_transfer",
        base_model=BaseModelSpec(
            name="EfficientNetB7",
            input_size=[600, 600],
            # top_conv, top_bn, top_activation and the pooling layer: only the last convolution trains
            trainable_layers=4,
        ),
        blocks=[BlockSpec(layers=5, width=100, decrement=10), BlockSpec(layers=7, width=75, decrement=8)],
        final_layers=[35, 35],
        final_dropout=0.25,
    )


def _small_tabular() -> ModelSpec:
    """A small table model: 13 numeric features (the wine data), 3 classes, two small blocks."""
    return ModelSpec(
        name="small_tabular",
        num_outputs=3,
        input_shape=[13],
        blocks=[BlockSpec(layers=3, width=64, decrement=16), BlockSpec(layers=2, width=32, decrement=8)],
        bypass_dropout=0.2,
        final_layers=[16],
        final_dropout=0.1,
        optimizer=OptimizerSpec(learning_rate=0.001),
    )


def _deep_14() -> ModelSpec:
    """Fourteen residual blocks on 32×32×3 images: a deep design (the graph draws it compactly)."""
    return ModelSpec(
        name="deep_14",
        blocks=[BlockSpec(layers=3, width=128, decrement=16) for _ in range(14)],
        bypass_dropout=0.25,
        final_layers=[64],
        optimizer=OptimizerSpec(learning_rate=0.0005),
    )


#: The starter designs, by name.
PRESETS: dict[str, ModelSpec] = {
    "original_readme": _original_readme(),
    "cifar10_transfer": _cifar10_transfer(),
    "small_tabular": _small_tabular(),
    "deep_14": _deep_14(),
}

#: A short title for each preset (the app's preset picker shows it above the one line below).
PRESET_TITLES: dict[str, str] = {
    "original_readme": "Original README example",
    "cifar10_transfer": "CIFAR-10 transfer learning",
    "small_tabular": "Small table model",
    "deep_14": "Deep: 14 blocks",
}

#: One line about each preset (for `rmlp init --help` and the app).
PRESET_HELP: dict[str, str] = {
    "original_readme": "The original package's defaults: 32x32x3 images, one block [5, 400, 50], final [75, 35], "
    "10 classes (about 1.8M parameters).",
    "cifar10_transfer": "EfficientNetB7 (ImageNet, 600x600) in front of blocks [[5, 100, 10], [7, 75, 8]], "
    "final [35, 35], 10 classes.",
    "small_tabular": "Two small blocks for a table: 13 numeric features, 3 classes (fits sample_data/wine.csv).",
    "deep_14": "Fourteen blocks [3, 128, 16] on 32x32x3 images, 10 classes: a deep design, drawn compactly.",
}


def preset_names() -> list[str]:
    """The preset names, in a stable order."""
    return list(PRESETS)


def get_preset(name: str) -> ModelSpec:
    """A fresh copy of the preset ``name``; ValueError naming the choices when it is unknown."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name].model_copy(deep=True)
