"""The background job: events under a lock, stop, errors as messages, one training at a time."""

from __future__ import annotations

import threading
import time
from typing import Any

from designer_app import jobs


def _counter(n: int, delay: float = 0.01) -> jobs.Target:
    def target(listener: jobs.Listener, stop: threading.Event) -> int:
        done = 0
        for i in range(n):
            if stop.is_set():
                break
            listener(("step", i))
            done += 1
            time.sleep(delay)
        return done

    return target


def test_a_job_runs_in_the_background_and_records_its_events() -> None:
    job = jobs.Job(_counter(5), exclusive=False).start()
    assert job.wait(10)
    snap = job.snapshot()
    assert snap.status == "done" and snap.result == 5
    assert [e[1] for e in snap.events] == [0, 1, 2, 3, 4]
    assert jobs.find(job.id) is job


def test_stop_ends_the_job_and_keeps_what_it_did() -> None:
    job = jobs.Job(_counter(1000, 0.005), exclusive=False).start()
    time.sleep(0.05)
    job.stop()
    assert job.wait(10)
    snap = job.snapshot()
    assert snap.status == "stopped" and 0 < snap.result < 1000


def test_an_error_becomes_a_message() -> None:
    def boom(listener: jobs.Listener, stop: threading.Event) -> None:
        raise ValueError("the data has no rows")

    job = jobs.Job(boom, exclusive=False).start()
    assert job.wait(10)
    snap = job.snapshot()
    assert snap.status == "error" and snap.error == "ValueError: the data has no rows"
    assert "Traceback" in snap.traceback


def test_coalesced_events_keep_only_the_latest() -> None:
    def target(listener: jobs.Listener, stop: threading.Event) -> None:
        for i in range(10):
            listener({"kind": "batch", "i": i})
        listener({"kind": "epoch", "i": 1})

    def coalesce(event: Any) -> str | None:
        return "batch" if event["kind"] == "batch" else None

    job = jobs.Job(target, exclusive=False, coalesce=coalesce).start()
    assert job.wait(10)
    snap = job.snapshot()
    assert snap.latest["batch"]["i"] == 9 and len(snap.events) == 1


def test_exclusive_jobs_queue_one_behind_the_other() -> None:
    gate = threading.Event()

    def first(listener: jobs.Listener, stop: threading.Event) -> str:
        gate.wait(10)
        return "first"

    a = jobs.Job(first, name="first job").start()
    b = jobs.Job(_counter(2), name="second job").start()
    deadline = time.time() + 10
    while b.status != "queued" and time.time() < deadline:
        time.sleep(0.01)
    assert b.status == "queued" and b.snapshot().queued_behind == "first job"
    assert jobs.training_busy() == "first job"
    gate.set()
    assert a.wait(10) and b.wait(10)
    assert b.snapshot().result == 2 and jobs.training_busy() == ""


def test_a_queued_job_can_be_stopped_before_it_starts() -> None:
    gate = threading.Event()
    a = jobs.Job(lambda listener, stop: gate.wait(10)).start()
    b = jobs.Job(_counter(2)).start()
    time.sleep(0.1)
    b.stop()
    assert b.wait(5) and b.status == "stopped" and b.snapshot().started_at is None
    gate.set()
    assert a.wait(10)


def test_a_job_nobody_watches_is_stopped() -> None:
    job = jobs.Job(_counter(10_000, 0.002), exclusive=False, orphan_after_s=0.05).start()
    assert job.wait(10)
    assert job.status == "stopped"
