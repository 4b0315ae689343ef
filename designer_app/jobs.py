"""Background jobs that outlive a Streamlit script run: training now, a search later.

A :class:`Job` runs ``target(listener, stop_event)`` in a daemon thread. The worker never touches
Streamlit: it only calls ``listener(event)``, which appends the event to the job under a lock.
The page reads a consistent :meth:`Job.snapshot` on every rerun (a fragment polls it), and asks
it to stop by setting the ``threading.Event`` the target watches.

Jobs live in a process-wide registry by id. Each belongs to the session that started it (``owner``)
and to its browser (``browser``, see :func:`designer_app.server.browser_key`): a reload in the same
browser (a new Streamlit session) takes its job back with :func:`reclaim`; no id ever goes in a URL.
When a session ends, its running jobs get :func:`session_ended`'s grace period, then stop with a
reason the returning user is shown; a job nobody has looked at for ``orphan_after_s`` seconds is
asked to stop. :meth:`Job.start` refuses a job beyond the server's limits per session and in all.
Jobs marked ``exclusive`` (everything that trains with TensorFlow) take one process-wide lock: a
second one waits in the ``queued`` state until the first ends.

Stop takes effect at once before a job has begun its work (``begun``, e.g. the first training
batch): the job ends as stopped "before it began" while its thread lets go at its next check,
and what the thread emits after that is dropped. Started jobs stop at their target's next check.
:func:`keep_reruns_light` keeps Streamlit's reruns from stalling a job's thread.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rmlp.compat import replace_after_run_cleanup

Listener = Callable[[Any], None]
Target = Callable[[Listener, threading.Event], Any]

#: Job states, in the order a job goes through them.
STATUSES = ("new", "queued", "running", "done", "stopped", "error")
FINISHED = frozenset({"done", "stopped", "error"})

#: One TensorFlow training per process at a time (Keras global state is not made for more).
TRAINING_LOCK = threading.Lock()
_lock_holder: dict[str, str] = {}

_REGISTRY: dict[str, Job] = {}
_REGISTRY_LOCK = threading.Lock()
#: Finished jobs kept for reloads; older ones are forgotten (their run folders stay on disk).
KEEP_FINISHED = 16


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job's state for one redraw."""

    id: str
    name: str
    status: str
    events: tuple[Any, ...]
    latest: dict[str, Any]
    result: Any
    error: str
    traceback: str
    started_at: float | None
    finished_at: float | None
    queued_behind: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    stop_requested: bool = False
    #: Stopped before the work began (nothing was trained or kept).
    ended_before_start: bool = False
    #: Why it was stopped when not by its user (e.g. its tab was closed past the grace period).
    stop_reason: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def active(self) -> bool:
        return self.status in ("new", "queued", "running")

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class Job:
    """``target(listener, stop_event) -> result`` run in a background thread.

    ``coalesce(event)`` may return a key: such an event replaces ``latest[key]`` instead of being
    appended (frequent progress events). ``info`` is free data for the page (settings, a label).
    ``begun(event)`` says whether an event shows the work has begun; until one does, :meth:`stop`
    ends the job at once (None: the job counts as begun from its start, and stops at its target's pace).
    """

    def __init__(
        self,
        target: Target,
        *,
        name: str = "job",
        exclusive: bool = True,
        coalesce: Callable[[Any], str | None] | None = None,
        orphan_after_s: float | None = 900.0,
        info: dict[str, Any] | None = None,
        begun: Callable[[Any], bool] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.name = name
        self.info = dict(info or {})
        self._target = target
        self._exclusive = exclusive
        self._coalesce = coalesce
        self._begun_when = begun
        self._begun = begun is None
        self._abandoned = False
        self._orphan_after_s = orphan_after_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._events: list[Any] = []
        self._latest: dict[str, Any] = {}
        self._status = "new"
        self._result: Any = None
        self._error = ""
        self._traceback = ""
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._last_seen = time.time()
        self._thread: threading.Thread | None = None
        self._stop_reason = ""
        #: The session that runs it and the browser it runs in (set by :meth:`start` inside the app).
        self.owner = ""
        self.browser = ""

    # ------------------------------------------------------------------ control
    def start(self) -> Job:
        """Start the worker thread (once) and register the job; returns the job.

        Beyond the server's limits on running jobs (per session, in all) the job ends at once as an
        error that names the limit, and nothing runs.
        """
        with self._lock:
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run, name=f"rmlp-{self.name}-{self.id}", daemon=True)
        self.owner, self.browser = _session_names()
        refused = _over_limit(self.owner)
        register(self)
        if refused:
            with self._lock:
                self._status, self._error, self._finished_at = "error", refused, time.time()
            self._done.set()
            return self
        self._thread.start()
        return self

    def stop(self, reason: str = "") -> None:
        """Ask the target to stop (it finishes the current step and keeps what it did).

        A job that has not begun its work ends here and now, as stopped before it began. ``reason``
        says why when the user did not ask for it.
        """
        if reason and not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()
        with self._lock:
            if self._begun or self._status in FINISHED:
                return
            self._abandoned = True
            self._status, self._finished_at = "stopped", time.time()
        self._done.set()

    def touch(self) -> None:
        """Say that someone is still watching (resets the orphan clock)."""
        self._last_seen = time.time()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; False on timeout."""
        return self._done.wait(timeout)

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> Snapshot:
        """Everything a page needs to draw the job, copied under the lock."""
        with self._lock:
            return Snapshot(
                id=self.id, name=self.name, status=self._status, events=tuple(self._events),
                latest=dict(self._latest), result=self._result, error=self._error,
                traceback=self._traceback, started_at=self._started_at, finished_at=self._finished_at,
                queued_behind=_lock_holder.get("name", "") if self._status == "queued" else "",
                info=dict(self.info), stop_requested=self._stop.is_set(), ended_before_start=self._abandoned,
                stop_reason=self._stop_reason,
            )

    # ------------------------------------------------------------------ worker side
    def emit(self, event: Any) -> None:
        """The listener given to the target: record one event (thread-safe)."""
        key = self._coalesce(event) if self._coalesce else None
        with self._lock:
            if self._abandoned:
                return
            if not self._begun and self._begun_when is not None and self._begun_when(event):
                self._begun = True
            if key is None:
                self._events.append(event)
            else:
                self._latest[key] = event
        if self._orphan_after_s is not None and time.time() - self._last_seen > self._orphan_after_s:
            self._stop.set()

    def _set(self, **values: Any) -> None:
        """Set state fields under the lock; nothing changes any more once the job was abandoned."""
        with self._lock:
            if self._abandoned:
                return
            for name, value in values.items():
                setattr(self, f"_{name}", value)

    def _acquire(self) -> bool:
        """Take the process-wide training lock, waiting in 'queued'; False when stopped first."""
        if TRAINING_LOCK.acquire(blocking=False):
            return True
        self._set(status="queued")
        while not TRAINING_LOCK.acquire(timeout=0.2):
            if self._stop.is_set():
                return False
        return True

    def _run(self) -> None:
        locked = False
        try:
            if self._exclusive:
                locked = self._acquire()
                if not locked:
                    self._set(status="stopped", finished_at=time.time())
                    return
                _lock_holder["name"] = self.name
            self._set(status="running", started_at=time.time())
            result = self._target(self.emit, self._stop)
            self._set(result=result, status="stopped" if self._stop.is_set() else "done", finished_at=time.time())
        except BaseException as exc:  # noqa: BLE001 - a failing job reports, the app stays up
            self._set(status="error", error=_said(exc), traceback=traceback.format_exc(), finished_at=time.time())
        finally:
            if locked:
                _lock_holder.pop("name", None)
                TRAINING_LOCK.release()
            self._done.set()
            _prune()


# ---------------------------------------------------------------------- registry
def register(job: Job) -> None:
    with _REGISTRY_LOCK:
        _REGISTRY[job.id] = job


def find(job_id: str | None) -> Job | None:
    """The job with this id, if this process still knows it."""
    if not job_id:
        return None
    with _REGISTRY_LOCK:
        return _REGISTRY.get(str(job_id))


def _session_names() -> tuple[str, str]:
    """(session id, browser key) of the Streamlit session running now; ("", "") outside one."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # pragma: no cover - the app always has Streamlit
        return "", ""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return "", ""
    from designer_app import server  # imports Streamlit, which this module leaves to the app

    return ctx.session_id, server.browser_key()


