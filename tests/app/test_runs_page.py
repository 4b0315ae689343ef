"""The Runs page: the run table, two runs side by side, open a design, delete with a confirmation, predict."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from apptest_helpers import APP, ROOT, charts, open_page, widget
from streamlit.testing.v1 import AppTest

from rmlp.runs.folder import RunDir

WINE = ROOT / "sample_data" / "wine.csv"
#: (run name, first block width, final dropout, epochs) of the runs trained once for this module.
RUNS = (("wide", 16, 0.0, 3), ("narrow", 8, 0.2, 2), ("long", 16, 0.0, 4))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tiny runs on the wine sample, really trained once (oldest first: wide, narrow, long)."""
    import datetime as dt

    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    runs = tmp_path_factory.mktemp("trained") / "runs"
    data = load_table(WINE, "target", seed=0)
    source = {"kind": "table", "path": str(WINE), "target": "target", "seed": 0}
    for i, (name, width, dropout, epochs) in enumerate(RUNS):
        spec = ModelSpec(name=f"wine {name}", blocks=[BlockSpec(layers=2, width=width, decrement=4)],
                         final_layers=[8], final_dropout=dropout)
        config = TrainConfig(epochs=epochs, batch_size=32, runs_dir=str(runs), batch_events_every=0.0,
                             run_name=name)
        result = train(spec, data, config, data_source=source)
        # the folders' stamps order the runs; make them a minute apart whatever the clock did
        stamp = (dt.datetime(2026, 1, 5, 9, 0) + dt.timedelta(minutes=i)).strftime("%Y%m%d-%H%M%S")
        state = json.loads((result.run_dir / "state.json").read_text())
        state["started_at"] = f"2026-01-05T09:0{i}:00"
        (result.run_dir / "state.json").write_text(json.dumps(state))
        result.run_dir.rename(runs / f"{stamp}-{name}")
    return runs


@pytest.fixture
def runs(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the trained runs for one test (it may delete some), used as the app's runs folder."""
    folder = tmp_path / "runs"
    shutil.copytree(trained, folder)
    monkeypatch.setenv("RMLP_RUNS_DIR", str(folder))
    monkeypatch.chdir(ROOT)
    yield folder


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=120)


def _table(at: AppTest) -> pd.DataFrame:
    return next(d for d in at.dataframe if (d.key or "").startswith("runs_table_")).value


