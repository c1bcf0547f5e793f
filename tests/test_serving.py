"""How the server is run: every connection a worker accepts has Nagle's algorithm off.

The worker is run as `petunia serve --workers N` runs it (uvicorn binds the listening socket
and hands it to the worker), in this process, so the server's end of a kept-alive connection
can be found among this process's sockets and its TCP_NODELAY option read: no timing."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
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


# -- The real command ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _socket_inode(pid: int, local_port: int, remote_port: int) -> str | None:
    """The inode of the TCP socket local_port <-> remote_port, from the process's view."""
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if (int(local, 16), int(remote, 16)) == (local_port, remote_port):
                return fields[9]
    return None


def _borrow_fd(pid: int, target: int) -> int:
    """A duplicate of another process's descriptor (pidfd_getfd, Linux 5.6)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = libc.syscall(438, pidfd, target, 0)  # SYS_pidfd_getfd on x86-64 and arm64
    finally:
        os.close(pidfd)
    if fd < 0:
        pytest.skip(f"pidfd_getfd is not allowed here ({os.strerror(ctypes.get_errno())})")
    return fd


def test_petunia_serve_with_workers_turns_nagle_off(tmp_path: Path) -> None:
    """`petunia serve --workers 2` itself: the worker's end of a kept-alive connection, read
    from the worker process, has TCP_NODELAY set."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = ["serve", "--workers", "2", "--port", str(port), "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                time.sleep(0.2)
        with client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: petunia\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 ")
            client_port = client.getsockname()[1]
            for worker in _children(proc.pid):
                inode = _socket_inode(worker, port, client_port)
                fds = {}
                for fd in os.listdir(f"/proc/{worker}/fd"):
                    with contextlib.suppress(OSError):  # closed meanwhile
                        fds[os.readlink(f"/proc/{worker}/fd/{fd}")] = int(fd)
                if inode and f"socket:[{inode}]" in fds:
                    fd = _borrow_fd(worker, fds[f"socket:[{inode}]"])
                    with socket.socket(fileno=fd) as server:
                        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                    return
            raise AssertionError("no worker holds the server's end of the connection")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
