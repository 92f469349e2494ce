"""``bridge-bench slow-clients``: does a handful of slow clients stall
everyone else?

Against a running server, ``--header-clients`` connections each send a
request's header lines one every ``--interval`` seconds, and
``--body-clients`` connections each announce a ``--body-size`` body and
send it one byte every ``--interval`` seconds. Meanwhile another tenant
sends ``--requests`` ordinary requests (queue stats, one at a time on a
fresh connection each); the verdict is that every one was answered and
the slowest within ``--goal-ms``.

The baseline is the same tenant's requests before the slow clients
connect, measured in the same run. :func:`run_check` is also what the
test suite uses (tests/api/test_server.py), with a bound on stalls rather
than on speed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

from bridge.bench import procs

HOST = procs.HOST


@dataclass
class Result:
    """Latencies (seconds) of the other tenant's requests; None for one
    that got no answer."""

    baseline: list[float | None] = field(default_factory=list)
    under_load: list[float | None] = field(default_factory=list)

    @staticmethod
    def worst(values: list[float | None]) -> float | None:
        """The slowest latency, None if any request got no answer."""
        if any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)

    def answered(self) -> int:
        return sum(v is not None for v in self.under_load)


def _trickle(stop: threading.Event, port: int, head: bytes, body: bytes,
             interval: float) -> None:
    """Send ``head`` (then ``body``) one piece per ``interval`` until
    everything is sent or ``stop`` is set; header lines go a line at a
    time, the body a byte at a time."""
    pieces = [line + b'\r\n' for line in head.split(b'\r\n')[:-1]]
    pieces += [body[i:i + 1] for i in range(len(body))]
    try:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            for piece in pieces:
                sock.sendall(piece)
                if stop.wait(interval):
                    return
    except OSError:
        return  # the server may drop a slow client; that is its right


def _headers_of(project: str, body: bytes) -> bytes:
    lines = ['POST /v2/queues/slow/messages HTTP/1.1', 'Host: %s' % HOST,
             'Client-ID: %s' % uuid.uuid4(), 'X-Project-Id: %s' % project,
             'Content-Type: application/json']
    if body:
        lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def _timed_request(port: int, project: str, timeout: float) -> float | None:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}
    started = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request('GET', '/v2/queues/fast/stats', headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 500:
            return None
        return time.monotonic() - started
    except OSError:
        return None
    finally:
        conn.close()


def _probe(port: int, count: int, timeout: float) -> list[float | None]:
    project = 'other-tenant'
    return [_timed_request(port, project, timeout) for _ in range(count)]


def run_check(port: int, header_clients: int = 12, body_clients: int = 12,
              requests: int = 30, interval: float = 1.0,
              body_size: int = 100 * 1024, settle: float = 2.0,
              timeout: float = 10.0) -> Result:
    """Measure the other tenant's requests before and while the slow
    clients trickle (they start ``settle`` seconds before the probe, so
    they hold their connections by then), then stop the slow clients."""
    result = Result(baseline=_probe(port, requests, timeout))
    stop = threading.Event()
    body = b'{"messages": [{"body": "' + b'x' * max(0, body_size - 30) + b'"}]}'
    threads = [threading.Thread(
        target=_trickle, daemon=True,
        args=(stop, port, _headers_of('slow-headers', b''), b'', interval))
        for _ in range(header_clients)]
    threads += [threading.Thread(
        target=_trickle, daemon=True,
        args=(stop, port, _headers_of('slow-bodies', body), body, interval))
        for _ in range(body_clients)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(settle)
        result.under_load = _probe(port, requests, timeout)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--header-clients', type=int, default=12)
    parser.add_argument('--body-clients', type=int, default=12)
    parser.add_argument('--requests', type=int, default=30,
                        help="The other tenant's requests (default 30).")
    parser.add_argument('--interval', type=float, default=1.0,
                        help='Seconds between two pieces a slow client '
                             'sends (default 1).')
    parser.add_argument('--body-size', type=int, default=100 * 1024)
    parser.add_argument('--goal-ms', type=float, default=200.0,
                        help='Slowest answer allowed under slow clients '
                             '(default 200).')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start bridge-api (its defaults, SQLite in a temporary directory),
    run the check, print the verdict; 0 if met."""
    from bridge.bench import targets as tg

    with tempfile.TemporaryDirectory(prefix='bridge-bench-') as run_dir:
        settings = tg.Settings(run_dir=run_dir, workers=_api('workers'),
                               threads=_api('threads'), postgresql_url='',
                               zaqar_venv='')
        server = tg.bridge_sqlite(settings, procs.free_port())
        load = os.getloadavg()[0]
        with procs.running(server, timeout=90.0):
            result = run_check(server.port, args.header_clients,
                               args.body_clients, args.requests,
                               args.interval, args.body_size)
    return report(result, args, load)


def _api(name: str) -> int:
    from bridge.bench.api import _api_default
    return _api_default(name)


def _ms(value: float | None) -> str:
    return 'unanswered' if value is None else '%.1f ms' % (value * 1000)


def report(result: Result, args: argparse.Namespace, load: float) -> int:
    worst = Result.worst(result.under_load)
    met = worst is not None and worst * 1000 <= args.goal_ms
    print('bridge-bench slow-clients: bridge-api ([api] defaults, SQLite); '
          'load average %.2f' % load)
    print('%d clients trickle header lines and %d trickle %d-byte bodies, '
          'one piece every %gs' % (args.header_clients, args.body_clients,
                                   args.body_size, args.interval))
    print("other tenant, %d requests: before %s worst (median %s); during "
          '%d answered, %s worst (median %s)'
          % (args.requests, _ms(Result.worst(result.baseline)),
             _ms(_median(result.baseline)), result.answered(), _ms(worst),
             _ms(_median(result.under_load))))
    print('verdict: every request answered, worst <= %.0f ms: %s'
          % (args.goal_ms, 'met' if met else 'MISSED'))
    return 0 if met else 1


def _median(values: list[float | None]) -> float | None:
    present = sorted(v for v in values if v is not None)
    with contextlib.suppress(IndexError):
        return present[(len(present) - 1) // 2]
    return None
