"""Home page: what the Lab is and where to go."""

import streamlit as st

st.title("Clustering & Attention Lab")
st.markdown(
    "See how two core machine-learning mechanisms work, one step at a time, and where they "
    "meet. "
    "Everything here runs on the Lab's own, readable engines (`engine/`), "
    "checked against scikit-learn and PyTorch."
)

left, right = st.columns(2)
with left, st.container(border=True):
    st.subheader(":material/scatter_plot: K-means")
    st.markdown(
        "Generate blobs or upload a CSV, run Lloyd's algorithm and watch the objective  \n"
        "$J = \\sum_i \\sum_{x \\in C_i} \\lVert x - \\mu_i \\rVert^2$ fall, "
        "iteration by iteration: centroids moving, points changing cluster, "
        "step-through and playback."
    )
    st.page_link(
        "app_pages/kmeans.py", label="Open the K-means lab", icon=":material/arrow_forward:"
    )
with right, st.container(border=True):
    st.subheader(":material/grid_on: Attention")
    st.markdown(
        "Type token sequences, feed them through multi-head self-attention  \n"
        "$\\mathrm{softmax}(QK^\\top / \\sqrt{d_k})\\,V$ and read every head's weights "
        "as a heatmap."
    )
    st.page_link(
        "app_pages/attention.py", label="Open the Attention lab", icon=":material/arrow_forward:"
    )

left, right = st.columns(2)
with left, st.container(border=True):
    st.subheader(":material/bubble_chart: Clustering family")
    st.markdown(
        "K-means beside DBSCAN, HDBSCAN, BIRCH, Mean-Shift and Gaussian mixtures on the same "
        "data sets, each with a default chosen from the data, then inside each method: "
        "clusters growing from core points, HDBSCAN's trees, BIRCH's subclusters, seeds "
        "climbing to their modes, EM iteration by iteration."
    )
    st.page_link(
        "app_pages/clustering.py",
        label="Open the Clustering family lab",
        icon=":material/arrow_forward:",
    )
with right, st.container(border=True):
    st.subheader(":material/hub: Fusion: clustering meets deep learning")
    st.markdown(
        "**Clustered attention** (Vyas et al., 2020): group a transformer's queries with K-means "
        "and attend once per centroid, C × S scores instead of L × S - on the trained toy "
        "models or your own text. **Deep clustering** (DEC, Xie et al., 2016): K-means on raw "
        "pixels vs on an autoencoder's embedding vs DEC's refinement, on 8×8 digits."
    )
    st.page_link(
        "app_pages/fusion.py", label="Open the Fusion lab", icon=":material/arrow_forward:"
    )

st.caption(
    ":material/co_present: On a projector, turn on **Presenter mode** at the top of the "
    "sidebar (or add `?present=1` to a lab's address): larger type, the sidebar folded away "
    "and each lab's main chart first."
)