def _select(at: AppTest, *names: str) -> AppTest:
    """Tick the rows of the named runs in the run table."""
    table = next(d for d in at.dataframe if (d.key or "").startswith("runs_table_"))
    rows = [i for i, run in enumerate(table.value["Run"]) if run in names]
    assert len(rows) == len(names), list(table.value["Run"])
    at.session_state[table.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def _frame(at: AppTest, first_column: str, nth: int = 0) -> pd.DataFrame:
    """The ``nth`` table on the page whose first column is ``first_column``."""
    found = [d.value for d in at.dataframe if list(d.value.columns[:1]) == [first_column]]
    assert len(found) > nth, f"no table starting with {first_column!r}: {[list(d.value.columns) for d in at.dataframe]}"
    return found[nth]


def _figures(at: AppTest) -> dict[str, list[str]]:
    """Chart title -> the names of its traces."""
    out = {}
    for chart in charts(at, "plotly_chart"):
        figure = json.loads(chart.proto.spec)
        out[figure["layout"]["title"]["text"]] = [t["name"] for t in figure["data"]]
    return out


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_the_table_lists_every_run_in_words_and_searches_them(runs: Path) -> None:
    at = open_page(_app(), "runs")
    assert not at.exception
    table = _table(at)
    assert list(table["Run"]) == ["long", "narrow", "wide"]  # newest first
    assert list(table["Status"]) == ["Finished"] * 3
    assert list(table["Epochs"]) == ["4 of 4", "2 of 2", "3 of 3"]
    assert table["Parameters"].iloc[1] < table["Parameters"].iloc[0]  # the narrow design is smaller
    assert pd.api.types.is_numeric_dtype(table["Best validation accuracy"])  # sorts as numbers
    assert list(table["Design"]) == ["wine long", "wine narrow", "wine wide"]
    assert "Data" not in table.columns and any("all trained on wine.csv" in c.value for c in at.caption)
    for column in table.columns:  # no code names shown to users
        assert "_" not in column and column[0].isupper(), column
    cells = " ".join(str(v) for v in table.astype(object).to_numpy().ravel())
    assert not re.search(r"\b(None|nan|NaT)\b", cells), cells
    at = widget(at, "text_input", "Search the runs").set_value("NARR").run()
    assert list(_table(at)["Run"]) == ["narrow"]
    at = widget(at, "text_input", "Search the runs").set_value("no such run").run()
    assert "No run matches “no such run”" in _texts(at)
    assert not at.exception


def test_two_selected_runs_show_both_curves_their_metrics_and_the_design_difference(runs: Path) -> None:
    at = _select(open_page(_app(), "runs"), "wide", "narrow")
    assert not at.exception
    figures = _figures(at)
    assert set(figures) == {"Loss (lower is better)", "Accuracy (higher is better)"}
    for traces in figures.values():  # both runs on every chart, validation and training
        assert traces == ["wide (validation)", "wide (training)", "narrow (validation)", "narrow (training)"]
    metrics = _frame(at, "Metric")
    assert list(metrics.columns) == ["Metric", "wide", "narrow"]  # oldest first
    by_name = metrics.set_index("Metric")
    assert list(by_name.loc["Epochs"]) == ["3 of 3", "2 of 2"]
    assert {"Best validation accuracy", "Test accuracy", "Test loss", "Parameters", "Status"} <= set(by_name.index)
    design = _frame(at, "Setting", 0).set_index("Field")
    assert list(design.loc["blocks[0].width", ["wide", "narrow"]]) == ["16", "8"]
    assert design.loc["blocks[0].width", "Setting"].endswith("of block 1")  # in words, next to the path
    assert list(design.loc["final_dropout", ["wide", "narrow"]]) == ["0.0", "0.2"]
    assert "blocks[0].layers" not in design.index  # the same in both
    settings = _frame(at, "Setting", 1).set_index("Field")
    assert list(settings.loc["epochs", ["wide", "narrow"]]) == ["3", "2"]
    assert settings.loc["epochs", "Setting"] == "Epochs"


def test_open_a_design_puts_it_in_the_session_and_goes_to_the_design_page(runs: Path) -> None:
    at = _select(open_page(_app(), "runs"), "narrow")
    before = at.session_state["rmlp.spec"]
    assert before["name"] != "wine narrow"
    at = widget(at, "button", "Open its design").click().run()
    assert not at.exception
    spec = at.session_state["rmlp.spec"]
    assert spec["name"] == "wine narrow" and spec["blocks"][0]["width"] == 8 and spec["final_dropout"] == 0.2
    assert [t.value for t in at.title] == ["Design a residual MLP"]
    assert any("Opened the design of the run narrow" in s.value for s in at.success)


def test_delete_asks_first_and_removes_the_run_only_when_confirmed(runs: Path) -> None:
    folder = next(runs.glob("*-wide"))
    at = _select(open_page(_app(), "runs"), "wide")
    at = widget(at, "button", "Delete…").click().run()
    assert any("Delete the run **wide**" in w.value for w in at.warning)
    assert folder.is_dir()
    at = widget(at, "button", "Cancel").click().run()
    assert not any("Delete the run" in w.value for w in at.warning) and folder.is_dir()
    at = widget(at, "button", "Delete…").click().run()
    at = widget(at, "button", "Yes, delete it").click().run()
    assert not at.exception
    assert not folder.exists()
    assert list(_table(at)["Run"]) == ["long", "narrow"]
    assert any("Deleted the run wide" in s.value for s in at.success)


def test_a_run_still_training_is_followed_live_and_cannot_be_deleted(runs: Path) -> None:
    folder = RunDir(next(runs.glob("*-long")))
    state = folder.read_json(RunDir.STATE)
    folder.write_json(RunDir.STATE, {**state, "status": "running", "epochs_done": 1, "pid": os.getpid(),
                                     "host": __import__("socket").gethostname()})
    at = _select(open_page(_app(), "runs"), "long")
    assert list(_table(at)["Status"])[0] == "Training"
    progress = [p for p in at.get("progress")]
    assert progress and "long** is training: epoch 1 of 4" in progress[0].proto.text
    assert widget(at, "button", "Delete…").disabled
    # the next look at the folder (the fragment's timer; AppTest reruns by hand) sees the new epoch
    folder.write_json(RunDir.STATE, {**state, "status": "running", "epochs_done": 3, "pid": os.getpid(),
                                     "host": __import__("socket").gethostname()})
    at = at.run()
    assert "epoch 3 of 4" in at.get("progress")[0].proto.text
    folder.write_json(RunDir.STATE, state)
    at = at.run()
    assert not at.get("progress") and list(_table(at)["Status"])[0] == "Finished"
    assert not widget(at, "button", "Delete…").disabled


def _predict_upload(at: AppTest, name: str, content: bytes) -> AppTest:
    uploader = next(u for u in at.get("file_uploader") if u.label == "Rows to predict")
    uploader.set_value((name, content, "text/csv"))
    return at.run()


def test_predict_on_the_runs_page_names_extra_columns_and_refuses_missing_ones(runs: Path) -> None:
    at = _select(open_page(_app(), "runs"), "long")
    rows = pd.read_csv(WINE).head(5)
    rows["note"] = ["=HYPERLINK(1)", "b", "c", "d", "e"]
    at = _predict_upload(at, "new wines.csv", rows.to_csv(index=False).encode())
    assert not at.exception
    predictions = _frame(at, "Row")
    assert list(predictions["Row"]) == [1, 2, 3, 4, 5]
    assert set(predictions["prediction"]) <= {"class_0", "class_1", "class_2"}
    assert {"p(class_0)", "p(class_1)", "p(class_2)"} <= set(predictions.columns)
    warnings = " ".join(w.value for w in at.warning)
    assert "'note'" in warnings and "target column 'target'" in warnings
    download = next(d for d in at.get("download_button") if d.label == "Download the predictions (.csv)")
    assert download.proto.label
    # a missing feature column is refused, said next to the upload
    at = _predict_upload(at, "short.csv", rows.drop(columns=["alcohol", "hue"]).to_csv(index=False).encode())
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "'alcohol'" in errors and "'hue'" in errors
    assert not re.search(r"[0-9a-f]{20}", errors)  # never the server's own file name
    assert not [d for d in at.dataframe if "Row" in d.value.columns]
    # other files a user may upload by mistake: each refused in words, never a traceback
    for name, content, said in (("empty.csv", b"", "empty"), ("header only.csv", b"alcohol,hue\n", "no data rows"),
                                ("binary.csv", bytes(range(256)) * 4, "")):
        at = _predict_upload(at, name, content)
        assert not at.exception, name
        assert at.error and said in " ".join(e.value for e in at.error).lower(), (name, [e.value for e in at.error])


def test_a_run_whose_design_file_is_damaged_says_so_instead_of_opening(runs: Path) -> None:
    (next(runs.glob("*-wide")) / "spec.json").write_text("{not json")
    at = _select(open_page(_app(), "runs"), "wide")
    before = at.session_state["rmlp.spec"]
    at = widget(at, "button", "Open its design").click().run()
    assert not at.exception
    assert any("cannot be opened" in e.value for e in at.error)
    assert at.session_state["rmlp.spec"] == before and [t.value for t in at.title] == ["Runs"]


def test_the_train_page_links_its_run_and_offers_predictions(runs: Path) -> None:
    from designer_app.train_session import RunInfo

    folder = next(runs.glob("*-narrow"))
    at = open_page(_app(), "train")
    at.session_state["rmlp.run"] = RunInfo(run_dir=str(folder), task="multiclass", class_names=[], history={},
                                           test_metrics={}, status="finished", spec_json="", data_name="wine.csv")
    at = at.run()
    assert not at.exception
    links = [link for link in at.get("page_link") if link.proto.label == "See this run on the Runs page"]
    assert links and links[0].proto.query_string.endswith(f"run={folder.name}")
    assert any(u.label == "Rows to predict" for u in at.get("file_uploader"))
    # the link opens the Runs page with that run ticked
    at.query_params["run"] = folder.name
    at = open_page(at, "runs")
    assert [s.value for s in at.subheader][0] == "Curves of narrow"


def test_an_empty_runs_folder_says_how_to_make_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "none yet"))
    monkeypatch.chdir(ROOT)
    at = open_page(_app(), "runs")
    assert not at.exception
    assert any("No runs yet" in i.value for i in at.info)
    (tmp_path / "a file").write_text("x")
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "a file"))
    at = open_page(_app(), "runs")
    assert not at.exception and any("is a file, not a folder" in e.value for e in at.error)


