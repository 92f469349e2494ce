"""``bridge-bench push``: from an event on RabbitMQ to the message at a
waiting client.

bridge-api (granian, SQLite under a temporary state directory, its
WebSocket API on a free port) and bridge-listener's service (in this
process, same state directory: wake-ups through its Unix sockets) run
together. Events are published at ``--rate`` per second for ``--duration``
seconds, all for one tenant queue; three clients receive them at once:

* ``bus``: a bare kombu consumer on its own queue bound to the same
  exchange and routing key (the baseline: RabbitMQ's own latency);
* ``long-poll``: GET messages with ``wait=20`` following the marker;
* ``websocket``: a socket subscription (``subscription_create``).

Latency is from publishing to the client reading the message (one machine,
one monotonic clock), p50 and p99, and each client's p99 is also given as a
ratio of the bus's. Then ``--waiters`` more long polls are parked on
another queue: the number held, the API worker's RSS before and while they
wait, and how long after one post they all have it.

The goal is a p99 of at most 50 ms at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from typing import Any

import kombu
import requests

from bridge import emitter
from bridge import translation
from bridge.bench import ingest
from bridge.bench.procs import BenchError, Server, free_port, running

TIMEOUT = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--rate', type=int, default=1000,
                        help='events published per second (default 1000)')
    parser.add_argument('--duration', type=float, default=10.0,
                        help='seconds of publishing (default 10)')
    parser.add_argument('--waiters', type=int, default=2000,
                        help='long polls parked for the memory figure '
                             '(default 2000)')
    parser.add_argument('--batch-size', type=int, default=100,
                        help="the listener's batch_size (default 100)")
    parser.add_argument('--batch-linger', type=float, default=None,
                        help="the listener's batch_linger (default: "
                             "bridge's)")
    parser.add_argument('--transport-url',
                        default='rabbit://guest:guest@127.0.0.1:5672/',
                        help='RabbitMQ to use (default: local, vhost /)')
    parser.set_defaults(func=run)


def _routed_sample() -> tuple[dict[str, Any], str, str]:
    """A bench sample and the (project, queue) bridge routes it to."""
    rules = translation.load_rules(translation.default_rules_path())
    for sample in ingest.load_samples():
        note = translation.Notification(
            event_type=sample['event_type'],
            publisher_id=sample.get('publisher_id', ''),
            priority=sample.get('priority', 'info').lower(),
            payload=sample['payload'], ctxt={}, message_id='x',
            timestamp='')
        result = translation.translate(note, rules)
        if isinstance(result, translation.Routed):
            return sample, result.project_id, result.queue
    raise BenchError('no bench sample is routed to a tenant queue')


class Latencies:
    def __init__(self, sent: dict[str, float]) -> None:
        self.sent = sent
        self.values: list[float] = []
        self.lock = threading.Lock()

    def got(self, event_id: Any, now: float) -> None:
        started = self.sent.get(str(event_id))
        if started is not None:
            with self.lock:
                self.values.append(now - started)


def _bus_consumer(url: str, sample: dict[str, Any], lat: Latencies,
                  stop: threading.Event) -> None:
    name = 'bridge_bench_push_' + uuid.uuid4().hex[:8]
    with kombu.Connection('amqp://' + url.split('://', 1)[1]) as conn:
        exchange = kombu.Exchange(emitter.exchange_of(sample), type='topic',
                                  durable=False, auto_delete=False)
        queue = kombu.Queue(name, exchange, auto_delete=True,
                            routing_key='%s.%s' % (
                                ingest.TOPIC,
                                sample.get('priority', 'info').lower()))

        def on_message(body: Any, message: Any) -> None:
            inner = json.loads(body['oslo.message'])
            lat.got(inner['message_id'], time.monotonic())
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message]):
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    continue
                except OSError:
                    continue


def _headers(project: str) -> dict[str, str]:
    return {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}


def _long_poll(api: str, project: str, queue: str, lat: Latencies,
               stop: threading.Event) -> None:
    session = requests.Session()
    headers = _headers(project)
    marker = ''
    while not stop.is_set():
        query = 'wait=1&limit=20&echo=true' + (
            '&marker=' + marker if marker else '')
        resp = session.get(f'{api}/v2/queues/{queue}/messages?{query}',
                           headers=headers, timeout=30)
        now = time.monotonic()
        doc = resp.json()
        for message in doc.get('messages', ()):
            lat.got(message['body'].get('id'), now)
        for link in doc.get('links', ()):
            found = urllib.parse.parse_qs(
                urllib.parse.urlsplit(link['href']).query).get('marker')
            if found:
                marker = found[0]


def _websocket(ws_url: str, project: str, queue: str, lat: Latencies,
               stop: threading.Event, ready: threading.Event) -> None:
    import websocket  # websocket-client (test-requirements.txt)
    ws = websocket.create_connection(ws_url, timeout=1.0)
    headers = _headers(project)
    ws.send(json.dumps({'action': 'subscription_create', 'headers': headers,
                        'body': {'queue_name': queue, 'ttl': 3600}}))
    answer = json.loads(ws.recv())
    if answer['headers']['status'] != 201:
        raise BenchError('subscription_create answered %s' % answer)
    ready.set()
    while not stop.is_set():
        try:
            frame = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            continue
        lat.got((frame.get('body') or {}).get('id'), time.monotonic())
    ws.close()


def _summary(name: str, lat: Latencies, expected: int,
             baseline: float | None) -> tuple[str, float]:
    values = sorted(lat.values)
    if len(values) < 2:
        return '%-10s received %d of %d' % (name, len(values), expected), 0.0
    p50 = statistics.median(values) * 1000
    p99 = values[max(0, int(len(values) * 0.99) - 1)] * 1000
    ratio = ' (%.1fx the bus)' % (p99 / baseline) if baseline else ''
    return ('%-10s received %5d of %d  p50 %6.1f ms  p99 %6.1f ms%s'
            % (name, len(values), expected, p50, p99, ratio)), p99


def _publish(url: str, sample: dict[str, Any], rate: int, duration: float,
             sent: dict[str, float]) -> int:
    count = int(rate * duration)
    with emitter.Emitter(url) as out:
        start = time.monotonic()
        for n in range(count):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            message_id = str(uuid.uuid4())
            sent[message_id] = time.monotonic()
            out.publish(dict(sample, message_id=message_id,
                             topic=ingest.TOPIC))
    return count


def _rss_kib(parent: int) -> int:
    out = subprocess.run(['ps', '-o', 'rss=', '--ppid', str(parent)],
                         capture_output=True, text=True).stdout
    return sum(int(v) for v in out.split())


async def _park(port: int, project: str, queue: str, count: int
                ) -> list[asyncio.Future[bytes]]:
    async def one() -> bytes:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write((f'GET /v2/queues/{queue}/messages?wait=20 HTTP/1.1\r\n'
                      f'Host: bench\r\nClient-ID: {uuid.uuid4()}\r\n'
                      f'X-Project-Id: {project}\r\n'
                      'Connection: close\r\n\r\n').encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        return data
    return [asyncio.ensure_future(one()) for _ in range(count)]


def _waiters(api: Server, url: str, project: str, count: int) -> str:
    async def scenario() -> str:
        before = _rss_kib(api.proc.pid)  # type: ignore[union-attr]
        waits = await _park(api.port, project, 'bench-waiters', count)
        await asyncio.sleep(3.0)
        held = sum(1 for w in waits if not w.done())
        during = _rss_kib(api.proc.pid)  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        posted = time.monotonic()
        await loop.run_in_executor(None, lambda: requests.post(
            f'{url}/v2/queues/bench-waiters/messages',
            json={'messages': [{'body': 'wake'}]},
            headers=_headers(project), timeout=TIMEOUT))
        answers = await asyncio.gather(*waits, return_exceptions=True)
        took = time.monotonic() - posted
        got = sum(1 for a in answers
                  if isinstance(a, bytes) and b'"wake"' in a)
        return ('waiters   held %d of %d; API worker RSS %.1f MiB idle, '
                '%.1f MiB while they wait (%.1f KiB each); %d answered '
                'within %.2f s of one post' % (
                    held, count, before / 1024, during / 1024,
                    (during - before) / max(held, 1), got, took))
    return asyncio.run(scenario())


def run(args: argparse.Namespace) -> int:
    sample, project, queue = _routed_sample()
    with tempfile.TemporaryDirectory(prefix='bridge-bench-push-') as state:
        port, ws_port = free_port(), free_port()
        conf_path = os.path.join(state, 'bridge.conf')
        with open(conf_path, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % state)
        api = Server('bridge-api', [
            os.path.join(os.path.dirname(sys.executable), 'bridge-api'),
            '--config-file', conf_path, '--bind-port', str(port)],
            port, os.path.join(state, 'bridge-api.log'),
            env={'OS_WEBSOCKET__BIND_PORT': str(ws_port)})
        with running(api):
            return _measure(args, api, state, sample, project, queue,
                            'ws://127.0.0.1:%d/' % ws_port)


def _start_listener(args: argparse.Namespace, state: str,
                    sample: dict[str, Any]) -> tuple[subprocess.Popen[bytes],
                                                     str]:
    """``bridge-listener`` in its own process (and pool), on the same state
    directory as bridge-api; returns the process and its pool name."""
    pool = 'bridge_bench_push_' + uuid.uuid4().hex[:6]
    conf_path = os.path.join(state, 'listener.conf')
    options = {
        'DEFAULT': {'state_path': state, 'transport_url': args.transport_url},
        'listener': {'pool': pool, 'topics': ingest.TOPIC,
                     'exchanges': emitter.exchange_of(sample),
                     'batch_size': str(args.batch_size),
                     'batch_timeout': '0.5', 'max_queue_depth': '0'},
    }
    if args.batch_linger is not None:
        options['listener']['batch_linger'] = str(args.batch_linger)
    with open(conf_path, 'w') as f:
        for section, values in options.items():
            f.write('[%s]\n' % section)
            f.writelines('%s = %s\n' % kv for kv in values.items())
    conf = ingest.make_conf(args, pool, 'sqlite:///%s/bridge.sqlite' % state,
                            [emitter.exchange_of(sample)])
    ingest.declare_pool(conf)
    with open(os.path.join(state, 'bridge-listener.log'), 'ab') as log:
        proc = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'bridge-listener'),
             '--config-file', conf_path], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    return proc, pool


def _measure(args: argparse.Namespace, api: Server, state: str,
             sample: dict[str, Any], project: str, queue: str,
             ws_url: str) -> int:
    url = 'http://127.0.0.1:%d' % api.port
    listener, pool = _start_listener(args, state, sample)
    sent: dict[str, float] = {}
    clients = {name: Latencies(sent) for name in ('bus', 'long-poll',
                                                  'websocket')}
    stop, ready = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=_bus_consumer, daemon=True, args=(
            args.transport_url, sample, clients['bus'], stop)),
        threading.Thread(target=_long_poll, daemon=True, args=(
            url, project, queue, clients['long-poll'], stop)),
        threading.Thread(target=_websocket, daemon=True, args=(
            ws_url, project, queue, clients['websocket'], stop, ready)),
    ]
    try:
        for thread in threads:
            thread.start()
        if not ready.wait(TIMEOUT):
            raise BenchError('the WebSocket client did not subscribe')
        time.sleep(1.0)  # the bus consumer's queue is bound
        count = _publish(args.transport_url, sample, args.rate,
                         args.duration, sent)
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        listener.terminate()
        listener.wait(30)
        conf = ingest.make_conf(args, pool, 'sqlite://', [])
        ingest.delete_pool(conf)
    print('push: %d events at %d/s to one tenant queue (bridge-listener: '
          'batch_size %d, batch_timeout 0.5 s, batch_linger %s)' % (
              count, args.rate, args.batch_size,
              '%.3f s' % args.batch_linger if args.batch_linger is not None
              else "bridge's default"))
    line, bus_p99 = _summary('bus', clients['bus'], count, None)
    print(line)
    for name in ('long-poll', 'websocket'):
        print(_summary(name, clients[name], count, bus_p99)[0])
    if args.waiters:
        print(_waiters(api, url, 'bench-waiters', args.waiters))
    return 0
