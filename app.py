"""Entry point of the Clustering & Attention Lab: page config and navigation.

Run with ``streamlit run app.py``. Every page lives in ``pages/`` and is served
at a stable URL path, so links to ``/kmeans`` or ``/attention`` keep working.
"""

import streamlit as st

st.set_page_config(
    page_title="Clustering & Attention Lab",
    page_icon=":material/science:",
    layout="wide",
)

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    st.Page(
        "pages/kmeans.py", title="K-means lab", icon=":material/scatter_plot:", url_path="kmeans"
    ),
    st.Page(
        "pages/attention.py", title="Attention lab", icon=":material/grid_on:", url_path="attention"
    ),
]

st.navigation(PAGES).run()
