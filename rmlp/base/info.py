"""What the design path knows about a base model, without Keras.

For ``keras.applications`` models the facts come from ``applications_table.json`` (written by
``scripts/make_applications_table.py``, which builds each model once with ``weights=None``).
For a user's ``.keras`` file they come from a sidecar ``<file>.rmlp-info.json`` written by
:func:`rmlp.base.measure.inspect_base_file` the first time the file is inspected.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).with_name("applications_table.json")


@dataclass(frozen=True)
class BaseInfo:
    """Facts about one base model (as cut, with pooling applied for applications models)."""

    name: str
    default_size: tuple[int, int]
    min_size: int
    #: Sizes the ImageNet weights exist for; empty: any size >= min_size.
    imagenet_sizes: tuple[int, ...] = ()
    #: Channels of the feature map at the cut.
    channels_out: int = 0
    #: How the spatial size shrinks: a list of ("ceil"|"floor", stride) divisions, applied in order;
    #: ("minus", n) subtracts n (valid convolutions and paddings, as in Xception and InceptionV3).
    downsample: tuple[tuple[str, int], ...] = ()
    #: Total parameters of the base model (all weights, trainable or not).
    total_params: int = 0
    #: Per layer (in ``model.layers`` order): parameters that train when that layer is unfrozen.
    layer_trainable_params: tuple[int, ...] = ()
    #: Applications models: where (counted from the end, -1 = last) the layer that pooling
    #: "avg"/"max" adds sits in ``layer_trainable_params``; it is absent with pooling "none".
    #: ConvNeXt keeps a LayerNormalization after it (-2). None: no pooling layer (file models).
    pooling_index: int | None = None
    #: Preprocessing family: "none", "tf" (x/127.5-1), "torch" (ImageNet mean/std), "caffe" (BGR, mean).
    preprocess: str = "none"
    #: Activation elements (sum of every layer's output size) per input pixel, at the default size.
    activations_per_pixel: float = 0.0
    #: Multiply-adds ×2 per input pixel at the default size (an estimate for other sizes).
    flops_per_pixel: float = 0.0
    #: Fixed output shape (file models whose cut output does not depend on the input size).
    fixed_output_shape: tuple[int, ...] | None = None
    input_channels: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        return len(self.layer_trainable_params)

    def feature_hw(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of the feature map at the cut for an input of this size."""
        for rule, stride in self.downsample:
            if rule == "minus":
                height, width = height - stride, width - stride
                continue
            op = math.ceil if rule == "ceil" else math.floor
            height, width = op(height / stride), op(width / stride)
        return height, width

    def output_shape(self, height: int, width: int, pooling: str) -> tuple[int, ...]:
        """Shape of one example at the cut (after pooling for applications models)."""
        if self.fixed_output_shape is not None:
            return tuple(self.fixed_output_shape)
        if pooling in ("avg", "max"):
            return (self.channels_out,)
        h, w = self.feature_hw(height, width)
        return (h, w, self.channels_out)

    def layer_params(self, pooling: str = "avg") -> tuple[int, ...]:
        """``layer_trainable_params`` of the model as built with this pooling."""
        if pooling == "none" and self.pooling_index is not None:
            counts = list(self.layer_trainable_params)
            del counts[self.pooling_index]
            return tuple(counts)
        return self.layer_trainable_params

    def trainable_params(self, trainable_layers: int, pooling: str = "avg") -> int:
        """Parameters that train when the last ``trainable_layers`` layers are unfrozen."""
        if trainable_layers <= 0:
            return 0
        return sum(self.layer_params(pooling)[-trainable_layers:])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaseInfo:
        data = dict(data)
        for key in ("default_size", "imagenet_sizes", "layer_trainable_params"):
            if key in data and data[key] is not None:
                data[key] = tuple(data[key])
        if data.get("downsample") is not None:
            data["downsample"] = tuple(tuple(x) for x in data["downsample"])
        if data.get("fixed_output_shape") is not None:
            data["fixed_output_shape"] = tuple(data["fixed_output_shape"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def applications() -> dict[str, BaseInfo]:
    """The offered keras.applications models, by name."""
    if not TABLE_PATH.is_file():
        return {}
    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return {name: BaseInfo.from_dict(entry) for name, entry in raw.items()}


def sidecar_path(model_path: str | Path, cut_layer: str = "") -> Path:
    """Where the inspected facts of a .keras file (cut at ``cut_layer``) are cached."""
    path = Path(model_path)
    suffix = f".{cut_layer}" if cut_layer else ""
    return path.with_name(f"{path.name}{suffix}.rmlp-info.json")


def lookup(base: Any) -> BaseInfo | None:
    """Facts for a spec's base model, or None when they are not known without Keras."""
    if base is None:
        return None
    if base.source == "applications":
        return applications().get(base.name)
    side = sidecar_path(base.path, base.cut_layer)
    if base.path and side.is_file():
        try:
            info = BaseInfo.from_dict(json.loads(side.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError):
            return None
        return None if _is_stale(info, Path(base.path)) else info
    return None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content (remembered while the file's size and mtime stay the same)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_stale(info: BaseInfo, model_path: Path) -> bool:
    """True when the .keras file changed since its sidecar was written.

    Size and mtime answer quickly; when only the mtime differs (a fresh clone or copy), the
    content hash decides, so a sidecar shipped next to its model stays valid.
    """
    try:
        stat = model_path.stat()
    except OSError:
        return True
    size, mtime = info.extra.get("file_size"), info.extra.get("file_mtime")
    if size is None:
        return False
    if size != stat.st_size:
        return True
    if mtime == stat.st_mtime:
        return False
    digest = info.extra.get("file_sha256")
    return digest is None or digest != file_digest(model_path)

