"""The exported training script reads what rmlp reads and says plainly when its settings cannot work."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rmlp.data import load_table, read_table
from rmlp.export import export_python
from rmlp.runs.config import TrainConfig
from rmlp.spec.model import BlockSpec, ModelSpec

#: A table as a European spreadsheet saves it: semicolons, decimal commas, and text cells that hold quoted
#: line breaks and separators (a "notes" column).
QUOTED = "id;note;value;label\n" + "".join(
    f'{i};"line one\nline two; with a separator";{i},5;{"a" if i % 2 else "b"}\n' for i in range(40))


def _script(path: Path, ensemble: int = 1) -> str:
    data = load_table(path, "label")
    spec = ModelSpec(name="tiny", blocks=[BlockSpec(layers=1, width=8, decrement=0)], final_layers=[4],
                     input_shape=data.input_shape, num_outputs=data.num_outputs, task=data.task, ensemble=ensemble)
    return export_python(spec, csv_path=str(path), target="label", training=TrainConfig(), include_training=True,
                         preprocessor=data.preprocessor.to_dict())


def _read_csv_of(code: str) -> object:
    tree = ast.parse(code)
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name == "read_csv")
            or (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id == "NA_VALUES")]
    namespace: dict = {"np": np, "pd": pd, "json": json, "Path": Path}
    exec(compile(ast.Module(keep, []), "<script>", "exec"), namespace)
    return namespace["read_csv"]


def test_the_script_reads_quoted_line_breaks_and_decimal_commas_as_rmlp_does(tmp_path: Path) -> None:
    table = tmp_path / "notes.csv"
    table.write_text(QUOTED, encoding="utf-8")
    read_csv = _read_csv_of(_script(table))
    frame = read_csv(str(table))  # type: ignore[operator]
    expected = read_table(table)
    assert list(frame.columns) == list(expected.columns) == ["id", "note", "value", "label"]
    assert len(frame) == len(expected) == 40
    assert frame["note"].iloc[0] == expected["note"].iloc[0] == "line one\nline two; with a separator"
    assert frame["value"].dtype.kind == "f" and expected["value"].dtype.kind == "f"
    assert np.allclose(frame["value"].to_numpy(), expected["value"].to_numpy())
    assert frame["value"].iloc[3] == 3.5


def test_ensemble_folds_with_one_member_is_a_plain_message(tmp_path: Path) -> None:
    table = tmp_path / "notes.csv"
    table.write_text(QUOTED, encoding="utf-8")
    script = tmp_path / "model.py"
    code = _script(table, ensemble=3)
    assert "ENSEMBLE = 3" in code and "ENSEMBLE_FOLDS = True" in code
    script.write_text(code.replace("ENSEMBLE = 3", "ENSEMBLE = 1", 1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script), str(table), "--epochs", "1", "--out", str(tmp_path / "out")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode != 0
    assert "ENSEMBLE_FOLDS = True needs ENSEMBLE = 2 or more" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "ZeroDivisionError" not in done.stderr
