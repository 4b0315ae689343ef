"""Live training and search in a notebook: progress, status, Stop button, curves, trial table."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rmlp.notebook import live
from rmlp.runs.events import TrainEvent


class Handle:
    """Stands in for IPython's display handle: keeps what was drawn."""

    def __init__(self) -> None:
        self.drawn: list[Any] = []

    def update(self, obj: Any, raw: bool = False) -> None:
        self.drawn.append(obj)
        self.raw = raw


def epoch(n: int, of: int, loss: float) -> TrainEvent:
    return TrainEvent("epoch", epoch=n, epochs=of, logs={"loss": loss, "val_loss": loss + 0.1, "accuracy": 0.5},
                      elapsed_s=float(n), eta_s=float(of - n), progress=n / of)


def test_progress_status_and_curves_follow_the_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "REDRAW_EVERY_S", 0.0)
    heard: list[str] = []
    view = live.LiveTraining(then=lambda e: heard.append(e.kind))
    view._handle = Handle()
    view(TrainEvent("train_begin", epochs=4))
    for n, loss in enumerate((1.0, 0.7, 0.5), start=1):
        view(epoch(n, 4, loss))
    assert view.controls.progress.value == pytest.approx(0.75) and view.controls.progress.description == "75%"
    assert "epoch 3/4" in view.controls.status.value and "loss 0.5" in view.controls.status.value
    assert view.history()["loss"] == [1.0, 0.7, 0.5] and view.history()["val_loss"] == pytest.approx([1.1, 0.8, 0.6])
    bundle = view._handle.drawn[-1]  # a raw Plotly bundle, so the chart is replaced in place, not appended
    assert view._handle.raw and list(bundle) == ["application/vnd.plotly.v1+json"]
    traces = {(t.get("name"), tuple(t["y"])) for t in bundle["application/vnd.plotly.v1+json"]["data"]}
    assert ("training", (1.0, 0.7, 0.5)) in traces
    view(TrainEvent("train_end", epoch=3, epochs=4, elapsed_s=3.0))
    assert view.controls.button.disabled and view.controls.button.description == "Done"
    assert view.controls.status.value.startswith("Finished")
    assert heard == ["train_begin", "epoch", "epoch", "epoch", "train_end"]


def test_stop_button_sets_the_stop_event() -> None:
    stop = threading.Event()
    view = live.LiveTraining(stop)
    view.controls.button.click()
    assert stop.is_set() and view.controls.button.disabled
    view(TrainEvent("stopped", epoch=2, epochs=9, elapsed_s=1.0))
    assert view.controls.button.description == "Stopped" and "Stopped" in view.controls.status.value


def test_a_click_read_after_the_end_changes_nothing() -> None:
    stop = threading.Event()
    view = live.LiveTraining(stop)
    view(TrainEvent("train_end", epoch=3, epochs=3, elapsed_s=1.0))
    view.controls._stop()  # a click the busy kernel reads only once the cell has ended
    assert not stop.is_set() and view.controls.button.description == "Done"


def test_the_stop_button_answers_on_the_subshell_the_front_end_chose() -> None:
    from ipykernel.comm import Comm

    comm = Comm(target_name="jupyter.widget")  # no kernel here, so nothing is sent
    comm._reply_subshell_id = None  # what publishing from a cell on the main shell records
    assert comm._reply_subshell_for({}, "subshell-1") is None  # the click would wait for the busy main shell

    class Widget:
        pass

    widget = Widget()
    widget.comm = comm  # type: ignore[attr-defined]
    live.answer_on_any_subshell(widget)  # type: ignore[arg-type]
    assert comm._reply_subshell_for({}, "subshell-1") == "subshell-1"
    assert comm._reply_subshell_for({}, None) is None  # a front end without subshells: the main shell
    live.answer_on_any_subshell(live.widgets.Button())  # a comm without routes (no kernel): nothing to do


def test_widget_chart_replaces_its_one_output() -> None:
    chart = live.WidgetChart("<i>wait</i>")
    chart.update({"application/vnd.plotly.v1+json": {"data": [1]}})
    chart.update({"application/vnd.plotly.v1+json": {"data": [2]}})
    assert len(chart.output.outputs) == 1
    assert chart.output.outputs[0]["data"]["application/vnd.plotly.v1+json"] == {"data": [2]}


