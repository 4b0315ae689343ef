"""Images for training: a folder or .zip of class sub-folders, or a .npz of arrays.

Images are decoded with Pillow (no TensorFlow) into float32 arrays with pixel values kept in
0..255; single-channel (grayscale) images keep one channel. The files are found, and a zip's or a
.npz's members checked (no absolute paths, no ``..``, the total size capped), by :mod:`rmlp.data.archives`.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmlp.data.archives import (
    SAVE_HINT,
    Entry,
    check_npz,
    folder_entries,
    npz_arrays,
    open_archive,
    zip_entries,
)
from rmlp.data.columns import decode_target, encode_target
from rmlp.data.errors import DataError
from rmlp.data.limits import (
    FLOAT32_MAX,
    MAX_ARRAY_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_TOTAL_PIXELS,
    RAISE_IMAGE_PIXELS,
    RAISE_TOTAL_PIXELS,
)
from rmlp.data.reading import DEFAULT_MAX_BYTES, Source, read_source, source_name
from rmlp.data.split import SPLIT, SplitData, split_indices
from rmlp.spec.tasks import TASKS
from rmlp.spec.units import count, human_bytes

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "F")


@dataclass
class ImageData(SplitData):
    """Images (or other arrays) split for training, as float32 arrays."""

    input_shape: list[int]
    source: str = ""
    #: The full path the images were read from ("" for uploads and bytes).
    path: str = ""
    warnings: list[str] = field(default_factory=list)
    #: The arguments that load the same split again (empty when read from a buffer).
    load_args: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return self.input_shape[-1] if len(self.input_shape) == 3 else 0

    @property
    def grayscale(self) -> bool:
        return self.channels == 1

    def inverse_target(self, pred: Any) -> np.ndarray:
        """Class labels (or values for regression) from model outputs."""
        return decode_target(pred, self.task, self.class_names)

    def summary(self) -> dict[str, Any]:
        """Counts, image shape, class balance and split sizes, for a preview."""
        ys = [y for y in (self.y_train, self.y_val, self.y_test) if len(y)]
        y = np.concatenate(ys)
        out: dict[str, Any] = {
            "kind": "images",
            "source": self.source,
            "rows": int(len(y)),
            "input_shape": list(self.input_shape),
            "channels": self.channels,
            "task": self.task,
            "split": {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)},
            "warnings": list(self.warnings),
        }
        if self.task != "regression":
            codes = np.argmax(y, axis=1) if self.task == "multiclass" else y[:, 0].astype(int)
            counts = np.bincount(codes, minlength=len(self.class_names))
            out["class_balance"] = {str(c): int(n) for c, n in zip(self.class_names, counts, strict=True)}
        return out


# ----------------------------------------------------------------------------- class folders
def _by_class(entries: list[Entry], where: str) -> tuple[list[str], list[tuple[int, str, Callable[[], bytes]]], int]:
    """Class names (sorted folder names), (class index, name, reader) per image, ignored files."""
    visible = [
        (parts, read) for parts, read in entries
        if not any(p.startswith(".") or p == "__MACOSX" for p in parts)
    ]
    images = [(parts, read) for parts, read in visible if parts[-1].lower().endswith(IMAGE_EXTENSIONS)]
    ignored = len(visible) - len(images)
    if not images:
        raise DataError(
            f"No images found in {where} (looked for {', '.join(IMAGE_EXTENSIONS)}).",
            "Put the images in one sub-folder per class, e.g. cat/001.png and dog/002.png.",
        )
    while len({p[0] for p, _ in images}) == 1 and all(len(p) > 2 for p, _ in images):
        images = [(p[1:], r) for p, r in images]
    in_folders = [(p, r) for p, r in images if len(p) >= 2]
    if not in_folders:
        raise DataError(
            f"{where} holds images but no class folders.",
            "Put each class's images in a sub-folder named after the class (e.g. cat/001.png, "
            "dog/002.png) and zip the folders.",
        )
    ignored += len(images) - len(in_folders)
    names = sorted({p[0] for p, _ in in_folders})
    if len(names) < 2:
        raise DataError(
            f"Only one class folder ({names[0]!r}) holds images; a classifier needs at least two.",
            "Add a sub-folder of images for every other class.",
        )
    index = {n: i for i, n in enumerate(names)}
    return names, [(index[p[0]], "/".join(p), r) for p, r in in_folders], ignored


def _check_pixels(name: str, size: tuple[int, int], total: int, max_image_pixels: int, max_total_pixels: int) -> int:
    """The pixels decoded so far with this image; refuse it (before decoding) beyond either limit."""
    w, h = size
    if w * h > max_image_pixels:
        raise DataError(
            f"The image {name!r} is {w}×{h} pixels ({w * h / 1e6:.3g} megapixels), more than the limit of "
            f"{max_image_pixels / 1e6:g} megapixels per image; it was not decoded.",
            f"Shrink the image, or {RAISE_IMAGE_PIXELS}.",
        )
    total += w * h
    if total > max_total_pixels:
        raise DataError(
            f"The images hold more than {max_total_pixels / 1e6:g} megapixels in all (the limit), counted from "
            f"their headers up to {name!r}; none was decoded.",
            f"Use fewer or smaller images, or {RAISE_TOTAL_PIXELS}.",
        )
    return total


def _open_headers(
    files: list[tuple[int, str, Callable[[], bytes]]], max_image_pixels: int, max_total_pixels: int,
) -> tuple[list[tuple[int, str, Any]], list[str]]:
    """Each image opened lazily (size and mode from its header only, pixels not decoded), and unreadable names."""
    from PIL import Image

    opened, bad, total = [], [], 0
    for label, name, read in files:
        data = read()  # a damaged archive is refused here, not skipped
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise DataError(f"The image {name!r} is too large for Pillow to decode safely: {exc}",
                            "Shrink the image.") from exc
        except Exception:  # noqa: BLE001 - a malformed header may raise anything; the file is skipped
            bad.append(name)
            continue
        total = _check_pixels(name, img.size, total, max_image_pixels, max_total_pixels)
        opened.append((label, name, img))
    return opened, bad


def _pixels(img: Any, gray: bool, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """An image decoded to float32 (h, w, c) at ``size`` (w, h), and whether it was resized."""
    from PIL import Image

    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    pixels = img.convert("L" if gray else "RGB")
    resized = pixels.size != size
    if resized:
        pixels = pixels.resize(size, Image.Resampling.BILINEAR)
    w, h = size
    return np.asarray(pixels, dtype=np.float32).reshape(h, w, 1 if gray else 3), resized


def decode_all(
    files: list[tuple[int, str, Callable[[], bytes]]],
    image_size: int | Sequence[int] | None,
    color_mode: str,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_total_pixels: int = MAX_TOTAL_PIXELS,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode images to float32 (n, h, w, c) in 0..255 with labels, and notices.

    Every header is read first (sizes checked against the pixel limits); then the images are decoded one
    at a time, each freed once copied into the result, so memory stays near the result's size.
    """
    if color_mode not in ("auto", "grayscale", "rgb"):
        raise DataError(f"Unknown color_mode {color_mode!r}.", "Use 'auto', 'grayscale' or 'rgb'.")
    with warnings.catch_warnings():  # Pillow's notes on metadata and sizes; the sizes are checked here
        warnings.simplefilter("ignore")
        opened, bad = _open_headers(files, max_image_pixels, max_total_pixels)
        keep: list[int] = []
        labels: list[int] = []
        resized = 0
        if opened:
            gray = color_mode == "grayscale" or (
                color_mode == "auto" and all(img.mode in GRAY_MODES for _, _, img in opened)
            )
            if image_size is None:
                (w, h), _ = Counter(img.size for _, _, img in opened).most_common(1)[0]
            else:
                h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
            channels = 1 if gray else 3
            if len(opened) * h * w * channels * 4 > MAX_ARRAY_BYTES:
                raise DataError(
                    f"{len(opened)} images of {h}×{w}×{channels} take more than "
                    f"{human_bytes(MAX_ARRAY_BYTES)} in memory.",
                    "Choose a smaller image_size or fewer images.",
                )
            x = np.empty((len(opened), h, w, channels), dtype=np.float32)
            for i in range(len(opened)):
                label, name, img = opened[i]
                opened[i] = (label, name, None)
                try:
                    x[i], was_resized = _pixels(img, gray, (w, h))
                except Exception:  # noqa: BLE001 - a truncated or malformed image may raise anything; skipped
                    bad.append(name)
                    continue
                finally:
                    img.close()
                keep.append(i)
                labels.append(label)
                resized += was_resized
    if not opened or not keep:
        raise DataError(
            f"None of the {len(files)} image files could be read; they are corrupt or not images.",
            "Check that the files open in an image viewer.",
        )
    notes = []
    if bad:
        notes.append(
            f"Skipped {count(len(bad), 'file')} that are not readable images: {', '.join(bad[:5])}"
            + (" ..." if len(bad) > 5 else "")
        )
    if resized:
        notes.append(f"{count(resized, 'image')} {'was' if resized == 1 else 'were'} resized to {h}×{w} pixels.")
    return x[keep] if len(keep) < len(x) else x, np.asarray(labels, dtype=np.int64), notes


