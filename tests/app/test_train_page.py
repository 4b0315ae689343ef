"""The Train page: a tiny real training job in the background, its live curve and its results."""

from __future__ import annotations

import json
import threading
import time

import pytest
from apptest_helpers import APP, charts, open_page, open_popover, widget
from streamlit.testing.v1 import AppTest

from designer_app import jobs


def _use_wine_with_a_tiny_design(at: AppTest) -> AppTest:
    at = open_popover(open_page(at, "design"), "presets_popover")
    at = at.button(key="preset:small_tabular").click().run()
    at = open_page(at, "data")
    return widget(at, "button", "Use this data").click().run()


def _wait_for_the_job(at: AppTest, timeout: float = 240) -> AppTest:
    """Rerun the page (as the polling fragment would) until the job has ended."""
    job = at.session_state["rmlp.job"]
    deadline = time.time() + timeout
    while not job.finished and time.time() < deadline:
        job.wait(1.0)
        at.run()
    assert job.finished, "training did not end in time"
    return at.run()


def _curve(at: AppTest, key_part: str = "") -> dict[str, list[float]]:
    """name -> y values of the traces of the first Plotly chart (training curves)."""
    found = charts(at, "plotly_chart")
    assert found, "no chart on the page"
    figure = json.loads(found[0].proto.spec)
    return {f"{t.get('name')}@{t.get('xaxis', 'x')}": t.get("y", []) for t in figure["data"]}


def test_every_training_setting_has_its_control_from_its_declaration(app: AppTest) -> None:
    """The Train page draws TrainConfig and SplitConfig field by field: a new setting needs no page code."""
    from designer_app.widgets import shown_settings
    from rmlp.data.split import SplitConfig
    from rmlp.runs.config import TrainConfig

    at = open_page(_use_wine_with_a_tiny_design(app), "train")
    labels = {w.label for kind in ("number_input", "toggle", "selectbox", "slider", "text_input")
              for w in getattr(at, kind)}
    for model in (TrainConfig, SplitConfig):
        for group in ("", "advanced"):
            for name in shown_settings(model, group):
                assert model.meta(name).label in labels, name
    assert "Learning-rate schedule" in labels and "Runs folder" not in labels  # hidden: the app chooses it
    # a setting that has no effect is off: patience without early stopping, reduce-lr with a schedule
    at = widget(at, "toggle", "Early stopping").set_value(False).run()
    assert widget(at, "number_input", "Patience").disabled
    at = widget(at, "selectbox", "Learning-rate schedule").set_value("cosine").run()
    assert widget(at, "toggle", "Reduce learning rate on plateau").disabled
    # the bounds of a control are its field's
    epochs = widget(at, "number_input", "Epochs")
    assert (epochs.min, epochs.max) == (TrainConfig.meta("epochs").low, TrainConfig.meta("epochs").high)


@pytest.mark.slow
def test_training_runs_in_the_background_and_shows_its_curves(app: AppTest) -> None:
    at = _use_wine_with_a_tiny_design(app)
    at = open_page(at, "train")
    assert not at.exception
    at = widget(at, "number_input", "Epochs").set_value(2).run()
    at = widget(at, "toggle", "Train a plain-MLP baseline").set_value(True).run()
    at = widget(at, "button", "Start training").click().run()
    job = at.session_state["rmlp.job"]
    assert job.status in ("queued", "running", "done")
    assert "job" not in at.query_params  # the job is the session's own: no id in the address
    # switching pages does not touch the job
    at = open_page(at, "design")
    at = open_page(at, "train")
    at = _wait_for_the_job(at)
    assert job.status == "done", job.snapshot().error
    curves = _curve(at)
    assert len(curves["training@x"]) == 2 and len(curves["validation@x"]) == 2
    assert any(name.startswith("plain MLP") for name in curves), curves.keys()
    labels = [m.label for m in at.metric]
    assert "test accuracy" in labels
    assert any(m.delta and "plain MLP" in m.delta for m in at.metric)
    assert len(charts(at, "plotly_chart")) == 2  # curves + confusion matrix
    assert any("Finished" in s.value for s in at.success)
    assert not widget(at, "button", "Start training").disabled
    at = open_page(at, "export")
    offered = {d.label for d in at.get("download_button")}
    assert {"Trained model (.keras)", "History (.csv)"} <= offered, offered


