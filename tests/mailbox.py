"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives, for email tests."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0
        # An SMTP reply such as "451 4.3.0 Try again later": every email is refused with it.
        self.refuse: str | None = None

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def settings(self) -> dict[str, object]:
        return {"smtp_host": self.host, "smtp_port": self.port}

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def last(self, address: str, timeout: float = 5) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no email to {address}; got {[m['To'] for m in self.messages]}")

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]

    def link(self, message: EmailMessage, path_part: str) -> str:
        for url in re.findall(r"https?://\S+", self.text(message)):
            if path_part in url:
                return url
        raise AssertionError(f"no link with {path_part!r} in:\n{self.text(message)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running_mailbox() -> Iterator[Mailbox]:
    """For a fixture: ``yield from running_mailbox()``."""
    box = Mailbox()
    box.port = _free_port()
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