# ----------------------------------------------------------------------------- npz arrays
_NPZ_KEYS = (("x", "y"), ("images", "labels"))
_NPZ_SPLITS = (("train", "x_train", "y_train"), ("val", "x_val", "y_val"), ("test", "x_test", "y_test"))



def _key(split: str, role: str) -> str:
    """The name of an array in the file: x / y, or x_train, y_val, ..."""
    return role if split == "all" else f"{role}_{split}"


def _check_array(split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Refuse 0-d, empty, mismatched or non-numeric arrays of one split, in plain words."""
    xk, yk = _key(split, "x"), _key(split, "y")
    for key, a in ((xk, x), (yk, y)):
        if a.ndim == 0:
            raise DataError(f"The .npz array {key!r} is a single value (shape ()), not one entry per example.",
                            SAVE_HINT)
        if len(a) == 0:
            raise DataError(f"The .npz array {key!r} is empty (shape {a.shape}).",
                            "Save at least a few examples per class.")
    if x.ndim < 2:
        raise DataError(
            f"The .npz array {xk!r} has shape {x.shape}: one number per example, not an image or a row of values.",
            "Save x with shape (n, height, width[, channels]) or (n, features).",
        )
    if len(x) != len(y):
        raise DataError(
            f"The .npz arrays do not match: {xk!r} has {len(x)} examples (shape {x.shape}), {yk!r} has {len(y)} "
            f"labels (shape {y.shape}).",
            "Save one label per example: y of length n for x of shape (n, ...).",
        )
    if y.ndim > 2:
        raise DataError(f"The .npz labels {yk!r} have shape {y.shape}.",
                        "Save y as labels (n,) or one-hot rows (n, classes).")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"The .npz array {xk!r} holds {x.dtype} values, not numbers.",
                        "Save pixel values (or features) as numbers, e.g. uint8 or float32.")


def _check_finite(split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Refuse pixels (float32 already) or numeric labels that are NaN or infinite."""
    bad = ~np.isfinite(x)
    if bad.any():
        per = bad.reshape(len(x), -1).any(axis=1)
        first = ", ".join(str(int(i)) for i in np.flatnonzero(per)[:5])
        raise DataError(
            f"The .npz array {_key(split, 'x')!r} holds {int(bad.sum()):,} non-finite values (NaN, inf, or beyond "
            f"the float32 range) out of {x.size:,}, in {int(per.sum()):,} of {len(x):,} examples (first: {first}).",
            "Replace them (e.g. x = np.nan_to_num(x)) or remove those examples, and save the .npz again.",
        )
    if np.issubdtype(y.dtype, np.floating):
        values = y.astype(np.float64).reshape(len(y), -1)
        with np.errstate(invalid="ignore", over="ignore"):
            bad_y = (~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX)).any(axis=1)
        if bad_y.any():
            first = ", ".join(str(int(i)) for i in np.flatnonzero(bad_y)[:5])
            raise DataError(
                f"The .npz labels {_key(split, 'y')!r} hold {int(bad_y.sum()):,} values that are NaN or infinite "
                f"(examples {first}).",
                "Give those examples a label or remove them, and save the .npz again.",
            )


