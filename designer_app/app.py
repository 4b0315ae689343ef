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

from designer_app import PAGES, jobs, lifecycle, server, sidebar, state, style  # noqa: E402


def _page(file: str, title: str, icon: str, **kwargs: Any) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, **kwargs)


#: The pages, in the order the sidebar lists them: (script, title, icon); the first is the default.
PAGE_LIST = (
    ("design.py", "Design", ":material/schema:"),
    ("data.py", "Data", ":material/table_chart:"),
    ("train.py", "Train", ":material/model_training:"),
    ("runs.py", "Runs", ":material/history:"),
    ("search.py", "Search", ":material/travel_explore:"),
    ("export.py", "Export", ":material/download:"),
    ("learn.py", "Learn", ":material/school:"),
)
#: The addresses of the pages besides the default one (the scripts' stems): the sign-in page answers at each.
URL_PATHS = tuple(Path(file).stem for file, _, _ in PAGE_LIST[1:])


def navigation() -> st.Page:
    """The pages, in the order the sidebar lists them."""
    return st.navigation([_page(file, title, icon, default=i == 0) for i, (file, title, icon) in enumerate(PAGE_LIST)])


def main(pages: list[st.Page] | None = None) -> None:
    """The app: page config, session from the URL, navigation (``pages`` overrides it), sidebar."""
    st.set_page_config(page_title="Residual MLP designer", page_icon=":material/hub:", layout="wide")
    style.apply()
    jobs.keep_reruns_light()  # here, so every way of starting the app (rmlp app, AppTest) gets it
    lifecycle.on_start()
    if not server.gate(URL_PATHS):  # a server with a password: nothing else runs before it was given
        return
    lifecycle.watch_session()
    state.init()
    page = st.navigation(pages) if pages else navigation()
    sidebar.draw(page.title)
    for kind, text in state.pop_notices():
        getattr(st, kind if kind in ("info", "success", "warning", "error") else "info")(text)
    page.run()
    state.sync_url()


if __name__ == "__main__":  # Streamlit runs the entry script as __main__
    main()
