"""Each base-model family's input preprocessing as plain facts (the design path reads them).

The facts (which families exist, how many weights their layers carry) are pure and read by the
design path; the layers themselves are rows of the layer table (:func:`rmlp.keras.layer_defs.preprocess_layer`).
"""

from __future__ import annotations

PREPROCESS_FAMILIES = ("none", "tf", "torch", "caffe")
#: ImageNet statistics used by ``preprocess_input`` (RGB order; caffe mean in BGR order).
TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
TORCH_STD_RGB = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _check_family(family: str) -> None:
    if family not in PREPROCESS_FAMILIES:
        raise ValueError(
            f"Unknown preprocessing family {family!r}; expected one of {PREPROCESS_FAMILIES}."
        )


def preprocess_param_count(family: str) -> int:
    """Weights carried by the family's preprocessing layer (all non-trainable)."""
    _check_family(family)
    # caffe: a fixed 1x1 convolution (3x3 permutation kernel + 3 biases); the others are Rescaling.
    return 12 if family == "caffe" else 0
