"""Is a ``.keras`` file safe to load? Its ``config.json`` read as plain JSON against an allow-list.

An uploaded ``.keras`` file is code: :func:`check_keras_file` refuses anything outside an
allow-list of built-in Keras classes before Keras ever sees the file (no Keras needed here). It reads
the archive's declared sizes, ``config.json`` and the weights file's HDF5 metadata in place (nothing
is unpacked to disk), refuses members packed far tighter than model weights ever are (a zip bomb),
and remembers its answer by the file's content hash, so a design checked on every edit costs one read.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from rmlp.spec.problems import Problem
from rmlp.spec.units import human_bytes

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
#: A member larger than this that unpacks to more than :data:`MAX_PACKING_RATIO` times its packed size
#: is refused: weights are numbers that hardly compress, a zip bomb is zeros.
PACKING_CHECK_BYTES = 16 * 1024 * 1024
MAX_PACKING_RATIO = 20
#: Deepest nesting of lists and objects accepted in config.json (a Keras model nests a few dozen levels).
MAX_CONFIG_DEPTH = 200
#: The weights inside a .keras file, and the HDF5 features that make a weights file read other files.
WEIGHTS_MEMBER = "model.weights.h5"

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


def file_problem(message: str, fix: str = _FIX_BUILTIN) -> Problem:
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
        return file_problem(f"The file's config has an object with a malformed class name{at}.")
    if cls in _SPECIAL_REASONS:
        return file_problem(f"The model contains {_SPECIAL_REASONS[cls]}{at}; it is refused for safety.")
    if module is not None and not (
        isinstance(module, str) and (module == "keras" or module.startswith("keras.") or module == "builtins")
    ):
        return file_problem(
            f"The model uses the custom class '{cls}' from the module '{module}'{at}; only built-in "
            "Keras classes are loaded."
        )
    if isinstance(registered, str) and ">" in registered:
        return file_problem(
            f"The model uses the registered custom object '{registered}'{at}; only built-in Keras "
            "classes are loaded."
        )
    if cls == "function":
        if module in _ACTIVATION_MODULES and config in ALLOWED_FUNCTIONS:
            return None
        return file_problem(f"The model refers to the function {config!r} of module '{module}'{at}, "
                        "which is not a built-in activation.")
    if registered not in (None, cls):
        return file_problem(f"The class '{cls}' carries the unexpected registered name {registered!r}{at}.")
    if cls in ALLOWED_LAYER_CLASSES:
        if cls in _LOOKUP_LAYERS and isinstance(config, dict):
            vocab = config.get("vocabulary")
            if isinstance(vocab, str):
                return file_problem(
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
    return file_problem(
        f"The model uses the Keras class '{cls}'{at}, which is not on this app's list of built-in "
        "layers that are safe to load."
    )


def check_keras_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES,
                     raise_hint: str = "") -> list[Problem]:
    """Problems that stop a .keras file from being loaded; empty when it passes (no Keras needed).

    The answer is remembered by the file's content hash (and name and limit). ``raise_hint`` says how to
    raise the size limit, for refusals because of it.
    """
    p = Path(path)
    if str(path) and p.is_file() and p.suffix.lower() == ".keras":
        size = p.stat().st_size
        if size <= max_bytes:
            return list(_checked(_content_hash(p), str(p), max_bytes, raise_hint))
    return _check(p, str(path), max_bytes, raise_hint)


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _checked(digest: str, path: str, max_bytes: int, raise_hint: str) -> tuple[Problem, ...]:
    return tuple(_check(Path(path), path, max_bytes, raise_hint))


def _check(p: Path, given: str, max_bytes: int, raise_hint: str) -> list[Problem]:
    path = given
    bigger = raise_hint or "cut it before saving"
    if not str(path):
        return [file_problem("No base model file is given.", fix="Choose a .keras file.")]
    if not p.is_file():
        return [file_problem(f"The file {str(path)!r} does not exist.", fix="Check the path or upload the file again.")]
    if p.suffix.lower() != ".keras":
        return [file_problem(f"'{p.name}' is not a .keras file.",
                         fix="Save the model with model.save('name.keras') (Keras 3 format) and use that.")]
    size = p.stat().st_size
    if size > max_bytes:
        return [file_problem(
            f"'{p.name}' is {human_bytes(size)}; the limit is {human_bytes(max_bytes)}.",
            fix=f"Use a smaller base model, or {bigger}.",
        )]
    if not zipfile.is_zipfile(p):
        return [file_problem(f"'{p.name}' is not a Keras 3 .keras file (it is not a zip archive).",
                         fix="Save the model with model.save('name.keras') and use that file.")]
    try:
        with zipfile.ZipFile(p) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            if unpacked > 4 * max_bytes:
                return [file_problem(f"'{p.name}' unpacks to {human_bytes(unpacked)}, more than four times the "
                                     f"{human_bytes(max_bytes)} size limit.", fix=f"Use another file, or {bigger}.")]
            for member in members:
                if (member.file_size > PACKING_CHECK_BYTES
                        and member.file_size > MAX_PACKING_RATIO * max(member.compress_size, 1)):
                    return [file_problem(
                        f"The member '{member.filename[:100]}' of '{p.name}' unpacks to "
                        f"{human_bytes(member.file_size)} from {human_bytes(member.compress_size)}; model files "
                        "are never packed that tightly, so it is refused.",
                        fix="Save the model again with model.save('name.keras').")]
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                return [file_problem(f"'{p.name}' has no config.json inside, so it is not a Keras 3 model file.",
                                 fix="Save the model with model.save('name.keras') and use that file.")]
            if info.file_size > MAX_CONFIG_BYTES:
                return [file_problem(f"The config.json inside '{p.name}' is unreasonably large "
                                 f"({human_bytes(info.file_size)}).", fix="Use another file.")]
            raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        return [file_problem(f"'{p.name}' could not be read as a zip archive ({exc}).", fix="Use another file.")]
    try:
        config = json.loads(raw.decode("utf-8"))
    except RecursionError:
        config = None
    except (UnicodeDecodeError, ValueError):
        return [file_problem(f"The config.json inside '{p.name}' is not valid JSON.", fix="Use another file.")]
    if config is None or _too_deep(config):
        return [file_problem(f"The config.json inside '{p.name}' nests lists or objects more than "
                             f"{MAX_CONFIG_DEPTH} levels deep; no Keras model does, so it is refused.",
                             fix="Use a file saved by Keras with model.save('name.keras').")]
    if not isinstance(config, dict) or "class_name" not in config:
        return [file_problem(f"The config.json inside '{p.name}' does not describe a Keras model.",
                         fix="Use another file.")]
    found: list[Problem] = []
    refused: set[str] = set()  # one problem per layer is enough (a Lambda also holds a lambda)
    for obj, where in _walk_objects(config):
        prob = _object_problem(obj, where)
        if prob is not None and where not in refused:
            refused.add(where)
            found.append(prob)
    if config.get("class_name") not in ("Functional", "Sequential"):
        found.append(file_problem(
            f"The file holds a '{config.get('class_name')}' object; a base model must be a functional "
            "or Sequential Keras model.",
        ))
    return found + _weights_problems(p)


def _too_deep(config: Any) -> bool:
    """Whether ``config`` nests deeper than :data:`MAX_CONFIG_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(config, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            return True
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]
    return False


def _h5_refusals(handle: Any) -> list[str]:
    """What in an open HDF5 file would make it read other files: links out, external or virtual data."""
    import h5py  # type: ignore[import-untyped]

    found: list[str] = []

    def link(name: str, info: Any) -> None:
        if isinstance(info, (h5py.ExternalLink, h5py.SoftLink)):
            found.append(f"'{name}' is an HDF5 {type(info).__name__} (to {info.path!r})")

    def item(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.external:
            files = sorted({str(entry[0]) for entry in obj.external})
            found.append(f"the dataset '{name}' stores its values in another file ({', '.join(files)[:200]})")
        elif isinstance(obj, h5py.Dataset) and obj.is_virtual:
            found.append(f"the dataset '{name}' is a virtual dataset made of other files")

    handle.visititems_links(link)
    handle.visititems(item)
    return found


def _weights_problems(path: Path) -> list[Problem]:
    """Refusals of the weights file inside a .keras archive that points outside it (h5py, no Keras)."""
    try:
        import h5py  # noqa: F401 - only whether it is there
    except ImportError:  # pragma: no cover - without h5py Keras cannot load the file either
        return []
    with zipfile.ZipFile(path) as archive:
        if WEIGHTS_MEMBER not in archive.namelist():
            return []
        with archive.open(WEIGHTS_MEMBER) as member:  # read in place: h5py reads the metadata it needs
            try:
                with h5py.File(member, "r") as handle:
                    reasons = _h5_refusals(handle)
            except (OSError, ValueError, RuntimeError, zipfile.BadZipFile, zlib.error):  # not HDF5: Keras says so
                return []
    return [file_problem(f"The weights inside '{path.name}' would make Keras read other files: {reason}; it is "
                         "refused for safety.", fix="Save the model again with model.save('name.keras'), so "
                         "that the weights are stored inside the file.") for reason in reasons[:5]]
