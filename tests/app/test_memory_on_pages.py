"""The Design page and the sidebar say the memory verdict Train refuses on, against the same (cgroup-aware) memory."""

from __future__ import annotations

import pytest
from apptest_helpers import alerts_in
from streamlit.testing.v1 import AppTest

from designer_app.links import encode_spec
from rmlp import ModelSpec
from rmlp.design import memory


def test_a_design_too_big_for_the_free_memory_is_refused_on_the_design_page(app: AppTest,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 100 * 2**20)  # a container with 100 MiB free
    app.query_params["spec"] = encode_spec(ModelSpec())  # about 430 MiB at batch 32
    at = app.run()
    verdict = memory.memory_verdict(ModelSpec(), 32, available=100 * 2**20)
    assert verdict is not None and not verdict.fits
    errors = alerts_in(at.main)
    assert any(verdict.message() in text and verdict.fix() in text for text in errors), errors
    help_text = next(m.help for m in at.sidebar.metric if m.label == "Parameters")
    assert "but only 100 MiB is available" in help_text


def test_a_design_that_fits_gets_no_memory_alert(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 64 * 2**30)
    at = app.run()
    assert not [text for text in alerts_in(at.main) + alerts_in(at.main, "warning") if "of memory to train" in text]