def _labels(y: np.ndarray) -> np.ndarray:
    """Labels from class labels, one-hot rows or an (n, 1) column."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y))


def with_channels(x: np.ndarray, color_mode: str) -> np.ndarray:
    """Images as float32 (n, h, w, c): a channel axis added where missing, gray repeated to RGB for "rgb",
    RGB weighed to one gray channel for "grayscale"; other channel counts left as they are."""
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf, refused by _check_finite
        x = x.astype(np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim == 4 and color_mode == "rgb" and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if x.ndim == 4 and color_mode == "grayscale" and x.shape[-1] >= 3:
        x = (x[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    return x


def _from_npz(raw: bytes, color_mode: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[Any]]:
    """Arrays per split (only those given) and class names stored in the file (if any)."""
    arrays = npz_arrays(raw)
    given: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if "x_train" in arrays and "y_train" in arrays:
        for split, xk, yk in _NPZ_SPLITS:
            if xk in arrays and yk in arrays:
                given[split] = (arrays[xk], arrays[yk])
    else:
        for xk, yk in _NPZ_KEYS:
            if xk in arrays and yk in arrays:
                given["all"] = (arrays[xk], arrays[yk])
                break
    if not given:
        found = ", ".join(repr(k) for k in arrays) or "no arrays"
        raise DataError(
            f"The .npz file holds {found}, but not the arrays expected: 'x' and 'y' (or "
            "'x_train' and 'y_train', optionally with 'x_val', 'y_val', 'x_test', 'y_test').",
            "Save it with np.savez(path, x=images, y=labels).",
        )
    for split, (x, y) in given.items():
        _check_array(split, x, y)
        x = with_channels(x, color_mode)
        _check_finite(split, x, y)
        given[split] = (x, _labels(y))
    names = [str(n) for n in np.atleast_1d(arrays["class_names"]).tolist()] if "class_names" in arrays else []
    return given, names


def _class_codes(values: np.ndarray, names: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Class indices of labels, and the class names (given, or the sorted distinct labels)."""
    if names and np.issubdtype(values.dtype, np.integer) and values.min() >= 0 and values.max() < len(names):
        return values.astype(np.int64), names
    classes = sorted({v.item() if hasattr(v, "item") else v for v in np.unique(values)})
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup[v.item() if hasattr(v, "item") else v] for v in values], dtype=np.int64), classes


