"""Data: pick a sample data set or upload a file, look at it, and use it for the design."""

from __future__ import annotations

import streamlit as st

from designer_app import data_view as view
from designer_app import datasets

st.title("Data")
view.in_use()
path = view.choose_file()
if path is not None:
    if datasets.kind_of(path) == "table":
        options = view.table_options(path)
        loaded = view.load(path, *options) if options else None
    else:
        loaded = view.load(path, task=view.image_options(path))
    if loaded is not None:
        view.describe(loaded)
        view.use_button(loaded)
