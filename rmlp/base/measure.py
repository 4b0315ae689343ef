"""Measuring a base model with Keras: how it shrinks an image, its trainable layers, its cost per pixel.

:func:`inspect_base_file` measures a user's ``.keras`` file once and writes the facts to a sidecar
JSON that :mod:`rmlp.base.info` reads without Keras (``scripts/make_applications_table.py`` does the
same for the ``keras.applications`` models).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmlp.base.info import BaseInfo, file_digest, sidecar_path
from rmlp.base.loading import load_cut
from rmlp.base.safety import file_problem
from rmlp.spec.problems import SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras




def _spatial(shape: Any) -> tuple[int, int] | None:
    """(height, width) of a channels-last rank-4 shape, else None."""
    shape = tuple(shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return int(shape[1]), int(shape[2])


def _first_history(node: Any) -> list[Any] | None:
    """The keras_history of the first tensor fed to a node in a functional config."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return list(node["config"]["keras_history"])
        for key in ("args", "kwargs"):
            if key in node:
                found = _first_history(node[key])
                if found is not None:
                    return found
        return None
    if isinstance(node, (list, tuple)):
        for item in node:
            found = _first_history(item)
            if found is not None:
                return found
    return None


def main_chain(model: keras.Model) -> list[Any]:
    """Operations from the input to the output, following each one's first input."""
    config = model.get_config()
    if "output_layers" not in config:  # Sequential
        return list(model.layers)
    ops = {op.name: op for op in model.operations}
    outputs = config["output_layers"]
    name = outputs[0][0] if isinstance(outputs[0], (list, tuple)) else outputs[0]
    entries = {entry["name"]: entry for entry in config["layers"]}
    chain = []
    while True:
        chain.append(ops[name])
        nodes = entries[name].get("inbound_nodes") or []
        history = _first_history(nodes[0]) if nodes else None
        if history is None:
            break
        name = history[0]
    return chain[::-1]


def _chain_sizes(model: keras.Model) -> list[tuple[int, int]]:
    """(height, width) after every step of the main chain while the tensor is a feature map."""
    first = _spatial(model.inputs[0].shape)
    sizes = [first] if first else []
    for op in main_chain(model):
        if type(op).__name__ == "InputLayer":
            continue
        out = _spatial(op.output.shape)
        if out is None:
            break
        sizes.append(out)
    return sizes


def _apply(rules: list[tuple[str, int]], size: int) -> int:
    for rule, n in rules:
        if rule == "minus":
            size -= n
        else:
            size = math.ceil(size / n) if rule == "ceil" else math.floor(size / n)
    return size


def _candidate_rules() -> Iterator[list[tuple[str, int]]]:
    yield []
    for s in range(2, 9):
        yield [("ceil", s)]
        yield [("floor", s)]
    for n in sorted(range(-16, 17), key=lambda v: (abs(v), v)):
        if n:
            yield [("minus", n)]
    for s in range(2, 9):
        for n in sorted(range(-16, 17), key=lambda v: (abs(v), v)):
            if n:
                yield [("minus", n), ("floor", s)]
                yield [("minus", n), ("ceil", s)]


def fit_step(samples: list[tuple[int, int]]) -> list[tuple[str, int]]:
    """The simplest rule list mapping every (in, out) size sample; ValueError if none fits."""
    for rules in _candidate_rules():
        if all(_apply(rules, a) == b for a, b in samples):
            return rules
    raise ValueError(f"No downsampling rule fits the sizes {sorted(set(samples))}.")


