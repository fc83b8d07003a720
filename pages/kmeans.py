"""The kmeans page (being built)."""

import streamlit as st

st.title("K-means lab")
st.info("This lab is being built.")
