"""Shared fixtures and settings for the test suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# The app's upload folders of this test run live apart from those of any app server running on this
# machine (a test that sweeps uploads never touches a real server's), and go when the run ends.
_UPLOADS = tempfile.mkdtemp(prefix="rmlp-test-uploads-")
os.environ["RMLP_UPLOADS_DIR"] = _UPLOADS
atexit.register(shutil.rmtree, _UPLOADS, True)
# No server settings, password or storage allowance of the shell leak into the tests.
for _name in ("RMLP_APP_SETTINGS", "RMLP_APP_PASSWORD", "RMLP_APP_ALLOW_STORAGE"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def sample_data() -> Path:
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run folders of really trained tiny runs on wine.csv, in one runs folder: two finished ones that
    differ in design and seed ('alpha', 'beta'), one stopped after its first epoch and one that failed
    after training (its evaluation raised)."""
    import threading

    import rmlp.runs.train as train_module
    from rmlp.data import load_table
    from rmlp.data.fit import spec_for_data
    from rmlp.runs.config import TrainConfig
    from rmlp.spec.model import BlockSpec, ModelSpec

    runs_dir = tmp_path_factory.mktemp("history") / "runs"
    data = load_table(SAMPLE_DATA / "wine.csv", "target", seed=0)
    base = spec_for_data(ModelSpec(name="tiny", blocks=[BlockSpec(layers=2, width=16, decrement=4)],
                                   final_layers=[8], final_dropout=0.1), data, size=False)[0]
    source = {"kind": "table", "path": str(SAMPLE_DATA / "wine.csv"), "target": "target", "seed": 0}

    def config(name: str, **more: object) -> TrainConfig:
        return TrainConfig(epochs=3, batch_size=32, runs_dir=str(runs_dir), run_name=name, batch_events_every=60.0,
                           **more)

    out = {"alpha": train_module.train(base, data, config("alpha"), data_source=source).run_dir}
    beta = base.copy_with(blocks=[BlockSpec(layers=2, width=8, decrement=4)], final_dropout=0.3)
    out["beta"] = train_module.train(beta, data, config("beta", seed=1, patience=5), data_source=source).run_dir
    stop = threading.Event()

    def stop_after_first_epoch(event: object) -> None:
        if getattr(event, "kind", "") == "epoch":
            stop.set()

    # one step per graph call, so the stop comes in the second epoch's first step and cuts it short
    out["stopped"] = train_module.train(base, data, config("stopped", steps_per_execution=1),
                                        listener=stop_after_first_epoch, stop_event=stop,
                                        data_source=source).run_dir

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("evaluation failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module, "finish_run", broken)
        with pytest.raises(RuntimeError):
            train_module.train(base, data, config("failed"), data_source=source)
    out["failed"] = next(p for p in runs_dir.iterdir() if p.name.endswith("-failed"))
    return out
