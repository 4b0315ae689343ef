"""Every page at 1366 px: no visible label, button, tab or table header cut off, no "None", "nan" or field paths."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import ROOT, app_command, free_port, screenshot, serving, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The pages by their link in the navigation, and the start of their title.
PAGES = {"Design": "Design", "Data": "Data", "Train": "Train", "Runs": "Runs", "Search": "Search",
         "Export": "Export", "Learn": "Learn"}

#: Visible text boxes whose text must fit: widget labels, buttons, tabs, metric labels, expander titles, headers.
_CUT_OFF = """() => {
  const sel = 'button, [role="tab"], [data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], ' +
              '[data-testid="stExpander"] summary, th, [data-testid="stCaptionContainer"], label';
  const cut = [];
  for (const el of document.querySelectorAll(sel)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest('[data-testid="stSidebarNav"]')) continue;
    for (const part of [el, ...el.querySelectorAll('p, span, div')]) {
      const text = (part.innerText || '').trim();
      if (text && part.clientWidth > 0 && part.scrollWidth > part.clientWidth + 1 &&
          getComputedStyle(part).overflowX !== 'auto' && getComputedStyle(part).overflowX !== 'scroll') {
        cut.push(text.slice(0, 60));
        break;
      }
    }
  }
  return [...new Set(cut)];
}"""

#: The page's visible text outside code blocks, charts and editable fields.
_TEXT = """() => {
  const skip = 'code, pre, svg, canvas, input, textarea, script, style, [data-testid="stCode"], .js-plotly-plot, ' +
               '[data-testid="stSidebarNav"], [data-testid="stIconMaterial"], [data-testid="stSkipLink"]';
  const walker = document.createTreeWalker(document.querySelector('[data-testid="stApp"]'), NodeFilter.SHOW_TEXT);
  const lines = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !node.textContent.trim()) continue;
    if (getComputedStyle(parent).fontFamily.includes('Material')) continue;  // an icon's ligature name
    const box = parent.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    lines.push(node.textContent.trim());
  }
  return lines.join('\\n');
}"""

_FILE = re.compile(r"\b[\w.-]+\.(csv|json|npz|zip|keras|py|db|dot|svg|png|txt|log)\b")
_BAD = [("None", re.compile(r"\bNone\b")), ("nan", re.compile(r"\bnan\b", re.I)),
        ("a field path", re.compile(r"\b[a-z]+\[\d*\]\.\w+|\b[a-z]+\.\d+\.[a-z_]+\b")),
        ("a snake_case name", re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"))]


#: Keras layer names (as ``model.summary()`` and the exported code print them), which the Learn page counts.
_LAYER = re.compile(r"\b(main|bypass|entry|between|final)_(dense|bn|dropout)\d*\b")


def _problems(text: str, allowed: set[str]) -> list[str]:
    text = _LAYER.sub(" ", _FILE.sub(" ", text))
    found = []
    for what, pattern in _BAD:
        for match in pattern.finditer(text):
            if match.group(0) in allowed:
                continue
            line = next(li for li in text.splitlines() if match.group(0) in li)
            found.append(f"{what}: {match.group(0)!r} in {line.strip()[:100]!r}")
    return found


@pytest.fixture(scope="module")
def wine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free port, starting on the wine sample (so every page has something to show)."""
    port = free_port()
    runs = tmp_path_factory.mktemp("runs")
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    env = dict(os.environ, RMLP_RUNS_DIR=str(runs), TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               RMLP_START_SAMPLE="wine.csv", RMLP_STUDIES_DIR=str(tmp_path_factory.mktemp("studies")))
    with serving(app_command([sys.executable, "-m", "rmlp.cli"], port), port, ROOT, env, log) as url:
        yield url


@pytest.fixture
def narrow_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def test_every_page_is_readable_at_1366_px(wine_server: str, narrow_page: Any) -> None:
    page = narrow_page
    page.goto(wine_server)
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    # the design's own name and the study's are the user's words, not field paths
    allowed = {"residual_mlp", "original_readme", "rmlp_search", "small_tabular", "deep_14", "cifar10_transfer"}
    report: dict[str, list[str]] = {}
    for name, title in PAGES.items():
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True).click()
        page.locator("h1").filter(has_text=re.compile(f"^{title}")).first.wait_for()
        page.wait_for_timeout(1500)
        settle(page)
        shot: Path = screenshot(page, f"readable-{name.lower()}")
        assert shot.is_file()
        cut = page.evaluate(_CUT_OFF)
        problems = [f"cut off: {t!r}" for t in cut] + _problems(page.evaluate(_TEXT), allowed)
        if problems:
            report[name] = problems
    assert not report, "\n".join(f"{page_name}: {p}" for page_name, ps in report.items() for p in ps)
