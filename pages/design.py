"""Design: edit the residual MLP and watch it answer at once (no TensorFlow on this page)."""

from __future__ import annotations

import streamlit as st

from designer_app import design_view as view
from designer_app import state
from designer_app.widgets import ProblemBoard

st.title("Design a residual MLP")
board = ProblemBoard(state.problems())
view.preset_bar()

controls, overview = st.columns(2, gap="large")
with controls:
    view.controls(board)
    view.explanation()
with overview:
    view.figures()
    view.batch_size_for_memory()
    compact, direction = view.graph_options()
    view.graph(compact, direction)
    view.keras_graph()
