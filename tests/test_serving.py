"""How the server is run: every connection a worker accepts has Nagle's algorithm off.

The worker is run as `petunia serve --workers N` runs it (uvicorn binds the listening socket
and hands it to the worker), in this process, so the server's end of a kept-alive connection
can be found among this process's sockets and its TCP_NODELAY option read: no timing."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.config import get_settings
from api.serving import uvicorn_options


@pytest.fixture()
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setenv("PETUNIA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    options = uvicorn_options(get_settings(), "127.0.0.1", 0, workers=2)
    config = uvicorn.Config(**options | {"log_level": "warning"})
    listener = config.bind_socket()  # what uvicorn.run does before it starts the workers
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    try:
        yield listener.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def server_end(client: socket.socket) -> socket.socket:
    """This process's socket at the other end of ``client`` (a duplicate: close it)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if (sock.getsockname(), sock.getpeername()) == (
                client.getpeername(),
                client.getsockname(),
            ):
                return sock
        except OSError:
            pass
        sock.close()
    raise AssertionError("the server's end of the connection was not found")


def test_a_worker_turns_nagle_off_on_every_connection(worker: tuple[str, int]) -> None:
    with socket.create_connection(worker) as client:
        for _ in range(2):  # keep-alive: the same connection answers twice
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: petunia\r\n\r\n")
            reply = b""
            while b'"}' not in reply:
                chunk = client.recv(4096)
                assert chunk, reply
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 ")
        with server_end(client) as server:
            assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