# ----------------------------------------------------------------------------- loading
def load_images(
    path: Source,
    *,
    image_size: int | Sequence[int] | None = None,
    color_mode: str = "auto",
    task: str | None = None,
    seed: int = 0,
    val_size: float = SPLIT.val_size,
    test_size: float = SPLIT.test_size,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_total_pixels: int = MAX_TOTAL_PIXELS,
) -> ImageData:
    """Load images from a folder or .zip of class sub-folders, or arrays from a .npz file.

    ``image_size`` (height, width) resizes every image (default: the most common size);
    ``color_mode`` is "auto" (one channel when every image is grayscale), "grayscale" or "rgb".
    Pixels stay 0..255. Two classes make a binary task unless ``task="multiclass"``; a .npz with
    numeric labels may also use ``task="regression"``. Splits are seeded and stratified.

    Memory stays bounded by the limits: ``max_bytes`` caps the file and what a zip or .npz unpacks to
    (from the sizes the archive declares, before unpacking); ``max_image_pixels`` caps each image and
    ``max_total_pixels`` all of them (from their headers, before decoding). NaN or infinite values in a
    .npz are refused.
    """
    where = source_name(path)
    notes: list[str] = []
    given: dict[str, tuple[np.ndarray, np.ndarray]]
    if isinstance(path, (str, Path)) and Path(path).is_dir():
        names, files, ignored = _by_class(folder_entries(Path(path), max_bytes), f"The folder '{where}'")
        x, labels, notes = decode_all(files, image_size, color_mode, max_image_pixels, max_total_pixels)
        given, class_names = {"all": (x, labels)}, list(names)
    else:
        raw = read_source(path, max_bytes=max_bytes)
        if not raw:
            raise DataError("The file is empty.", "Choose a .zip of class folders or a .npz file.")
        archive = open_archive(raw, where, "Give a folder or .zip with one sub-folder of images per class, or a .npz "
                               "of arrays.")
        with archive:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
            if members and all(m.endswith(".npy") for m in members):
                check_npz(archive, max_bytes, color_mode)
                given, class_names = _from_npz(raw, color_mode)
                ignored = 0
                if image_size is not None:
                    notes.append("image_size is not applied to .npz arrays; they keep their size.")
            else:
                names, files, ignored = _by_class(zip_entries(archive, max_bytes), f"The zip '{where}'")
                x, labels, notes = decode_all(files, image_size, color_mode, max_image_pixels, max_total_pixels)
                given, class_names = {"all": (x, labels)}, list(names)
    if ignored:
        notes.append(f"Ignored {count(ignored, 'file')} outside class folders or not images.")
    data = _finish(given, class_names, task, where, notes, seed=seed, val_size=val_size, test_size=test_size)
    data.path = str(path) if isinstance(path, (str, Path)) else ""
    if isinstance(path, (str, Path)):
        size = list(image_size) if isinstance(image_size, (list, tuple)) else image_size
        data.load_args = {"kind": "images", "path": str(Path(path).resolve()), "task": data.task, "seed": seed,
                          "val_size": val_size, "test_size": test_size, "color_mode": color_mode, "image_size": size}
        limits = {"max_bytes": (max_bytes, DEFAULT_MAX_BYTES), "max_image_pixels": (max_image_pixels, MAX_IMAGE_PIXELS),
                  "max_total_pixels": (max_total_pixels, MAX_TOTAL_PIXELS)}
        data.load_args.update({k: v for k, (v, default) in limits.items() if v != default})
    return data


