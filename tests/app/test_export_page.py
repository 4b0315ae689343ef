"""The Export page: generated code shown with a copy button, and the downloads on offer."""

from __future__ import annotations

from apptest_helpers import open_page, widget
from streamlit.testing.v1 import AppTest


def _downloads(at: AppTest) -> dict[str, object]:
    return {d.label: d for d in at.get("download_button")}


def test_the_export_page_shows_the_code_and_offers_the_downloads(app: AppTest) -> None:
    at = open_page(app, "export")
    assert not at.exception
    script = at.code[0].value
    assert "import keras" in script and "def build_model" in script
    compile(script, "model.py", "exec")
    assert "rmlp" in at.code[1].value  # the snippet
    offered = _downloads(at)
    for label in ("Python script (.py)", "Spec (.json)", "Graph (.dot)", "Everything (.zip)"):
        assert label in offered, offered.keys()
    assert not offered["Python script (.py)"].disabled
    assert any("Train this design" in c.value for c in at.caption)


def test_with_a_table_in_use_the_script_can_include_training(app: AppTest) -> None:
    at = open_page(app, "data")
    at = widget(at, "button", "Use this data").click().run()
    at = open_page(at, "export")
    toggle = widget(at, "toggle", "Include loading the data and training")
    assert not toggle.disabled
    at = toggle.set_value(True).run()
    script = at.code[0].value
    assert "wine.csv" in script and ".fit(" in script


def test_an_invalid_design_gets_no_code_but_still_its_spec(app: AppTest) -> None:
    at = open_page(app, "design")
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {0: {"decrement": 500}}, "added_rows": [], "deleted_rows": []}
    at = open_page(at.run(), "export")
    assert any("no code is generated" in e.value for e in at.error)
    offered = _downloads(at)
    assert offered["Python script (.py)"].disabled and "Spec (.json)" in offered
