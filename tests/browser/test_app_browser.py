"""The designer in a real browser: design, see the graph and the size change, train, export."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRAPH = '[data-testid="stGraphVizChart"] svg'
SIDEBAR_PARAMS = '[data-testid="stSidebar"] [data-testid="stMetricValue"]'


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _go(page: Any, name: str) -> None:
    """Open a page through the sidebar navigation."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True).click()


def _edit_block_cell(page: Any, column: int, now: str, text: str) -> None:
    """Type ``text`` into the first row of the blocks table (column 0 is j, 1 is k, 2 is l), whose cell holds ``now``.

    The editor opens with the cell's value, so a click or arrow key that the canvas grid lost while it
    was still settling (which would edit the wrong column) is caught and tried again.
    """
    grid = page.locator('[data-testid="stDataFrame"]').first
    _expect()(grid).to_be_visible()
    editor = page.locator("#portal input, #portal textarea").first
    for attempt in range(6):
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 80, box["y"] + 52)  # first row, first column
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")  # open the cell editor (an overlay input in glide-data-grid's portal)
        try:
            editor.wait_for(timeout=15_000)
            if editor.input_value() == now:
                break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError; try again, then fail below
            pass
        page.keyboard.press("Escape")
        if attempt == 5:
            raise AssertionError(f"could not open the cell of column {column} holding {now}")
        page.wait_for_timeout(500)
    editor.fill(text)
    editor.press("Enter")


def test_design_train_and_export_in_the_browser(server: str, page: Any) -> None:
    expect = _expect()
    page.goto(server)
    expect(page.get_by_role("heading", name="Design a residual MLP")).to_be_visible()
    graph = page.locator(GRAPH).first
    expect(graph).to_contain_text("Dense 400")
    params = page.locator(SIDEBAR_PARAMS).first
    expect(params).to_have_text("1.82M")
    # hovering teaches: every node carries a tooltip
    assert "Entry layer of block 1" in graph.inner_html()
    screenshot(page, "01-design")

    # change a block: the graph and the parameter count follow
    _edit_block_cell(page, 1, "400", "360")
    expect(graph).to_contain_text("Dense 360")
    expect(params).not_to_have_text("1.82M")
    changed = params.inner_text()
    # the design survives a reload (it lives in the URL)
    page.reload()
    expect(page.locator(GRAPH).first).to_contain_text("Dense 360")
    expect(page.locator(SIDEBAR_PARAMS).first).to_have_text(changed)

    # an invalid block gets its message next to the table, with a fix
    _edit_block_cell(page, 2, "50", "200")
    expect(page.get_by_text("Block 1 shrinks below one unit")).to_be_visible()
    page.get_by_role("button", name=re.compile("Apply fix")).first.click()
    expect(page.get_by_text("Block 1 shrinks below one unit")).to_have_count(0)
    expect(page.locator(GRAPH).first).to_contain_text("Dense 360")  # the fix changed the step, not the width

    # data: the wine sample
    _go(page, "Data")
    expect(page.get_by_text("Preview")).to_be_visible()
    page.get_by_role("button", name="Use this data").click()
    expect(page.get_by_text("In use: wine.csv")).to_be_visible()
    screenshot(page, "02-data")

    # train two epochs; reloading in the middle does not stop it
    _go(page, "Train")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("2")
    epochs.press("Enter")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_enabled(timeout=20_000)
    page.reload()
    expect(page.get_by_text(re.compile(r"Finished after"))).to_be_visible(timeout=240_000)
    curves = page.locator(".js-plotly-plot").first
    expect(curves).to_be_visible()
    expect(curves).to_contain_text("validation")
    expect(page.get_by_text("test accuracy")).to_be_visible()
    screenshot(page, "03-train")

    # export: the code, and its download
    _go(page, "Export")
    expect(page.get_by_text("def build_model").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Python script (model.py)").click()
    script = Path(download.value.path()).read_text(encoding="utf-8")
    assert "import keras" in script and "360" in script
    expect(page.get_by_role("button", name="Trained model (.keras)")).to_be_visible()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Everything (.zip)").click()
    with zipfile.ZipFile(download.value.path()) as bundle:
        names = set(bundle.namelist())
    assert {"model.py", "spec.json", "model.keras", "history.csv", "README.md"} <= names, names
    screenshot(page, "04-export")

    _go(page, "Learn")
    expect(page.get_by_text("Counting the weights")).to_be_visible()
    expect(page.locator(GRAPH).first).to_be_visible()
    screenshot(page, "05-learn")

    _go(page, "Design")
    expect(page.locator(GRAPH).first).to_contain_text("Dense 360")
    page.get_by_role("tab", name="Around blocks").click()
    expect(page.get_by_text("Bypass dropout rate")).to_be_visible()
    expect(page.get_by_text("Final dropout rate")).to_be_visible()
    screenshot(page, "06-design-around-the-blocks")


def test_the_learn_experiment_runs_end_to_end_in_the_browser(server: str, page: Any) -> None:
    """A tiny experiment from a shared link: both decision surfaces and the gradient chart appear."""
    expect = _expect()
    tiny = "learn_samples=120&learn_epochs=10&learn_depth=3&learn_width=8&learn_snapshot_every=5"
    page.goto(f"{server}/learn?{tiny}")
    expect(page.get_by_role("heading", name="What the bypass does: an experiment")).to_be_visible()
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_text(re.compile(r"Finished after"))).to_be_visible(timeout=180_000)
    plots = page.locator(".js-plotly-plot")
    expect(plots.filter(has_text="with bypass (residual), epoch")).to_have_count(1)
    expect(plots.filter(has_text="without bypass (plain MLP), epoch")).to_have_count(1)
    expect(plots.filter(has_text="gradient norm")).to_have_count(1)
    assert "learn_depth=3" in page.url  # the experiment stays in the link
    screenshot(page, "07-learn-experiment")
