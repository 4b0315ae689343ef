"""The sample data sets that ship with rmlp (``sample_data/`` in a checkout, ``rmlp/sample_data`` installed).

Small tables and images to try everything offline, and a small pre-trained base model; the app's
Data page, ``rmlp samples`` and the tests all find them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rmlp.base.info import applications
from rmlp.spec.model import BaseModelSpec

__all__ = ["BASE_MODEL", "SAMPLES", "Sample", "sample", "sample_dir", "samples"]

#: The small CNN pre-trained on the digits images (cut it at its ``features`` layer).
BASE_MODEL = "digits_cnn.keras"


@cache
def sample_dir() -> Path:
    """Where the samples are: inside the installed package, else the checkout's ``sample_data/``."""
    installed = Path(__file__).resolve().parents[1] / "sample_data"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "sample_data"


@dataclass(frozen=True)
class Sample:
    """One shipped data set: its file, the column to predict ("" for images) and a line about it."""

    file: str
    target: str
    title: str

    @property
    def path(self) -> Path:
        return sample_dir() / self.file

    @property
    def kind(self) -> str:
        return "table" if self.target else "images"


SAMPLES: tuple[Sample, ...] = (
    Sample("wine.csv", "target", "Wine: 13 measurements, 3 cultivars (multiclass, 178 rows)"),
    Sample("breast_cancer.csv", "diagnosis", "Breast cancer: 30 features, benign/malignant (binary, 569 rows)"),
    Sample("diabetes.csv", "progression", "Diabetes: 10 features, disease progression (regression, 442 rows)"),
    Sample("penguins_like.csv", "species", "Penguins (synthetic): text columns and gaps (multiclass, 300 rows)"),
    Sample("digits.csv", "digit", "Digits as a table: 64 pixel columns (multiclass, 1,797 rows)"),
    Sample("digits_images.zip", "", "Digits as 16×16 grayscale images in class folders (zip)"),
    Sample("digits.npz", "", "Digits as arrays (npz)"),
)


def samples() -> list[Sample]:
    """The sample data sets present on this machine."""
    return [s for s in SAMPLES if s.path.is_file()]


def sample(file: str) -> Sample | None:
    """The sample with this file name, or None."""
    return next((s for s in SAMPLES if s.file == file), None)


def starting_base_model(source: str) -> dict[str, Any] | None:
    """The base model a design starts from when its source is switched to ``source``.

    ``"none"``: no base model. ``"applications"``: MobileNetV2 (or the first known model).
    ``"file"``: the bundled sample CNN cut at its ``features`` layer, when it is installed.
    """
    if source == "applications":
        names = sorted(applications())
        name = "MobileNetV2" if "MobileNetV2" in names or not names else names[0]
        return BaseModelSpec(source="applications", name=name).model_dump()
    if source == "file":
        sample = sample_dir() / BASE_MODEL
        path = str(sample) if sample.is_file() else ""
        return BaseModelSpec(source="file", path=path, cut_layer="features" if path else "", weights="none",
                             preprocess=False).model_dump()
    return None
