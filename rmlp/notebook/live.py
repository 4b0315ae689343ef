"""Training and search drawn live in a notebook: Plotly curves, a progress bar, a Stop button.

:class:`LiveTraining` is a training listener (see :mod:`rmlp.runs.events`) that owns an ipywidgets
progress bar, a status line and a Stop button, and redraws the loss and metric curves through a
display handle (so the same cell output is updated, in JupyterLab, VS Code and headless runs).
:func:`train_live` runs :func:`rmlp.train` in a worker thread while the cell waits: the Stop button
and the kernel's interrupt (the ■ button) both end the run after the running batch, keeping the
best weights, and the run is returned as usual. :class:`SearchDisplay` does the same for a search:
its progress, the trial table and the best value so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets
from IPython.display import HTML, display

from rmlp.runs import charts
from rmlp.runs.events import Listener, TrainEvent

__all__ = ["LiveTraining", "SearchDisplay", "WidgetChart", "in_notebook", "plotly_bundle", "run_until_stopped",
           "search_live", "show_run", "train_live"]

#: The curves are redrawn at most this often (seconds); the last epoch is always drawn.
REDRAW_EVERY_S = 0.5
T = TypeVar("T")


def _seconds(value: float | None) -> str:
    if value is None:
        return "…"
    value = max(0.0, float(value))
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"


def plotly_bundle(figure: Any) -> dict[str, Any]:
    """A Plotly figure as a raw mime bundle, so a display handle replaces the chart in place.

    (A figure passed as it is displays itself anew, ignoring the handle's display id.)
    """
    import plotly.io as pio

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


class _StopControls:
    """A Stop button that sets ``stop_event``, beside a progress bar and a status line."""

    def __init__(self, stop_event: threading.Event, what: str) -> None:
        self.stop_event = stop_event
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="0%",
                                              layout=widgets.Layout(width="320px"))
        self.status = widgets.HTML(value=f"Starting {what}…")
        self.button = widgets.Button(description="Stop", icon="stop", button_style="warning",
                                     tooltip=f"End the {what} after the running batch (the kernel's interrupt "
                                     "button does the same)")
        self.button.on_click(self._stop)
        self.box = widgets.VBox([widgets.HBox([self.progress, self.button]), self.status])

    def _stop(self, _button: Any = None) -> None:
        self.stop_event.set()
        self.button.disabled = True
        self.button.description = "Stopping…"

    def finish(self, text: str) -> None:
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
        self._drawn = 0.0
        self._lock = threading.Lock()

    @property
    def widget(self) -> widgets.VBox:
        return self.controls.box

    def show(self) -> None:
        """Display the controls and an empty place for the curves (in the running cell)."""
        chart = WidgetChart("<i>The curves appear after the first epoch.</i>")
        self._handle = chart
        display(widgets.VBox([self.widget, chart.output]))

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
            where = f"epoch {event.epoch}/{event.epochs}" + (
                f", batch {event.batch}/{event.batches}" if event.kind == "batch" and event.batches else "")
            c.status.value = (f"{where} · {_logs_text(event.logs)} · {_seconds(event.elapsed_s)} so far, "
                              f"{_seconds(event.eta_s)} left")
        if event.kind == "epoch" and time.monotonic() - self._drawn >= REDRAW_EVERY_S:
            self.redraw()
        if event.kind in ("train_end", "stopped", "error"):
            self.redraw()
            words = {"train_end": "Finished", "stopped": "Stopped", "error": "Failed"}[event.kind]
            c.finish(event.message or f"{words} after {_seconds(event.elapsed_s)}.")

    def redraw(self) -> None:
        self._drawn = time.monotonic()
        if self._handle is not None and self.events:
            self._handle.update(plotly_bundle(self.figure()), raw=True)


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (JupyterLab, VS Code, nbclient), where widgets show."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def run_until_stopped(work: Callable[[], T], stop_event: threading.Event) -> T:
    """Run ``work`` in a worker thread and wait; a kernel interrupt sets ``stop_event`` and waits on.

    Whatever ``work`` raised is raised here.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name="rmlp-notebook", daemon=True)
    worker.start()
    while not done.is_set():  # an interrupt while waiting asks the work to stop, then waits on
        try:
            done.wait(0.1)
        except KeyboardInterrupt:
            stop_event.set()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def train_live(spec: Any, data: Any, config: Any = None, listener: Listener | None = None,
               stop_event: threading.Event | None = None, data_source: Any = None) -> Any:
    """:func:`rmlp.train` with live curves, a progress bar and a Stop button in the running cell."""
    from rmlp.runs.train import train

    if not in_notebook():  # a script or a terminal: nothing to draw in
        return train(spec, data, config, listener=listener, stop_event=stop_event, data_source=data_source)
    stop_event = stop_event or threading.Event()
    live = LiveTraining(stop_event, then=listener)
    live.show()
    return run_until_stopped(
        lambda: train(spec, data, config, listener=live, stop_event=stop_event, data_source=data_source),
        stop_event)


def show_run(result: Any) -> None:
    """Display a finished run: status, test metrics and notices, then its curves."""
    from rmlp.notebook.views import run_html

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
        from rmlp.search.report import trials_frame

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


def search_live(run: Callable[[Callable[[Any], None], threading.Event], T], stop_event: threading.Event | None,
                progress: Callable[[Any], None] | None) -> T:
    """``run(progress, stop_event)`` (a search) with a :class:`SearchDisplay` in the running cell."""
    if not in_notebook():
        return run(progress or (lambda _p: None), stop_event or threading.Event())
    stop = stop_event or threading.Event()
    view = SearchDisplay(stop, then=progress)
    view.show()
    return run_until_stopped(lambda: run(view, stop), stop)
