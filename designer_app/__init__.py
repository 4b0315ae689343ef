"""The Streamlit shell of the residual MLP designer: entry point, session state, widgets, jobs.

Run it with ``streamlit run designer_app/app.py``. The page scripts live in ``pages/``.
"""
