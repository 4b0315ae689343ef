"""Messages the app shows: true, whole, in words, near where the user acts, and never two versions of one thing."""

from __future__ import annotations

import threading

from apptest_helpers import open_page
from streamlit.testing.v1 import AppTest

from designer_app import jobs
from rmlp.runs.events import TrainEvent


def _running_job() -> jobs.Job:
    """A job that says it is in epoch 25 of 40, then waits until stopped."""
    def target(listener: jobs.Listener, stop: threading.Event) -> None:
        for n in range(1, 25):
            listener(TrainEvent("epoch", epoch=n, epochs=40, progress=n / 40, logs={"loss": 1.0 / n}))
        listener(TrainEvent("batch", epoch=25, epochs=40, batch=3, batches=8, progress=24.4 / 40))
        stop.wait(60)

    def started(event: object) -> bool:
        return getattr(event, "kind", "") in ("batch", "epoch")

    job = jobs.Job(target, name="a test run", info={"epochs": 40}, begun=started,
                   coalesce=lambda e: "batch" if e.kind == "batch" else None).start()
    for _ in range(100):
        if job.snapshot().latest.get("batch") is not None:
            break
        threading.Event().wait(0.05)
    return job


def _progress_texts(node: object) -> list[str]:
    return [p.proto.text for p in node.get("progress")]  # type: ignore[attr-defined]


def test_the_sidebar_and_the_train_page_never_show_two_different_epochs(app: AppTest) -> None:
    job = _running_job()
    try:
        at = app.run()
        at.session_state["rmlp.job"] = job
        at = open_page(at, "train")
        page = _progress_texts(at.main)
        assert any("epoch 25/40" in t for t in page), page
        assert not _progress_texts(at.sidebar)  # the page shows the progress; the sidebar only points to it
        assert any("progress is shown on this page" in c.value for c in at.sidebar.caption)
        at = open_page(at, "design")  # elsewhere, the sidebar shows the same epoch
        assert any("epoch 25/40" in t for t in _progress_texts(at.sidebar)), _progress_texts(at.sidebar)
    finally:
        job.stop()
        job.wait(10)
