"""The README's "In a notebook" snippet runs as written in a fresh kernel, without TensorFlow's start-up lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_snippet() -> str:
    """The Python block under "In any notebook" in the README's "In a notebook" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## In a notebook"):]
    found = re.search(r"In any notebook.*?```python\n(.*?)```", section, re.S)
    assert found, "no snippet in the README's notebook section"
    return found.group(1)


@pytest.mark.slow
def test_the_readme_notebook_snippet_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a new user's kernel: nothing set
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(readme_snippet())])
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error (a NameError, say)
    outputs = nb.cells[0].outputs
    assert not [o for o in outputs if o.get("output_type") == "error"]
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert not re.search(r"oneDNN|absl::InitializeLog|cpu_feature_guard|retracing|Traceback", stderr), stderr
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "<th>test</th>" in html or "accuracy" in html  # job.result(): the run's test metrics
