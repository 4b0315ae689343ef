"""rmlp in a real JupyterLab: the designer widget, a change made in the browser, live training and Stop.

A JupyterLab server runs offline on a free port with its own config, data, runtime and settings
folders and a ``python3`` kernel spec for this interpreter; Debian's Chromium opens a notebook
written here, runs its cells through the lab's own menu and keyboard, and reads what a person sees.
Screenshots go to ``$RMLP_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import free_port
from jupyter_helpers import cell, cell_shot, jupyter_lab, menu, run_cell, shot, wait_kernel, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
#: How long a Stop (button or interrupt) may take to end a run: the running epoch, then saving.
STOP_WAIT_MS = 30_000
WIDTH_LABEL = "width"  # the blocks table names its columns by field: blocks[].width
LOAD = ("from rmlp.data import load_table\nfrom rmlp.data.samples import sample_dir\n"
        "data = load_table(sample_dir() / 'wine.csv', 'target', seed=0)\n")


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path
    shots: Path

    def open(self, page: Any, name: str) -> None:
        """Open notebook ``name`` alone (in a fresh workspace of its own) and wait until its kernel is idle."""
        page.goto(f"{self.url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={self.token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
        wait_kernel(page)
        page.wait_for_timeout(1500)  # the lab reports idle a moment before its kernel connection settles


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if importlib.util.find_spec("jupyterlab") is None or importlib.util.find_spec("ipywidgets") is None:
        pytest.skip("jupyterlab or ipywidgets is not installed (pip install -e '.[notebook]' jupyterlab)")
    home = tmp_path_factory.mktemp("jupyter")
    root = tmp_path_factory.mktemp("notebooks")
    shots = Path(os.environ.get("RMLP_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    token, port = secrets.token_hex(16), free_port()
    with jupyter_lab(port, token, root, home, home / "lab.log") as url:
        yield Lab(url, token, root, shots)


def _run_all(page: Any, first: Any) -> None:
    """Run > Run All Cells, once more if the first cell did not start (the kernel was not yet wired up)."""
    prompt = first.locator(".jp-InputPrompt").first
    for attempt in range(2):
        menu(page, "Run", "Run All Cells")
        try:
            _expect()(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=15_000)
            return
        except AssertionError:
            if attempt:
                raise


def _parameters(output: Any) -> Any:
    """The "Parameters" figure of the design card in a cell's output."""
    return output.locator(".rmlp-table tr").filter(has=output.page.locator("td", has_text=re.compile(
        r"^Parameters$"))).locator("td.num").first


def _expected_params() -> tuple[str, str]:
    """The card's Parameters text for the default design and for the same design with block 1 width 64."""
    from rmlp.design.summary import summarize
    from rmlp.spec.model import ModelSpec, parse_spec

    spec = ModelSpec()
    data = spec.to_dict()
    data["blocks"][0]["width"] = 64
    return f"{summarize(spec).total_params:,}", f"{summarize(parse_spec(data)).total_params:,}"