def active(owner: str | None = None) -> list[Job]:
    """Jobs that have not finished (of the session ``owner`` only, when given)."""
    with _REGISTRY_LOCK:
        return [j for j in _REGISTRY.values() if not j._done.is_set() and (owner is None or j.owner == owner)]


def _over_limit(owner: str) -> str:
    """Why one more job may not start now ("" when it may): the server's limits on running jobs."""
    from designer_app import server  # imports Streamlit, which this module leaves to the app

    limits = server.limits()
    if owner and len(active(owner)) >= limits.session_jobs:
        return (f"This session already runs {limits.session_jobs} job(s), the most one session may run at a time; "
                f"stop one or wait for it to end ({limits.raise_hint('session_jobs')}).")
    if len(active()) >= limits.server_jobs:
        return (f"The server already runs {limits.server_jobs} jobs, the most it runs at a time; try again when "
                f"one has ended ({limits.raise_hint('server_jobs')}).")
    return ""


def reclaim(browser: str, owner: str, name_prefix: str = "training") -> Job | None:
    """The latest job of ``browser`` whose name starts with ``name_prefix``, now owned by the session ``owner``."""
    if not browser:
        return None
    with _REGISTRY_LOCK:
        mine = [j for j in _REGISTRY.values() if j.browser == browser and j.name.startswith(name_prefix)]
    if not mine:
        return None
    job = max(mine, key=lambda j: j._started_at or j._finished_at or 0.0)
    job.owner = owner
    job.touch()
    return job


