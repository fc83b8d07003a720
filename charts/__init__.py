"""Figure builders: engine results in, ``plotly.graph_objects.Figure`` out, one module per lab.

``charts.theme`` holds the look every lab shares. Nothing here imports Streamlit or the
page scripts, so every figure can be built and tested in a notebook.
"""
