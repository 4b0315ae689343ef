"""Write rmlp/applications_table.json: what the design path knows about each offered base model.

Every model is built with ``weights=None`` (nothing is downloaded), ``include_top=False``:
once with ``pooling="avg"`` at its default size (parameter counts, per-layer trainable counts,
activations and FLOPs per pixel) and several times un-pooled at small sizes, to fit the
downsampling rules of :meth:`rmlp.base.info.BaseInfo.feature_hw` step by step and to check them
against the real feature map at other sizes. The smallest accepted size is found by asking Keras.

Run: ``python scripts/make_applications_table.py [--only NAME ...] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rmlp.base.info import TABLE_PATH, BaseInfo  # noqa: E402
from rmlp.base.measure import cost_per_pixel, derive_downsample, trainable_counts  # noqa: E402

#: name -> (default size, keras.applications submodule, preprocess family, ImageNet-only sizes)
MODELS: dict[str, tuple[int, str, str, tuple[int, ...]]] = {
    "MobileNetV3Small": (224, "mobilenet_v3", "none", (224,)),
    "MobileNetV3Large": (224, "mobilenet_v3", "none", (224,)),
    "MobileNetV2": (224, "mobilenet_v2", "tf", (96, 128, 160, 192, 224)),
    "EfficientNetB0": (224, "efficientnet", "none", ()),
    "EfficientNetB3": (300, "efficientnet", "none", ()),
    "EfficientNetB7": (600, "efficientnet", "none", ()),
    "EfficientNetV2B0": (224, "efficientnet_v2", "none", ()),
    "EfficientNetV2S": (384, "efficientnet_v2", "none", ()),
    "ResNet50": (224, "resnet50", "caffe", ()),
    "ResNet50V2": (224, "resnet_v2", "tf", ()),
    "DenseNet121": (224, "densenet", "torch", ()),
    "ConvNeXtTiny": (224, "convnext", "none", ()),
    "Xception": (299, "xception", "tf", ()),
    "InceptionV3": (299, "inception_v3", "tf", ()),
    "VGG16": (224, "vgg16", "caffe", ()),
}


def build(name: str, height: int, width: int, pooling: str | None = None) -> Any:
    """A fresh, randomly initialised headless model (never downloads weights)."""
    import keras

    keras.backend.clear_session()
    constructor = getattr(keras.applications, name)
    return constructor(include_top=False, weights=None, input_shape=(height, width, 3), pooling=pooling)


def accepts(name: str, size: int) -> bool:
    """Whether keras.applications builds ``name`` at size × size."""
    try:
        build(name, size, size)
    except ValueError:
        return False
    return True


def find_min_size(name: str) -> int:
    """The smallest square size Keras accepts (searched around 32, where most models stop)."""
    size = 32
    if accepts(name, size):
        while size > 1 and accepts(name, size - 1):
            size -= 1
        return size
    low, high = size, 1024  # low refused, high accepted
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if accepts(name, mid) else (mid, high)
    return high


def feature_hw(name: str, height: int, width: int) -> tuple[int, int]:
    shape = build(name, height, width).outputs[0].shape
    return int(shape[1]), int(shape[2])


def table_entry(name: str) -> dict[str, Any]:
    default, module, family, imagenet_sizes = MODELS[name]
    import keras

    min_size = find_min_size(name)
    m = min_size
    fit_sizes = [(m, m + 1), (m + 2, m + 5), (m + 9, m + 14), (m + 21, m + 30), (m + 35, m + 48), (m + 63, m + 64)]
    rules = derive_downsample(lambda h, w: build(name, h, w), fit_sizes)
    info = BaseInfo(name=name, default_size=(default, default), min_size=min_size, downsample=tuple(rules))

    checks = [(m, m), (m + 1, 2 * m + 3), (3 * m + 7, 2 * m + 10), (default + 1, default - 3)]
    for h, w in checks:
        real, predicted = feature_hw(name, h, w), info.feature_hw(h, w)
        if real != predicted:
            raise SystemExit(f"{name}: rules {rules} predict {predicted} at {h}x{w}, Keras gives {real}")

    bare = build(name, m, m)  # un-pooled: the same layers but the pooling layer
    bare_kinds, bare_params = [type(x).__name__ for x in bare.layers], int(bare.count_params())
    model = build(name, default, default, pooling="avg")
    kinds = [type(x).__name__ for x in model.layers]
    at = max(i for i, kind in enumerate(kinds) if kind == "GlobalAveragePooling2D")
    if kinds[:at] + kinds[at + 1:] != bare_kinds or int(model.count_params()) != bare_params:
        raise SystemExit(f"{name}: the pooled model is not the un-pooled one plus a pooling layer")
    pooling_index = at - len(kinds)
    feature = model.layers[at - 1].output.shape  # the feature map at the default size
    if (int(feature[1]), int(feature[2])) != info.feature_hw(default, default):
        raise SystemExit(f"{name}: rules {rules} do not match the feature map {feature} at {default}")
    activations, flops = cost_per_pixel(model, default, default)
    return {
        "name": name,
        "default_size": [default, default],
        "min_size": min_size,
        "imagenet_sizes": list(imagenet_sizes),
        "channels_out": int(model.outputs[0].shape[-1]),
        "downsample": [list(rule) for rule in rules],
        "total_params": int(model.count_params()),
        "layer_trainable_params": trainable_counts(model),
        "pooling_index": pooling_index,
        "preprocess": family,
        "activations_per_pixel": round(activations, 3),
        "flops_per_pixel": round(flops, 1),
        "fixed_output_shape": None,
        "input_channels": 3,
        "extra": {"keras_module": module, "keras_version": keras.__version__},
    }


def dump(table: dict[str, dict[str, Any]]) -> str:
    """JSON with one field per line (lists kept on their line), stable across runs."""
    lines = ["{"]
    for i, (name, entry) in enumerate(table.items()):
        lines.append(f"  {json.dumps(name)}: {{")
        fields = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items()]
        lines.append(",\n".join(fields))
        lines.append("  }" + ("," if i < len(table) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="measure only these models")
    parser.add_argument("--out", default=str(TABLE_PATH), help="where to write the table")
    args = parser.parse_args(argv)
    names = args.only or list(MODELS)
    out = Path(args.out)
    table: dict[str, dict[str, Any]] = {}
    if args.only and out.is_file():  # refresh some entries, keep the rest
        table = json.loads(out.read_text(encoding="utf-8"))
    for name in names:
        start = time.perf_counter()
        table[name] = table_entry(name)
        print(f"{name}: {table[name]['total_params']:,} params, downsample {table[name]['downsample']}, "
              f"min {table[name]['min_size']} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    ordered = {name: table[name] for name in MODELS if name in table}
    ordered.update({k: v for k, v in table.items() if k not in ordered})
    out.write_text(dump(ordered), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
