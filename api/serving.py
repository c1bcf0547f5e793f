"""How `petunia serve` and `petunia up` run uvicorn: the one set of uvicorn options, and the
HTTP protocol that turns Nagle's algorithm off on every connection it accepts.

Why the protocol: asyncio sets ``TCP_NODELAY`` on an accepted connection only when the
listening socket object says ``proto == IPPROTO_TCP``. With several workers uvicorn binds the
socket itself with ``socket.socket(family)`` (proto 0), so the workers' connections keep
Nagle's algorithm on and every small response on a kept-alive connection waits for the
client's delayed ACK: about 40 ms a request (uvicorn issue 3149). Setting the option where
the connection is made fixes it however the socket was bound (one process, ``--workers``,
``--fd``, gunicorn's workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from api import logs
from api.config import Settings


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (httptools or h11, as uvicorn chooses) with TCP_NODELAY set on
    the connection before the first byte is read."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport.get_extra_info("socket"))
        super().connection_made(transport)


def set_nodelay(sock: Any) -> None:
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket has no Nagle's algorithm
    with contextlib.suppress(OSError):  # the peer may already be gone: nothing to speed up
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def uvicorn_options(
    settings: Settings, host: str | None, port: int | None, *, workers: int
) -> dict[str, Any]:
    """The keyword arguments `uvicorn.run` (and `uvicorn.Config`) get from Petunia."""
    return {
        "app": "api.app:create_app",
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers,
        "http": NoDelayHTTPProtocol,
        # The app itself trusts X-Forwarded-For only from PETUNIA_TRUSTED_PROXIES
        # (api/web/proxies.py); uvicorn's own default would trust loopback.
        "proxy_headers": False,
        # Applied in every worker process too: no query strings, no exception messages.
        "log_config": logs.config(settings.log_level),
    }
