"""How raw table rows become model inputs, as plain data (a JSON round-trip).

A :class:`Preprocessor` is learned on the training rows only; an exported stand-alone predict
script re-applies its ``to_dict()`` form in a few lines of numpy/pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rmlp.data.bins import quantile_edges
from rmlp.data.columns import _as_numbers, decode_target
from rmlp.data.errors import DataError
from rmlp.spec.fields import Settings, setting

PREPROCESSOR_FORMAT = "rmlp-preprocessor"
#: The interquartile range of a standard normal variable (so robust scaling matches it on normal data).
_NORMAL_IQR = 1.3489795

NumericScaling = Literal["robust", "standard"]


class EncodingConfig(Settings):
    """How a table's numbers are brought to a scale a network learns from (categories are one-hot)."""

    numeric_scaling: NumericScaling = setting(
        "robust", label="Numeric scaling",
        help="robust: centre each number column on its median and divide by its interquartile range, so a "
        "few extreme values do not squash the rest; standard: subtract the mean, divide by the standard "
        "deviation. Learned on the training rows only.",
    )
    clip: float | None = setting(
        3.0, label="Soft clip at",
        help="Scaled numbers are squeezed smoothly into ±this value (x / sqrt(1 + (x/c)²)), so an outlier "
        "cannot dominate a layer; values well inside stay almost unchanged. Empty: no clipping.",
        low=0.5, high=1000.0,
    )
    numeric_bins: int = setting(
        0, label="Piecewise-linear bins",
        help="Also encode each number column piecewise-linearly over this many quantile bins of its training "
        "values (one input per bin: 0 below the bin, 1 above it, the position inside it), which lets a "
        "network bend its response to a number where the data does; 0: off. Found strong for MLPs on "
        "tables in 'On Embeddings for Numerical Features in Tabular Deep Learning' (2022).",
        low=0, high=64, step=1,
    )


#: The default encoding (the loaders' defaults).
ENCODING = EncodingConfig()


def soft_clip(z: np.ndarray, bound: float | None) -> np.ndarray:
    """``z / sqrt(1 + (z / bound)**2)``: unchanged near 0, never beyond ``±bound``; ``z`` when bound is None."""
    return z if bound is None else z / np.sqrt(1.0 + (z / bound) ** 2)


def _numeric_column(name: str, numbers: pd.Series, encoding: EncodingConfig) -> dict[str, Any]:
    """The fill, centre, scale and clip of one number column, learned from its training values."""
    fill = float(numbers.median())
    filled = numbers.fillna(fill).to_numpy(dtype="float64")
    center, scale = float(filled.mean()), float(filled.std())
    if encoding.numeric_scaling == "robust":
        low, high = np.percentile(filled, [25, 75])
        if high - low > 1e-12:
            center, scale = fill, float(high - low) / _NORMAL_IQR
    column: dict[str, Any] = {"name": name, "kind": "numeric", "fill": fill, "center": center,
                              "scale": scale if scale > 1e-12 else 1.0, "clip": encoding.clip}
    if encoding.numeric_bins:
        edges = quantile_edges(filled, encoding.numeric_bins)
        if len(edges) >= 2:
            column["bins"] = [float(e) for e in edges]
    return column