def test_outside_a_kernel_nothing_is_drawn() -> None:
    assert not live.in_notebook()  # pytest is no Jupyter kernel: display=True then trains as usual


def test_run_until_stopped_returns_or_raises_what_the_work_did() -> None:
    stop = threading.Event()
    assert live.run_until_stopped(lambda: 42, stop) == 42

    def broken() -> None:
        raise ValueError("bad table")

    with pytest.raises(ValueError, match="bad table"):
        live.run_until_stopped(broken, stop)


def test_search_display_draws_counts_table_and_best(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna

    from rmlp.search.study import study_progress

    monkeypatch.setattr(live, "REDRAW_EVERY_S", 0.0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    view = live.SearchDisplay(threading.Event())
    view._table, view._chart = Handle(), Handle()
    view(study_progress(study, None, 5, time.time() - 2))
    assert view.controls.progress.description == "3/5"
    best = study.best_value
    assert "3 complete" in view.controls.status.value and f"{best:.4g}" in view.controls.status.value
    table = view._table.drawn[-1]["text/html"]
    assert table.count("<tr") == 4 and "COMPLETE" in table  # a header and three trials
    assert view._chart.drawn and view._chart.drawn[-1]["application/vnd.plotly.v1+json"]["data"]  # best so far


@pytest.mark.slow
def test_train_with_display_draws_live_and_stops_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.model import BlockSpec, ModelSpec

    made: list[live.LiveTraining] = []
    original = live.LiveTraining.__init__

    def keep(self: live.LiveTraining, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._handle = Handle()
        made.append(self)

    monkeypatch.setattr(live.LiveTraining, "__init__", keep)
    monkeypatch.setattr(live.LiveTraining, "show", lambda self: None)
    monkeypatch.setattr(live, "REDRAW_EVERY_S", 0.0)
    monkeypatch.setattr(live, "in_notebook", lambda: True)
    data = load_table(Path(__file__).resolve().parents[2] / "sample_data" / "wine.csv", "target", seed=0)
    stop = threading.Event()

    def stop_after_two(event: TrainEvent) -> None:
        if event.kind == "epoch" and event.epoch >= 2:
            stop.set()

    spec = ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
    config = TrainConfig(epochs=50, min_epochs=1, runs_dir=str(tmp_path / "runs"), batch_events_every=0.0)
    result = train(spec, data, config, listener=stop_after_two, stop_event=stop, display=True)
    assert result.stopped and 2 <= result.epochs_run < 50 and result.model is not None
    view = made[0]
    assert len(view.history()["loss"]) == result.epochs_run
    assert view.controls.button.description == "Stopped" and view._handle.drawn


@pytest.mark.slow
def test_search_with_display_draws_each_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmlp.search import DataSource, SearchSpace, run_search
    from rmlp.search.space import pin, span
    from rmlp.spec.model import BlockSpec, ModelSpec

    made: list[live.SearchDisplay] = []

    def show(self: live.SearchDisplay) -> None:
        self._table, self._chart = Handle(), Handle()
        made.append(self)

    monkeypatch.setattr(live.SearchDisplay, "show", show)
    monkeypatch.setattr(live, "REDRAW_EVERY_S", 0.0)
    monkeypatch.setattr(live, "in_notebook", lambda: True)
    heard: list[Any] = []
    spec = ModelSpec(blocks=[BlockSpec(layers=1, width=8, decrement=0)], final_layers=[])
    space = SearchSpace(params={"blocks[].width": span(4, 32), "batch_size": pin(128)})
    wine = Path(__file__).resolve().parents[2] / "sample_data" / "wine.csv"
    result = run_search(spec, DataSource(str(wine), "target"), space, n_trials=2, epochs=1,
                        storage=f"sqlite:///{tmp_path / 's.db'}", study_name="live", sampler="random", seed=1,
                        progress=heard.append, display=True)
    assert result.progress.complete + result.progress.pruned == 2 and heard and heard[-1].finished
    view = made[0]
    assert view.controls.button.description == "Done" and "Finished" in view.controls.status.value
    assert view._table.drawn[-1]["text/html"].count("<tr") == 3


@pytest.mark.slow
def test_a_background_job_returns_at_once_and_its_stop_button_ends_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmlp.data import load_table
    from rmlp.runs.config import TrainConfig
    from rmlp.spec.model import BlockSpec, ModelSpec

    monkeypatch.setattr(live, "in_notebook", lambda: True)
    monkeypatch.setattr(live.LiveTraining, "show", lambda self: setattr(self, "_handle", Handle()))
    monkeypatch.setattr(live, "REDRAW_EVERY_S", 0.0)
    data = load_table(Path(__file__).resolve().parents[2] / "sample_data" / "wine.csv", "target", seed=0)
    second_epoch = threading.Event()
    heard: list[str] = []

    def listener(event: TrainEvent) -> None:
        heard.append(event.kind)
        if event.kind == "epoch" and event.epoch >= 2:
            second_epoch.set()

    spec = ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4)], final_layers=[8])
    config = TrainConfig(epochs=300, min_epochs=1, early_stopping=False, runs_dir=str(tmp_path / "runs"))
    job = live.start_training(spec, data, config, listener=listener)
    with pytest.raises(TimeoutError, match="result"):  # back at once, while it trains
        job.result(timeout=0)
    assert repr(job).startswith("<TrainingJob running") and job.view is not None
    assert second_epoch.wait(180), "training did not get to its second epoch"
    job.view.controls.button.click()  # the Stop button, handled while the kernel is free
    result = job.result(timeout=180)
    assert job.done and result.stopped and 2 <= result.epochs_run < 300 and result.model is not None
    assert job.view.controls.button.description == "Stopped" and job.view._handle.drawn
    assert heard[-1] == "stopped" and "epoch" in repr(job) and repr(job).startswith("<TrainingJob ended")


