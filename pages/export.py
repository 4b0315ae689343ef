"""Export: the design as runnable Python, and downloads of the spec, graph, trained model and bundle."""

from __future__ import annotations

import streamlit as st

from designer_app import export_view as view

st.title("Export")
script = view.code()
view.downloads(script)
