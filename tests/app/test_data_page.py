"""The Data page: samples, CSV uploads, bad files with clear messages, and "use this data"."""

from __future__ import annotations

from apptest_helpers import ROOT, open_page, widget
from streamlit.testing.v1 import AppTest

from rmlp import ModelSpec

WINE = (ROOT / "sample_data" / "wine.csv").read_bytes()


def _spec(at: AppTest) -> ModelSpec:
    return ModelSpec.model_validate(at.session_state["rmlp.spec"])


def _upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at = widget(at, "button_group", "Where from").set_value("upload").run()
    at.get("file_uploader")[0].set_value((name, content, "text/csv"))
    return at.run()


def test_a_sample_is_previewed_and_used_for_the_design(app: AppTest) -> None:
    at = open_page(app, "data")
    assert not at.exception
    assert widget(at, "selectbox", "Target column").value == "target"
    assert any(m.label == "Task" and m.value == "multiclass" for m in at.metric)
    at = widget(at, "button", "Use this data").click().run()
    spec = _spec(at)
    assert spec.input_shape == [13] and spec.num_outputs == 3 and spec.task == "multiclass"
    assert any("Input shape set to [13]" in i.value for i in at.info)
    assert at.session_state["rmlp.data"].name == "wine.csv"
    assert any("In use" in s.value for s in at.success)


def test_a_csv_upload_is_accepted_and_the_task_can_be_overridden(app: AppTest) -> None:
    at = _upload(open_page(app, "data"), "my wine.csv", WINE)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe[0].value.shape[0] == 20  # the preview
    at = widget(at, "selectbox", "Target column").select("alcohol").run()
    assert any(m.label == "Task" and m.value == "regression" for m in at.metric)
    at = widget(at, "selectbox", "Task").select("regression").run()
    at = widget(at, "button", "Use this data").click().run()
    spec = _spec(at)
    assert spec.task == "regression" and spec.num_outputs == 1 and spec.input_shape[0] >= 13


def test_bad_files_get_a_clear_message(app: AppTest) -> None:
    at = _upload(open_page(app, "data"), "empty.csv", b"")
    assert any("empty" in e.value.lower() for e in at.error), [e.value for e in at.error]
    assert not at.exception
    at.get("file_uploader")[0].set_value(("one_class.csv", b"a,b\n1,x\n2,x\n3,x\n4,x\n", "text/csv"))
    at = at.run()
    at = widget(at, "selectbox", "Target column").select("b").run()
    assert at.error and not at.exception
    assert not [b for b in at.button if b.label == "Use this data"]
    at.get("file_uploader")[0].set_value(("junk.zip", b"PK\x03\x04 not really a zip", "application/zip"))
    at = at.run()
    assert at.error and not at.exception


def _param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def test_the_data_choice_survives_a_reload_and_a_link_cannot_name_other_files(app: AppTest) -> None:
    from designer_app.links import encode_json

    at = widget(open_page(app, "data"), "button", "Use this data").click().run()
    reloaded = AppTest.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=60)
    reloaded.query_params["spec"] = _param(at, "spec")
    reloaded.query_params["data"] = _param(at, "data")
    reloaded = open_page(reloaded, "data")
    assert reloaded.session_state["rmlp.data"].name == "wine.csv"
    assert _spec(reloaded).input_shape == [13]
    crafted = AppTest.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=60)
    crafted.query_params["data"] = encode_json({"o": "upload", "f": "../../etc/passwd", "t": "root"})
    crafted = crafted.run()
    assert "rmlp.data" not in crafted.session_state or crafted.session_state["rmlp.data"] is None
    assert any("could not be loaded again" in w.value for w in crafted.warning)


def test_a_new_session_can_start_on_a_sample_data_set(monkeypatch):
    """`make app` starts sessions on the wine sample, with the design fitted to its 13 columns."""
    monkeypatch.setenv("RMLP_START_SAMPLE", "wine.csv")
    at = AppTest.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    spec = at.session_state["rmlp.spec"]
    assert spec["input_shape"] == [13] and spec["num_outputs"] == 3
    assert at.session_state["rmlp.data"].name == "wine.csv"
    open_page(at, "data")
    assert not at.exception


def test_non_finite_numbers_are_refused_until_the_user_chooses_to_impute_them(app: AppTest) -> None:
    rows = "\n".join(f"{i % 7 + 0.5},{'inf' if i == 4 else i % 3},{i % 2}" for i in range(40))
    at = _upload(open_page(app, "data"), "with inf.csv", f"a,b,y\n{rows}\n".encode())
    at = widget(at, "selectbox", "Target column").select("y").run()
    refused = [e.value for e in at.error]
    assert any("'b': 1 (inf; row 5)" in e and "Non-finite numbers: impute" in e for e in refused), refused
    assert not [b for b in at.button if b.label == "Use this data"] and not at.exception
    at = widget(at, "selectbox", "Non-finite numbers").select("impute").run()
    assert not at.error, [e.value for e in at.error]
    assert any("treated as missing" in w.value for w in at.warning), [w.value for w in at.warning]
    at = widget(at, "button", "Use this data").click().run()
    loaded = at.session_state["rmlp.data"]
    assert loaded.non_finite == "impute" and loaded.source_record()["non_finite"] == "impute"


def test_the_chooser_starts_at_the_data_in_use_so_banner_and_preview_agree(app: AppTest, monkeypatch) -> None:
    """A session on diabetes.csv (a link, a reload, `make app`) previews diabetes.csv, not the first sample."""
    monkeypatch.setenv("RMLP_START_SAMPLE", "diabetes.csv")
    at = open_page(app, "data")
    assert any("In use: **diabetes.csv**" in s.value for s in at.success)
    assert widget(at, "selectbox", "Sample data set").value == "diabetes.csv"
    assert "progression" in at.dataframe[0].value.columns  # the preview shows diabetes.csv
    # another file chosen: the page says the preview is not the data in use
    at = widget(at, "selectbox", "Sample data set").select("wine.csv").run()
    assert any("not the data in use (**diabetes.csv**)" in i.value for i in at.info), [i.value for i in at.info]


def test_a_reloaded_session_on_an_upload_previews_that_upload(app: AppTest) -> None:
    at = _upload(open_page(app, "data"), "iris.csv", WINE)
    at = widget(at, "button", "Use this data").click().run()
    reloaded = AppTest.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=60)
    reloaded.query_params["spec"] = _param(at, "spec")
    reloaded.query_params["data"] = _param(at, "data")
    reloaded = open_page(reloaded, "data")
    assert any("In use: **iris.csv**" in s.value for s in reloaded.success)
    assert widget(reloaded, "button_group", "Where from").value == "upload"
    assert any(c.value == "Uploaded: iris.csv" for c in reloaded.caption), [c.value for c in reloaded.caption]
    assert not any("not the data in use" in i.value for i in reloaded.info)
