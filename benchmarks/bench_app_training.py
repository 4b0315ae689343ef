"""In-app training against ``rmlp train``: the same design, data and epochs, timed from the user's side.

The app is driven through AppTest (the real page scripts, the real job): the Train page's Start
button is clicked and the page is re-run once a second, as the browser's polling fragment would,
until the job ends; with two sessions a second tab (a reload of the same job, so it polls too) is
re-run as well. The command line is ``python -m rmlp.cli train`` in a fresh process, TensorFlow's
import included, as a user runs it. Both use the "small tabular" preset on sample_data/wine.csv.

AppTest does not run Streamlit's post-script garbage collection (``runner.postScriptGC``), which
the server does after every script or fragment run; this benchmark does it after each re-run when
the option is on, so it measures what a browser session costs. With ``--diagnose`` it also counts
the full garbage collections (and their seconds) and Keras ``clear_session`` calls during the runs.

Prints the in-app/CLI wall-time ratio for one and two sessions and for consecutive runs (growth
would show as a rising ratio). Goal: at most 1.2x. No timing assertions.

    python benchmarks/bench_app_training.py                 # 5 epochs, 3 runs per session count
    python benchmarks/bench_app_training.py --runs 1 --diagnose
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APP = ROOT / "designer_app" / "app.py"
DATA = ROOT / "sample_data" / "wine.csv"
PRESET = "small_tabular"
#: Seconds between two re-runs of a session's page (the Train page's polling fragment).
POLL_S = 1.0


class Counters:
    """Full garbage collections and Keras clear_session calls while active (``--diagnose``)."""

    def __init__(self) -> None:
        self.full = 0
        self.full_s = 0.0
        self.clear_sessions = 0
        self._t0 = 0.0
        self._patched: Any = None

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.full += 1
            self.full_s += time.perf_counter() - self._t0

    def __enter__(self) -> Counters:
        gc.callbacks.append(self._gc)
        if "keras" in sys.modules:
            backend = sys.modules["keras"].backend
            original = backend.clear_session

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.clear_sessions += 1
                return original(*args, **kwargs)

            backend.clear_session = counted
            self._patched = (backend, original)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._gc)
        if self._patched is not None:
            backend, original = self._patched
            backend.clear_session = original

    def line(self) -> str:
        return (f"{self.full} full collections ({self.full_s:.2f} s), "
                f"{self.clear_sessions} Keras clear_session calls")


# ---------------------------------------------------------------------- the command line
def cli_seconds(epochs: int, runs_dir: Path) -> float:
    """Wall seconds of ``rmlp train`` in a fresh process (TensorFlow's import included)."""
    from rmlp.spec.presets import PRESETS

    spec = runs_dir / "spec.json"
    PRESETS[PRESET].save(spec)
    command = [sys.executable, "-m", "rmlp.cli", "train", str(spec), "--data", str(DATA), "--target", "target",
               "--epochs", str(epochs), "--runs-dir", str(runs_dir / "cli")]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def library_seconds(epochs: int, runs_dir: Path) -> float:
    """Seconds of the ``train()`` call alone (what ``rmlp train`` runs after its start-up), in a fresh process."""
    command = [sys.executable, str(Path(__file__).resolve()), "--library-once", "--epochs", str(epochs)]
    env = {**os.environ, "RMLP_RUNS_DIR": str(runs_dir / "library")}
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def _library_once(epochs: int) -> None:
    """Load the data and import TensorFlow first, then time one train() call; prints its seconds."""
    import keras  # noqa: F401 - the import is start-up, not training

    from rmlp.data import load_data
    from rmlp.runs.config import TrainConfig
    from rmlp.runs.train import train
    from rmlp.spec.presets import PRESETS

    data = load_data(DATA, "target")
    config = TrainConfig(epochs=epochs, runs_dir=os.environ["RMLP_RUNS_DIR"])
    start = time.perf_counter()
    train(PRESETS[PRESET], data, config)
    print(f"{time.perf_counter() - start:.3f}")


# ---------------------------------------------------------------------- the app
def _widget(at: Any, kind: str, label: str) -> Any:
    for element in getattr(at, kind):
        if element.label == label:
            return element
    raise LookupError(f"no {kind} labelled {label!r}")


def _page(at: Any, name: str) -> Any:
    return at.switch_page(f"../pages/{name}.py").run()


def _after_run(at: Any) -> Any:
    """What the server does after a script run and AppTest does not: the post-script collection."""
    from streamlit import config

    if config.get_option("runner.postScriptGC"):
        gc.collect(2)
    return at


def ready_session(epochs: int) -> Any:
    """A session on the Train page with the preset design, the wine data and ``epochs`` set."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at = _page(at.run(), "design")
    at.session_state["presets_popover"] = True
    at = at.run().button(key=f"preset:{PRESET}").click().run()
    at = _widget(_page(at, "data"), "button", "Use this data").click().run()
    at = _page(at, "train")
    return _widget(at, "number_input", "Epochs").set_value(epochs).run()


def watcher(job_id: str) -> Any:
    """A second tab: a reload of the page with the job's id in the URL (it polls the same job)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["job"] = job_id
    return _page(at.run(), "train")


def app_seconds(epochs: int, sessions: int) -> tuple[float, str]:
    """Wall seconds from Start to the job's end with ``sessions`` open tabs re-run once a second."""
    at = ready_session(epochs)
    start = time.perf_counter()
    at = _after_run(_widget(at, "button", "Start training").click().run())
    job = at.session_state["rmlp.job"]
    tabs = [at] + [watcher(job.id) for _ in range(sessions - 1)]
    next_poll = time.perf_counter() + POLL_S
    while not job.finished:
        job.wait(max(0.0, next_poll - time.perf_counter()))
        if job.finished:
            break
        next_poll = time.perf_counter() + POLL_S
        tabs = [_after_run(tab.run()) for tab in tabs]
    seconds = time.perf_counter() - start
    snap = job.snapshot()
    for tab in tabs:
        _after_run(tab.run())  # the page draws the results once
    return seconds, f"{snap.status}, {len(snap.events)} events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="consecutive in-app runs per session count")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--diagnose", action="store_true", help="count full collections and clear_session calls")
    parser.add_argument("--library-once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.library_once:
        _library_once(args.epochs)
        return
    if args.diagnose:
        import keras  # noqa: F401 - loaded first, so its clear_session can be counted from the first run
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RMLP_RUNS_DIR"] = str(Path(tmp) / "app")
        os.chdir(ROOT)
        cli = [cli_seconds(args.epochs, Path(tmp)) for _ in range(2)]
        cli_s = min(cli)
        lib_s = min(library_seconds(args.epochs, Path(tmp)) for _ in range(2))
        print(f"{PRESET} on {DATA.name}, {args.epochs} epochs ({os.cpu_count()} CPUs)")
        print(f"rmlp train (fresh process): {', '.join(f'{s:.1f}' for s in cli)} s; best {cli_s:.1f} s; "
              f"its train() call alone (no start-up): {lib_s:.1f} s")
        print("ratio: in-app / rmlp train; 'vs train()': in-app / the train() call alone (the stricter one; "
              "the first in-app run also imports TensorFlow)")
        print(f"{'sessions':>8} {'run':>4} {'in-app s':>9} {'ratio':>6} {'vs train()':>10}  notes")
        ratios: dict[int, list[float]] = {}
        for sessions in args.sessions:
            for run in range(1, args.runs + 1):
                with Counters() as counts:
                    seconds, note = app_seconds(args.epochs, sessions)
                ratio = seconds / cli_s
                ratios.setdefault(sessions, []).append(ratio)
                extra = f"; {counts.line()}" if args.diagnose else ""
                print(f"{sessions:>8} {run:>4} {seconds:>9.1f} {ratio:>5.2f}x {seconds / lib_s:>9.2f}x  {note}{extra}",
                      flush=True)
        for sessions, values in ratios.items():
            print(f"{sessions} session(s): in-app/CLI median {statistics.median(values):.2f}x, "
                  f"runs {' -> '.join(f'{v:.2f}' for v in values)}")
        print("goal: at most 1.2x in every row, no growth over consecutive runs")


if __name__ == "__main__":
    main()
