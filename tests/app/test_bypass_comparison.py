"""The Train page's "compare with and without the bypass": Stop at any moment, what was kept, reloads, stale results."""

from __future__ import annotations

import time

import pytest
from apptest_helpers import APP, open_page, open_popover, widget
from streamlit.testing.v1 import AppTest

from designer_app import comparison


def _with_preset(at: AppTest, preset: str) -> AppTest:
    at = open_popover(open_page(at, "design"), "presets_popover")
    at = at.button(key=f"preset:{preset}").click().run()
    return open_page(widget(open_page(at, "data"), "button", "Use this data").click().run(), "train")


def _shown(at: AppTest) -> str:
    texts = [e.value for kind in ("info", "warning", "error", "markdown", "caption") for e in getattr(at.main, kind)]
    texts += [p.proto.text for p in at.main.get("progress")]
    return "\n".join(str(t) for t in texts)


def _wait(at: AppTest, job: object, timeout: float = 240) -> AppTest:
    deadline = time.time() + timeout
    while (not job.finished or job.info["outcome"].get("busy")) and time.time() < deadline:  # type: ignore[attr-defined]
        job.wait(1.0)  # type: ignore[attr-defined]
        at.run()
    assert job.finished and not job.info["outcome"].get("busy"), "the comparison did not end in time"  # type: ignore[attr-defined]
    return at.run()


def test_stop_ends_a_deep_comparison_at_once_says_what_was_kept_and_a_reload_shows_it(
        app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import server

    monkeypatch.setattr(server, "browser_key", lambda: "one-browser")  # a browser's cookie, in the app
    at = _with_preset(app, "deep_14")
    at = widget(at, "button", "Compare with and without the bypass").click().run()
    job = at.session_state["rmlp.ablation"]
    assert "Comparing, run 1 of 2 (with the bypass)" in _shown(at)
    time.sleep(1.5)  # TensorFlow is starting or tracing the deep model's first step
    at = at.run()
    clicked = time.time()
    at = widget(at, "button", "Stop the comparison").click().run()
    assert job.finished and time.time() - clicked < 2.0
    shown = _shown(at)
    assert "Comparing" not in shown and not [b for b in at.button if b.label == "Stop the comparison"]
    assert "before the first epoch of the run with the bypass finished" in shown
    assert "nothing to compare" in shown
    # a reload (a new session of the same browser; the address carries no job) shows what happened
    assert "compare" not in at.query_params and job.id not in str(dict(at.query_params))
    reloaded = open_page(AppTest.from_file(str(APP), default_timeout=60), "train")
    assert reloaded.session_state["rmlp.ablation"] is job
    assert "before the first epoch of the run with the bypass finished" in _shown(reloaded)
    _wait(reloaded, job)  # the worker lets go in the background; nothing it sends changes what was said
    assert "before the first epoch of the run with the bypass finished" in _shown(reloaded.run())


def test_the_comparison_table_shows_metrics_only_and_is_marked_stale_once_the_design_changed(app: AppTest) -> None:
    at = _with_preset(app, "small_tabular")
    at = widget(at, "number_input", "Epochs").set_value(2).run()
    at = widget(at, "button", "Compare with and without the bypass").click().run()
    at = _wait(at, at.session_state["rmlp.ablation"])
    assert not at.exception
    assert "**With the bypass (as designed)**" in _shown(at)
    table = at.dataframe[0].value
    assert set(table["metric"]) >= {"Accuracy", "Loss"}
    assert not {"Split", "Confusion matrix", "Class names", "N"} & set(table["metric"])
    assert table[["residual", "plain", "difference"]].notna().all().all()
    # another design: the old comparison stays, marked out of date, never "as designed"
    at = open_popover(open_page(at, "design"), "presets_popover")
    at = open_page(at.button(key="preset:original_readme").click().run(), "train")
    shown = _shown(at)
    assert "(as designed)" not in shown and "Out of date" in shown


def test_metric_rows_keep_numbers_only_in_words() -> None:
    rows = comparison.metric_rows({"loss": 0.5, "accuracy": 0.9, "split": "test", "confusion_matrix": [[1]],
                                   "class_names": ["a"], "n": 27}, {"loss": 0.7, "accuracy": 0.8, "split": "test",
                                                                   "n": 27})
    assert [r["metric"] for r in rows] == ["Loss", "Accuracy"]
    assert abs(rows[0]["difference"] - -0.2) < 1e-9


def test_a_stop_after_some_epochs_keeps_the_run_with_the_bypass_and_says_so(app: AppTest) -> None:
    at = _with_preset(app, "small_tabular")
    at = widget(at, "number_input", "Epochs").set_value(300).run()
    at = widget(at, "button", "Compare with and without the bypass").click().run()
    job = at.session_state["rmlp.ablation"]
    deadline = time.time() + 120
    while not comparison.epochs_done(job.snapshot().events)["residual"] and time.time() < deadline:
        time.sleep(0.2)
    at = at.run()
    assert "Comparing, run 1 of 2 (with the bypass): epoch" in _shown(at)
    at = widget(at, "button", "Stop the comparison").click().run()
    assert job.finished
    shown = _shown(at)
    assert "of 300 epochs of the run with the bypass" in shown and "was not started" in shown
    at = _wait(at, job)
    shown = _shown(at)
    assert "its results are below" in shown and "**With the bypass (as designed)**" in shown
    assert "**Without the bypass (plain twin)**" not in shown and not at.dataframe  # nothing to compare
