"""Base models: fresh keras.applications models, safely loaded .keras files, input preprocessing.

Keras is imported inside the functions that need it, never at module level, so the design path
can import this module (for :func:`preprocess_param_count` and :func:`check_keras_file`) without
paying for TensorFlow.

An uploaded ``.keras`` file is code: :func:`check_keras_file` reads its ``config.json`` as plain
JSON and refuses anything outside an allow-list of built-in Keras classes before
:func:`load_keras_file_safely` lets Keras near it (``safe_mode=True``, no ``custom_objects``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmlp.base.info import BaseInfo, file_digest, sidecar_path
from rmlp.spec.problems import Problem, SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

    from rmlp.spec.model import BaseModelSpec

# --------------------------------------------------------------------------- preprocessing

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


# --------------------------------------------------------------------------- the allow-list

#: Built-in Keras layers and models a base-model file may contain. Missing on purpose: Lambda
#: (runs Python code), TFSMLayer (loads a SavedModel from disk), TorchModuleWrapper, JaxLayer and
#: FlaxLayer (wrap foreign code), and the abstract Layer/Wrapper/Model base classes.
ALLOWED_LAYER_CLASSES: frozenset[str] = frozenset(
    """
    Functional Sequential InputLayer
    Activation ActivityRegularization Add AdditiveAttention AlphaDropout Attention Average
    AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D
    AdaptiveMaxPooling1D AdaptiveMaxPooling2D AdaptiveMaxPooling3D
    AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D
    BatchNormalization Bidirectional CategoryEncoding CenterCrop Concatenate
    Conv1D Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose
    ConvLSTM1D ConvLSTM2D ConvLSTM3D Convolution1D Convolution1DTranspose Convolution2D
    Convolution2DTranspose Convolution3D Convolution3DTranspose Cropping1D Cropping2D Cropping3D
    Dense DepthwiseConv1D DepthwiseConv2D Discretization Dot Dropout ELU EinsumDense Embedding
    Flatten GRU GRUCell GaussianDropout GaussianNoise
    GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D
    GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D
    GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GroupNormalization GroupQueryAttention
    HashedCrossing Hashing Identity IntegerLookup LSTM LSTMCell LayerNormalization LeakyReLU Masking
    MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D Maximum MelSpectrogram
    Minimum MultiHeadAttention Multiply Normalization PReLU Permute RMSNormalization RNN ReLU
    RepeatVector Rescaling Reshape Resizing ReversibleEmbedding STFTSpectrogram
    SeparableConv1D SeparableConv2D SeparableConvolution1D SeparableConvolution2D SimpleRNN
    SimpleRNNCell Softmax SpatialDropout1D SpatialDropout2D SpatialDropout3D SpectralNormalization
    StackedRNNCells StringLookup Subtract TextVectorization TimeDistributed UnitNormalization
    UpSampling1D UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D
    AugMix AutoContrast CutMix Equalization MixUp RandAugment RandomBrightness
    RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop RandomElasticTransform
    RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale RandomHue RandomInvert
    RandomPerspective RandomPosterization RandomRotation RandomSaturation RandomSharpness
    RandomShear RandomTranslation RandomZoom Solarization
    """.split()
)

#: Other built-in objects a layer config refers to: initializers, regularizers, constraints,
#: dtype policies, and Keras's own encodings of tensors, arrays and slices.
ALLOWED_OTHER_CLASSES: frozenset[str] = frozenset(
    """
    Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity IdentityInitializer
    LecunNormal LecunUniform Ones Orthogonal OrthogonalInitializer RandomNormal RandomUniform
    STFT STFTInitializer TruncatedNormal VarianceScaling Zeros
    L1 L1L2 L2 OrthogonalRegularizer MaxNorm MinMaxNorm NonNeg UnitNorm
    DTypePolicy FloatDTypePolicy DTypePolicyMap QuantizedDTypePolicy QuantizedFloat8DTypePolicy
    Int4DTypePolicy
    __keras_tensor__ __tensor__ __numpy__ __ellipsis__ __slice__ __bytes__
    """.split()
)

#: Keras's own custom layers inside keras.applications models (ConvNeXt), by module.
ALLOWED_APPLICATION_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {
        ("keras.src.applications.convnext", "LayerScale"),
        ("keras.src.applications.convnext", "StochasticDepth"),
    }
)

#: Modules of the operations a functional model records for ``keras.ops`` calls (``x * 2``...).
ALLOWED_OPS_MODULES: frozenset[str] = frozenset(
    f"keras.src.ops.{m}" for m in ("numpy", "nn", "math", "core", "image", "linalg", "einops")
)
#: Operations that take Python callables; they cannot be saved safely, so they are refused.
_REFUSED_OPS = frozenset(
    "Operation Cond Switch Map Scan AssociativeScan ForiLoop WhileLoop VectorizedMap".split()
)
_LOOKUP_LAYERS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization"})
_ACTIVATION_MODULES = frozenset({"keras.activations", "keras.src.activations.activations", "builtins"})
#: The functions a config may name: Keras's built-in activations.
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    """
    celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh leaky_relu
    linear log_sigmoid log_softmax mish relu relu6 selu sigmoid silu soft_shrink softmax softplus
    softsign sparse_plus sparse_sigmoid sparsemax squareplus swish tanh tanh_shrink threshold
    """.split()
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Largest accepted .keras file, largest (uncompressed) config.json inside it, and the most all
#: of its members may unpack to (a guard against zip bombs).
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024

_PATH = "base_model.path"
_FIX_BUILTIN = (
    "Save a model made only of built-in Keras layers (no Lambda or custom classes), or cut the "
    "model before the offending layer and save that part."
)

_SPECIAL_REASONS = {
    "Lambda": "a Lambda layer, which runs arbitrary Python code when the model is loaded or used",
    "TFSMLayer": "a TFSMLayer, which loads a TensorFlow SavedModel from another place on disk",
    "TorchModuleWrapper": "a TorchModuleWrapper, which wraps foreign (PyTorch) code",
    "JaxLayer": "a JaxLayer, which wraps foreign (JAX) code",
    "FlaxLayer": "a FlaxLayer, which wraps foreign (Flax) code",
    "__lambda__": "a serialised Python lambda function, which is code",
    "__typespec__": "a TensorFlow type spec, which this app does not load",
}


def _problem(message: str, fix: str = _FIX_BUILTIN) -> Problem:
    return Problem(path=_PATH, severity="error", message=message, fix=fix)


def _walk_objects(node: Any, where: str = "") -> Iterator[tuple[dict[str, Any], str]]:
    """Every serialised Keras object (a dict with "class_name") in a config, with its layer path."""
    if isinstance(node, dict):
        if "class_name" in node:
            cfg = node.get("config")
            if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
                where = f"{where}/{cfg['name']}"
            yield node, where
        for key, value in node.items():
            if key != "compile_config":  # not deserialised with compile=False
                yield from _walk_objects(value, where)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk_objects(item, where)


def _object_problem(obj: dict[str, Any], where: str) -> Problem | None:
    """Why one serialised object is refused, or None when it is allowed."""
    cls = obj.get("class_name")
    module = obj.get("module")
    registered = obj.get("registered_name")
    config = obj.get("config")
    at = f" (at {where.strip('/')!r})" if where.strip("/") else ""
    if not isinstance(cls, str):
        return _problem(f"The file's config has an object with a malformed class name{at}.")
    if cls in _SPECIAL_REASONS:
        return _problem(f"The model contains {_SPECIAL_REASONS[cls]}{at}; it is refused for safety.")
    if module is not None and not (
        isinstance(module, str) and (module == "keras" or module.startswith("keras.") or module == "builtins")
    ):
        return _problem(
            f"The model uses the custom class '{cls}' from the module '{module}'{at}; only built-in "
            "Keras classes are loaded."
        )
    if isinstance(registered, str) and ">" in registered:
        return _problem(
            f"The model uses the registered custom object '{registered}'{at}; only built-in Keras "
            "classes are loaded."
        )
    if cls == "function":
        if module in _ACTIVATION_MODULES and config in ALLOWED_FUNCTIONS:
            return None
        return _problem(f"The model refers to the function {config!r} of module '{module}'{at}, "
                        "which is not a built-in activation.")
    if registered not in (None, cls):
        return _problem(f"The class '{cls}' carries the unexpected registered name {registered!r}{at}.")
    if cls in ALLOWED_LAYER_CLASSES:
        if cls in _LOOKUP_LAYERS and isinstance(config, dict):
            vocab = config.get("vocabulary")
            if isinstance(vocab, str):
                return _problem(
                    f"The {cls} layer{at} reads its vocabulary from the file {vocab!r}; a model "
                    "must not read other files when it is loaded.",
                    fix="Give the vocabulary as a list (adapt the layer or pass a list), then save again.",
                )
        return None
    if cls in ALLOWED_OTHER_CLASSES:
        return None
    if (module, cls) in ALLOWED_APPLICATION_CLASSES:
        return None
    if module in ALLOWED_OPS_MODULES and _IDENTIFIER.match(cls) and cls not in _REFUSED_OPS:
        return None
    return _problem(
        f"The model uses the Keras class '{cls}'{at}, which is not on this app's list of built-in "
        "layers that are safe to load."
    )


def check_keras_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> list[Problem]:
    """Problems that stop a .keras file from being loaded; empty when it passes (no Keras needed)."""
    p = Path(path)
    if not str(path):
        return [_problem("No base model file is given.", fix="Choose a .keras file.")]
    if not p.is_file():
        return [_problem(f"The file {str(path)!r} does not exist.", fix="Check the path or upload the file again.")]
    if p.suffix.lower() != ".keras":
        return [_problem(f"'{p.name}' is not a .keras file.",
                         fix="Save the model with model.save('name.keras') (Keras 3 format) and use that.")]
    size = p.stat().st_size
    if size > max_bytes:
        return [_problem(
            f"'{p.name}' is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.",
            fix="Use a smaller base model, or cut it before saving.",
        )]
    if not zipfile.is_zipfile(p):
        return [_problem(f"'{p.name}' is not a Keras 3 .keras file (it is not a zip archive).",
                         fix="Save the model with model.save('name.keras') and use that file.")]
    try:
        with zipfile.ZipFile(p) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > max(MAX_UNPACKED_BYTES, 4 * max_bytes):
                return [_problem(f"'{p.name}' unpacks to {unpacked / 2**30:.1f} GB, far more than a "
                                 "base model needs.", fix="Use another file.")]
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                return [_problem(f"'{p.name}' has no config.json inside, so it is not a Keras 3 model file.",
                                 fix="Save the model with model.save('name.keras') and use that file.")]
            if info.file_size > MAX_CONFIG_BYTES:
                return [_problem(f"The config.json inside '{p.name}' is unreasonably large "
                                 f"({info.file_size / 2**20:.0f} MB).", fix="Use another file.")]
            raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        return [_problem(f"'{p.name}' could not be read as a zip archive ({exc}).", fix="Use another file.")]
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return [_problem(f"The config.json inside '{p.name}' is not valid JSON.", fix="Use another file.")]
    if not isinstance(config, dict) or "class_name" not in config:
        return [_problem(f"The config.json inside '{p.name}' does not describe a Keras model.",
                         fix="Use another file.")]
    found: list[Problem] = []
    refused: set[str] = set()  # one problem per layer is enough (a Lambda also holds a lambda)
    for obj, where in _walk_objects(config):
        prob = _object_problem(obj, where)
        if prob is not None and where not in refused:
            refused.add(where)
            found.append(prob)
    if config.get("class_name") not in ("Functional", "Sequential"):
        found.append(_problem(
            f"The file holds a '{config.get('class_name')}' object; a base model must be a functional "
            "or Sequential Keras model.",
        ))
    return found


def load_keras_file_safely(path: str | Path) -> keras.Model:
    """Check, copy to a temp file of our own naming and load with ``safe_mode=True``.

    Raises :class:`SpecError` (never a raw traceback) when the file is refused or Keras fails.
    """
    what = "The base model file"
    problems = check_keras_file(path)
    if problems:
        raise SpecError(problems, what=what)
    import keras

    tmpdir = tempfile.mkdtemp(prefix="rmlp-base-")
    try:
        tmp = Path(tmpdir) / "base_model.keras"
        shutil.copyfile(path, tmp)
        try:
            model = keras.saving.load_model(tmp, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes a problem
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if len(text) > 300:
                text = text[:300] + "…"
            raise SpecError([_problem(
                f"Keras could not load '{Path(path).name}': {type(exc).__name__}: {text}",
                fix="Check that the file was saved by Keras 3 with model.save('name.keras').",
            )], what=what) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if not isinstance(model, keras.Model):
        raise SpecError([_problem(f"'{Path(path).name}' does not hold a Keras model.", fix="Use another file.")],
                        what=what)
    return model


# --------------------------------------------------------------------------- measuring a model


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


# --------------------------------------------------------------------------- file base models


def _cut(model: keras.Model, cut_layer: str) -> keras.Model:
    """The model up to (and including) ``cut_layer``; SpecError when there is no such layer."""
    import keras

    if not cut_layer:
        return model
    names = [layer.name for layer in model.layers]
    if cut_layer not in names:
        few = ", ".join(repr(n) for n in names[-8:])
        which = "Its layers are" if len(names) <= 8 else f"Its last 8 of {len(names)} layers are"
        raise SpecError([Problem(
            path="base_model.cut_layer",
            severity="error",
            message=f"The base model has no layer named {cut_layer!r}. {which} {few}.",
            fix="Use one of the model's layer names, or leave the field empty to use its output.",
        )], what="The base model file")
    layer = model.get_layer(cut_layer)
    try:
        output = layer.output
    except (AttributeError, ValueError) as exc:
        raise SpecError([Problem(
            path="base_model.cut_layer",
            severity="error",
            message=f"The model cannot be cut at {cut_layer!r}: {exc}",
            fix="Choose a layer that is used once on the path to the output.",
        )], what="The base model file") from None
    return keras.Model(model.inputs, output, name=f"{model.name}_cut")


def _load_cut(path: str | Path, cut_layer: str) -> keras.Model:
    model = _cut(load_keras_file_safely(path), cut_layer)
    if len(model.inputs) != 1 or len(tuple(model.inputs[0].shape)) != 4:
        shapes = [tuple(t.shape) for t in model.inputs]
        raise SpecError([_problem(
            f"A base model must take one image input (batch, height, width, channels); this one "
            f"takes {shapes}.",
            fix="Use an image model with a single input.",
        )], what="The base model file")
    if len(model.outputs) != 1:
        raise SpecError([Problem(
            path="base_model.cut_layer", severity="error",
            message=f"The base model has {len(model.outputs)} outputs; one is needed.",
            fix="Cut the model at the layer whose output should feed the residual MLP.",
        )], what="The base model file")
    return model


def inspect_base_file(path: str | Path, cut_layer: str = "") -> BaseInfo:
    """Facts about a .keras base model (cut at ``cut_layer``), written to its sidecar JSON."""
    import keras

    path = Path(path)
    model = _load_cut(path, cut_layer)
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
                raise SpecError([_problem(
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


# --------------------------------------------------------------------------- fresh base models


def _freeze(model: keras.Model, trainable_layers: int) -> None:
    """Only the last ``trainable_layers`` layers of ``model.layers`` train; 0 freezes all."""
    if trainable_layers <= 0:
        model.trainable = False
        return
    model.trainable = True
    layers = model.layers
    for layer in layers[: max(len(layers) - trainable_layers, 0)]:
        layer.trainable = False


def make_base(base_spec: BaseModelSpec, info: BaseInfo | None = None) -> keras.Model:
    """A FRESH base model for the spec (a new object with new weights on every call), frozen.

    Applications models are built at ``input_size`` (or the default size) with the spec's pooling;
    file models are loaded safely and cut at ``cut_layer``. Then all layers of ``model.layers``
    but the last ``trainable_layers`` are frozen, so the parameters equal
    ``info.trainable_params(trainable_layers, pooling)``; the total is ``info.total_params``.
    """
    if base_spec.source == "file":
        model = _load_cut(base_spec.path, base_spec.cut_layer)
        _freeze(model, base_spec.trainable_layers)
        return model

    import keras

    constructor = getattr(keras.applications, base_spec.name, None)
    if constructor is None or not callable(constructor):
        raise SpecError([Problem(
            path="base_model.name", severity="error",
            message=f"{base_spec.name!r} is not a keras.applications model.",
            fix="Pick one of the offered base models.",
        )], what="The base model")
    if base_spec.input_size:
        h, w = (int(v) for v in base_spec.input_size)
    elif info is not None:
        h, w = info.default_size
    else:
        raise SpecError([Problem(
            path="base_model.input_size", severity="error",
            message=f"The usual input size of {base_spec.name} is not known.",
            fix="Give the resize target (height, width).",
        )], what="The base model")
    pooling = None if base_spec.pooling == "none" else base_spec.pooling
    try:
        model = constructor(
            include_top=False,
            weights=None if base_spec.weights == "none" else "imagenet",
            input_shape=(h, w, 3),
            pooling=pooling,
        )
    except ValueError as exc:
        raise SpecError([Problem(
            path="base_model.input_size", severity="error",
            message=f"Keras refused to build {base_spec.name} at {h}×{w}: {exc}",
            fix="Resize to a size the model accepts (see its minimum size).",
        )], what="The base model") from None
    _freeze(model, base_spec.trainable_layers)
    return model
