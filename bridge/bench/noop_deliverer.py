"""The ceiling for ``bridge-bench deliver``: a no-op deliverer.

``processes`` processes of ``threads`` threads each (the notifiers'
numbers) POST webhook requests to the bench's receiver, every thread over
its own keep-alive HTTP/1.1 connection (``http.client``), doing per request
what bridge-notifier does on the wire and nothing else: the body and the
signed headers built by the notifier's own
:func:`~bridge.notifier.formats.message_body` and
:func:`~bridge.notifier.formats.headers`, and the answer read so
the connection carries the next request. No storage, no leases, no
cursors, no retries.

The clock runs from the moment every thread has its connection open (one
unmeasured request each) until the receiver records the last delivery, as
for bridge's burst run, so its deliveries/s is the most a Python webhook
deliverer reaches on this machine against this receiver.
"""

from __future__ import annotations

import http.client
import multiprocessing
import multiprocessing.connection
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bridge.bench import procs
from bridge.bench.receiver import Receiver
from bridge.notifier import formats
from bridge.storage import models

MIN_DELIVERIES = 3000
"""Fewest deliveries ``bridge-bench deliver`` measures the ceiling with."""
_SECRET = uuid.uuid4().hex
_DRAIN_LIMIT = 64 * 1024
_USER_AGENT = 'bridge-notifier'


@dataclass
class Baseline:
    """One run of the no-op deliverer."""

    processes: int
    threads: int
    expected: int
    delivered: int
    """Deliveries the receiver recorded."""
    duplicates: int
    rate: float
    """Deliveries/s, from the start signal to the last receipt."""


def _subscription(queue: str, url: str) -> models.Subscription:
    return models.Subscription(
        id=str(uuid.uuid4()), project=procs.BENCH_PROJECT, queue=queue,
        subscriber=url, ttl=3600, options={}, created=time.time(),
        secret=_SECRET, confirmed=True, cursor=0)


def payload(sub: models.Subscription, seq: int) -> bytes:
    """The body bridge-notifier would send ``sub`` for message ``seq``
    (built by the notifier's own :func:`~bridge.notifier.formats.message_body`)."""
    msg = models.Message(id=str(uuid.uuid4()), ttl=3600, created=time.time(),
                         marker=seq, body={'event_type': 'bench.deliver',
                                           'seq': seq, 'posted': time.time()})
    return formats.message_body(sub, msg)


def _deliver(conn: http.client.HTTPConnection, path: str,
             sub: models.Subscription, body: bytes) -> None:
    conn.request('POST', path, body=body, headers={
        'User-Agent': _USER_AGENT,
        **formats.headers(sub, body, 'bench', time.time())})
    response = conn.getresponse()
    response.read(_DRAIN_LIMIT)
    if not response.isclosed() or response.will_close:
        conn.close()
    if response.status != 200:
        raise http.client.HTTPException('HTTP %d' % response.status)


class _Work:
    """The sequence numbers one process's threads still have to deliver."""

    def __init__(self, first: int, count: int) -> None:
        self._next, self._end = first, first + count
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._end:
                return None
            self._next += 1
            return self._next - 1


def _thread(port: int, queue: str, name: str, work: _Work,
            ready: threading.Barrier, go: threading.Event) -> None:
    path = '/%s/%s' % (queue, name)
    sub = _subscription(queue, 'http://%s:%d%s' % (procs.HOST, port, path))
    conn = http.client.HTTPConnection(procs.HOST, port, timeout=30)
    try:
        try:
            _deliver(conn, path, sub, payload(sub, -1))  # warm-up
        finally:
            ready.wait()
        go.wait()
        while (seq := work.take()) is not None:
            _deliver(conn, path, sub, payload(sub, seq))
    except (OSError, http.client.HTTPException) as exc:
        work.errors.append('%s: %s' % (path, exc))
    finally:
        conn.close()


def _child(port: int, threads: int, first: int, count: int, index: int,
           control: multiprocessing.connection.Connection) -> None:
    """One deliverer process: ``threads`` threads delivering sequence
    numbers ``first`` .. ``first + count - 1`` once ``control`` says go."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not bridge-bench's
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    work = _Work(first, count)
    ready, go = threading.Barrier(threads + 1), threading.Event()
    queue = 'deliver-noop-%s' % uuid.uuid4().hex[:6]
    workers = [threading.Thread(
        target=_thread, args=(port, queue, '%d-%d' % (index, t), work,
                              ready, go), daemon=True)
        for t in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    control.send(list(work.errors))
    control.recv()
    go.set()
    for worker in workers:
        worker.join()
    control.send(list(work.errors))


def _reports(pipes: list[Any], what: str, timeout: float) -> None:
    """Wait for every child's next report; BenchError if one failed, died
    or took longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for pipe in pipes:
        try:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise procs.BenchError('the no-op deliverer did not %s '
                                       'within %.0fs' % (what, timeout))
            errors = pipe.recv()
        except EOFError:
            raise procs.BenchError('a no-op deliverer process died')
        if errors:
            raise procs.BenchError('the no-op deliverer failed to %s: %s'
                                   % (what, '; '.join(errors[:3])))


def measure(receiver: Receiver, processes: int, threads: int,
            deliveries: int, timeout: float = 120.0) -> Baseline:
    """Deliver ``deliveries`` requests to ``receiver`` from ``processes``
    x ``threads`` threads; how fast and how many the receiver recorded."""
    # spawn: a fork of a threaded process (pytest, oslo) is unsafe.
    ctx = multiprocessing.get_context('spawn')
    pipes, children, first = [], [], 0
    try:
        for index in range(processes):
            count = deliveries // processes + int(index < deliveries % processes)
            mine, theirs = ctx.Pipe()
            child = ctx.Process(target=_child, daemon=True,
                                name='bench-noop-deliverer-%d' % index,
                                args=(receiver.port, threads, first, count,
                                      index, theirs))
            child.start()
            theirs.close()  # so a dead child reads as EOF
            pipes.append(mine)
            children.append(child)
            first += count
        _reports(pipes, 'open its connections', 60.0)
        receiver.start_counting()
        started = time.time()
        for pipe in pipes:
            pipe.send('go')
        _reports(pipes, 'deliver', timeout)
        got = receiver.collected()
    finally:
        for child in children:
            child.terminate()
            child.join(5)
    delivered = len(got['latencies'])
    elapsed = (got['last'] - started) if got['last'] else float('inf')
    return Baseline(processes, threads, deliveries, delivered,
                    got['duplicates'], delivered / elapsed)
