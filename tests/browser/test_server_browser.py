"""Two browsers on one password-protected server: a shared link hands over a design and a copy of the data,
nothing else, and two visitors who type the same study name get two studies."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import ROOT, app_command, free_port, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a shared secret for the class"
TABLE = "colour,size,weight,label\n" + "".join(
    f"{c},{s},{w},{'heavy' if w > 50 else 'light'}\n" for c, s, w in
    ((c, s, (s * 7 + len(c) * 13) % 100) for c in ("red", "green", "blue") for s in range(40)))


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """``rmlp app`` with a password, its own runs, studies and upload folders; yields (URL, studies, uploads)."""
    port = free_port()
    base = tmp_path_factory.mktemp("server")
    studies, uploads = base / "studies", base / "uploads"
    env = dict(os.environ, RMLP_RUNS_DIR=str(base / "runs"), RMLP_STUDIES_DIR=str(studies),
               RMLP_UPLOADS_DIR=str(uploads), RMLP_APP_PASSWORD=PASSWORD, TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    with serving(app_command([sys.executable, "-m", "rmlp.cli"], port), port, ROOT, env, base / "log.txt") as url:
        yield url, studies, uploads


@pytest.fixture
def two_browsers(browser: Any) -> Iterator[tuple[Any, Any]]:
    """Two separate browser contexts (own cookies and storage): two visitors."""
    contexts = [browser.new_context(viewport={"width": 1500, "height": 1000}) for _ in range(2)]
    pages = []
    for context in contexts:
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        pages.append(tab)
    yield pages[0], pages[1]
    for context in contexts:
        context.close()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any) -> None:
    expect = _expect()
    field = page.get_by_label("Password or token")
    expect(field).to_be_visible()
    expect(page.get_by_role("heading", name="Design a residual MLP")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # no page before the password
    field.fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_be_visible()
    expect(field).to_have_count(0)


def _go(page: Any, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True).click()


def test_links_carry_designs_and_copies_and_studies_stay_apart(guarded_server: tuple[str, Path, Path],
                                                                two_browsers: tuple[Any, Any], tmp_path: Path) -> None:
    from designer_app.links import decode_json

    expect = _expect()
    url, studies, uploads = guarded_server
    owner, visitor = two_browsers
    table = tmp_path / "my table.csv"
    table.write_text(TABLE)

    # the owner signs in; a reload in the same browser does not ask again
    owner.goto(url)
    _sign_in(owner)
    owner.reload()
    expect(owner.get_by_role("heading", name="Design a residual MLP")).to_be_visible()

    # the owner uploads a table and uses it
    _go(owner, "Data")
    owner.get_by_text("Upload").first.click()
    owner.locator('input[type="file"]').first.set_input_files(str(table))
    expect(owner.get_by_text("Preview")).to_be_visible()
    owner.get_by_role("button", name="Use this data").click()
    expect(owner.get_by_text("In use: my table.csv")).to_be_visible()
    expect(owner.get_by_text("In use: my table.csv")).to_be_visible()

    # the link: a design and a data set by content hash; no job id, no folder, no path
    owner.wait_for_function("() => location.search.includes('data=')")
    link = owner.url
    params = parse_qs(urlparse(link).query)
    assert set(params) == {"spec", "data"}, params
    data = decode_json(params["data"][0])
    assert data["o"] == "upload" and re.fullmatch(r"[0-9a-f]{20}\.csv", data["f"]) and "u" not in data
    assert str(uploads) not in str(data) and "/" not in str(data["f"])

    # the visitor opens it: the password first, then the design and their own copy of the data
    visitor.goto(link)
    _sign_in(visitor)
    _go(visitor, "Data")
    expect(visitor.get_by_text("In use: my table.csv")).to_be_visible()
    copies = sorted(p.parent.name for p in uploads.glob(f"*/{data['f']}"))
    assert len(copies) == 2, copies  # the owner's file and the visitor's copy, in two session folders

    # both type the same study name and look at it: two studies, in the server's studies folder
    shown = []
    for expected, page in enumerate((owner, visitor), start=1):
        _go(page, "Search")
        page.get_by_text("Storage (several machines, resuming)").click()
        name = page.get_by_role("textbox", name="Study name")
        name.fill("class-study")
        name.press("Enter")
        page.get_by_role("button", name="Show this study").click()
        for _ in range(60):  # the study file appears when the page has opened it (a busy machine is slow)
            if len(list(studies.glob("class-study*"))) >= expected:
                break
            page.wait_for_timeout(500)
        page.wait_for_timeout(1000)
        shown.append(sorted(p.name for p in studies.glob("class-study*")))
    # each look opened its own study file: the visitor's is not the owner's
    assert len(shown[0]) == 1 and len(shown[1]) == 2, shown
    assert all(re.fullmatch(r"class-study-[0-9a-f]{10}\.db", name) for name in shown[1])
    # a storage URL the operator did not allow is refused, and nothing is made there
    elsewhere = tmp_path / "elsewhere" / "x.db"
    storage = visitor.get_by_role("textbox", name="Storage URL")
    storage.fill(f"sqlite:///{elsewhere}")
    storage.press("Enter")
    visitor.get_by_role("button", name="Show this study").click()
    expect(visitor.get_by_text("This server keeps studies in its own studies folder")).to_be_visible()
    assert not elsewhere.parent.exists()
