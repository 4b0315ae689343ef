"""What the loaders accept: size and pixel limits, and what becomes of numbers that are not finite.

The limits are settings like any other (:class:`LoadConfig`): the command line offers each as an
option (``--max-mb``, ``--max-image-mp``, ``--max-total-mp``, ``--non-finite``) and
:meth:`LoadConfig.options` turns them into the loaders' arguments (``max_bytes``,
``max_image_pixels``, ``max_total_pixels``, ``non_finite``). The messages that name a limit say
both spellings, so they are right for command-line and Python users alike.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from rmlp.spec.fields import StrictSettings, setting

__all__ = [
    "DEFAULT_MAX_BYTES", "DEFAULT_MAX_CELLS", "DEFAULT_MAX_COLUMNS",
    "FLOAT32_MAX", "IMPUTE_HINT", "LoadConfig", "MAX_ARRAY_BYTES", "MAX_IMAGE_PIXELS", "MAX_TOTAL_PIXELS",
    "NonFinite", "RAISE_IMAGE_PIXELS", "RAISE_SHAPE", "RAISE_SIZE", "RAISE_TOTAL_PIXELS",
]

#: Largest file (or unpacked archive) a reader accepts unless told otherwise.
DEFAULT_MAX_BYTES = 200 * 2**20
#: Largest image (width × height) decoded unless told otherwise: 50 megapixels, above any usual camera
#: photo; one such image decodes to about 150 MB (RGB), and only one is decoded at a time.
MAX_IMAGE_PIXELS = 50_000_000
#: Largest number of pixels decoded in all (summed over the images): 4 gigapixels, about a minute of
#: decoding; the decoded images are freed one by one, so this bounds time, not memory.
MAX_TOTAL_PIXELS = 4_000_000_000
#: Decoded float32 arrays larger than this are refused (choose a smaller image_size).
MAX_ARRAY_BYTES = 4_000_000_000
#: Most columns a table may have, counted from its header row before any column is read.
DEFAULT_MAX_COLUMNS = 100_000
#: Most cells (data rows × columns) a table may have, estimated from its bytes before it is parsed.
DEFAULT_MAX_CELLS = 1_000_000_000
#: Numbers beyond this (the largest float32) cannot be encoded for the model: they count as non-finite.
FLOAT32_MAX = float(np.finfo(np.float32).max)

NonFinite = Literal["refuse", "impute"]

RAISE_SIZE = "raise the size limit (--max-mb on the command line, max_bytes in Python)"
RAISE_SHAPE = ("raise the limit (--max-columns or --max-cells on the command line, max_columns or max_cells in "
               "Python)")
RAISE_IMAGE_PIXELS = "raise the per-image limit (--max-image-mp on the command line, max_image_pixels in Python)"
RAISE_TOTAL_PIXELS = "raise the total limit (--max-total-mp on the command line, max_total_pixels in Python)"
IMPUTE_HINT = ("'Non-finite numbers: impute' on the app's Data page, --non-finite impute on the command line, "
               "non_finite='impute' in Python")

_MB = 2**20
_MP = 1_000_000
#: The loader arguments each kind of data takes.
_TABLE_ONLY = ("non_finite", "max_columns", "max_cells")
_IMAGE_ONLY = ("max_image_pixels", "max_total_pixels")


class LoadConfig(StrictSettings):
    """What a loader accepts: the size of a file, the pixels of images, and numbers that are not finite."""

    what: ClassVar[str] = "The data loading settings"

    max_mb: float = setting(
        DEFAULT_MAX_BYTES / _MB, label="Size limit (MiB)",
        help="Largest data file a loader reads, in MiB; for a .zip or .npz also the most its members may "
        "unpack to. Raise it for larger data sets.", low=0.001, high=1_000_000.0,
    )
    max_columns: int = setting(
        DEFAULT_MAX_COLUMNS, label="Columns limit",
        help="Most columns a table may have; counted from its header row before any column is read.",
        low=1, high=100_000_000,
    )
    max_cells: int = setting(
        DEFAULT_MAX_CELLS, label="Cells limit",
        help="Most cells (rows × columns) a table may have; estimated from the file before it is parsed.",
        low=1, high=1e12,
    )
    max_image_mp: float = setting(
        MAX_IMAGE_PIXELS / _MP, label="Pixels per image (megapixels)",
        help="Largest image (width × height, in millions of pixels) decoded; a larger one is refused before "
        "it is decoded.", low=0.001, high=10_000.0, cli=("--max-image-mp",),
    )
    max_total_mp: float = setting(
        MAX_TOTAL_PIXELS / _MP, label="Pixels in all (megapixels)",
        help="Most pixels (in millions, summed over the images) decoded in all; checked before decoding.",
        low=0.001, high=1_000_000.0, cli=("--max-total-mp",),
    )
    non_finite: NonFinite = setting(
        "refuse", label="Non-finite numbers",
        help="What to do with numbers that are not finite (inf, -inf) or too large to encode (beyond "
        "±3.4e38) in a table: refuse: stop and list them per column; impute: treat them as missing "
        "values (filled like any gap; rows whose target is one are left out), with a notice.",
    )

    def options(self, kind: str = "table") -> dict[str, Any]:
        """The loader arguments of ``kind`` ("table" or "images") these settings stand for."""
        out: dict[str, Any] = {
            "max_bytes": int(self.max_mb * _MB),
            "max_columns": self.max_columns,
            "max_cells": self.max_cells,
            "max_image_pixels": int(self.max_image_mp * _MP),
            "max_total_pixels": int(self.max_total_mp * _MP),
            "non_finite": self.non_finite,
        }
        return only_for(kind, out)


def only_for(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` without those the other kind of data takes (a table ignores pixel limits, images ``non_finite``)."""
    skip = _IMAGE_ONLY if kind == "table" else _TABLE_ONLY
    return {k: v for k, v in options.items() if k not in skip}