@pytest.mark.slow
def test_a_background_job_raises_what_the_training_raised(tmp_path: Path) -> None:
    from rmlp.runs.config import TrainConfig
    from rmlp.spec.problems import SpecError

    job = live.start_training({"blocks": "not a list"}, None, TrainConfig(runs_dir=str(tmp_path / "runs")))
    with pytest.raises(SpecError, match=r"blocks: Input should be a valid list"):
        job.result(timeout=120)
    assert job.done and repr(job) == "<TrainingJob failed>" and not list((tmp_path / "runs").glob("*/state.json"))


def test_progress_and_status_agree_with_each_other_from_start_to_end() -> None:
    view = live.LiveTraining()
    view(TrainEvent("train_begin", epochs=12))
    status = view.controls.status.value
    assert status == "Starting: 12 epochs planned…" and "· ·" not in status and "…  left" not in status
    view(TrainEvent("batch", epoch=1, epochs=12, batch=2, batches=8, elapsed_s=0.4, progress=0.02))
    assert "estimating the time left" in view.controls.status.value and "· ·" not in view.controls.status.value
    for n in range(1, 6):
        view(epoch(n, 40, 1.0 / n))
    view(TrainEvent("train_end", epoch=5, epochs=40, progress=1.0,
                    message="Finished early after 5 of 40 epochs: the validation score stopped improving."))
    c = view.controls
    assert c.progress.value == 1.0 and c.progress.description == "done" and c.button.description == "Done"
    stopped = live.LiveTraining()
    stopped(TrainEvent("batch", epoch=1, epochs=40, batch=1, batches=8, progress=0.01))
    stopped(TrainEvent("stopped", epoch=0, epochs=40, progress=0.0,
                       message="Stopped during the first epoch: no epoch finished."))
    assert stopped.controls.progress.description == "stopped" and "%" not in stopped.controls.progress.description


def test_a_run_says_how_it_ended_in_whole_words() -> None:
    from rmlp.runs.train import _end_message

    assert _end_message(True, 0, 40, False) == "Stopped during the first epoch: no epoch finished."
    assert _end_message(True, 3, 40, False) == "Stopped after 3 of 40 epochs."
    assert _end_message(False, 16, 40, True).startswith("Finished early after 16 of 40 epochs")
    assert _end_message(False, 1, 1, False) == "Finished after 1 epoch."
