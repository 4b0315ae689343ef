"""In-app training next to the page's reruns: light reruns, Stop within 2 s, an honest time left."""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apptest_helpers import open_page, widget
from streamlit.testing.v1 import AppTest

from designer_app import jobs

#: The bound the issue sets on Stop, at any moment.
STOP_WITHIN_S = 2.0


def _ready(at: AppTest, epochs: int, early_stopping: bool = True) -> AppTest:
    """The Train page with the small tabular preset on the wine sample and ``epochs`` set."""
    at = open_page(at, "design")
    at.session_state["presets_popover"] = True
    at = at.run().button(key="preset:small_tabular").click().run()
    at = widget(open_page(at, "data"), "button", "Use this data").click().run()
    at = widget(open_page(at, "train"), "number_input", "Epochs").set_value(epochs).run()
    if not early_stopping:
        at = widget(at, "toggle", "Early stopping").set_value(False).run()
    return at


def _wait_idle(timeout: float = 120) -> None:
    """Until no training thread holds the process-wide lock (an abandoned one lets go at its next check)."""
    deadline = time.time() + timeout
    while jobs.training_busy() and time.time() < deadline:
        time.sleep(0.2)
    assert not jobs.training_busy(), "the training thread did not let go"


def _states(runs: Path) -> list[str]:
    return [json.loads(p.read_text())["status"] for p in runs.glob("*/state.json")]


# ---------------------------------------------------------------------- the job, without TensorFlow
def test_a_job_stopped_before_it_began_ends_at_once_and_drops_what_follows() -> None:
    release = threading.Event()

    def slow_start(listener: jobs.Listener, stop: threading.Event) -> str:
        release.wait(10)  # an import that cannot be interrupted
        listener("late")
        return "result"

    job = jobs.Job(slow_start, exclusive=False, begun=lambda event: event == "batch").start()
    job.stop()
    assert job.wait(0.5) and job.status == "stopped"
    snap = job.snapshot()
    assert snap.ended_before_start and snap.stop_requested
    release.set()
    job._thread.join(5)  # noqa: SLF001 - the thread itself has gone on to its end
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.result is None and snap.events == ()


def test_a_begun_job_waits_for_its_target_to_stop() -> None:
    begun = threading.Event()

    def steps(listener: jobs.Listener, stop: threading.Event) -> int:
        done = 0
        while not stop.is_set():
            listener("batch")
            begun.set()
            done += 1
            time.sleep(0.01)
        return done

    job = jobs.Job(steps, exclusive=False, begun=lambda event: event == "batch").start()
    assert begun.wait(5)
    job.stop()
    assert job.wait(5)
    snap = job.snapshot()
    assert snap.status == "stopped" and not snap.ended_before_start and snap.result >= 1


# ---------------------------------------------------------------------- reruns beside training
def test_a_rerun_neither_collects_the_heap_nor_clears_keras(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's after-run full collection and Keras clear_session stalled the training thread."""
    import keras
    from streamlit import config

    calls = []
    original = keras.backend.clear_session
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1) or original(*a, **k))
    full = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            full.append(1)

    at = open_page(app, "train")
    gc.callbacks.append(count)
    try:
        for _ in range(3):
            at.run()
    finally:
        gc.callbacks.remove(count)
    assert not at.exception
    assert config.get_option("runner.postScriptGC") is False
    assert calls == [], "a script run cleared the Keras session"
    assert len(full) < 3, "every script run collected the whole heap"


# ---------------------------------------------------------------------- Stop within 2 s
@pytest.mark.slow
def test_stop_while_starting_ends_the_job_at_once_and_keeps_nothing(app: AppTest, tmp_path: Path) -> None:
    _wait_idle()
    at = _ready(app, epochs=5)
    at = widget(at, "button", "Start training").click().run()
    job = at.session_state["rmlp.job"]
    assert not job.snapshot().events, "the job had already trained a batch: not 'Starting…' any more"
    pressed = time.perf_counter()
    at = widget(at, "button", "Stop").click().run()
    assert job.wait(max(0.0, STOP_WITHIN_S - (time.perf_counter() - pressed))), "Stop took more than 2 s"
    assert job.status == "stopped" and job.snapshot().ended_before_start
    at = at.run()
    assert any("Stopped before training began" in i.value for i in at.info)
    assert not any("Stopped after" in s.value for s in at.success)
    assert not widget(at, "button", "Start training").disabled
    _wait_idle()
    assert set(_states(tmp_path / "runs")) <= {"stopped"}, "a run folder was left that is not marked stopped"


@pytest.mark.slow
def test_stop_mid_run_ends_the_job_within_2_s_and_keeps_the_epochs_done(app: AppTest, tmp_path: Path) -> None:
    _wait_idle()
    at = _ready(app, epochs=2000, early_stopping=False)
    at = widget(at, "button", "Start training").click().run()
    job = at.session_state["rmlp.job"]
    deadline = time.time() + 240
    while not any(getattr(e, "kind", "") == "epoch" for e in job.snapshot().events) and time.time() < deadline:
        time.sleep(0.2)
    assert job.snapshot().active, "the run ended before it could be stopped"
    pressed = time.perf_counter()
    at = widget(at, "button", "Stop").click().run()
    assert job.wait(max(0.0, STOP_WITHIN_S - (time.perf_counter() - pressed))), "Stop took more than 2 s"
    snap = job.snapshot()
    assert snap.status == "stopped" and not snap.ended_before_start
    at = at.run().run()
    assert any("Stopped by you after" in i.value and "of 2000 epochs" in i.value for i in at.info), \
        [i.value for i in at.info]
    assert _states(tmp_path / "runs") == ["stopped"]


# ---------------------------------------------------------------------- the time left
def test_the_time_left_leaves_out_the_start_up_and_one_slow_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit on a clock of its own: 0.1 s a batch, 3 s of tracing in the first batch, one slow epoch.

    The callback reads the same clock, so the truth is known exactly and no machine's load moves it.
    """
    import types

    import keras

    from rmlp.runs import callbacks
    from rmlp.runs.callbacks import EventCallback

    now = [0.0]
    monkeypatch.setattr(callbacks, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    slow_epoch = 2

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            now[0] += 0.1 + (3.0 if self._epoch == batch == 0 else 0.0)
            if self._epoch == slow_epoch - 1 and batch == 0:
                now[0] += 1.0  # the machine pauses once

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch

    events: list[Any] = []
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(160, 8)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    listener = EventCallback(lambda e: events.append((now[0], e)), batch_events_every=0.0)
    model.fit(x, y, validation_data=(x[:32], y[:32]), batch_size=32, epochs=6, verbose=0,
              callbacks=[Clock(), listener])
    end = now[0]
    first_epoch = [e for _, e in events if e.kind == "batch" and e.epoch == 1]
    assert len(first_epoch) == 5 and all(e.eta_s is None for e in first_epoch), "an estimate before one epoch"
    estimates = {e.epoch: (e.eta_s, end - when) for when, e in events if e.kind == "epoch"}
    assert estimates[1] == pytest.approx((5 * 0.5, 5 * 0.5 + 1.0)), "the tracing counted as an epoch's work"
    for epoch in range(slow_epoch, 6):  # the slow epoch is not taken for the pace
        assert estimates[epoch] == pytest.approx(((6 - epoch) * 0.5,) * 2), epoch
    assert estimates[6] == (0.0, 0.0)
