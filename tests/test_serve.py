"""serve.py: every connection has Nagle's algorithm off, and every page says where the server is.

Without ``TCP_NODELAY`` each response after the first on a kept-alive connection waited for
the browser's delayed ACK (about 40 ms on Linux): a new session's script files, and every
websocket message that follows another. asyncio turns ``TCP_NODELAY`` on only for sockets
that report ``IPPROTO_TCP``, which a socket made as Streamlit makes its own does not.

Without :class:`serve.PageHead` a page's first request for Streamlit's health check went
to the page's own path and failed, and the frontend waited 100 ms before it asked the right
one; Plotly's chunk was asked for only once a chart arrived. :class:`serve.StaticAssets`
must send Streamlit's files exactly as Streamlit does, from memory, except the chart
chunk, which carries the Lab's Plotly (:func:`serve.lab_plotly_chunk`): Streamlit's bytes
around it, and every trace type the Lab draws in it. The browser half of these is in
``tests/test_routing_browser.py``.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from streamlit.web.server.starlette.starlette_static_routes import (
    create_streamlit_static_handler,
)

import serve

STATIC, JS = serve.STATIC, serve.SCRIPTS
INDEX = STATIC / "index.html"


def _listener(family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """A listening socket made the way Streamlit 1.67's ``_bind_socket`` makes one."""
    sock = socket.socket(family=family)
    sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    sock.listen(8)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


def _in_a_thread(coroutine):
    """Run ``coroutine`` on a loop of its own in a thread of its own: a browser test's
    Playwright (sync API) may still hold a running loop in this thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(coroutine)).result(timeout=30)


def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of the server side of one connection accepted by asyncio on ``listener``."""

    async def accept() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        async with server:
            host, port = listener.getsockname()[:2]
            _, writer = await asyncio.open_connection(host, port)
            try:
                return await asyncio.wait_for(seen, 10)
            finally:
                writer.close()

    return _in_a_thread(accept())


def test_a_socket_made_as_streamlit_makes_it_leaves_nagle_on():
    """The defect the fix is for (if asyncio or Python change this, the fix may go)."""
    assert _accepted_nodelay(_listener()) == 0


def test_the_served_listener_turns_nagle_off_on_every_connection():
    listener = serve.nodelay_listener(_listener())
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.gettimeout() == 0.0 and listener.get_inheritable()
    assert _accepted_nodelay(listener) != 0


