"""Entry point of the Clustering & Attention Lab: page config and navigation.

Run with ``streamlit run app.py``. Every page lives in ``pages/`` and is served
at a stable URL path, so links to ``/kmeans`` or ``/attention`` keep working.
"""

import logging

import streamlit as st

log = logging.getLogger("lab")

st.set_page_config(
    page_title="Clustering & Attention Lab",
    page_icon=":material/science:",
    layout="wide",
)

# Page files are not named after their URL paths on purpose. Because a pages/ folder
# exists, Streamlit 1.67 serves the first request after start-up the old (v1) way: a
# first request for /kmeans would run pages/kmeans.py alone, without this file's
# navigation and page config. With no file named like a URL path, that first request
# falls through to this script. tests/test_routing_browser.py keeps it so.
PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    st.Page(
        "pages/kmeans_lab.py",
        title="K-means lab",
        icon=":material/scatter_plot:",
        url_path="kmeans",
    ),
    st.Page(
        "pages/attention_lab.py",
        title="Attention lab",
        icon=":material/grid_on:",
        url_path="attention",
    ),
]

page = st.navigation(PAGES)
try:
    page.run()
except Exception:
    # Pages catch the errors a user can cause and explain them. This is the net for the
    # rest: the traceback goes to the server log, the page says what to do, and the
    # navigation, the other pages and everything in the session keep working.
    # (st.stop and st.rerun raise BaseException subclasses and pass through.)
    log.exception("Unexpected error on page %r", page.title)
    st.error(
        "Something went wrong while computing this page. Your data and settings are kept: "
        "change a setting and try again, or open another page. If it keeps happening, "
        "reload the browser tab.",
        icon=":material/error:",
    )
