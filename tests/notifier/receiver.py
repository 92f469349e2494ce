"""A real webhook receiver for the notifier tests: an HTTP/1.1 server on
127.0.0.1 (one thread per connection) that records every request and
answers according to a per-path plan (fail N times, be slow, send
Retry-After), then 200."""

from __future__ import annotations

import collections
import dataclasses
import http.server
import json
import socket
import sys
import threading
import time
from typing import Any


@dataclasses.dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    received: float
    status: int
    """What the receiver answered (or was about to, when it was slow)."""
    late: bool = False
    """Answered after a planned delay (meant to outlast the client's read
    timeout)."""
    peer: tuple[str, int] = ('', 0)
    """The client's address and port (one port per connection)."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that die mid-request (the SIGKILL test) are expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """Start with :meth:`start`, stop with :meth:`stop` (and start again on
    the same port); ``url(path)`` is where a subscriber points."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, collections.deque[Answer]] = \
            collections.defaultdict(collections.deque)
        self.requests: list[Request] = []
        self.delay = 0.0
        """Seconds every unplanned answer takes."""
        self._in_flight: collections.Counter[str] = collections.Counter()
        self.max_in_flight: collections.Counter[str] = collections.Counter()
        """Most requests to one path handled at the same time."""
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._sockets: set[socket.socket] = set()

    # -- plans ---------------------------------------------------------------

    def plan(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers`` in turn
        (then 200)."""
        with self._lock:
            self._plans[path].extend(answers)

    def fail(self, path: str, times: int, status: int = 500,
             retry_after: str | None = None) -> None:
        headers = (('Retry-After', retry_after),) if retry_after else ()
        self.plan(path, *[Answer(status, headers=headers)] * times)

    def slow(self, path: str, times: int, seconds: float) -> None:
        self.plan(path, *[Answer(200, delay=seconds)] * times)

    # -- results -----------------------------------------------------------

    def received(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path in (None, r.path)]

    def accepted(self, path: str | None = None) -> list[Request]:
        """Requests answered 2xx in time (not the planned late ones)."""
        return [r for r in self.received(path)
                if 200 <= r.status < 300 and not r.late]

    def wait_for(self, count: int, path: str | None = None,
                 timeout: float = 20.0, accepted: bool = True
                 ) -> list[Request]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.accepted(path) if accepted else self.received(path)
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.01)

    # -- server ------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str = '/hook') -> str:
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def start(self) -> 'Receiver':
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._sockets.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._sockets.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                answer = receiver._next(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver._in_flight[self.path] += 1
                    receiver.max_in_flight[self.path] = max(
                        receiver.max_in_flight[self.path],
                        receiver._in_flight[self.path])
                    receiver.requests.append(Request(
                        self.path, headers, body, time.time(),
                        answer.status, late=answer.delay > 0,
                        peer=self.client_address[:2]))
                try:
                    time.sleep(answer.delay or receiver.delay)
                finally:
                    with receiver._lock:
                        receiver._in_flight[self.path] -= 1
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.send_header('Content-Length', '2')
                    self.end_headers()
                    self.wfile.write(b'ok')
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(('127.0.0.1', self._port), Handler)
        self._port = self._server.server_address[1]
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close every open connection (a later
        :meth:`start` listens on the same port again)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _next(self, path: str) -> Answer:
        with self._lock:
            plan = self._plans.get(path)
            return plan.popleft() if plan else Answer()
