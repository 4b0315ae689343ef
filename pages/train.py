"""Train: fit the current design on the chosen data in the background and watch it learn."""

from __future__ import annotations

import streamlit as st

from designer_app import comparison_view, train_session
from designer_app import train_view as view

st.title("Train")
loaded = view.readiness()
job = train_session.job()
running = job is not None and job.snapshot().active
with st.container(border=True):
    view.settings(disabled=running)
    view.controls(loaded)
view.live()
view.results()
comparison_view.draw(loaded, view.prepared)
