"""The attention page (being built)."""

import streamlit as st

st.title("Attention lab")
st.info("This lab is being built.")