def piecewise_linear(x: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """One column per bin ``[edges[t], edges[t+1]]``: 0 below it, 1 above it, the position inside it."""
    low, high = np.asarray(edges[:-1], dtype="float64"), np.asarray(edges[1:], dtype="float64")
    return np.clip((x.reshape(-1, 1) - low) / (high - low), 0.0, 1.0)


@dataclass
class Preprocessor:
    """How raw table rows become model inputs, as plain data (JSON round-trip).

    ``columns``: one dict per used feature column, in order: ``{"name", "kind": "numeric",
    "fill", "center", "scale", "clip"}`` (a number becomes ``soft_clip((x - center) / scale, clip)``;
    files of rmlp 0.1 hold ``mean``/``std`` and no clip), with ``"bins"`` (edges) when it is also
    encoded piecewise-linearly or ``{"name", "kind": "categorical", "fill",
    "categories"}``.
    ``target``: ``{"name", "task", "classes"}`` (classes empty for regression).
    """

    columns: list[dict[str, Any]]
    target: dict[str, Any]
    version: int = 2

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, kinds: Mapping[str, str], target: dict[str, Any],
        encoding: EncodingConfig = ENCODING,
    ) -> tuple[Preprocessor, list[str]]:
        """Learn fills, centres/scales and categories from (training) rows; also return notices."""
        columns: list[dict[str, Any]] = []
        notes: list[str] = []
        for name, kind in kinds.items():
            values = frame[name]
            if kind == "numeric":
                numbers = _as_numbers(values)
                if numbers.isna().all():
                    notes.append(f"Column {name!r} was dropped: no values in the training rows.")
                    continue
                columns.append(_numeric_column(name, numbers, encoding))
            elif kind == "categorical":
                text = values.dropna().astype(str).str.strip()
                if text.empty:
                    notes.append(f"Column {name!r} was dropped: no values in the training rows.")
                    continue
                counts = text.value_counts()
                fill = sorted(counts.index[counts == counts.max()])[0]
                columns.append({
                    "name": name, "kind": "categorical", "fill": fill,
                    "categories": sorted(counts.index.tolist()),
                })
        return cls(columns=columns, target=dict(target)), notes

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric names and ``column=category`` one-hot names."""
        names: list[str] = []
        for col in self.columns:
            if col["kind"] == "numeric":
                names.append(col["name"])
                names.extend(f"{col['name']}#bin{t + 1}" for t in range(len(col.get("bins", [])) - 1))
            else:
                names.extend(f"{col['name']}={c}" for c in col["categories"])
        return names

    def transform(self, frame: pd.DataFrame | Mapping[str, Any] | Sequence[Any]) -> np.ndarray:
        """Encode raw rows (a DataFrame, dict of columns or list of row dicts) as float32."""
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        missing = [c["name"] for c in self.columns if c["name"] not in df.columns]
        if missing:
            raise DataError(
                f"The rows lack the column{'s' if len(missing) != 1 else ''} {', '.join(map(repr, missing))}.",
                "Give every feature column the model was trained on (the target may be left out).",
            )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # overflow shows as inf, found by callers
            return self._encode(df)

    def _encode(self, df: pd.DataFrame) -> np.ndarray:
        parts = []
        for col in self.columns:
            values = df[col["name"]]
            if col["kind"] == "numeric":
                x = pd.to_numeric(values, errors="coerce").astype("float64").fillna(col["fill"]).to_numpy()
                center, scale = col.get("center", col.get("mean", 0.0)), col.get("scale", col.get("std", 1.0))
                parts.append(soft_clip((x - center) / scale, col.get("clip")).reshape(-1, 1))
                if col.get("bins"):
                    parts.append(piecewise_linear(x, col["bins"]))
            else:
                text = values.astype(object).where(values.notna(), col["fill"])
                text = text.astype(str).str.strip().to_numpy(dtype=str)
                parts.append(text[:, None] == np.asarray(col["categories"], dtype=str)[None, :])
        if not parts:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.hstack(parts).astype(np.float32)

    def inverse_target(self, pred: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) from model outputs."""
        return decode_target(pred, self.target["task"], self.target["classes"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PREPROCESSOR_FORMAT,
            "version": self.version,
            "columns": [dict(c) for c in self.columns],
            "target": dict(self.target),
            "feature_names": self.feature_names,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        if data.get("format") != PREPROCESSOR_FORMAT or "columns" not in data:
            raise DataError(
                "This is not an rmlp preprocessor description.",
                "Load the preprocessor.json saved with the trained model.",
            )
        return cls(
            columns=[dict(c) for c in data["columns"]],
            target=dict(data["target"]),
            version=int(data.get("version", 1)),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