def test_export_offers_the_runs_bundle_with_its_trained_model(runs: Path) -> None:
    import io
    import zipfile

    from designer_app import runs_view

    at = _select(open_page(_app(), "runs"), "narrow")
    button = next(d for d in at.get("download_button") if d.label == "Export the bundle (.zip)")
    assert not button.proto.disabled and button.proto.deferred_file_id  # made when clicked
    names = zipfile.ZipFile(io.BytesIO(runs_view._bundle(next(runs.glob("*-narrow")))())).namelist()
    assert {"spec.json", "model.py", "predict.py", "model.keras", "history.csv"} <= set(names), names


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with one tiny run trained on the digits images (sample_data/digits.npz)."""
    from rmlp.data.images import load_images
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    runs = tmp_path_factory.mktemp("images") / "runs"
    spec = ModelSpec(name="digits tiny", blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
    train(spec, load_images(ROOT / "sample_data" / "digits.npz", seed=0),
          TrainConfig(epochs=1, batch_size=64, runs_dir=str(runs), batch_events_every=0.0, run_name="digits"),
          data_source={"kind": "images", "path": str(ROOT / "sample_data" / "digits.npz"), "seed": 0})
    return runs


def test_an_image_run_predicts_uploaded_images(image_runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import numpy as np

    monkeypatch.setenv("RMLP_RUNS_DIR", str(image_runs))
    monkeypatch.chdir(ROOT)
    at = _select(open_page(_app(), "runs"), "digits")
    uploader = next(u for u in at.get("file_uploader") if u.label == "Images to predict")
    buffer = io.BytesIO()
    np.savez(buffer, x=np.load(ROOT / "sample_data" / "digits.npz")["x"][:4])
    uploader.set_value(("four digits.npz", buffer.getvalue(), "application/octet-stream"))
    at = at.run()
    assert not at.exception
    predictions = _frame(at, "Row")
    assert len(predictions) == 4 and list(predictions["file"]) == ["x[0]", "x[1]", "x[2]", "x[3]"]
    assert set(predictions["prediction"].astype(str)) <= {str(i) for i in range(10)}
