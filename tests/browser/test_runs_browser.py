"""The Runs page in a real browser: tick a trained run, upload rows, see and download its predictions."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import ROOT, app_command, free_port, screenshot, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WINE = ROOT / "sample_data" / "wine.csv"


@pytest.fixture(scope="module")
def runs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``rmlp app`` on a runs folder holding one tiny run trained on the wine sample; stopped at the end."""
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    runs = tmp_path_factory.mktemp("runs")
    spec = ModelSpec(name="wine tiny", blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
    train(spec, load_table(WINE, "target", seed=0), TrainConfig(epochs=2, batch_size=32, runs_dir=str(runs),
                                                                batch_events_every=0.0, run_name="tiny"),
          data_source={"kind": "table", "path": str(WINE), "target": "target", "seed": 0})
    port = free_port()
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    env = dict(os.environ, RMLP_RUNS_DIR=str(runs), TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    with serving(app_command([sys.executable, "-m", "rmlp.cli"], port), port, ROOT, env, log) as url:
        yield url


def test_predict_from_an_uploaded_csv_on_the_runs_page(runs_server: str, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    rows = list(csv.reader(WINE.open()))
    header, data = rows[0], rows[1:6]
    upload = tmp_path / "new wines.csv"
    with upload.open("w", newline="") as fh:  # five rows, no target, one extra column holding a formula
        writer = csv.writer(fh)
        writer.writerow([*header[:-1], "note"])
        writer.writerows([*row[:-1], "=1+1"] for row in data)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{runs_server}/runs")
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible(timeout=60_000)
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Tick one or more runs")).to_be_visible(timeout=30_000)
    box = grid.bounding_box()
    for _ in range(5):  # tick the first row (its checkbox at the left); the canvas may still be settling
        page.mouse.click(box["x"] + 18, box["y"] + 52)
        try:
            page.get_by_role("heading", name="Curves of tiny").wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: click again
            page.wait_for_timeout(500)
    expect(page.get_by_role("heading", name="Curves of tiny")).to_be_visible(timeout=30_000)
    page.get_by_text("Predict on new rows with this run").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    expect(page.get_by_text("Predictions for 5 rows")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Ignored 1 column the model does not use: 'note'")).to_be_visible(timeout=30_000)
    screenshot(page, "runs-predictions")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the predictions (.csv)").click()
    saved = tmp_path / "predictions.csv"
    caught.value.save_as(saved)
    out = list(csv.DictReader(saved.open()))
    assert len(out) == 5
    assert {r["prediction"] for r in out} <= {"class_0", "class_1", "class_2"}
    for r in out:
        total = sum(float(r[f"p(class_{i})"]) for i in range(3))
        assert abs(total - 1.0) < 1e-4
    # a file without the model's columns is refused, next to the upload, without a traceback
    bad = tmp_path / "wrong.csv"
    bad.write_text("a,b\n1,2\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    expect(page.get_by_text("The rows lack the feature column")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
