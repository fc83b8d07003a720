"""Serve the Lab: ``streamlit run app.py``, with the warm-up begun at server start.

    python serve.py [Streamlit options, e.g. --server.port 8501]

Streamlit runs no code of the app until the first visitor opens a page, so a fresh
server's first visit used to pay for importing scikit-learn and PyTorch and loading the
compiled kernels (``warmup.py``). This script starts that warm-up's background thread and
then Streamlit's own command line, in one process: the libraries load while the server
starts and waits for visitors, and ``/_stcore/health`` answers as soon as Streamlit is up,
never waiting for the warm-up. ``make run`` and the Docker image serve the Lab this way;
``streamlit run app.py`` still works, and then warms up at the first visit.

It also gives the server's connections ``TCP_NODELAY`` (:func:`nodelay_listener`), and tells
each page where the server is (:class:`ServerLocation`), so the browser connects at once.
"""

import json
import socket
import sys
from pathlib import Path

from streamlit import config, file_util
from streamlit.web import cli
from streamlit.web.server.starlette import starlette_app, starlette_server

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


# The browser's path, less the page part the server saw, is where the server is (with any
# prefix a proxy added); a path that does not end in it is left to Streamlit's own guess.
_LOCATE = (
    "<script>(() => { const page = PAGE, path = location.pathname;"
    " if (path.endsWith(page)) window.__streamlit = {BACKEND_BASE_URL: location.origin"
    " + path.slice(0, path.length - page.length).replace(/\\/+$/, '') + '/'}; })();</script>"
)


class ServerLocation:
    """ASGI middleware: each page's HTML says where the Streamlit server is.

    Streamlit's frontend does not know whether ``/kmeans`` is a page of an app served at
    ``/`` or an app served at ``/kmeans``, so it asks ``/kmeans/_stcore/health`` first, and
    only when that fails waits 100 ms and asks ``/_stcore/health``: every new session on a
    lab's URL started about 150 ms late. The server does know: the part of the request path
    after ``server.baseUrlPath`` is the page. So the page's HTML gets a script, run before
    Streamlit's, that removes that part from the browser's own path (which keeps any prefix
    a proxy added) and hands the result to Streamlit's frontend as ``BACKEND_BASE_URL``,
    the setting of ``window.__streamlit`` that hosts embedding Streamlit use to say where
    the server is. Only Streamlit's own ``index.html`` is changed; every other response
    passes through untouched.
    """

    def __init__(self, app) -> None:
        self.app = app
        index = Path(file_util.get_static_dir()) / "index.html"
        self.index = index.read_bytes()
        self.base = "/" + (config.get_option("server.baseUrlPath") or "").strip("/")

    def script(self, path: str) -> bytes:
        """The ``<script>`` for a page requested as ``path``."""
        page = path[len(self.base) :] if path.startswith(self.base) else ""
        page = "/" + page.strip("/") if page.strip("/") else ""
        # json.dumps quotes the path; "<" escaped, so that no path can close the script.
        return _LOCATE.replace("PAGE", json.dumps(page).replace("<", "\\u003c"), 1).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start, body = None, b""

        async def rewrite(message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                html = dict(message["headers"]).get(b"content-type", b"")
                if message["status"] == 200 and html.startswith(b"text/html"):
                    start = message  # held back until the whole body is known
                    return
            elif start is not None and message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body"):
                    return
                if body == self.index:
                    body = body.replace(b"<head>", b"<head>" + self.script(scope["path"]), 1)
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.app(scope, receive, rewrite)


_streamlit_middleware = starlette_app.create_streamlit_middleware


def middleware_with_location() -> list:
    """Streamlit's own middleware, with :class:`ServerLocation` innermost (before gzip)."""
    from starlette.middleware import Middleware

    return [*_streamlit_middleware(), Middleware(ServerLocation)]


if __name__ == "__main__":
    starlette_server._bind_socket = bind_nodelay
    starlette_app.create_streamlit_middleware = middleware_with_location
    warmup.begin()
    app = Path(__file__).resolve().parent / "app.py"
    cli.main(args=["run", str(app), *sys.argv[1:]], prog_name="streamlit")
