"""Data for training: tables (CSV) and images (folder, .zip or .npz), split and encoded, and fitting a spec.

UI-agnostic and free of TensorFlow: the Streamlit app and the command line both call these.
Tables live in :mod:`rmlp.data.tables`, images in :mod:`rmlp.data.images` (what a folder, .zip or .npz
holds, read safely, in :mod:`rmlp.data.archives`), the split in :mod:`rmlp.data.split`;
:func:`rmlp.data.fit.spec_for_data` fits a design to what was loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlp.data.archives import check_zip, safe_extract_zip
from rmlp.data.columns import decode_target, encode_target, infer_task
from rmlp.data.errors import DataError
from rmlp.data.fit import Data, spec_for_data
from rmlp.data.images import ImageData, load_images
from rmlp.data.limits import LoadConfig, only_for
from rmlp.data.preprocessor import ENCODING, EncodingConfig, Preprocessor
from rmlp.data.reading import DEFAULT_MAX_BYTES, Source, read_table
from rmlp.data.split import SPLIT, SplitConfig, SplitData, split_indices
from rmlp.data.tables import TabularData, load_table, missing_target, suggest_target

__all__ = [
    "DEFAULT_MAX_BYTES", "ENCODING", "SPLIT", "Data", "DataError", "EncodingConfig", "ImageData", "LoadConfig",
    "Preprocessor", "Source", "SplitConfig", "SplitData", "TabularData", "check_zip", "decode_target", "encode_target",
    "infer_task",
    "load_data", "load_images", "load_table", "read_table", "safe_extract_zip", "spec_for_data", "split_indices",
    "suggest_target",
]


def load_data(source: Source, target: str | None = None, **options: Any) -> Data:
    """A table when ``target`` is given, else images (folder, .zip or .npz).

    Options only the other kind takes (a table's ``non_finite``, images' pixel limits) are left out,
    so one set of :class:`LoadConfig` options serves both.
    """
    if target:
        return load_table(source, target, **only_for("table", options))
    options = only_for("images", options)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".csv", ".tsv", ".txt"):
        raise missing_target(source)
    return load_images(source, **options)