def test_ipv6_listeners_too():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")  # the IPv4 test above still runs
    try:
        plain = _listener(socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    assert _accepted_nodelay(serve.nodelay_listener(plain)) != 0


def test_streamlits_own_bind_is_what_serve_wraps():
    """serve.py replaces Streamlit's ``_bind_socket``: that function must still exist with
    the same arguments (a Streamlit upgrade that renames it fails here, not in production)."""
    sock = serve.bind_nodelay("127.0.0.1", 0, 8)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[1] != 0
    finally:
        sock.close()


def _get(response, path: str = "/kmeans", method: str = "GET", *, through=serve.PageHead,
         headers: tuple = ()) -> tuple[dict, bytes]:  # fmt: skip
    """Headers and body of the ASGI app ``response`` answering a request for ``path``
    through the middleware ``through`` (none if None)."""
    sent, asked = [], []

    async def receive():  # the request once; then the client never disconnects
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        await response(scope, receive, send)

    scope = {"type": "http", "method": method, "path": path, "root_path": "",
             "query_string": b"", "headers": list(headers)}  # fmt: skip
    _in_a_thread((through(app) if through else app)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_streamlits_page_html_names_the_page_part_of_the_path():
    headers, body = _get(FileResponse(INDEX), "/kmeans")
    script = serve.PageHead(None).script("/kmeans")
    assert body == INDEX.read_bytes().replace(b"<head>", b"<head>" + script, 1)
    assert int(headers["content-length"]) == len(body)
    assert b'const page = "/kmeans"' in script and b"BACKEND_BASE_URL" in script


def test_the_page_asks_for_streamlits_own_plotly_chunk():
    (chunk,) = JS.glob("PlotlyChart.*.js")
    assert f'import("./static/js/{chunk.name}")'.encode() in serve.PageHead(None).script("/")


def test_the_apps_root_has_no_page_part():
    assert b'const page = ""' in serve.PageHead(None).script("/")


def test_a_path_cannot_close_the_script():
    """The path is the visitor's: ``</script>`` in it must stay inside the string."""
    script = serve.PageHead(None).script("/x</script><script>alert(1)</script>")
    assert script.count(b"</script>") == 1 and script.endswith(b"</script>")


def test_every_other_response_passes_untouched():
    page = b"<html><head></head><body>not Streamlit's page</body></html>"
    assert _get(HTMLResponse(page))[1] == page
    assert _get(JSONResponse({"a": 1}))[1] == b'{"a":1}'
    headers, body = _get(FileResponse(INDEX), method="POST")
    assert body == INDEX.read_bytes()


def test_streamlits_middleware_is_what_serve_extends():
    """serve.py replaces ``starlette_app.create_streamlit_middleware`` with Streamlit's list
    between :class:`serve.StaticAssets` and :class:`serve.PageHead` (innermost: it sees the
    page before gzip does)."""
    stack = serve.lab_middleware()
    assert len(stack) >= 3
    assert stack[0].cls is serve.StaticAssets and stack[-1].cls is serve.PageHead


STREAMLIT = create_streamlit_static_handler(str(STATIC), base_url=None)
SAMPLES = [next((STATIC / "static" / kind).glob(pattern)).relative_to(STATIC).as_posix()
           for kind, pattern in (("js", "index.*.js"), ("css", "*.css"),
                                 ("media", "*.woff2"), ("media", "*.svg"))]  # fmt: skip


@pytest.mark.parametrize("name", SAMPLES)
def test_static_files_are_sent_as_streamlit_sends_them(name):
    """Streamlit's own static handler is the oracle: the same body and the same type,
    length and cache headers."""
    ours = _get(None, f"/{name}", through=lambda _: serve.StaticAssets(STREAMLIT))
    theirs = _get(STREAMLIT, f"/{name}", through=None)
    assert ours[1] == theirs[1] == (STATIC / name).read_bytes()
    for header in ("content-type", "content-length", "cache-control"):
        assert ours[0][header] == theirs[0][header]
    assert "etag" in theirs[0] and "etag" not in ours[0]  # so it was not passed through


def test_anything_else_goes_to_streamlit():
    passed = []

    async def streamlit(scope, receive, send):
        passed.append(scope["path"])
        await JSONResponse({})(scope, receive, send)

    assets = serve.StaticAssets(streamlit)
    name = f"/{SAMPLES[0]}"
    for path, method, headers in [
        ("/kmeans", "GET", ()),  # a page
        ("/static/../index.html", "GET", ()),  # no file under static/ by that name
        ("/static/js/missing.js", "GET", ()),
        (name, "HEAD", ()),
        (name, "GET", ((b"range", b"bytes=0-9"),)),
    ]:
        _get(None, path, method, through=lambda _: assets, headers=headers)
    assert len(passed) == 5
    _get(None, name, through=lambda _: assets)
    assert len(passed) == 5  # the file itself is ours


# ----------------------------------------------------------------------------- the Lab's Plotly

PLAN = json.loads((serve.PLOTLY / "plotly-lab.json").read_text())


def test_the_chart_chunk_is_streamlits_own_around_the_labs_plotly():
    """Streamlit's chunk, byte for byte, except the body of the wrapper that held its
    Plotly: there the Lab's bundle, handed to the wrapper's ``module``. A failure here after
    a Streamlit upgrade means: run ``make plotly`` (assets/plotly/build.mjs)."""
    made = serve.lab_plotly_chunk(JS)
    assert made is not None, "Streamlit's chart chunk changed: run `make plotly`"
    name, body = made
    original = (JS / name).read_bytes()
    chunk = PLAN["streamlit_chunk"]
    start, end = chunk["body_start"], chunk["body_end"]
    assert body[:start] == original[:start] and body.endswith(original[end:])
    assert original[start:start + 1] == b"{" and original[end - 1:end] == b"}"
    assert b".moduleName=" in original[start:start + 120]  # Plotly's UMD file was there
    bundle = (serve.PLOTLY / PLAN["bundle"]["file"]).read_bytes()
    middle = body[start:len(body) - (len(original) - end)]
    assert middle == b"{" + bundle + b"\nwindow.Plotly=Plotly;" + chunk["module"].encode() \
        + b".exports=Plotly}"  # fmt: skip
    assert len(body) < len(original) / 2


def test_the_bundle_is_the_one_the_build_describes():
    bundle = (serve.PLOTLY / PLAN["bundle"]["file"]).read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == PLAN["bundle"]["sha256"]
    banner = bundle.split(b"\n", 1)[0].decode()
    assert f"plotly.js v{PLAN['plotly']} ({', '.join(PLAN['traces'])})" in banner


def test_the_chart_chunk_is_sent_as_made():
    name = f"/static/js/{PLAN['streamlit_chunk']['file']}"
    headers, body = _get(None, name, through=lambda _: serve.StaticAssets(STREAMLIT))
    assert body == serve.lab_plotly_chunk(JS)[1]
    assert int(headers["content-length"]) == len(body)
    assert headers["content-type"].startswith("text/javascript")


def test_any_other_chart_chunk_is_sent_as_streamlit_ships_it(tmp_path):
    """Another Streamlit version's chunk (other bytes under the same name, or none) keeps
    its own Plotly: the offsets fit only the file they were found in."""
    assert serve.lab_plotly_chunk(tmp_path) is None
    other = tmp_path / PLAN["streamlit_chunk"]["file"]
    other.write_bytes((JS / other.name).read_bytes() + b"\n")
    assert serve.lab_plotly_chunk(tmp_path) is None


TRACE_TYPES = {getattr(go, name)().type: name for name in dir(go)  # go loads lazily
               if isinstance(getattr(go, name), type)
               and issubclass(getattr(go, name), BaseTraceType)}  # fmt: skip


def _trace_types_drawn() -> set[str]:
    """Trace types the Lab's figures are made of: every ``go.<Trace>`` named in charts/ and
    app_pages/, and every ``"type": "<trace>"`` of a figure written as a dict."""
    names = {name: type_ for type_, name in TRACE_TYPES.items()}
    found = set()
    root = Path(serve.__file__).resolve().parent
    for path in [*(root / "charts").rglob("*.py"), *(root / "app_pages").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "go" and node.attr in names:  # fmt: skip
                found.add(names[node.attr])
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "type" \
                            and isinstance(value, ast.Constant) and value.value in TRACE_TYPES:
                        found.add(value.value)
    return found


def test_the_bundle_has_every_trace_type_the_lab_draws():
    drawn = _trace_types_drawn()
    assert {"scatter", "scattergl", "heatmap"} <= drawn  # the scan finds what it must
    assert drawn <= set(PLAN["traces"]), f"add {drawn - set(PLAN['traces'])} to build.mjs"
