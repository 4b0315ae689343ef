"""Images for training: a folder or .zip of class sub-folders, or a .npz of arrays.

Images are decoded with Pillow (no TensorFlow) into float32 arrays with pixel values kept in
0..255; single-channel (grayscale) images keep one channel. Zip members are read in memory after
their names are checked (no absolute paths, no ``..``) and their total size is capped.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rmlp.data.columns import decode_target, encode_target
from rmlp.data.errors import DataError
from rmlp.data.reading import DEFAULT_MAX_BYTES, Source, read_source, source_name
from rmlp.data.split import SPLIT, SplitData, split_indices
from rmlp.spec.tasks import TASKS
from rmlp.spec.units import human_bytes

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "F")
#: Decoded float32 arrays larger than this are refused (choose a smaller image_size).
MAX_ARRAY_BYTES = 4_000_000_000
#: A zip member that unpacks to more than this many times its packed size is refused.
MAX_ZIP_RATIO = 200


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


# ----------------------------------------------------------------------------- zip safety
def _unsafe_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
    )


def check_zip(archive: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The archive's file members, after refusing unsafe names, links and oversize contents."""
    members = []
    total = 0
    for info in archive.infolist():
        if _unsafe_member(info.filename):
            raise DataError(
                f"The zip holds a member with an unsafe path ({info.filename!r}), which could "
                "write outside the folder it is unpacked into; it was not opened.",
                "Zip the class folders with relative paths (no '..', no leading '/').",
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(
                f"The zip holds a symbolic link ({info.filename!r}); it was not opened.",
                "Zip real files only.",
            )
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_bytes:
            raise DataError(
                f"The zip unpacks to more than {human_bytes(max_bytes)}.",
                "Use fewer or smaller images, or raise the size limit (max_bytes).",
            )
        if info.file_size > 1_000_000 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise DataError(
                f"The zip member {info.filename!r} unpacks to {human_bytes(info.file_size)} from "
                f"{human_bytes(info.compress_size)}, which looks like a zip bomb; it was not opened.",
                "Zip ordinary image files.",
            )
        members.append(info)
    return members


def safe_extract_zip(path: str | Path, dest: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Unpack a zip into ``dest`` after :func:`check_zip`; returns ``dest``."""
    dest = Path(dest)
    with zipfile.ZipFile(path) as archive:
        for info in check_zip(archive, max_bytes):
            target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src:
                target.write_bytes(src.read())
    return dest


# ----------------------------------------------------------------------------- collecting files
Entry = tuple[tuple[str, ...], Callable[[], bytes]]


def _folder_entries(root: Path, max_bytes: int) -> list[Entry]:
    entries: list[Entry] = []
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_symlink():
                continue
            total += path.stat().st_size
            if total > max_bytes:
                raise DataError(
                    f"The folder holds more than {human_bytes(max_bytes)} of files.",
                    "Use fewer or smaller images, or raise the size limit (max_bytes).",
                )
            entries.append((path.relative_to(root).parts, path.read_bytes))
    return entries


def _zip_entries(archive: zipfile.ZipFile, max_bytes: int) -> list[Entry]:
    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        return lambda: archive.read(info)

    return [
        (PurePosixPath(info.filename.replace("\\", "/")).parts, reader(info))
        for info in sorted(check_zip(archive, max_bytes), key=lambda i: i.filename)
    ]


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


def _decode_all(
    files: list[tuple[int, str, Callable[[], bytes]]],
    image_size: int | Sequence[int] | None,
    color_mode: str,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode images to float32 (n, h, w, c) in 0..255 with labels, and notices."""
    from PIL import Image

    if color_mode not in ("auto", "grayscale", "rgb"):
        raise DataError(f"Unknown color_mode {color_mode!r}.", "Use 'auto', 'grayscale' or 'rgb'.")
    opened, bad, keep, labels, resized = [], [], [], [], 0
    for label, name, read in files:  # headers only: size and mode
        try:
            opened.append((label, name, Image.open(io.BytesIO(read()))))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            bad.append(name)
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
        for i, (label, name, img) in enumerate(opened):
            try:
                pixels = img.convert("L" if gray else "RGB")
                if pixels.size != (w, h):
                    pixels, resized = pixels.resize((w, h), Image.Resampling.BILINEAR), resized + 1
                x[i] = np.asarray(pixels, dtype=np.float32).reshape(h, w, channels)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                bad.append(name)
                continue
            keep.append(i)
            labels.append(label)
    if not opened or not keep:
        raise DataError(
            f"None of the {len(files)} image files could be read; they are corrupt or not images.",
            "Check that the files open in an image viewer.",
        )
    notes = []
    if bad:
        notes.append(
            f"Skipped {len(bad)} file(s) that are not readable images: {', '.join(bad[:5])}"
            + (" ..." if len(bad) > 5 else "")
        )
    if resized:
        notes.append(f"{resized} image(s) were resized to {h}×{w} pixels.")
    return x[keep] if len(keep) < len(x) else x, np.asarray(labels, dtype=np.int64), notes


# ----------------------------------------------------------------------------- npz arrays
_NPZ_KEYS = (("x", "y"), ("images", "labels"))
_NPZ_SPLITS = (("train", "x_train", "y_train"), ("val", "x_val", "y_val"), ("test", "x_test", "y_test"))


def _npz_arrays(raw: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k.lower(): npz[k] for k in npz.files}
    except ValueError as exc:
        raise DataError(
            f"The .npz file could not be read: {exc}",
            "Save plain numeric arrays, e.g. np.savez(path, x=images, y=labels).",
        ) from exc


def _labels(y: np.ndarray) -> np.ndarray:
    """Labels from class labels, one-hot rows or an (n, 1) column."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y))


def _channels(x: np.ndarray, color_mode: str) -> np.ndarray:
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
    arrays = _npz_arrays(raw)
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
        if len(x) != len(y) or x.ndim < 2:
            raise DataError(
                f"The .npz {split} arrays do not match: x has shape {x.shape}, y has shape {y.shape}.",
                "x needs one example per label: shape (n, height, width[, channels]) with y of length n.",
            )
        given[split] = (_channels(x, color_mode), _labels(y))
    names = [str(n) for n in arrays["class_names"].tolist()] if "class_names" in arrays else []
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
) -> ImageData:
    """Load images from a folder or .zip of class sub-folders, or arrays from a .npz file.

    ``image_size`` (height, width) resizes every image (default: the most common size);
    ``color_mode`` is "auto" (one channel when every image is grayscale), "grayscale" or "rgb".
    Pixels stay 0..255. Two classes make a binary task unless ``task="multiclass"``; a .npz with
    numeric labels may also use ``task="regression"``. Splits are seeded and stratified.
    """
    where = source_name(path)
    notes: list[str] = []
    given: dict[str, tuple[np.ndarray, np.ndarray]]
    if isinstance(path, (str, Path)) and Path(path).is_dir():
        names, files, ignored = _by_class(_folder_entries(Path(path), max_bytes), f"The folder '{where}'")
        x, labels, notes = _decode_all(files, image_size, color_mode)
        given, class_names = {"all": (x, labels)}, list(names)
    else:
        raw = read_source(path, max_bytes=max_bytes)
        if not raw:
            raise DataError("The file is empty.", "Choose a .zip of class folders or a .npz file.")
        if not raw.startswith(b"PK"):
            raise DataError(
                f"'{where}' is neither a folder, a .zip archive nor a .npz file.",
                "Give a folder or .zip with one sub-folder of images per class, or a .npz of arrays.",
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(raw))
        except zipfile.BadZipFile as exc:
            raise DataError(f"'{where}' is not a readable zip file: {exc}", "Zip the folder again.") from exc
        with archive:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
            if members and all(m.endswith(".npy") for m in members):
                given, class_names = _from_npz(raw, color_mode)
                ignored = 0
                if image_size is not None:
                    notes.append("image_size is not applied to .npz arrays; they keep their size.")
            else:
                names, files, ignored = _by_class(_zip_entries(archive, max_bytes), f"The zip '{where}'")
                x, labels, notes = _decode_all(files, image_size, color_mode)
                given, class_names = {"all": (x, labels)}, list(names)
    if ignored:
        notes.append(f"Ignored {ignored} file(s) outside class folders or not images.")
    data = _finish(given, class_names, task, where, notes, seed=seed, val_size=val_size, test_size=test_size)
    data.path = str(path) if isinstance(path, (str, Path)) else ""
    if isinstance(path, (str, Path)):
        size = list(image_size) if isinstance(image_size, (list, tuple)) else image_size
        data.load_args = {"kind": "images", "path": str(Path(path).resolve()), "task": data.task, "seed": seed,
                          "val_size": val_size, "test_size": test_size, "color_mode": color_mode, "image_size": size}
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
