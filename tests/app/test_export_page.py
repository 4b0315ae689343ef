"""The Export page: generated code shown with a copy button, and the downloads on offer."""

from __future__ import annotations

import json
from pathlib import Path

from apptest_helpers import APP, open_page, widget
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
    for label in ("Python script (model.py)", "Spec (.json)", "Graph (.dot)", "Everything (.zip)"):
        assert label in offered, offered.keys()
    assert not offered["Python script (model.py)"].disabled
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
    assert offered["Python script (model.py)"].disabled and "Spec (.json)" in offered


# ---------------------------------------------------------------------- uploads and the training script
WINE = (APP.parents[1] / "sample_data" / "wine.csv").read_bytes()


def _upload_and_use(at: AppTest, name: str, content: bytes) -> AppTest:
    at = widget(open_page(at, "data"), "button_group", "Where from").set_value("upload").run()
    at.get("file_uploader")[0].set_value((name, content, "text/csv"))
    return widget(at.run(), "button", "Use this data").click().run()


def _new_session() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def _script_parts(code: str) -> dict:
    """The exported script's functions and constants, run without Keras."""
    import ast
    import contextlib

    import numpy as np
    import pandas as pd

    keep = [n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)
            or (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id.isupper())]
    namespace: dict = {"np": np, "pd": pd, "json": json, "Path": Path, "contextlib": contextlib}
    exec(compile(ast.Module(keep, []), "<script>", "exec"), namespace)
    return namespace


def test_an_upload_of_one_session_is_neither_listed_nor_used_by_another(app: AppTest) -> None:
    from designer_app import datasets
    from designer_app.links import encode_json

    first = _upload_and_use(app, "secret.csv", WINE)
    path = Path(first.session_state["rmlp.data"].path)
    own = first.session_state["rmlp.uploads"]
    assert path.is_file() and path.parent == datasets.upload_root() / own
    other = widget(open_page(_new_session(), "data"), "button_group", "Where from").set_value("upload").run()
    assert not any("Uploaded:" in c.value for c in other.caption)  # nothing of the first session is offered
    assert other.session_state["rmlp.uploads"] != own
    assert not any((datasets.upload_root() / other.session_state["rmlp.uploads"]).glob("*.csv"))
    # a link shared within the server finds the upload, as this session's own copy
    shared = _new_session()
    shared.query_params["data"] = first.query_params["data"]
    shared = open_page(shared, "data")
    copy = Path(shared.session_state["rmlp.data"].path)
    assert copy.parent.name == shared.session_state["rmlp.uploads"] and copy.read_bytes() == WINE
    assert any("In use: **secret.csv**" in s.value for s in shared.success)
    # the sessions end (Streamlit releases their session resources): their folders go after the grace
    # time, while a session started since (a reload, a shared link) keeps its copy
    from streamlit.runtime.caching import clear_session_resource_cache

    clear_session_resource_cache("test session id")  # every AppTest session has this id
    assert path.is_file() and not datasets.sweep_uploads()  # within the grace time: kept for a reload
    again = _new_session()
    again.query_params["data"] = first.query_params["data"]
    again = again.run()
    kept = Path(again.session_state["rmlp.data"].path)
    assert datasets.sweep_uploads(grace_s=0) and not path.parent.exists() and not copy.parent.exists()
    assert kept.read_bytes() == WINE  # the session that opened the link after that keeps its own copy
    # and a link can name no other path
    crafted = _new_session()
    crafted.query_params["data"] = encode_json({"o": "upload", "u": "../../../etc", "f": path.name, "t": "x"})
    crafted = crafted.run()
    assert "rmlp.data" not in crafted.session_state or crafted.session_state["rmlp.data"] is None
    assert any("could not be loaded again" in w.value for w in crafted.warning) and not crafted.exception


def test_the_training_script_of_an_upload_takes_the_data_file_and_splits_as_the_app(app: AppTest,
                                                                                    tmp_path: Path) -> None:
    from designer_app import datasets

    at = _upload_and_use(app, "my wine.csv", WINE)
    loaded = at.session_state["rmlp.data"]
    at = widget(open_page(at, "export"), "toggle", "Include loading the data and training").set_value(True).run()
    script = at.code[0].value
    compile(script, "model.py", "exec")
    assert str(datasets.upload_root()) not in script and Path(loaded.path).name not in script
    assert 'DATA_NAME = "my wine.csv"' in script and 'add_argument("data"' in script
    parts = _script_parts(script)
    assert (parts["VAL_SIZE"], parts["TEST_SIZE"], parts["SEED"]) == (0.15, 0.15, 0)
    local = tmp_path / "wine elsewhere.csv"
    local.write_bytes(WINE)
    x, y, rows, prep = parts["load_data"](str(local))
    for part, got in zip(("train", "val", "test"), rows, strict=True):
        assert got.tolist() == loaded.data.split_rows[part].tolist(), part
    assert (x[rows[2]] == loaded.data.x_test).all() and (y[rows[2]] == loaded.data.y_test).all()
