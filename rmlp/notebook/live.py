"""Training and search drawn live in a notebook: Plotly curves, a progress bar, a Stop button.

:class:`LiveTraining` is a training listener (see :mod:`rmlp.runs.events`) that owns an ipywidgets
progress bar, a status line and a Stop button, and redraws the loss and metric curves in an Output
widget (so the same cell output is updated, in JupyterLab, VS Code and headless runs).

Two ways to train live:

* :func:`train_live` (``rmlp.train(..., display=True)``) runs the fit in a worker thread while the
  cell waits, and returns the run. The kernel's interrupt (■) always stops it. The Stop button works
  where the front end sends widget messages on a kernel subshell (JupyterLab 4.4 and newer with
  ipykernel 7); elsewhere a busy cell reads the click only after it ends.
* :func:`start_training` returns at once with a :class:`TrainingJob`: the kernel stays free, so the
  Stop button works in every front end, VS Code included; ``job.result()`` waits for the run.

Either way a stop ends the run after the running batch and keeps the best weights.
:class:`SearchDisplay` does the same for a search: its progress, the trial table and the best so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets
import plotly.io as pio
from IPython import get_ipython
from IPython.display import HTML, display

from rmlp.compat import forget_reply_subshell
from rmlp.data.split import Splits
from rmlp.notebook.views import run_html
from rmlp.runs import charts
from rmlp.runs.events import Listener, TrainEvent
from rmlp.runs.train import train
from rmlp.search.report import trials_frame
from rmlp.search.runner import run_search

__all__ = ["LiveTraining", "SearchDisplay", "TrainingJob", "WidgetChart", "in_notebook", "plotly_bundle",
           "run_until_stopped", "search_live", "show_run", "start_training", "train_live"]

#: The curves are redrawn at most this often (seconds); the last epoch is always drawn.
REDRAW_EVERY_S = 0.5
T = TypeVar("T")


def _seconds(value: float | None) -> str:
    if value is None:
        return "…"
    value = max(0.0, float(value))
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"


def status_text(event: TrainEvent) -> str:
    """The status line of a training event: where it is, its metrics and the time, each part only when known."""
    if event.kind == "train_begin" or event.epoch < 1:
        return f"Starting: {event.epochs} epoch{'s' if event.epochs != 1 else ''} planned…"
    where = f"epoch {event.epoch}/{event.epochs}" + (
        f", batch {event.batch}/{event.batches}" if event.kind == "batch" and event.batches else "")
    left = f"about {_seconds(event.eta_s)} left" if event.eta_s is not None else "estimating the time left"
    parts = [where, _logs_text(event.logs), f"{_seconds(event.elapsed_s)} so far, {left}"]
    return " · ".join(p for p in parts if p)


def plotly_bundle(figure: Any) -> dict[str, Any]:
    """A Plotly figure as a raw mime bundle, so a display handle replaces the chart in place.

    (A figure passed as it is displays itself anew, ignoring the handle's display id.)
    """
    return pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())


class WidgetChart:
    """A place for a chart that is replaced, not appended, on every update: an ipywidgets Output.

    JupyterLab's Plotly renderer keeps the first figure when a display is updated in place, so each
    update swaps the Output's single output for the new figure instead (safe from a worker thread).
    """

    def __init__(self, placeholder: str = "") -> None:
        self.output = widgets.Output()
        if placeholder:
            self.update({"text/html": placeholder}, raw=True)

    def update(self, bundle: dict[str, Any], raw: bool = True) -> None:
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def _logs_text(logs: dict[str, float]) -> str:
    return " · ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in charts.SKIP)


def answer_on_any_subshell(widget: widgets.Widget) -> None:
    """Let the front end's messages for ``widget`` reach the kernel subshell it sends them to.

    ipykernel 7 routes a comm's incoming messages to the subshell that last published on it, which
    for a widget made in a cell is the main shell: busy while that cell runs, so a click waits for
    the cell to end. Forgetting that route lets a front end that sends comms on a subshell
    (JupyterLab's default since 4.4) have the click handled at once, in the subshell's thread.
    Kernels without subshells have no such route, and nothing changes.
    """
    forget_reply_subshell(getattr(widget, "comm", None))


class _StopControls:
    """A Stop button that sets ``stop_event``, beside a progress bar and a status line."""

    def __init__(self, stop_event: threading.Event, what: str) -> None:
        self.stop_event = stop_event
        self.finished = False
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="0%",
                                              layout=widgets.Layout(width="320px"))
        self.status = widgets.HTML(value=f"Starting {what}…")
        self.button = widgets.Button(description="Stop", icon="stop", button_style="warning",
                                     tooltip=f"End the {what} after the running batch, keeping the best weights "
                                     "(the kernel's interrupt ■ does the same)")
        self.button.on_click(self._stop)
        answer_on_any_subshell(self.button)
        self.box = widgets.VBox([widgets.HBox([self.progress, self.button]), self.status])

    def _stop(self, _button: Any = None) -> None:
        if self.finished:  # a click that was read only after the end
            return
        self.stop_event.set()
        self.button.disabled = True
        self.button.description = "Stopping…"

    def finish(self, text: str) -> None:
        self.finished = True
        self.button.disabled = True
        self.button.description = "Stopped" if self.stop_event.is_set() else "Done"
        self.status.value = text


class LiveTraining:
    """A listener that draws a run as it trains: progress, metrics, time left, the curves."""

    def __init__(self, stop_event: threading.Event | None = None, then: Listener | None = None) -> None:
        self.stop_event = stop_event or threading.Event()
        self.then = then
        self.controls = _StopControls(self.stop_event, "training")
        self.events: list[TrainEvent] = []
        self.epochs = 0
        self._handle: Any = None
        self.chart: WidgetChart | None = None
        self._drawn = 0.0
        self._lock = threading.Lock()

    @property
    def widget(self) -> widgets.VBox:
        return self.controls.box

    def show(self) -> None:
        """Display the controls and an empty place for the curves (in the running cell)."""
        self.chart = WidgetChart("<i>The curves appear after the first epoch.</i>")
        self._handle = self.chart
        display(widgets.VBox([self.widget, self.chart.output]))

    def history(self) -> dict[str, list[float]]:
        with self._lock:
            return charts.history_from_events(self.events)

    def figure(self) -> Any:
        """The Plotly curves of the epochs so far."""
        return charts.curves_figure(self.history(), epochs=self.epochs or None)

    def __call__(self, event: TrainEvent) -> None:
        if self.then is not None:
            self.then(event)
        self.epochs = event.epochs or self.epochs
        c = self.controls
        if event.kind == "epoch":
            with self._lock:
                self.events.append(event)
        if event.kind in ("batch", "epoch", "train_begin"):
            c.progress.value = min(1.0, max(0.0, event.progress))
            c.progress.description = f"{c.progress.value:.0%}"
            c.status.value = status_text(event)
        if event.kind == "epoch" and time.monotonic() - self._drawn >= REDRAW_EVERY_S:
            self.redraw()
        if event.kind in ("train_end", "stopped", "error"):
            self.redraw()
            words = {"train_end": "Finished", "stopped": "Stopped", "error": "Failed"}[event.kind]
            if event.kind == "train_end":  # early stopping too: the run is complete, so is the bar
                c.progress.value = 1.0
            c.progress.description = {"train_end": "done", "stopped": "stopped", "error": "failed"}[event.kind]
            c.finish(event.message or f"{words} after {_seconds(event.elapsed_s)}.")

    def redraw(self) -> None:
        self._drawn = time.monotonic()
        if self._handle is not None and self.events:
            self._handle.update(plotly_bundle(self.figure()), raw=True)


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (JupyterLab, VS Code, nbclient), where widgets show."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class _Worker:
    """``work`` running in a daemon thread; what it returned or raised is kept for :meth:`wait`."""

    def __init__(self, work: Callable[[], T]) -> None:
        self.outcome: dict[str, Any] = {}
        self.done = threading.Event()

        def target() -> None:
            try:
                self.outcome["value"] = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self.outcome["error"] = exc
            finally:
                self.done.set()

        threading.Thread(target=target, name="rmlp-notebook", daemon=True).start()

    def wait(self, stop_event: threading.Event, timeout: float | None = None) -> Any:
        """Wait for the end (a kernel interrupt meanwhile sets ``stop_event`` and waits on); its value or error."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Still running after {timeout:g} s; call result() again to wait on.")
            try:
                self.done.wait(0.1)
            except KeyboardInterrupt:
                stop_event.set()
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["value"]


def run_until_stopped(work: Callable[[], T], stop_event: threading.Event) -> T:
    """Run ``work`` in a worker thread and wait; a kernel interrupt sets ``stop_event`` and waits on.

    Whatever ``work`` raised is raised here.
    """
    return _Worker(work).wait(stop_event)


def train_live(spec: Any, data: Splits, config: Any = None, listener: Listener | None = None,
               stop_event: threading.Event | None = None, data_source: Any = None) -> Any:
    """:func:`rmlp.train` with live curves, a progress bar and a Stop button in the running cell."""
    if not in_notebook():  # a script or a terminal: nothing to draw in
        return train(spec, data, config, listener=listener, stop_event=stop_event, data_source=data_source)
    stop_event = stop_event or threading.Event()
    live = LiveTraining(stop_event, then=listener)
    live.show()
    return run_until_stopped(
        lambda: train(spec, data, config, listener=live, stop_event=stop_event, data_source=data_source),
        stop_event)


class TrainingJob:
    """A run started by :func:`start_training`, training in a worker thread while the kernel stays free.

    ``job.stop()`` (or the Stop button) ends it after the running batch; ``job.result()`` waits for
    the :class:`~rmlp.runs.train.RunResult` and raises what the training raised.
    """

    def __init__(self, work: Callable[[Listener], Any], stop_event: threading.Event, listener: Listener | None,
                 draw: bool) -> None:
        self.stop_event = stop_event
        self.view = LiveTraining(stop_event, then=listener) if draw else None
        self._shown_in = _cell_number()
        if self.view is not None:
            self.view.show()
        self._last: TrainEvent | None = None
        self._then = self.view or listener
        self._worker = _Worker(lambda: work(self._heard))

    def _heard(self, event: TrainEvent) -> None:
        self._last = event
        if self._then is not None:
            self._then(event)

    @property
    def done(self) -> bool:
        """Whether the training has ended (finished, stopped or failed)."""
        return self._worker.done.is_set()

    def stop(self) -> None:
        """Ask the training to end after the running batch (what the Stop button does)."""
        self.stop_event.set()

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the run (at most ``timeout`` seconds, then ``TimeoutError``) and return it."""
        return self._worker.wait(self.stop_event, timeout)

    def __repr__(self) -> str:
        if self.done:
            state = "failed" if "error" in self._worker.outcome else "ended"
        else:
            state = "stopping" if self.stop_event.is_set() else "running"
        event = self._last
        where = f", epoch {event.epoch}/{event.epochs}" if event is not None and event.epochs else ""
        return f"<TrainingJob {state}{where}>"

    def _ipython_display_(self) -> None:
        if self.view is not None and not self.done and _cell_number() == self._shown_in:
            return  # ``job`` at the end of the cell that started it: the live view is already above
        if self.done and "value" in self._worker.outcome:
            display(self._worker.outcome["value"])
        elif self.view is not None:
            chart = self.view.chart
            display(widgets.VBox([self.view.widget] + ([chart.output] if chart is not None else [])))
        else:
            print(repr(self))


def _cell_number() -> int | None:
    """The running cell's execution count (None outside IPython)."""
    shell = get_ipython()
    return getattr(shell, "execution_count", None) if shell is not None else None


def start_training(spec: Any, data: Splits, config: Any = None, listener: Listener | None = None,
                   data_source: Any = None) -> TrainingJob:
    """Start :func:`rmlp.train` in the background and return at once, drawing it live in a notebook.

    The cell ends while the model trains, so the kernel answers the Stop button in every front end
    (and other cells can run meanwhile). ``job.result()`` gives the run once it ends.
    """
    stop_event = threading.Event()
    return TrainingJob(
        lambda heard: train(spec, data, config, listener=heard, stop_event=stop_event, data_source=data_source),
        stop_event, listener, draw=in_notebook())


def show_run(result: Any) -> None:
    """Display a finished run: status, test metrics and notices, then its curves."""
    display(HTML(run_html(result)))
    history = result.history or {}
    if any(history.get(name) for name in history if name != "epoch"):
        display(charts.curves_figure(history))


# ---------------------------------------------------------------------- search
class SearchDisplay:
    """A search's progress callback that draws its counts, best so far and trial table live."""

    def __init__(self, stop_event: threading.Event, then: Callable[[Any], None] | None = None) -> None:
        self.then = then
        self.controls = _StopControls(stop_event, "search")
        self._table: Any = None
        self._chart: Any = None
        self._drawn = 0.0

    def show(self) -> None:
        self._table = WidgetChart("<i>The trial table appears after the first trial.</i>")
        self._chart = WidgetChart()
        display(widgets.VBox([self.controls.box, self._table.output, self._chart.output]))

    def __call__(self, progress: Any) -> None:
        if self.then is not None:
            self.then(progress)
        c = self.controls
        total = max(1, progress.total)
        c.progress.value = min(1.0, progress.done / total)
        c.progress.description = f"{progress.done}/{progress.total}"
        best = "…" if progress.best_value is None else f"{progress.best_value:.4g} (trial {progress.best_trial})"
        text = (f"{progress.complete} complete, {progress.pruned} pruned, {progress.failed} failed · best {best} · "
                f"{_seconds(progress.elapsed_s)}")
        c.status.value = text
        if progress.finished:
            c.finish("Finished: " + text)
        if progress.finished or time.monotonic() - self._drawn >= REDRAW_EVERY_S:
            self.redraw(progress.study)

    def redraw(self, study: Any) -> None:
        """Draw the trial table and the best value so far of ``study``."""
        self._drawn = time.monotonic()
        if self._table is None or study is None:
            return
        frame = trials_frame(study)
        if frame.empty:
            return
        self._table.update({"text/html": frame.drop(columns=["worker", "retry_of"], errors="ignore").to_html(
            index=False, na_rep="", float_format=lambda v: f"{v:.4g}", max_rows=30)}, raw=True)
        if any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
            import optuna

            self._chart.update(plotly_bundle(optuna.visualization.plot_optimization_history(study)), raw=True)


def search_live(spec: Any, data_source: Any, space: Any = None, config: Any = None, *,
                progress: Callable[[Any], None] | None = None, stop_event: threading.Event | None = None,
                **options: Any) -> Any:
    """:func:`rmlp.search.run_search` with its progress, trial table and a Stop button in the running cell.

    ``options`` are run_search's other keywords (``in_process``, ``n_trials``, ...).
    """
    def run(heard: Callable[[Any], None], stop: threading.Event) -> Any:
        return run_search(spec, data_source, space, config, progress=heard, stop_event=stop, **options)

    if not in_notebook():
        return run(progress or (lambda _p: None), stop_event or threading.Event())
    stop = stop_event or threading.Event()
    view = SearchDisplay(stop, then=progress)
    view.show()
    return run_until_stopped(lambda: run(view, stop), stop)