@pytest.mark.slow
def test_two_sessions_never_mix_their_curves_and_a_reload_finds_the_job(app: AppTest,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import server

    browser = {"key": "browser-a"}  # the browser each session runs in (a browser's cookie, in the app)
    monkeypatch.setattr(server, "browser_key", lambda: browser["key"])
    first = open_page(_use_wine_with_a_tiny_design(app), "train")
    browser["key"] = "browser-b"
    second = open_page(_use_wine_with_a_tiny_design(AppTest.from_file(str(APP), default_timeout=60)), "train")
    first = widget(first, "number_input", "Epochs").set_value(2).run()
    second = widget(second, "number_input", "Epochs").set_value(3).run()
    browser["key"] = "browser-a"
    first = widget(first, "button", "Start training").click().run()
    browser["key"] = "browser-b"
    second = widget(second, "button", "Start training").click().run()
    a, b = first.session_state["rmlp.job"], second.session_state["rmlp.job"]
    assert a is not b
    first = _wait_for_the_job(first)
    second = _wait_for_the_job(second)
    assert len(_curve(first)["training@x"]) == 2
    assert len(_curve(second)["training@x"]) == 3
    # a reload is a new session of the same browser: it finds that browser's run again, and only that
    reloaded = open_page(AppTest.from_file(str(APP), default_timeout=60), "train")
    assert reloaded.session_state["rmlp.job"] is b
    assert len(_curve(reloaded)["training@x"]) == 3
    browser["key"] = "browser-c"  # another browser, given the same address, finds no job
    stranger = open_page(AppTest.from_file(str(APP), default_timeout=60), "train")
    assert "rmlp.job" not in stranger.session_state or stranger.session_state["rmlp.job"] is None


def test_a_failing_job_shows_its_message_and_the_page_stays_usable(app: AppTest) -> None:
    def failing(listener: jobs.Listener, stop: threading.Event) -> None:
        raise RuntimeError("out of memory while building the model")

    at = open_page(app, "train")
    job = jobs.Job(failing, exclusive=False).start()
    assert job.wait(10)
    at.session_state["rmlp.job"] = job
    at = at.run()
    assert any("Training failed: RuntimeError: out of memory" in e.value for e in at.error)
    assert not at.exception
    at = open_page(at, "design")
    assert not at.exception


def test_without_data_the_page_says_what_to_do(app: AppTest) -> None:
    at = open_page(app, "train")
    assert any("Choose a data set first" in i.value for i in at.info)
    assert widget(at, "button", "Start training").disabled


def test_a_design_too_big_for_the_memory_fails_with_the_estimate_and_the_way_out(app: AppTest) -> None:
    """The library's memory check reaches the page in plain words: no exception class name, the override named."""
    from rmlp import ModelSpec

    at = _use_wine_with_a_tiny_design(app)
    spec = ModelSpec.model_validate(at.session_state["rmlp.spec"])
    huge = spec.model_dump()
    huge["blocks"] = [{"layers": 20, "width": 8192, "decrement": 0}] * 48
    at.session_state["rmlp.spec"] = huge
    at.session_state["rmlp.spec_obj"] = ModelSpec.model_validate(huge)
    at = open_page(at.run(), "train")
    at = widget(at, "button", "Start training").click().run()
    at = _wait_for_the_job(at, timeout=60)
    failed = [e.value for e in at.error if e.value.startswith("Training failed")]
    assert failed and "of memory to train" in failed[0] and "Check the memory first" in failed[0], failed
    assert "TooBigForMemory" not in failed[0]


def test_results_name_their_design_and_data_and_are_marked_once_the_design_changed(app: AppTest) -> None:
    """A finished run's results say which design and data they belong to; after a change they are marked."""
    from designer_app.train_session import RunInfo
    from rmlp import ModelSpec

    at = open_page(_use_wine_with_a_tiny_design(app), "train")
    trained = ModelSpec.model_validate(at.session_state["rmlp.spec"])
    at.session_state["rmlp.run"] = RunInfo(
        run_dir="runs/x", task="multiclass", class_names=["a", "b", "c"],
        history={"epoch": [1, 2], "loss": [1.0, 0.8], "val_loss": [1.1, 0.9]},
        test_metrics={"accuracy": 0.9, "loss": 0.5}, status="done", spec_json=trained.to_json(indent=None),
        data_name="wine.csv")
    at = at.run()
    assert any("belong to the current design **small_tabular**" in c.value and "wine.csv" in c.value
               for c in at.caption), [c.value for c in at.caption]
    assert not any("earlier design" in w.value for w in at.warning)
    at = open_popover(open_page(at, "design"), "presets_popover")
    at = at.button(key="preset:deep_14").click().run()
    at = open_page(at, "train")
    marked = [w.value for w in at.main.warning if w.value.startswith("From an earlier design")]
    assert marked and "**small_tabular**" in marked[0] and "wine.csv" in marked[0], [w.value for w in at.warning]
