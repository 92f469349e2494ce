"""A real SMTP server for the notifier tests (aiosmtpd on 127.0.0.1) that
records every accepted mail and can be stopped and started again on the
same port."""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import socket
import threading
import time
from typing import Any

from aiosmtpd.controller import Controller


@dataclasses.dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message['Subject'])

    @property
    def text(self) -> str:
        return self.message.get_content().replace("\r\n", "\n")


class _Handler:
    def __init__(self, server: 'SmtpServer') -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,
                          address: str, rcpt_options: list) -> str:
        code = self.server.refuse_recipients.get(address)
        if code:
            return '%d recipient refused by test' % code
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server: Any, session: Any,
                          envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content,
                                           policy=email.policy.default)
        with self.server.lock:
            self.server.mails.append(Mail(envelope.mail_from,
                                          list(envelope.rcpt_tos), message))
        return '250 Message accepted'


class SmtpServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[Mail] = []
        self.refuse_recipients: dict[str, int] = {}
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self._controller: Controller | None = None

    def start(self) -> 'SmtpServer':
        self._controller = Controller(_Handler(self), hostname='127.0.0.1',
                                      port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.received()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received()
