"""Serve the Lab: ``streamlit run app.py``, with the warm-up begun at server start.

    python serve.py [Streamlit options, e.g. --server.port 8501]

Streamlit runs no code of the app until the first visitor opens a page, so a fresh
server's first visit used to pay for importing scikit-learn and PyTorch and loading the
compiled kernels (``warmup.py``). This script starts that warm-up's background thread and
then Streamlit's own command line, in one process: the libraries load while the server
starts and waits for visitors, and ``/_stcore/health`` answers as soon as Streamlit is up,
never waiting for the warm-up. ``make run`` and the Docker image serve the Lab this way;
``streamlit run app.py`` still works, and then warms up at the first visit.

It also gives the server's connections ``TCP_NODELAY`` (:func:`nodelay_listener`).
"""

import socket
import sys
from pathlib import Path

from streamlit.web import cli
from streamlit.web.server.starlette import starlette_server

import warmup


def nodelay_listener(sock: socket.socket) -> socket.socket:
    """The listening socket ``sock`` as one whose accepted connections get ``TCP_NODELAY``.

    Streamlit 1.67 binds its listening socket itself (``starlette_server._bind_socket``)
    with ``socket.socket(family=...)``, which leaves ``proto`` at 0. Accepted connections
    inherit that, and asyncio turns Nagle's algorithm off only on sockets whose ``proto`` is
    ``IPPROTO_TCP`` (the bug uvicorn#3149 describes for uvicorn's own pre-bound sockets).
    With Nagle on, each response after the first on a kept-alive connection sends its body
    only once the browser acknowledges the headers, which a delayed ACK holds back about
    40 ms: a new session's ~100 script files queued on six connections and took half a second
    to arrive, and every websocket message that follows another waits the same way.

    The same file descriptor wrapped anew reports its real protocol (Linux reads it back
    with ``SO_PROTOCOL``); its bound address, backlog and flags are unchanged.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto:
        return sock
    timeout, inheritable = sock.gettimeout(), sock.get_inheritable()
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.settimeout(timeout)
    fixed.set_inheritable(inheritable)
    return fixed


_streamlit_bind_socket = starlette_server._bind_socket


def bind_nodelay(address: str, port: int, backlog: int) -> socket.socket:
    """Streamlit's own ``_bind_socket``, its listener then given :func:`nodelay_listener`."""
    return nodelay_listener(_streamlit_bind_socket(address, port, backlog))


if __name__ == "__main__":
    starlette_server._bind_socket = bind_nodelay
    warmup.begin()
    app = Path(__file__).resolve().parent / "app.py"
    cli.main(args=["run", str(app), *sys.argv[1:]], prog_name="streamlit")
