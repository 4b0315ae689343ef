"""Learn: what a residual block is, built up step by step on a block of your own."""

from __future__ import annotations

import streamlit as st

from designer_app import learn_view as view

st.title("Learn: the residual MLP")
st.markdown(view.INTRO)
block, input_width = view.block_controls()
drawing, counting = st.columns([3, 2], gap="large")
with drawing:
    view.block_graph(block, input_width)
with counting:
    view.parameter_walkthrough(block, input_width)
view.why_bypass()
