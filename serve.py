"""Serve the Lab: ``streamlit run app.py``, with the warm-up begun at server start.

    python serve.py [Streamlit options, e.g. --server.port 8501]

Streamlit runs no code of the app until the first visitor opens a page, so a fresh
server's first visit used to pay for importing scikit-learn and PyTorch and loading the
compiled kernels (``warmup.py``). This script starts that warm-up's background thread and
then Streamlit's own command line, in one process: the libraries load while the server
starts and waits for visitors, and ``/_stcore/health`` answers as soon as Streamlit is up,
never waiting for the warm-up. ``make run`` and the Docker image serve the Lab this way;
``streamlit run app.py`` still works, and then warms up at the first visit.
"""

import sys
from pathlib import Path

from streamlit.web import cli

import warmup

if __name__ == "__main__":
    warmup.begin()
    app = Path(__file__).resolve().parent / "app.py"
    cli.main(args=["run", str(app), *sys.argv[1:]], prog_name="streamlit")
