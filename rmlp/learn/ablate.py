"""The bypass ablation on a user's own design and data: the same run with and without residual connections.

Both runs share the seed, the data split and the budget (one :class:`~rmlp.runs.config.TrainConfig`); they are
named ``<name>-residual`` and ``<name>-plain``. ``import rmlp.learn.ablate`` does not import TensorFlow.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from rmlp.data.split import Splits
from rmlp.runs.config import TrainConfig
from rmlp.runs.events import Listener
from rmlp.runs.train import RunResult, train
from rmlp.spec.model import ModelSpec, parse_spec

__all__ = ["AblationResult", "ablate"]


@dataclass
class AblationResult:
    """The two runs of one ablation."""

    residual: RunResult
    plain: RunResult

    def table(self) -> list[dict[str, Any]]:
        """One row per test metric both runs have: {metric, residual, plain, difference (residual − plain)}."""
        a, b = self.residual.test_metrics, self.plain.test_metrics
        rows = []
        for metric in [m for m in a if m in b]:
            x, y = _number(a[metric]), _number(b[metric])
            diff = x - y if x is not None and y is not None else None
            rows.append({"metric": metric, "residual": x, "plain": y, "difference": diff})
        return rows


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def ablate(spec: ModelSpec | dict[str, Any], data: Splits, config: TrainConfig | None = None,
           listener: Listener | None = None, stop_event: threading.Event | None = None) -> AblationResult:
    """Train ``spec`` with the bypass on, then off, on the same data split with the same settings.

    ``listener`` hears both runs' events (the run name tells them apart); a set ``stop_event`` stops the run
    in progress and skips the other (it is then a run stopped before its first batch).
    """
    spec = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    config = config or TrainConfig()
    name = config.run_name or spec.name
    results = {}
    for residual in (True, False):
        variant = "residual" if residual else "plain"
        run_config = config.model_copy(update={"run_name": f"{name}-{variant}"})
        results[variant] = train(spec.copy_with(residual=residual), data, run_config, listener=listener,
                                 stop_event=stop_event)
    return AblationResult(residual=results["residual"], plain=results["plain"])
