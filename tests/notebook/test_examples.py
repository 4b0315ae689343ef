"""The example notebooks run from top to bottom, headless, and show what they promise."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def test_there_are_example_notebooks_without_stored_outputs() -> None:
    import nbformat

    assert len(NOTEBOOKS) >= 3
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), path.name


def _outputs(nb: object) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]  # type: ignore[attr-defined]


def _mimes(nb: object) -> set[str]:
    return {mime for out in _outputs(nb) for mime in out.get("data", {})}


def _widget_models(nb: Any) -> list[dict[str, Any]]:
    """The widget models a run of the notebook saved in its metadata."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return list(state.get("state", {}).values())


def _check_bypass_charts(nb: Any) -> None:
    """Notebook 03: no stderr box, surfaces that fill their axes, a loss chart with a point every few epochs whose
    residual training curve falls without climbing back."""
    assert not [out.get("text", "") for out in _outputs(nb) if out.get("name") == "stderr"]
    figures = [out["data"]["application/vnd.plotly.v1+json"] for out in _outputs(nb)
               if "application/vnd.plotly.v1+json" in out.get("data", {})]
    surfaces = [f for f in figures if f["data"] and f["data"][0]["type"] == "heatmap"]
    assert len(surfaces) == 2
    for fig in surfaces:
        xs, ys = fig["data"][0]["x"], fig["data"][0]["y"]
        assert fig["layout"]["xaxis"]["range"] == pytest.approx([xs[0], xs[-1]])
        assert fig["layout"]["yaxis"]["range"] == pytest.approx([ys[0], ys[-1]])
    loss = next(f for f in figures if f["layout"].get("yaxis", {}).get("title", {}).get("text") == "loss")
    curves = {t["name"]: t["y"] for t in loss["data"]}
    assert all(len(y) >= 20 for y in curves.values()), {k: len(v) for k, v in curves.items()}
    residual = next(y for name, y in curves.items() if name.startswith("with bypass") and "training" in name)
    for i, value in enumerate(residual):  # no rise undoes a third of the progress made so far
        low = min(residual[:i + 1])
        assert value - low <= (residual[0] - low) / 3 + 1e-9, residual
    assert residual[-1] < 0.1 * residual[0]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_example_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders land in the test's own
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error
    errors = [out for out in _outputs(nb) if out.get("output_type") == "error"]
    assert not errors
    assert not any(out.get("name") == "stderr" and "Traceback" in out.get("text", "") for out in _outputs(nb))
    html = " ".join(str(out.get("data", {}).get("text/html", "")) for out in _outputs(nb))
    mimes = _mimes(nb)
    if path.stem.startswith(("01", "02")):
        assert "<svg" in html and 'class="node' in html  # the design's graph, laid out without `dot`
        assert "application/vnd.plotly.v1+json" in mimes  # live curves and the run's curves
        assert "application/vnd.jupyter.widget-view+json" in mimes  # progress bar and Stop button
        assert "<th>test</th>" in html  # the run's test metrics
        # the live curves live in an Output widget whose one output is replaced epoch after epoch
        outputs = [model["state"].get("outputs", []) for model in _widget_models(nb)
                   if model.get("model_name") == "OutputModel"]
        charts = [out for held in outputs for out in held if "application/vnd.plotly.v1+json" in out.get("data", {})]
        assert charts and all(len(held) <= 1 for held in outputs), "each live chart is redrawn in place"
    if path.stem.startswith("01"):
        assert "blocks[0].width" in html  # the designer's card
        assert "bypass_dropout" in html and "Set it to" in html  # the problems table
    if path.stem.startswith("03"):
        plots = [out for out in _outputs(nb) if "application/vnd.plotly.v1+json" in out.get("data", {})]
        assert len(plots) >= 4  # both decision surfaces, the loss chart and the gradient chart
        text = "".join(out.get("text", "") for out in _outputs(nb) if out.get("name") == "stdout")
        found = re.findall(r"(residual|plain)\s+validation accuracy ([\d.]+)%.*gradient spread after \d+ epochs "
                           r"([\d.]+)x", text)
        scores = {variant: (float(score), float(spread)) for variant, score, spread in found}
        # the lesson: the residual network ahead, with a narrower gradient spread
        assert scores["residual"][0] > scores["plain"][0] + 0.2, scores
        assert scores["residual"][1] < scores["plain"][1], scores
        _check_bypass_charts(nb)
    assert not list(ROOT.glob("runs/*digits_head*")), "example runs must not land in the checkout"
    assert os.environ.get("TMPDIR") == str(tmp_path)
