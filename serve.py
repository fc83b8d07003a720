"""Serve the Lab: ``streamlit run app.py``, with the warm-up begun at server start.

    python serve.py [Streamlit options, e.g. --server.port 8501]

Streamlit runs no code of the app until the first visitor opens a page, so a fresh
server's first visit used to pay for importing scikit-learn and PyTorch and loading the
compiled kernels (``warmup.py``). This script starts that warm-up's background thread and
then Streamlit's own command line, in one process: the libraries load while the server
starts and waits for visitors, and ``/_stcore/health`` answers as soon as Streamlit is up,
never waiting for the warm-up. ``make run`` and the Docker image serve the Lab this way;
``streamlit run app.py`` still works, and then warms up at the first visit.

It also makes a new session's page load faster: the server's connections get
``TCP_NODELAY`` (:func:`nodelay_listener`), each page's HTML says where the server is and
asks for Plotly at once (:class:`PageHead`), Streamlit's script files are sent from
memory (:class:`StaticAssets`), and its chart chunk carries a Plotly.js of only the trace
types the Lab draws (:func:`lab_plotly_chunk`).
"""

import hashlib
import json
import logging
import mimetypes
import socket
import sys
from pathlib import Path

from streamlit import config, file_util
from streamlit.web import cli
from streamlit.web.server.starlette import starlette_app, starlette_server
from streamlit.web.server.starlette.starlette_server_config import (
    STATIC_ASSET_CACHE_MAX_AGE_SECONDS as _ASSET_MAX_AGE,
)

import warmup

log = logging.getLogger("lab")

PLOTLY = Path(__file__).resolve().parent / "assets" / "plotly"
"""``build.mjs`` and what it built: ``plotly-lab.min.js`` and ``plotly-lab.json``."""

STATIC = Path(file_util.get_static_dir())
"""Streamlit's frontend: its ``index.html``, and under ``static/`` its script, style and font
files (the scripts in :data:`SCRIPTS`)."""
SCRIPTS = STATIC / "static" / "js"


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


def _base_path() -> str:
    """``server.baseUrlPath`` as a path prefix: ``""`` or ``"/lab"``."""
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


