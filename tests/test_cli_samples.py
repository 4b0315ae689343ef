"""`rmlp train` for a couple of epochs on every sample data set, including a tandem run on the shipped base model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

pytestmark = pytest.mark.slow

SMALL = {"blocks": [{"layers": 2, "width": 32, "decrement": 8, "bypass": [8]}], "final_layers": [16]}
TANDEM = {
    "input_shape": [16, 16, 1], "grayscale_to_rgb": True,
    "base_model": {"source": "file", "path": str(SAMPLE / "digits_cnn.keras"), "cut_layer": "features"},
    "blocks": [{"layers": 2, "width": 32, "decrement": 8, "bypass": []}], "final_layers": [16],
}


def rmlp(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "rmlp.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


@pytest.mark.parametrize("data,target,spec,task", [
    ("breast_cancer.csv", "diagnosis", SMALL, "binary"),
    ("diabetes.csv", "progression", SMALL, "regression"),
    ("penguins_like.csv", "species", SMALL, "multiclass"),
    ("digits.csv", "digit", SMALL, "multiclass"),
    ("digits_images.zip", None, TANDEM, "multiclass"),
])
def test_train_two_epochs_on_each_sample(tmp_path, data, target, spec, task):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"name": Path(data).stem, **spec}))
    args = ["train", spec_file, "--data", SAMPLE / data, "--epochs", "2", "--runs-dir", tmp_path / "runs"]
    if target:
        args += ["--target", target]
    if spec is TANDEM:  # two full-rate epochs of 32 (the default warm-up and cosine decay need more epochs)
        args += ["--lr-schedule", "constant", "--batch-size", "32"]
    result = rmlp(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (run_dir,) = list((tmp_path / "runs").iterdir())
    trained = json.loads((run_dir / "spec.json").read_text())
    assert trained["task"] == task
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert ("rmse" in metrics) == (task == "regression")
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 3
    if spec is TANDEM:
        assert trained["base_model"]["cut_layer"] == "features"
        assert metrics["accuracy"] > 0.3  # the pre-trained features make even two epochs useful
