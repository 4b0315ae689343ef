"""Search: let Optuna find a better residual MLP for the chosen data, in background worker processes."""

from __future__ import annotations

import streamlit as st

from designer_app import search_view as view

st.title("Search for a better design")
page = view.ready()
if page is None:
    st.stop()
with st.container(border=True):
    st.markdown("#### What to search")
    space = page.space_editor()
with st.container(border=True):
    st.markdown("#### How to search")
    page.run_settings()
    page.cost_preview()
page.actions(space)
page.live()
