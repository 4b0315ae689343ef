"""Runs: every training run in the runs folder, compared side by side, opened, exported, deleted or used to predict."""

from __future__ import annotations

import streamlit as st

from designer_app import runs_view as view

st.title("Runs")
runs = view.records()
if runs is None:
    st.stop()
view.intro(runs)
view.live(runs)
selected = view.table(runs)
view.compare(selected)
view.actions(selected)
