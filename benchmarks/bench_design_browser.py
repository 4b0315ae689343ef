"""Seconds from a change on the Design page to the redrawn figure, in a real Chromium (goal: ≤ 0.5 s idle).

Starts the app as ``rmlp app`` does (headless, its own Streamlit settings), opens the Design page
in Debian's Chromium through Playwright, then types a new batch size for the memory estimate
again and again and times each change until the "Training memory" figure shows the new value:
the whole round trip a user waits for (browser event, websocket, script rerun, redraw). Prints
every time, the median and the ratio of the median to the 0.5-s goal.

    python benchmarks/bench_design_browser.py [--changes 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, app_command, free_port, serving, settle  # noqa: E402

GOAL_S = 0.5
FIGURE = "[data-figure='Training memory'] div"


def measure(changes: int) -> list[float]:
    """Seconds of each change, after one warm-up change."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="rmlp-bench-browser-"))
    env = {**os.environ, "RMLP_RUNS_DIR": str(work / "runs"), "CUDA_VISIBLE_DEVICES": ""}
    command = app_command([sys.executable, "-m", "rmlp.cli"], port)
    with serving(command, port, ROOT, env, work / "server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator("[data-figure=Parameters]").first.wait_for()
        settle(page)
        batch = page.get_by_role("spinbutton").first
        seconds = []
        for i in range(changes + 1):
            before = page.locator(FIGURE).nth(1).inner_text()
            batch.fill(str(40 + 8 * i))
            start = time.perf_counter()
            batch.press("Enter")
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelectorAll(sel)[1]; return e && e.innerText !== old; }",
                arg=[FIGURE, before], timeout=30_000)
            if i:  # the first change warms the page up
                seconds.append(time.perf_counter() - start)
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=12)
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print(f"No Chromium at {CHROMIUM}: run `make system` (or set RMLP_CHROMIUM).")
        return
    seconds = measure(args.changes)
    median = statistics.median(seconds)
    print("change -> redraw (s):", " ".join(f"{s:.3f}" for s in seconds))
    print(f"median {median:.3f} s, max {max(seconds):.3f} s; median / goal ({GOAL_S} s) = {median / GOAL_S:.2f}")


if __name__ == "__main__":
    main()
