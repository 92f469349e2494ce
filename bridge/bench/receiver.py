"""The webhook receiver of ``bridge-bench deliver``: its own process, an
asyncio HTTP/1.1 server on 127.0.0.1 with keep-alive that answers every
POST with 200 at once and records, per request, the receipt time minus the
``posted`` time stamped in the message body (``{"body": {"seq", "posted",
...}, ...}``) and how many ``(path, seq)`` pairs arrived twice.

The bench process drives it through :class:`Receiver` over a pipe:
:meth:`Receiver.start_counting`, :meth:`Receiver.count` and
:meth:`Receiver.collected`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import signal
import threading
import time
from typing import Any

from bridge.bench import procs

_RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'


class _Receipts:
    """What arrived since the last :meth:`reset` (guarded by ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> dict[str, Any]:
        old = dict(getattr(self, 'data', {}))
        self.data: dict[str, Any] = {'latencies': [], 'seen': set(),
                                     'duplicates': 0, 'first': None,
                                     'last': None}
        return old

    def add(self, path: bytes, body: bytes, now: float) -> None:
        doc = json.loads(body)['body']
        key = (path, doc['seq'])
        with self.lock:
            data = self.data
            data['latencies'].append(now - doc['posted'])
            if key in data['seen']:
                data['duplicates'] += 1
            data['seen'].add(key)
            data['first'] = data['first'] or now
            data['last'] = now


class _Http(asyncio.Protocol):
    """One connection: parses pipelined requests by ``Content-Length`` and
    answers each with 200 once it is recorded."""

    def __init__(self, receipts: _Receipts) -> None:
        self.receipts = receipts
        self.buf = b''
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                return
            head = self.buf[:end].lower()
            at = head.find(b'content-length:')
            length = 0
            if at >= 0:
                stop = head.find(b'\r\n', at)
                length = int(head[at + 15:stop if stop >= 0 else None])
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body, self.buf = self.buf[end + 4:total], self.buf[total:]
            self.receipts.add(head.split(b' ', 2)[1], body, time.time())
            self.transport.write(_RESPONSE)


def _serve(port: int, control: multiprocessing.connection.Connection) -> None:
    """The receiver process: serve on ``port``; answer ``control``'s
    commands (``'take'``: the records so far, reset)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not bridge-bench's
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    receipts = _Receipts()

    def answer_commands() -> None:
        while True:
            command = control.recv()
            with receipts.lock:
                data = receipts.reset()
            control.send(data if command == 'take' else None)

    threading.Thread(target=answer_commands, daemon=True).start()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: _Http(receipts), procs.HOST, port, backlog=512))
    control.send('ready')
    loop.run_until_complete(server.serve_forever())


class Receiver:
    """The receiver process; :meth:`take` returns and resets its records."""

    def __init__(self) -> None:
        self.port = procs.free_port()
        # spawn: a fork of a threaded process (pytest, oslo) is unsafe.
        ctx = multiprocessing.get_context('spawn')
        self._control, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(self.port, child),
                                daemon=True, name='bench-receiver')

    def __enter__(self) -> 'Receiver':
        self.proc.start()
        if not self._control.poll(30) or self._control.recv() != 'ready':
            raise procs.BenchError('the webhook receiver did not start')
        return self

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.join(5)

    def take(self) -> dict[str, Any]:
        self._control.send('take')
        return self._control.recv()

    def count(self) -> int:
        data = self.take()  # cheap enough at the bench's poll rate
        self._pending.append(data)
        return sum(len(d['latencies']) for d in self._pending)

    def start_counting(self) -> None:
        self.take()
        self._pending: list[dict[str, Any]] = []

    def collected(self) -> dict[str, Any]:
        self.count()
        merged: dict[str, Any] = {'latencies': [], 'duplicates': 0,
                                  'first': None, 'last': None}
        for d in self._pending:
            merged['latencies'] += d['latencies']
            merged['duplicates'] += d['duplicates']
            if d['first'] is not None:
                merged['first'] = min(merged['first'] or d['first'],
                                      d['first'])
                merged['last'] = max(merged['last'] or 0, d['last'])
        return merged