def _finish(
    given: dict[str, tuple[np.ndarray, np.ndarray]],
    class_names: list[Any],
    task: str | None,
    where: str,
    notes: list[str],
    *,
    seed: int,
    val_size: float,
    test_size: float,
) -> ImageData:
    """Encode labels, split what was not given, and build the :class:`ImageData`."""
    shapes = {x.shape[1:] for x, _ in given.values()}
    if len(shapes) > 1:
        raise DataError(
            f"The .npz splits have different example shapes: {sorted(shapes)}.",
            "Save every split with the same image size and channels.",
        )
    xs = np.concatenate([x for x, _ in given.values()])
    ys = np.concatenate([y for _, y in given.values()])
    if task == "regression":
        if not np.issubdtype(ys.dtype, np.number):
            raise DataError("Text labels cannot be a regression target.", "Choose a classification task.")
        codes, classes = ys.astype(np.float64), list[Any]()
    else:
        codes, classes = _class_codes(ys, class_names)
        used = np.unique(codes)
        if len(used) < 2:
            raise DataError(
                f"All {len(codes)} examples have the same label ({classes[int(used[0])]!r}); a "
                "classifier needs at least two classes.",
                "Add examples of the other classes.",
            )
        if task is None:
            task = "binary" if len(classes) == 2 else "multiclass"
        if task not in TASKS:
            raise DataError(f"Unknown task {task!r}.", f"Use one of {', '.join(TASKS)}.")
        if task == "binary" and len(classes) != 2:
            raise DataError(
                f"There are {len(classes)} classes; binary needs exactly two.", "Choose the multiclass task."
            )
    if float(xs.max(initial=0)) <= 1.0 and xs.ndim == 4:
        notes.append("Pixel values are between 0 and 1; rmlp expects 0..255 (multiply them by 255).")
    labels = None if task == "regression" else codes
    if "all" in given:
        parts = split_indices(
            len(xs), labels, val_size=val_size, test_size=test_size, seed=seed, class_names=classes
        )
    else:
        offsets, start = {}, 0
        for split, (x, _) in given.items():
            offsets[split] = np.arange(start, start + len(x))
            start += len(x)
        train = offsets["train"]
        missing = [s for s in ("val", "test") if s not in offsets]
        fractions = {s: (val_size if s == "val" else test_size) if s in missing else 0.0 for s in ("val", "test")}
        carved = split_indices(
            len(train), None if labels is None else labels[train],
            val_size=fractions["val"], test_size=fractions["test"], seed=seed, class_names=classes,
        )
        parts = {s: offsets[s] if s in offsets and s != "train" else train[carved[s]] for s in ("train", "val", "test")}
    y = encode_target(codes, task, len(classes))
    return ImageData(
        x_train=xs[parts["train"]], y_train=y[parts["train"]],
        x_val=xs[parts["val"]], y_val=y[parts["val"]],
        x_test=xs[parts["test"]], y_test=y[parts["test"]],
        task=task, class_names=list(classes), input_shape=[int(d) for d in xs.shape[1:]],
        source=where, warnings=notes,
    )