def session_ended(owner: str, grace_s: float) -> list[Job]:
    """The session ``owner`` ended: each of its running jobs stops after ``grace_s`` seconds unless a new
    session took it back by then; the jobs given the grace period."""
    waiting = active(owner) if owner else []
    minutes = f"{grace_s / 60:g} minute{'s' if grace_s != 60 else ''}"

    def expire(job: Job) -> None:
        if job.owner == owner and not job.finished:
            job.stop(reason=f"Stopped by the server: its browser tab was closed for more than {minutes} "
                     "(what it did so far is kept).")

    for job in waiting:
        timer = threading.Timer(grace_s, expire, args=(job,))
        timer.daemon = True
        timer.start()
    return waiting


def training_busy() -> str:
    """The name of the job holding the training lock ('' when free)."""
    return _lock_holder.get("name", "") if TRAINING_LOCK.locked() else ""


def _said(exc: BaseException) -> str:
    """The error as a user reads it: a problem in plain words as it is, anything else with its type."""
    problem = getattr(exc, "problem", None)
    if problem is not None and getattr(problem, "message", None):
        return f"{problem.message} {problem.fix}".strip()
    return f"{type(exc).__name__}: {exc}"


def _prune() -> None:
    with _REGISTRY_LOCK:
        finished = [j for j in _REGISTRY.values() if j._done.is_set()]
        finished.sort(key=lambda j: j._finished_at or 0.0)
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            _REGISTRY.pop(job.id, None)


# ---------------------------------------------------------------------- reruns beside a running job
def _close_figures() -> None:
    """What Streamlit's after-run cleanup keeps: close matplotlib figures (no Keras ``clear_session``)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001, S110 - as Streamlit's own cleanup: never break a script run
            pass


def keep_reruns_light() -> None:
    """Keep Streamlit's script and fragment runs from stalling a training thread (idempotent).

    After every run, polling fragments included, Streamlit runs a full garbage collection
    (``runner.postScriptGC``) and, once Keras is imported, ``keras.backend.clear_session()``: one more
    full collection, TensorFlow's kernel cache cleared and Keras's per-thread state replaced for
    every thread, the training worker's too. With TensorFlow loaded a full collection holds the GIL
    for ~0.3 s, so a few open pages starved the training. Both are off here (the worker clears its
    own Keras session); :func:`freeze_heap` keeps the collections that remain short.
    """
    from streamlit import config  # only the app calls this; the module itself imports no Streamlit

    if config.get_option("runner.postScriptGC"):
        config.set_option("runner.postScriptGC", False, where_defined="designer_app.jobs")
    replace_after_run_cleanup(_close_figures)  # on a Streamlit it was not written for: Streamlit's own


_FROZEN = threading.Event()


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight (once per process).

    Called after TensorFlow's import: its hundreds of thousands of long-lived objects then no
    longer make each full collection take a third of a second.
    """
    if _FROZEN.is_set():
        return
    _FROZEN.set()
    gc.collect()
    gc.freeze()