def _simplify(rules: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Merge neighbouring subtractions; "add s-1, then floor s" is "ceil s"."""
    out: list[tuple[str, int]] = []
    for rule, n in rules:
        if rule == "minus" and out and out[-1][0] == "minus":
            n += out.pop()[1]
        if rule == "minus" and n == 0:
            continue
        if rule == "floor" and out and out[-1] == ("minus", 1 - n):
            out[-1] = ("ceil", n)
            continue
        out.append((rule, n))
    return out


def derive_downsample(
    build: Callable[[int, int], keras.Model],
    sizes: list[tuple[int, int]],
    check_sizes: Sequence[tuple[int, int]] = (),
) -> list[tuple[str, int]]:
    """Rules for :meth:`BaseInfo.feature_hw`, fitted step by step on models built at ``sizes``.

    ``build(h, w)`` returns the un-pooled model for that input size. Each step of the main chain
    (a stride, a valid convolution, a padding) gets a rule from the (in, out) sizes seen there
    across all builds, both axes. A padding that depends on the parity of its input (keras's
    ``correct_pad``) has no rule of its own; it is fitted together with the next steps.
    The rules are then checked on models built at ``check_sizes`` (ValueError on a mismatch).
    """
    sequences: list[list[int]] = []
    for h, w in sizes:
        steps = _chain_sizes(build(h, w))
        if sequences and len(steps) != len(sequences[0]):
            raise ValueError("The model's structure changes with the input size; cannot fit rules.")
        sequences += [[hw[0] for hw in steps], [hw[1] for hw in steps]]
    rules: list[tuple[str, int]] = []
    last = len(sequences[0]) - 1
    i = 0
    while i < last:
        for j in range(i + 1, min(i + 6, last) + 1):
            try:
                rules += fit_step([(seq[i], seq[j]) for seq in sequences])
            except ValueError:
                continue
            i = j
            break
        else:
            raise ValueError(f"No downsampling rule fits the steps after step {i} of the main chain.")
    rules = _simplify(rules)
    for h, w in check_sizes:
        real = _chain_sizes(build(h, w))[-1]
        if real != (_apply(rules, h), _apply(rules, w)):
            raise ValueError(f"The fitted rules {rules} miss the feature map {real} at {h}x{w}.")
    return rules


def smallest_size(rules: list[tuple[str, int]], limit: int = 4096) -> int:
    """Smallest input side for which every step of ``rules`` keeps at least one pixel."""
    for size in range(1, limit):
        value, ok = size, True
        for rule in rules:
            value = _apply([rule], value)
            if value < 1:
                ok = False
                break
        if ok:
            return size
    return limit


def trainable_counts(model: keras.Model) -> list[int]:
    """Per layer of ``model.layers``: the parameters that train when that layer is trainable."""
    counts = []
    for layer in model.layers:
        was = layer.trainable
        layer.trainable = True
        counts.append(sum(math.prod(w.shape) for w in layer.trainable_weights))
        layer.trainable = was
    return counts


def _operations(model: Any) -> Iterator[Any]:
    """Every operation of a model, descending into nested models (not their input layers)."""
    import keras

    ops = model.layers if isinstance(model, keras.Sequential) else model.operations
    for op in ops:
        if isinstance(op, keras.Model):
            yield from (inner for inner in _operations(op) if type(inner).__name__ != "InputLayer")
        else:
            yield op


def _op_flops(op: Any, out_shape: tuple[int, ...]) -> int:
    """About 2 x multiply-adds of one example through a conv or dense layer, else 0."""
    from keras import layers

    out = math.prod(int(d) for d in out_shape[1:])
    if isinstance(op, layers.SeparableConv2D):
        kh, kw, cin, mult = op.depthwise_kernel.shape
        return 2 * (out_shape[1] * out_shape[2] * cin * mult * kh * kw + out * cin * mult)
    if isinstance(op, layers.DepthwiseConv2D):
        kh, kw = op.kernel.shape[:2]
        return 2 * out * kh * kw
    if isinstance(op, (layers.Conv1D, layers.Conv2D, layers.Conv3D)) and not isinstance(
        op, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
    ):
        return 2 * out * math.prod(op.kernel.shape[:-1])
    if isinstance(op, layers.Dense):
        return 2 * out * int(op.kernel.shape[0])
    return 0


def cost_per_pixel(model: keras.Model, height: int, width: int) -> tuple[float, float]:
    """(activation elements, FLOPs) per example divided by ``height * width``."""
    activations = flops = 0
    for op in _operations(model):
        outputs = op.output if isinstance(op.output, (list, tuple)) else [op.output]
        for tensor in outputs:
            shape = tuple(tensor.shape)
            if any(d is None for d in shape[1:]):
                continue
            activations += math.prod(int(d) for d in shape[1:])
            flops += _op_flops(op, shape)
    pixels = height * width
    return activations / pixels, flops / pixels


def inspect_base_file(path: str | Path, cut_layer: str = "") -> BaseInfo:
    """Facts about a .keras base model (cut at ``cut_layer``), written to its sidecar JSON."""
    import keras

    path = Path(path)
    model = load_cut(path, cut_layer)
    _, h, w, channels = tuple(model.inputs[0].shape)
    out_shape = tuple(model.outputs[0].shape)[1:]
    fixed_input = h is not None and w is not None
    fixed_output = tuple(int(d) for d in out_shape) if all(d is not None for d in out_shape) else None
    downsample: list[tuple[str, int]] = []
    if fixed_input:
        default = (int(h), int(w))
        min_size = min(default)
        measured = model
    else:
        default = (224, 224)

        def build(bh: int, bw: int) -> keras.Model:
            inp = keras.Input((bh, bw, channels))
            try:  # loaded models keep their inputs as a list; others may take one tensor
                return keras.models.clone_model(model, input_tensors=[inp])
            except ValueError:
                return keras.models.clone_model(model, input_tensors=inp)

        try:
            downsample = derive_downsample(build, [(64, 71), (97, 110), (131, 150), (224, 229)],
                                           check_sizes=[(45, 52), (301, 300)])
            measured = build(*default)
        except Exception as exc:  # noqa: BLE001 - an unusual model: say what to do instead
            if fixed_output is None:
                raise SpecError([file_problem(
                    f"Could not work out how this model (its input size is not fixed) shrinks an "
                    f"image: {type(exc).__name__}: {str(exc)[:200]}",
                    fix="Save the model with a fixed input size, e.g. keras.Input((224, 224, 3)).",
                )], what="The base model file") from None
            downsample, measured = [], model
        min_size = smallest_size(downsample)
    activations, flops = cost_per_pixel(measured, *default)
    stat = path.stat()
    info = BaseInfo(
        name=path.name if not cut_layer else f"{path.name}:{cut_layer}",
        default_size=default,
        min_size=int(min_size),
        channels_out=int(out_shape[-1]) if out_shape and out_shape[-1] is not None else 0,
        downsample=tuple(downsample),
        total_params=int(model.count_params()),
        layer_trainable_params=tuple(trainable_counts(model)),
        preprocess="none",
        activations_per_pixel=round(activations, 4),
        flops_per_pixel=round(flops, 4),
        fixed_output_shape=fixed_output,
        input_channels=int(channels) if channels is not None else 3,
        extra={
            "source": "file",
            "file_size": stat.st_size,
            "file_mtime": stat.st_mtime,
            "file_sha256": file_digest(Path(path)),
            "cut_layer": cut_layer,
            "output_layer": model.layers[-1].name,
            "input_shape": [None if d is None else int(d) for d in (h, w, channels)],
        },
    )
    try:
        sidecar_path(path, cut_layer).write_text(json.dumps(info.to_dict(), indent=1), encoding="utf-8")
    except OSError:
        pass  # a read-only folder: the facts are simply measured again next time
    return info
