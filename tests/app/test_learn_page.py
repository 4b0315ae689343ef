"""The Learn page: one example block, drawn and counted, never touching the user's design."""

from __future__ import annotations

from apptest_helpers import dot_of, open_page, widget
from streamlit.testing.v1 import AppTest

from rmlp import ModelSpec


def test_the_learn_page_draws_and_counts_an_example_block(app: AppTest) -> None:
    at = open_page(app, "learn")
    assert not at.exception
    assert "Dense 32" in dot_of(at)
    assert any("(16 inputs + 1 bias) × 32" in m.value for m in at.markdown)
    at = widget(at, "slider", "First width k").set_value(48).run()
    assert "Dense 48" in dot_of(at)
    at = widget(at, "slider", "Decrement l").set_value(64).run()
    assert any("at least 1" in e.value for e in at.error)
    assert ModelSpec.model_validate(at.session_state["rmlp.spec"]) == ModelSpec()  # the design is untouched
