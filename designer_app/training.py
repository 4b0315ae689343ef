"""Training as a background job: settings -> TrainConfig, the job's target, what the page draws.

The target runs in the job's worker thread and touches Keras only there (Keras state is
thread-local); it returns a :class:`designer_app.train_session.RunInfo`, plain data the page can draw.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from designer_app import jobs, server
from designer_app.datasets import LoadedData
from designer_app.train_session import RunInfo
from rmlp import ModelSpec
from rmlp.runs.config import TrainConfig
from rmlp.runs.train import train
from rmlp.spec.fields import parse_settings
from rmlp.spec.metrics import evaluated_metrics

if TYPE_CHECKING:
    from rmlp.data.fit import Data

#: Where the app's run folders go (tests point this at a temporary folder).
RUNS_DIR_ENV = server.RUNS_DIR_ENV


def runs_folder(settings: dict[str, Any] | None = None) -> str:
    """The folder the app's runs go to (and the Runs page lists): $RMLP_RUNS_DIR, else the setting, else ``runs``."""
    return os.environ.get(RUNS_DIR_ENV) or (settings or {}).get("runs_dir") or "runs"


def make_config(settings: dict[str, Any]) -> Any:
    """The :class:`rmlp.runs.config.TrainConfig` for the page's settings (SettingsError when one does not fit)."""
    values = {k: settings[k] for k in TrainConfig.model_fields if k in settings}
    values["runs_dir"] = runs_folder(settings)
    return parse_settings(TrainConfig, values)


def _begun(event: Any) -> bool:
    """Training has begun once a batch or an epoch is done (TensorFlow imported, the first step traced)."""
    return getattr(event, "kind", None) in ("batch", "epoch", "baseline_epoch")


def _coalesce(event: Any) -> str | None:
    """Batch progress replaces the previous one instead of piling up."""
    return "batch" if getattr(event, "kind", None) == "batch" else None


def start(spec: ModelSpec, loaded: LoadedData, config: Any, settings: dict[str, Any] | None = None) -> jobs.Job:
    """Start training ``spec`` on ``loaded`` in a background job; returns the job.

    The job keeps the data and the page's settings, so a reloaded page (a new session) that finds
    the job again also gets them back.
    """

    browser = server.browser_key()

    def target(listener: jobs.Listener, stop_event: threading.Event) -> RunInfo:
        claimed = False

        def tell(event: Any) -> None:
            nonlocal claimed
            if not claimed and getattr(event, "kind", None) == "train_begin":
                claimed = True  # the run folder exists now: name its browser, for a server that outlives this one
                server.claim_run(Path(runs_folder()), browser)
            listener(event)

        return run(spec, loaded, config, tell if browser else listener, stop_event)

    info = {"epochs": config.epochs, "data": loaded.name, "spec": spec.name, "baseline": config.baseline,
            "loaded": loaded, "settings": dict(settings or {})}
    return jobs.Job(target, name=f"training of {spec.name}", coalesce=_coalesce, info=info, begun=_begun).start()


def run(spec: ModelSpec, loaded: LoadedData, config: Any, listener: jobs.Listener,
        stop_event: threading.Event) -> RunInfo:
    """Train (in the calling thread), then predict the test rows for the result plots."""
    if not stop_event.is_set():  # stopped while queued: skip the import
        import keras  # noqa: F401 - TensorFlow's import, most of a first run's "Starting…"

        jobs.freeze_heap()
    result = train(spec, loaded.data, config, listener=listener, stop_event=stop_event,
                   data_source=loaded.source_record())
    data = loaded.data
    y_true = y_pred = None
    if data.task == "regression" and result.model is not None:
        y_true, y_pred = _regression_pairs(result.model, data)
    baseline = result.baseline
    return RunInfo(
        run_dir=str(result.run_dir), task=data.task, class_names=list(getattr(data, "class_names", []) or []),
        history={k: list(v) for k, v in result.history.items()}, test_metrics=dict(result.test_metrics or {}),
        status="stopped" if result.stopped else result.status, baseline=baseline, y_true=y_true, y_pred=y_pred,
        notices=list(result.notices), spec_json=(result.spec or spec).to_json(indent=None), data_name=loaded.name,
    )


def _regression_pairs(model: Any, data: Data) -> tuple[list[float], list[float]]:
    """Actual and predicted values of the test split (validation split when test is empty), in target units."""
    from rmlp.keras.evaluate import predict  # scikit-learn and SciPy: about a second, once a run has ended

    split = "test" if len(data.x_test) else "val"
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    pred = predict(model, x)
    try:
        actual, predicted = data.inverse_target(y), data.inverse_target(pred)
    except (AttributeError, ValueError, TypeError):
        actual, predicted = y, pred
    return (np.asarray(actual, dtype=float).ravel().tolist(), np.asarray(predicted, dtype=float).ravel().tolist())


def headline_metrics(metrics: dict[str, Any], task: str) -> list[tuple[str, float]]:
    """The test metrics worth a big number, in a sensible order."""
    keys = (*evaluated_metrics(task), "loss")
    out = []
    for key in keys:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            out.append((key, float(value)))
    return out