class PageHead:
    """ASGI middleware: Streamlit's page HTML, with a script of ours first in its head.

    The script does two things Streamlit's frontend cannot know to do by itself:

    - **It says where the server is.** Streamlit's frontend does not know whether
      ``/kmeans`` is a page of an app served at ``/`` or an app served at ``/kmeans``, so it
      asks ``/kmeans/_stcore/health`` first, and only when that fails waits 100 ms and asks
      ``/_stcore/health``: every new session on a lab's URL started about 150 ms late. The
      server does know: the part of the request path after ``server.baseUrlPath`` is the
      page. The script removes that part from the browser's own path (which keeps any
      prefix a proxy added) and hands the result to the frontend as ``BACKEND_BASE_URL``,
      the setting of ``window.__streamlit`` that hosts embedding Streamlit use for this.
    - **It starts Plotly's chunk loading at once.** Streamlit imports its chart chunk only
      when a chart reaches the page, when the browser is already busy drawing the page.
      Asked for with the page, it is evaluated right after Streamlit's own script, while
      the browser would otherwise wait for the server: with Streamlit's full Plotly, the
      first chart of a new session came 0.1 to 0.15 s sooner. With the Lab's smaller Plotly
      (:func:`lab_plotly_chunk`) it made no measurable difference (1.47-1.50 s against
      1.49-1.52 s on ``/kmeans``); it stays for a Streamlit chunk the Lab's Plotly does not fit.
      (``app.py`` still sends a hidden chart first, for ``streamlit run app.py``.)

    Only Streamlit's own ``index.html`` is changed; every other response passes untouched.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.index = (STATIC / "index.html").read_bytes()
        self.base = _base_path()
        chunks = sorted(SCRIPTS.glob("PlotlyChart.*.js"))
        # One chunk, or Streamlit has changed how it ships Plotly: then leave it to Streamlit.
        self.charts = (
            f'import("./static/js/{chunks[0].name}").catch(() => {{}});' if len(chunks) == 1 else ""
        )

    def script(self, path: str) -> bytes:
        """The ``<script>`` for a page requested as ``path``."""
        page = path[len(self.base) :].strip("/") if path.startswith(self.base) else ""
        page = f"/{page}" if page else ""
        # json.dumps quotes the path; "<" escaped, so that no path can close the script.
        quoted = json.dumps(page).replace("<", "\\u003c")
        # The browser's path, less the page part the server saw, is where the server is (with
        # any prefix a proxy added); a path that does not end in it is left to Streamlit.
        return (
            f"<script>(() => {{ const page = {quoted}, path = location.pathname;"
            " if (path.endsWith(page)) window.__streamlit = {BACKEND_BASE_URL: location.origin"
            " + path.slice(0, path.length - page.length).replace(/\\/+$/, '') + '/'};"
            f" {self.charts} }})();</script>"
        ).encode()

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


def lab_plotly_chunk(js: Path) -> tuple[str, bytes] | None:
    """Streamlit's chart chunk in folder ``js``, with the Lab's Plotly in place of its own:
    ``(file name, body)``, or ``None`` when the chunk is not the one ``plotly-lab.json``
    was made from (another Streamlit version: rebuild with ``make plotly``).

    Streamlit's chunk carries all of Plotly.js (4.7 MB, 48 trace types), and a new session's
    browser spends about 0.85 s evaluating it before the first chart can be drawn: the
    largest single task of a page load. The Lab draws five trace types, and Plotly.js built
    with just those (``assets/plotly/build.mjs``, Plotly's own custom-bundle way) is 1.6 MB
    and evaluates in about 0.12 s. Only the body of the wrapper that holds Plotly's UMD
    file is replaced, at the byte offsets the build found with a JavaScript parser, and only
    in the exact file it read: Streamlit's chart component around it is unchanged, and it
    gets the same ``Plotly`` object (also set as ``window.Plotly``, as Plotly's own file
    does).
    """
    plan = json.loads((PLOTLY / "plotly-lab.json").read_text())
    chunk = plan["streamlit_chunk"]
    path = js / chunk["file"]
    original = path.read_bytes() if path.is_file() else b""
    if hashlib.sha256(original).hexdigest() != chunk["sha256"]:
        log.warning("Streamlit's chart chunk is not the one assets/plotly was built for "
                    "(run `make plotly`): serving Streamlit's own, with all of Plotly.")
        return None
    bundle = (PLOTLY / plan["bundle"]["file"]).read_bytes()
    body = b"{%s\nwindow.Plotly=Plotly;%s.exports=Plotly}" % (bundle, chunk["module"].encode())
    return chunk["file"], original[: chunk["body_start"]] + body + original[chunk["body_end"] :]


class StaticAssets:
    """ASGI middleware: Streamlit's own script, style and font files, served from memory.

    A new session's browser asks for about 90 files at once. Streamlit serves each with
    Starlette's ``FileResponse`` (a stat, an open and reads in a worker thread, 64 KB at a
    time), about 3 ms apiece on one event loop: the last arrived 270 ms after the first was
    asked for, while the browser had nothing else to do. And once a page runs, the script
    thread holds the GIL, so Plotly's 4.7 MB chunk came in 72 pieces over 180 ms. Here each
    file is read the first time it is asked for (a session needs about 8 of the folder's
    26 MB) and then sent whole, with Streamlit's headers (``immutable``: the names carry a
    hash of the content): 0.3 ms a file. Only names found under Streamlit's ``static/``
    folder at start are served, so no path can reach another file; everything else (a
    ``Range`` request, a ``HEAD``, the pages) goes to Streamlit as before. The chart chunk
    is sent as :func:`lab_plotly_chunk` makes it.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.files = {
            "/" + f.relative_to(STATIC).as_posix(): f
            for f in (STATIC / "static").rglob("*")
            if f.is_file()
        }
        self.base = _base_path()
        self.sent: dict[str, tuple[list, bytes]] = {}
        charts = lab_plotly_chunk(SCRIPTS)
        self.made = {f"/static/js/{charts[0]}": charts[1]} if charts else {}

    def response(self, name: str) -> tuple[list, bytes]:
        """Headers and body for the file served as ``name``, read the first time."""
        if name not in self.sent:
            body = self.made.get(name) or self.files[name].read_bytes()
            kind = mimetypes.guess_type(name)[0] or "text/plain"
            if kind.startswith("text/"):
                kind += "; charset=utf-8"
            headers = [
                (b"content-type", kind.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"public, immutable, max-age=%d" % _ASSET_MAX_AGE),
            ]
            self.sent[name] = headers, body
        return self.sent[name]

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        name = path[len(self.base) :] if path.startswith(self.base) else ""
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or name not in self.files
            or any(key == b"range" for key, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        headers, body = self.response(name)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_streamlit_middleware = starlette_app.create_streamlit_middleware


def lab_middleware() -> list:
    """Streamlit's own middleware, :class:`StaticAssets` before it and :class:`PageHead`
    innermost (it reads the page before Streamlit's gzip middleware may compress it)."""
    from starlette.middleware import Middleware

    return [Middleware(StaticAssets), *_streamlit_middleware(), Middleware(PageHead)]


if __name__ == "__main__":
    starlette_server._bind_socket = bind_nodelay
    starlette_app.create_streamlit_middleware = lab_middleware
    warmup.begin()
    app = Path(__file__).resolve().parent / "app.py"
    cli.main(args=["run", str(app), *sys.argv[1:]], prog_name="streamlit")
