"""The app's few style rules: labels and button texts wrap instead of being cut to "Reduce learning rate o…"."""

from __future__ import annotations

import streamlit as st

#: Streamlit cuts long widget labels and button texts with an ellipsis in narrow columns; these let them wrap.
CSS = """
<style>
[data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] *,
label[data-baseweb="checkbox"], label[data-baseweb="checkbox"] *,
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
button[data-testid^="stBaseButton"], button[data-testid^="stBaseButton"] *,
[data-testid="stExpander"] summary, [data-testid="stExpander"] summary * {
  white-space: normal !important;
  overflow: visible !important;
  text-overflow: clip !important;
}
button[data-testid^="stBaseButton"] { height: auto; }
</style>
"""


def apply() -> None:
    """Add the rules to the page (an invisible element)."""
    st.html(CSS)
