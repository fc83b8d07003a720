"""serve.py's listening socket: every connection it accepts has Nagle's algorithm off.

Without it each response after the first on a kept-alive connection waited for the
browser's delayed ACK (about 40 ms on Linux): a new session's script files, and every
websocket message that follows another. asyncio turns ``TCP_NODELAY`` on only for sockets
that report ``IPPROTO_TCP``, which a socket made as Streamlit makes its own does not.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

import serve


def _listener(family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """A listening socket made the way Streamlit 1.67's ``_bind_socket`` makes one."""
    sock = socket.socket(family=family)
    sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    sock.listen(8)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


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

    # A loop of its own in a thread of its own: a browser test's Playwright (sync API) may
    # still hold a running loop in this thread.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(accept())).result(timeout=30)


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
