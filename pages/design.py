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
    with st.container(border=True):
        st.markdown("#### Task and input")
        view.task_and_input(board)
    with st.container(border=True):
        st.markdown("#### Base model")
        view.base_model(board)
    with st.container(border=True):
        st.markdown("#### Residual blocks")
        view.blocks_table(board)
    with st.container(border=True):
        st.markdown("#### Around the blocks")
        view.around_blocks(board)
    with st.container(border=True):
        st.markdown("#### Output, loss and optimizer")
        view.output_and_optimizer(board)
    if board.rest():
        st.markdown("#### Other problems")
        board.show_rest()

with overview:
    view.figures()
    view.batch_size_for_memory()
    compact, direction = view.graph_options()
    drawing, words = st.columns([3, 2])
    with drawing:
        view.graph(compact, direction)
    with words:
        view.explanation()
    view.keras_graph()
