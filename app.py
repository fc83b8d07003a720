"""Entry point of the Clustering & Attention Lab: page config, navigation, the shared look.

Run with ``streamlit run app.py``. Every page lives in ``app_pages/`` and is served
at a stable URL path, so links to ``/kmeans``, ``/clustering``, ``/attention`` or ``/fusion``
keep working. Around the page this file sets what every page shares: presenter mode
(``?present=1``), the page style, and, once per server process, the housekeeping and warm-up
threads.
"""

import logging
import re

import streamlit as st

import admission
import housekeeping
import warmup

# Before any import that looks up a module the warm-up thread may be half-way through
# importing (Plotly looks up pandas, SciPy torch): see warmup.PEEKED_AT.
warmup.settle()

from app_pages.components import present  # noqa: E402
from app_pages.components.figures import prefetch_chart_library  # noqa: E402

log = logging.getLogger("lab")

present.read_link()  # ?present=1: before the page config, which folds the sidebar away
st.set_page_config(
    page_title="Clustering & Attention Lab",
    page_icon=":material/science:",
    layout="wide",
    initial_sidebar_state=present.sidebar_state(),
)
present.style()
# First of all: the browser loads Plotly's script while this page computes.
forget_prefetch = prefetch_chart_library()

# The pages live in app_pages/, not pages/: when a folder named pages/ sits beside this
# file, Streamlit 1.67 serves a fresh server's first request the legacy (v1) way, so a
# shared link to /kmeans opened a "Page not found" dialog or ran the page without this
# file's navigation. tests/test_routing_browser.py opens each page as a first request.
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    st.Page(
        "app_pages/kmeans.py",
        title="K-means lab",
        icon=":material/scatter_plot:",
        url_path="kmeans",
    ),
    st.Page(
        "app_pages/clustering.py",
        title="Clustering family lab",
        icon=":material/bubble_chart:",
        url_path="clustering",
    ),
    st.Page(
        "app_pages/attention.py",
        title="Attention lab",
        icon=":material/grid_on:",
        url_path="attention",
    ),
    st.Page(
        "app_pages/fusion.py",
        title="Fusion lab",
        icon=":material/hub:",
        url_path="fusion",
    ),
]

# Streamlit forgets a widget's value when its page is not shown. Writing each lab's
# widget values back before any page runs keeps them, so a student who visits another
# page finds the lab as they left it. Uploaders and buttons (download buttons too) cannot
# be written to: their keys carry one of these words, which tests/test_layering.py checks;
# the pages keep the data and results those produced in their own session state. Charts
# that report a selection (on_select) are read-only too: "select".
UNWRITABLE_KEY_WORDS = ("upload", "button", "retrain", "download", "dl", "select")
LAB_PREFIXES = ("kmeans_", "attention_", "clustering_", "fusion_")
_UNWRITABLE = re.compile(rf"_({'|'.join(UNWRITABLE_KEY_WORDS)})(_|$)")
for key in list(st.session_state):
    if key.startswith(LAB_PREFIXES) and not _UNWRITABLE.search(key):
        st.session_state[key] = st.session_state[key]

page = st.navigation(PAGES)

# Once per server process: release closed sessions' memory after their TTL, and import the
# labs' heavy libraries in the background, this page's lab first (serve.py starts that at
# server start; see the modules).
housekeeping.start()
warmup.start(first=page.url_path)

present.toggle()
try:
    with admission.interactive():  # heavy jobs pause at their next report while this runs
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
finally:
    forget_prefetch()
    warmup.page_drawn()  # the warm-up may now turn to the other labs
    present.keep_in_link()  # pages rewrite the address; presenter mode stays in it
