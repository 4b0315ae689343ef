"""Each base-model family's input preprocessing, as plain facts and as built-in Keras layers.

The facts (which families exist, how many weights their layers carry) are pure and read by the
design path; :func:`preprocessing_layers` imports Keras inside.
"""

from __future__ import annotations

from typing import Any

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
    """Weights carried by :func:`preprocessing_layers` (all non-trainable)."""
    _check_family(family)
    # caffe: a fixed 1x1 convolution (3x3 permutation kernel + 3 biases); the others are Rescaling.
    return 12 if family == "caffe" else 0


def preprocessing_layers(family: str, name: str = "base_preprocess") -> list[Any]:
    """Built-in Keras layers that do the family's ``preprocess_input`` on 0..255 RGB pixels.

    "tf": x/127.5 - 1. "torch": (x/255 - mean)/std per channel (one Rescaling; Keras 3 accepts
    per-channel scale and offset lists). "caffe": RGB->BGR and mean subtraction, as a frozen 1x1
    Conv2D with a permutation kernel and bias -mean. "none": no layers.
    """
    _check_family(family)
    from keras import initializers, layers

    if family == "tf":
        return [layers.Rescaling(1.0 / 127.5, offset=-1.0, name=name)]
    if family == "torch":
        scale = [1.0 / (255.0 * s) for s in TORCH_STD_RGB]
        offset = [-m / s for m, s in zip(TORCH_MEAN_RGB, TORCH_STD_RGB, strict=True)]
        return [layers.Rescaling(scale, offset=offset, name=name)]
    if family == "caffe":
        # kernel[0, 0, i, o] = 1 where output channel o (BGR) takes input channel i (RGB).
        kernel = [[[[1.0 if i + o == 2 else 0.0 for o in range(3)] for i in range(3)]]]
        return [
            layers.Conv2D(
                3,
                1,
                use_bias=True,
                trainable=False,
                kernel_initializer=initializers.Constant(kernel),
                bias_initializer=initializers.Constant([-m for m in CAFFE_MEAN_BGR]),
                name=name,
            )
        ]
    return []
