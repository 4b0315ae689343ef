"""Promoting a trial: its design retrained on train+validation for the full budget, as a run and a bundle.

:func:`promote` goes through :func:`rmlp.runs.train.train`, so the result is the usual run folder
with ``search.json`` (where the design came from) and ``bundle.zip`` added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rmlp.data import spec_for_data
from rmlp.data.fit import Data
from rmlp.data.split import SplitData
from rmlp.design.sizing import budget_for
from rmlp.export import make_bundle
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir
from rmlp.runs.train import train
from rmlp.search.config import DataSource, SearchError
from rmlp.search.report import best_trial, study_record, trial_spec
from rmlp.search.storage import load_study, safe_url
from rmlp.spec.model import ModelSpec

#: A split data set of any kind (a table's or images'): promotion keeps its kind.
D = TypeVar("D", bound=SplitData)

__all__ = ["PromoteResult", "merge_train_val", "promote"]


@dataclass
class PromoteResult:
    """The run folder and bundle of a promoted trial."""

    trial: int
    run_dir: Path
    bundle: Path
    test_metrics: dict[str, Any]
    spec: ModelSpec
    epochs: int


def merge_train_val(data: D) -> D:
    """A copy of ``data`` whose training split also holds the validation rows (validation left empty)."""
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    empty_x, empty_y = data.x_val[:0], data.y_val[:0]
    return dataclasses.replace(data, x_train=x, y_train=y, x_val=empty_x, y_val=empty_y)


def promote(storage: str, study_name: str | None, data: Data | DataSource, epochs: int | None = None,
            runs_dir: str | Path = "runs", *, trial: int | None = None, seed: int = 0, listener: Any = None,
            stop_event: Any = None) -> PromoteResult:
    """Retrain the best trial's spec on train+validation with the full training recipe; run folder + bundle.

    ``data`` is loaded data or a :class:`~rmlp.search.runner.DataSource`; ``epochs`` defaults to
    what a training run of that many rows gets (sized to the data, as :class:`TrainConfig` does),
    not the trials' shorter budget; the learning rate warms up and decays along a cosine. With no
    validation rows left there is nothing to stop early on, so the run trains every epoch.
    The run folder is the one :func:`rmlp.runs.train.train` writes, with
    ``search.json`` (where the design came from) and ``bundle.zip`` added.
    """

    study = load_study(storage, study_name)
    if trial is None:
        chosen = best_trial(study)
    else:
        found = [t for t in study.get_trials(deepcopy=False) if t.number == trial]
        if not found or found[0].state.name != "COMPLETE":
            raise SearchError(f"Trial {trial} of {study.study_name!r} is not a completed trial.")
        chosen = found[0]
    spec, batch_size = trial_spec(chosen)
    record = study_record(study)
    data_source = None
    if isinstance(data, DataSource):
        data_source = {"kind": "table" if data.target else "images", **data.to_dict()}
    loaded = data.load() if isinstance(data, DataSource) else data
    spec, _ = spec_for_data(spec, loaded)
    merged = merge_train_val(loaded)
    # A fixed number of epochs on all rows, nothing left to watch: ensemble members train on every row too
    # (on folds each would leave one out for an out-of-fold score that chooses nothing here).
    config, _ = TrainConfig(epochs=epochs, batch_size=batch_size, early_stopping=False, restore_best=False,
                            ensemble_folds=False, seed=seed, runs_dir=str(runs_dir),
                            run_name=f"{study.study_name}-trial{chosen.number}").sized(
                                len(merged.x_train), budget_for(spec.ensemble, spec.ensemble_layout))
    epochs = int(config.epochs or 1)
    result = train(spec, merged, config, listener=listener, stop_event=stop_event, data_source=data_source)
    run = RunDir(result.run_dir)
    run.write_json(RunDir.SEARCH, {
        "study": study.study_name, "storage": safe_url(storage), "trial": chosen.number,
        "values": list(chosen.values or []), "metric": record.get("metric"), "params": chosen.params,
        "retrained_on": "train+validation", "epochs": epochs})
    bundle = make_bundle(run.path, run.file(RunDir.BUNDLE))
    return PromoteResult(trial=chosen.number, run_dir=Path(result.run_dir), bundle=bundle,
                         test_metrics=result.test_metrics, spec=spec, epochs=epochs)
