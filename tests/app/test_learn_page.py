"""The Learn page: the live with/without-bypass experiment, and one example block, drawn and counted."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apptest_helpers import APP, charts, container_of, dot_of, open_page, widget
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


# ---------------------------------------------------------------------- the live experiment
#: A tiny experiment: a few seconds of CPU.
TINY = {"learn_samples": "120", "learn_epochs": "10", "learn_depth": "3", "learn_width": "8",
        "learn_snapshot_every": "5"}


def _open_with(app: AppTest, params: dict[str, str]) -> AppTest:
    for name, value in params.items():
        app.query_params[name] = value
    return open_page(app, "learn")


def _figures(at: AppTest) -> dict[str, dict[str, Any]]:
    """Plotly figures of the page by the end of their element key (learn_surface_residual, learn_loss, ...)."""
    found = {}
    for chart in charts(at, "plotly_chart"):
        key = str(getattr(chart.proto, "id", "")).rsplit("-", 1)[-1]
        found[key] = json.loads(chart.proto.spec)
    return found


def _wait(at: AppTest, job: Any, timeout: float = 240) -> AppTest:
    """Rerun the page (as the polling fragment would) until the job has ended."""
    deadline = time.time() + timeout
    while not job.finished and time.time() < deadline:
        job.wait(1.0)
        at.run()
    assert job.finished, "the experiment did not end in time"
    return at.run()


def test_every_experiment_setting_is_a_control_and_lives_in_the_url(app: AppTest) -> None:
    from rmlp.learn.experiment import ExperimentConfig

    at = _open_with(app, {"learn_depth": "4", "learn_noise": "lots"})
    assert not at.exception
    labels = {w.label for kind in ("number_input", "toggle", "selectbox", "slider", "text_input")
              for w in getattr(at, kind)}
    for name in ExperimentConfig.model_fields:
        assert ExperimentConfig.meta(name).label in labels, name
    depth = ExperimentConfig.meta("depth").label
    assert widget(at, "number_input", depth).value == 4  # read from the link
    assert any("Noise" in w.value or "lots" in w.value for w in at.warning)  # a bad value is named, not a traceback
    at = widget(at, "number_input", depth).set_value(12).run()
    assert at.query_params["learn_depth"] in ("12", ["12"])  # written on change
    data = ExperimentConfig.meta("data").label
    at = widget(at, "selectbox", data).set_value("circles").run()
    assert at.query_params["learn_data"] in ("circles", ["circles"])
    at = widget(at, "button", "Reset").click().run()
    assert widget(at, "number_input", depth).value == ExperimentConfig().depth
    assert "learn_depth" not in at.query_params and "learn_data" not in at.query_params
    assert "Inside one block" in [h.value for h in at.header]  # the block explainer stays below


@pytest.mark.slow
def test_the_experiment_trains_both_twins_in_the_background_and_draws_them(app: AppTest) -> None:
    at = _open_with(app, {**TINY, "learn_epochs": "1500", "learn_snapshot_every": "100"})  # a few seconds
    at = widget(at, "button", "Start experiment").click().run()
    session = at.session_state["rmlp.learn"]
    job = session.job
    assert job is not None and not job.finished
    assert widget(at, "button", "Start experiment").disabled  # one experiment per session at a time
    at = open_page(at, "design")  # a page switch does not touch it
    at = open_page(at, "learn")
    assert at.session_state["rmlp.learn"].job is job and job.status in ("queued", "running", "done")
    at = _wait(at, job)
    assert job.status == "done", job.snapshot().error
    assert not at.exception
    figures = _figures(at)
    for variant in ("residual", "plain"):
        surface = figures[f"learn_surface_{variant}"]
        assert [t["type"] for t in surface["data"]] == ["heatmap", "scatter"]
        assert len(surface["data"][0]["z"]) > 10  # a grid over the plane
        assert len(surface["data"][1]["x"]) == len(job.snapshot().info["data"].x_train)
    loss = figures["learn_loss"]
    assert len(loss["data"]) == 4 and all(t["x"] for t in loss["data"])  # training and validation of both
    grads = figures["learn_gradients"]
    assert grads["layout"]["yaxis"]["type"] == "log"
    assert [len(t["y"]) for t in grads["data"]] == [3, 3]  # one point per block, per variant
    assert any("Finished" in s.value for s in at.success)
    assert not widget(at, "button", "Start experiment").disabled


@pytest.mark.slow
def test_stop_ends_the_experiment_and_keeps_what_it_drew(app: AppTest) -> None:
    at = _open_with(app, {**TINY, "learn_epochs": "600"})
    at = widget(at, "button", "Start experiment").click().run()
    job = at.session_state["rmlp.learn"].job
    deadline = time.time() + 120
    while not job.snapshot().events and time.time() < deadline:
        time.sleep(0.5)
    at = widget(at.run(), "button", "Stop").click().run()
    at = _wait(at, job, timeout=60)
    assert job.status == "stopped"
    assert "learn_surface_plain" in _figures(at)
    assert any("Stopped by you" in s.value for s in at.success)


@pytest.mark.slow
def test_the_depth_sweep_shows_progress_and_a_second_visit_is_instant(app: AppTest,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import experiment_job

    monkeypatch.setattr(experiment_job, "SWEEP_DEPTHS", (1, 3))
    at = _open_with(app, {**TINY, "learn_epochs": "5"})
    at = widget(at, "button", "Run the depth sweep").click().run()
    sweep = at.session_state["rmlp.learn"].sweep
    assert sweep is not None
    at = _wait(at, sweep)
    assert sweep.status == "done", sweep.snapshot().error
    chart = _figures(at)["learn_sweep_chart"]
    assert [t["x"] for t in chart["data"]] == [[1, 3], [1, 3]]
    # the sweep just run is not passed off as one kept from earlier
    assert any("Sweep finished" in s.value for s in at.success)
    assert not [c.value for c in at.caption if "From a sweep" in c.value]
    # a new session with the same settings: the chart is there at once, with no job, and says where it is from
    again = AppTest.from_file(str(APP), default_timeout=60)
    at2 = _open_with(again, {**TINY, "learn_epochs": "5"})
    assert at2.session_state["rmlp.learn"].sweep is None
    assert "learn_sweep_chart" in _figures(at2)
    assert any("From a sweep with these settings run less than a minute ago" in c.value for c in at2.caption)
    # other settings: the sweep on show is marked as theirs, not these
    at = widget(at, "number_input", "Units per layer").set_value(6).run()
    marks = [w.value for w in at.warning if "This sweep is from other settings" in w.value]
    assert marks and "units per layer 8 → 6" in marks[0]


@pytest.mark.slow
def test_charts_of_other_settings_carry_a_stale_marker(app: AppTest) -> None:
    at = _open_with(app, TINY)
    at = widget(at, "button", "Start experiment").click().run()
    job = at.session_state["rmlp.learn"].job
    at = _wait(at, job)
    assert not [w.value for w in at.warning if "other settings" in w.value]  # they match the controls
    at = widget(at, "number_input", "Blocks (depth)").set_value(4).run()
    marks = [w.value for w in at.warning if "These charts are from other settings" in w.value]
    assert marks and "blocks (depth) 3 → 4" in marks[0] and "Start experiment" in marks[0]
    assert "learn_surface_residual" in _figures(at)  # still shown, marked
    at = widget(at, "number_input", "Blocks (depth)").set_value(3).run()
    assert not [w.value for w in at.warning if "other settings" in w.value]


def test_the_buttons_sit_in_rows_that_wrap_instead_of_narrow_columns(app: AppTest) -> None:
    """Each button is as wide as its label (no "Start experi…"): a wrapping row, not a fixed share of the page."""
    at = open_page(app, "learn")
    for key in ("learn_stop", "learn_reset", "learn_sweep", "learn_sweep_cancel"):
        row = container_of(at, lambda c, key=key: getattr(c, "key", None) == key).proto
        assert row.flex_container.direction == row.flex_container.HORIZONTAL and row.flex_container.wrap, key
    start = container_of(at, lambda c: getattr(c, "label", None) == "Start experiment").proto
    assert start.flex_container.wrap


def test_the_setup_of_the_experiment_is_explained(app: AppTest) -> None:
    at = open_page(app, "learn")
    text = " ".join(m.value for m in at.markdown)
    assert "starts quiet" in text and "full batch" in text and "forks *after* each block's entry layer" in text


# ---------------------------------------------------------------------- the Train page's comparison
@pytest.mark.slow
def test_the_train_page_compares_the_design_with_and_without_its_bypass(app: AppTest) -> None:
    from apptest_helpers import open_popover

    pytest.importorskip("rmlp.learn.ablate")  # the library half of issue 11 (written alongside)
    at = open_popover(open_page(app, "design"), "presets_popover")
    at = at.button(key="preset:small_tabular").click().run()
    at = widget(open_page(at, "data"), "button", "Use this data").click().run()
    at = open_page(at, "train")
    at = widget(at, "number_input", "Epochs").set_value(1).run()
    at = widget(at, "button", "Compare with and without the bypass").click().run()
    job = at.session_state["rmlp.ablation"]
    assert widget(at, "button", "Compare with and without the bypass").disabled or job.finished  # one at a time
    at = _wait(at, job)
    assert job.status == "done", job.snapshot().error
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert "**With the bypass (as designed)**" in shown and "**Without the bypass (plain twin)**" in shown
    labels = [m.label for m in at.main.metric]
    assert len(labels) >= 2 and len(labels) % 2 == 0  # the same metrics on both sides
    table = at.dataframe[0].value
    assert {"metric", "residual", "plain", "difference"} <= set(table.columns)