def test_designer_change_in_the_browser_and_live_training(lab: Lab, page: Any) -> None:
    expect = _expect()
    runs = lab.root / "runs"
    write_notebook(lab.root / "design.ipynb", [
        ("code", "import rmlp\nfrom rmlp.notebook import designer\nd = designer()\nd"),
        ("code", "d.spec.blocks[0].width"),
        ("code", LOAD + f"run = rmlp.train(d.spec, data, rmlp.TrainConfig(epochs=3, runs_dir={str(runs)!r}), "
                 "display=True)\nrun.status"),
    ])
    wide, narrow = _expected_params()
    assert wide != narrow
    lab.open(page, "design.ipynb")
    first, second, third = cell(page, 0), cell(page, 1), cell(page, 2)
    _run_all(page, first)

    # the designer: its tabs, the graph as SVG in the card, the default design's figures
    tabs = first.locator(".widget-tab .lm-TabBar-tabLabel")
    expect(tabs.get_by_text("Blocks", exact=True)).to_be_visible(timeout=120_000)
    expect(tabs.get_by_text("Optimizer", exact=True)).to_be_visible()
    expect(first.locator(".rmlp-card .rmlp-graph svg").first).to_be_visible()
    params = _parameters(first)
    expect(params).to_have_text(re.compile("^" + re.escape(wide)))
    expect(second.locator(".jp-OutputArea-output")).to_have_text("400", timeout=60_000)

    # live training: the bar reads done, the status says Finished, Plotly draws the curves
    out = third.locator(".jp-OutputArea")
    expect(out.locator(".widget-hprogress .widget-label")).to_have_text("done", timeout=240_000)
    expect(out.locator(".widget-html-content").filter(has_text="Finished")).to_be_visible(timeout=60_000)
    expect(out.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
    expect(out.locator(".jp-OutputArea-output").last).to_have_text("'finished'", timeout=60_000)
    assert any(runs.iterdir()), "the run folder was not made"
    wait_kernel(page)
    shot(page, lab.shots, "jupyterlab-1-run-all")

    # a change in the browser: block 1's width → 64 redraws the card; the kernel's d.spec follows
    tabs.get_by_text("Blocks", exact=True).click()
    width = first.locator(".widget-tab-contents").get_by_label(WIDTH_LABEL, exact=True).first
    expect(width).to_be_visible()
    expect(width).to_have_value("400")
    width.fill("64")
    width.press("Enter")
    width.press("Tab")
    expect(params).to_have_text(re.compile("^" + re.escape(narrow)), timeout=30_000)
    run_cell(page, 1)
    expect(second.locator(".jp-OutputArea-output")).to_have_text("64", timeout=60_000)
    wait_kernel(page)
    shot(page, lab.shots, "jupyterlab-2-width-64")
    cell_shot(page, lab.shots, "jupyterlab-2-designer-cell", 0)

    # the curves were redrawn in place through the display handle: one chart, the placeholder replaced
    expect(out.locator(".js-plotly-plot")).to_have_count(1)
    expect(out.get_by_text("The curves appear after the first epoch.")).to_have_count(0)


def _stopped_in_time(expect: Any, status: Any, clicked: float, what: str) -> str:
    expect(status).to_contain_text("Stopped", timeout=STOP_WAIT_MS)
    return f"{what}: stopped {time.monotonic() - clicked:.1f} s after the click"


def test_stop_button_interrupt_and_background_training(lab: Lab, page: Any) -> None:
    """Three ways to end a training early, each as a person does it, each keeping a clean stopped run.

    1. The Stop button of ``rmlp.train(..., display=True)`` while its cell runs (the click travels on
       a kernel subshell, JupyterLab's default).
    2. The lab's interrupt (■) on the same kind of cell.
    3. The Stop button of ``rmlp.notebook.start_training``, whose cell has already ended.
    What each took is written to ``stop-result.txt`` beside the screenshots.
    """
    expect = _expect()
    runs = lab.root / "runs-stop"
    config = ("config = rmlp.TrainConfig(epochs=500, early_stopping=False, runs_dir=" + repr(str(runs)) + ")\n")
    write_notebook(lab.root / "stop.ipynb", [
        ("code", "import rmlp\nfrom rmlp.notebook import designer, start_training\n" + LOAD + config +
         "run = rmlp.train(designer().spec, data, config, display=True)\n(run.status, run.epochs_run)"),
        ("code", "run = rmlp.train(designer().spec, data, config, display=True)\n(run.status, run.epochs_run)"),
        ("code", "job = start_training(designer().spec, data, config)\njob"),
        ("code", "run = job.result()\n(run.status, run.epochs_run)"),
    ])
    lab.open(page, "stop.ipynb")
    outs = [cell(page, i).locator(".jp-OutputArea") for i in range(4)]
    statuses = [out.locator(".widget-html-content").first for out in outs]
    under_way = re.compile(r"epoch ([3-9]|\d\d+)/500")
    finished_as_stopped = re.compile(r"^\('stopped', \d+\)$")
    how = []

    run_cell(page, 0)  # 1. the Stop button while the cell runs
    expect(statuses[0]).to_contain_text(under_way, timeout=180_000)
    shot(page, lab.shots, "jupyterlab-3-training")
    clicked = time.monotonic()
    outs[0].get_by_role("button", name="Stop").click()
    how.append(_stopped_in_time(expect, statuses[0], clicked, "Stop button of a running cell"))
    expect(outs[0].locator(".jp-OutputArea-output").last).to_have_text(finished_as_stopped, timeout=60_000)
    expect(outs[0].get_by_role("button", name="Stopped")).to_be_disabled()
    wait_kernel(page)

    run_cell(page, 1)  # 2. the lab's interrupt
    expect(statuses[1]).to_contain_text(under_way, timeout=180_000)
    clicked = time.monotonic()
    page.locator('[data-command="notebook:interrupt-kernel"]').first.click()
    how.append(_stopped_in_time(expect, statuses[1], clicked, "kernel interrupt"))
    expect(outs[1].locator(".jp-OutputArea-output").last).to_have_text(finished_as_stopped, timeout=60_000)
    wait_kernel(page)

    run_cell(page, 2)  # 3. a background job: its cell ends while the model trains
    expect(statuses[2]).to_contain_text(under_way, timeout=180_000)
    expect(cell(page, 2).locator(".jp-InputPrompt").first).to_have_text(re.compile(r"\[\d+\]"))
    expect(outs[2].get_by_role("button", name="Stop")).to_have_count(1)  # shown once, though the cell ends in `job`
    wait_kernel(page)  # idle while training
    shot(page, lab.shots, "jupyterlab-4-background")
    clicked = time.monotonic()
    outs[2].get_by_role("button", name="Stop").click()
    how.append(_stopped_in_time(expect, statuses[2], clicked, "Stop button of a background job"))
    run_cell(page, 3)
    expect(outs[3].locator(".jp-OutputArea-output").last).to_have_text(finished_as_stopped, timeout=60_000)
    wait_kernel(page)
    shot(page, lab.shots, "jupyterlab-5-stopped")

    print("\n".join(how))
    (lab.shots / "stop-result.txt").write_text("\n".join(how) + "\n")
    states = [json.loads(path.read_text()) for path in sorted(runs.glob("*/state.json"))]
    assert len(states) == 3 and all(st["status"] == "stopped" and 3 <= st["epochs_done"] < 500 for st in states)
