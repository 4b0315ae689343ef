"""Entry point of the residual MLP designer: ``rmlp app`` (``streamlit run designer_app/app.py``).

Sets up the page, the session (design restored from the URL), the navigation over the page
scripts in ``pages/`` and a sidebar that always shows whether the design is valid, its size and
what the training job is doing. In a checkout the page scripts are the repository's ``pages/``;
an installed copy carries them as ``designer_app/pages``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run designer_app/app.py` puts only designer_app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from designer_app import PAGES, jobs, sidebar, state  # noqa: E402


def _page(file: str, title: str, icon: str, **kwargs: Any) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, **kwargs)


def navigation() -> st.Page:
    """The pages, in the order the sidebar lists them."""
    return st.navigation([
        _page("design.py", "Design", ":material/schema:", default=True),
        _page("data.py", "Data", ":material/table_chart:"),
        _page("train.py", "Train", ":material/model_training:"),
        _page("runs.py", "Runs", ":material/history:"),
        _page("search.py", "Search", ":material/travel_explore:"),
        _page("export.py", "Export", ":material/download:"),
        _page("learn.py", "Learn", ":material/school:"),
    ])


def main(pages: list[st.Page] | None = None) -> None:
    """The app: page config, session from the URL, navigation (``pages`` overrides it), sidebar."""
    st.set_page_config(page_title="Residual MLP designer", page_icon=":material/hub:", layout="wide")
    jobs.keep_reruns_light()  # here, so every way of starting the app (rmlp app, AppTest) gets it
    state.init()
    page = st.navigation(pages) if pages else navigation()
    sidebar.draw()
    for kind, text in state.pop_notices():
        getattr(st, kind if kind in ("info", "success", "warning", "error") else "info")(text)
    page.run()
    state.sync_url()


if __name__ == "__main__":  # Streamlit runs the entry script as __main__
    main()
