"""Images to predict on: a folder or .zip of images (any sub-folders, labels not needed), or a .npz array.

Read within the same limits as training images (file size, pixels per image, pixels in all) and
decoded the same way (Pillow, 0..255 float32, resized to the size a model takes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rmlp.data.archives import check_npz, folder_entries, npz_arrays, open_archive, zip_entries
from rmlp.data.errors import DataError
from rmlp.data.images import IMAGE_EXTENSIONS, decode_all, with_channels
from rmlp.data.limits import DEFAULT_MAX_BYTES, MAX_IMAGE_PIXELS, MAX_TOTAL_PIXELS
from rmlp.data.reading import Source, read_source, source_name
from rmlp.spec.units import count

__all__ = ["read_images"]

#: The array of a .npz file that holds the images, in the order they are looked for.
NPZ_KEYS = ("x", "images", "x_test")


def _files(entries: list[tuple[tuple[str, ...], Callable[[], bytes]]], where: str
           ) -> tuple[list[tuple[int, str, Callable[[], bytes]]], int]:
    visible = [(p, r) for p, r in entries if not any(s.startswith(".") or s == "__MACOSX" for s in p)]
    images = [("/".join(p), r) for p, r in visible if p[-1].lower().endswith(IMAGE_EXTENSIONS)]
    if not images:
        raise DataError(f"No images found in {where} (looked for {', '.join(IMAGE_EXTENSIONS)}).",
                        "Give a folder, .zip or .npz holding the images to predict.")
    # the "label" of each image is its position, so the images decoded say which files they are
    return [(i, name, read) for i, (name, read) in enumerate(images)], len(visible) - len(images)


def read_images(path: Source, size: tuple[int, int], color_mode: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                max_image_pixels: int = MAX_IMAGE_PIXELS, max_total_pixels: int = MAX_TOTAL_PIXELS,
                ) -> tuple[np.ndarray, list[str], list[str]]:
    """(images (n, height, width, channels), their names, notices) from a folder, .zip or .npz.

    Folder and zip images are sorted by path and resized to ``size`` (height, width);
    ``color_mode`` is ``grayscale`` or ``rgb``. A .npz gives its ``x`` (or ``images``, or
    ``x_test``) array as it is, named by position; labels in it are ignored. Unreadable images are
    skipped and named in a notice. ``path`` may also be the bytes (or an open file) of a .zip or .npz.
    """
    where = source_name(path)
    folder = Path(path) if isinstance(path, (str, Path)) and Path(path).is_dir() else None
    notes: list[str] = []
    if folder is not None:
        files, ignored = _files(folder_entries(folder, max_bytes), f"the folder {where!r}")
    else:
        raw = read_source(path, max_bytes=max_bytes)
        archive = open_archive(raw, where, "Give a folder or .zip of images, or a .npz array of them.")
        with archive:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
            if members and all(m.endswith(".npy") for m in members):
                check_npz(archive, max_bytes, color_mode)
                arrays = npz_arrays(raw)
                key = next((k for k in NPZ_KEYS if k in arrays), None)
                if key is None:
                    raise DataError(f"The .npz file holds {', '.join(map(repr, arrays)) or 'no arrays'}, but no "
                                    f"images under {', '.join(map(repr, NPZ_KEYS))}.",
                                    "Save it with np.savez(path, x=images).")
                x = with_channels(arrays[key], color_mode)
                if x.ndim != 4:
                    raise DataError(f"The .npz array {key!r} has shape {arrays[key].shape}; images are (n, height, "
                                    "width) or (n, height, width, channels).", "Save the images as one array.")
                return x, [f"{key}[{i}]" for i in range(len(x))], notes
            files, ignored = _files(zip_entries(archive, max_bytes), f"the zip {where!r}")
            x, kept, notes = decode_all(files, size, color_mode, max_image_pixels, max_total_pixels)
    if folder is not None:
        x, kept, notes = decode_all(files, size, color_mode, max_image_pixels, max_total_pixels)
    if ignored:
        notes.append(f"Ignored {count(ignored, 'file')} that are not images.")
    return x, [files[int(i)][1] for i in kept], notes
