"""Learn: what a residual block is, built up step by step on a block of your own."""

from __future__ import annotations

import streamlit as st

from designer_app import learn_view as view
from designer_app import teaching
from designer_app.learn_session import learn_session

st.title("Learn: the residual MLP")
st.header("What the bypass does: an experiment", anchor=False)
st.markdown(teaching.EXPERIMENT_INTRO)
with st.expander("How this experiment is set up, and why", icon=":material/science:"):
    st.markdown(teaching.SETUP_HELP)
view.warm_up()  # the experiment's modules and figures, in the background while the page is read
session = learn_session()
view.read_url(session)
with st.container(border=True):
    view.experiment_controls(session)
view.write_url(session)
view.live_experiment(session)
view.depth_sweep(session)

st.header("Inside one block", anchor=False)
st.markdown(view.INTRO)
block, input_width = view.block_controls()
drawing, counting = st.columns([3, 2], gap="large")
with drawing:
    view.block_graph(block, input_width)
with counting:
    view.parameter_walkthrough(block, input_width)
view.why_bypass()
