"""A fresh designer app per test (AppTest), with run folders in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import APP, ROOT
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The designer app, not yet run; run folders go to a temporary folder."""
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)  # .streamlit/config.toml is read from the working folder
    return AppTest.from_file(str(APP), default_timeout=60)
