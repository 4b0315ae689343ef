"""How raw table rows become model inputs, as plain data (a JSON round-trip).

A :class:`Preprocessor` is learned on the training rows only; an exported stand-alone predict
script re-applies its ``to_dict()`` form in a few lines of numpy/pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmlp.data.columns import _as_numbers, decode_target
from rmlp.data.errors import DataError

PREPROCESSOR_FORMAT = "rmlp-preprocessor"


@dataclass
class Preprocessor:
    """How raw table rows become model inputs, as plain data (JSON round-trip).

    ``columns``: one dict per used feature column, in order: ``{"name", "kind": "numeric",
    "fill", "mean", "std"}`` or ``{"name", "kind": "categorical", "fill", "categories"}``.
    ``target``: ``{"name", "task", "classes"}`` (classes empty for regression).
    """

    columns: list[dict[str, Any]]
    target: dict[str, Any]
    version: int = 1

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, kinds: Mapping[str, str], target: dict[str, Any]
    ) -> tuple[Preprocessor, list[str]]:
        """Learn fills, means/stds and categories from (training) rows; also return notices."""
        columns: list[dict[str, Any]] = []
        notes: list[str] = []
        for name, kind in kinds.items():
            values = frame[name]
            if kind == "numeric":
                numbers = _as_numbers(values)
                if numbers.isna().all():
                    notes.append(f"Column {name!r} was dropped: no values in the training rows.")
                    continue
                fill = float(numbers.median())
                filled = numbers.fillna(fill)
                std = float(filled.std(ddof=0))
                columns.append({
                    "name": name, "kind": "numeric", "fill": fill,
                    "mean": float(filled.mean()), "std": std if std > 1e-12 else 1.0,
                })
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
            else:
                names.extend(f"{col['name']}={c}" for c in col["categories"])
        return names

    def transform(self, frame: pd.DataFrame | Mapping[str, Any] | Sequence[Any]) -> np.ndarray:
        """Encode raw rows (a DataFrame, dict of columns or list of row dicts) as float32."""
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        missing = [c["name"] for c in self.columns if c["name"] not in df.columns]
        if missing:
            raise DataError(
                f"The rows lack the column(s) {', '.join(map(repr, missing))}.",
                "Give every feature column the model was trained on (the target may be left out).",
            )
        parts = []
        for col in self.columns:
            values = df[col["name"]]
            if col["kind"] == "numeric":
                x = pd.to_numeric(values, errors="coerce").astype("float64").fillna(col["fill"])
                parts.append(((x.to_numpy() - col["mean"]) / col["std"]).reshape(-1, 1))
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
