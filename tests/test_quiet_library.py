"""Used as a library, rmlp keeps TensorFlow's start-up lines and retracing notes out of the user's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_TRAIN_AND_PREDICT = """
import rmlp
data = rmlp.load_data({wine!r}, target="target")
result = rmlp.train(rmlp.ModelSpec(), data, rmlp.TrainConfig(epochs=2, runs_dir={runs!r}))
for rows in range(1, 9):
    result.model.predict(data.x_test[:rows], verbose=0)
import tensorflow as tf

@tf.function
def double(x):
    return x * 2

for n in range(1, 9):  # a new shape each call: TensorFlow's retracing note after the fifth
    double(tf.zeros([n]))
print("done")
"""


@pytest.mark.slow
def test_train_and_predict_print_no_tensorflow_start_up_lines_or_retracing_notes(tmp_path: Path) -> None:
    script = _TRAIN_AND_PREDICT.format(wine=str(ROOT / "sample_data" / "wine.csv"), runs=str(tmp_path / "runs"))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("done")
    for line in ("oneDNN", "absl::InitializeLog", "cpu_feature_guard", "retracing"):
        assert line not in out.stderr and line not in out.stdout, out.stderr


def test_the_library_leaves_the_log_level_to_the_user() -> None:
    script = "import os, rmlp; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "None", out.stderr
