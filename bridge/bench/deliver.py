"""``bridge-bench deliver``: webhook deliveries/s and latency from message
post to receipt, with 1, 10 and 100 subscribers of one queue.

Set-up, all on 127.0.0.1: a lean webhook receiver (its own process,
:mod:`bridge.bench.receiver`: an asyncio HTTP/1.1 server with keep-alive
that answers 200 at once and records, per request, receipt time minus the
``posted`` time stamped in the message body); ``--notifiers``
bridge-notifier processes with their default options (threads, poll
interval, batch size) sharing one storage; messages posted straight into
storage.

Baseline, once per run before the storages: the no-op deliverer
(:mod:`bridge.bench.noop_deliverer`), as many processes x threads as the
notifiers POSTing signed webhook bodies to the same receiver over
keep-alive connections with no storage at all, for ``--burst`` (at least
3000) deliveries: the ceiling for Python webhook delivery on this machine.
Every burst rate is also printed as a percentage of it.

For each subscriber count, two measurements on a fresh queue:

* **steady**: messages posted every 10 ms so that subscribers x messages/s
  = ``--rate`` deliveries/s for ``--duration`` seconds; reported: the
  deliveries/s achieved (all deliveries / time from first post to last
  receipt) and p50/p99/max latency. A notifier that cannot keep up shows
  as a lower rate and a growing latency.
* **burst**: ``--burst`` deliveries' worth of messages posted at once;
  reported: how fast the backlog drains (the capacity).

Target (issue 4): >= 1,000 deliveries/s and p99 <= 100 ms at 10
subscribers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

from oslo_config import cfg
from sqlalchemy.engine import url as sa_url

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.bench import noop_deliverer, procs
from bridge.bench.receiver import Receiver
from bridge.storage import base, models

SUBSCRIBERS = (1, 10, 100)
TICK = 0.01
TARGET_RATE = 1000.0
TARGET_P99_MS = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--rate', type=float, default=1000.0,
                        help='Offered deliveries/s in the steady run '
                             '(default 1000).')
    parser.add_argument('--duration', type=float, default=10.0,
                        help='Seconds of steady posting per subscriber '
                             'count (default 10).')
    parser.add_argument('--burst', type=int, default=3000,
                        help='Deliveries in the burst run (default 3000; '
                             '0 to skip) and in the no-op deliverer run '
                             '(at least %d).' % noop_deliverer.MIN_DELIVERIES)
    parser.add_argument('--subscribers', default='1,10,100',
                        help='Comma-separated subscriber counts '
                             '(default 1,10,100).')
    parser.add_argument('--notifiers', type=int, default=2,
                        help='bridge-notifier processes (default 2).')
    parser.add_argument('--threads', type=int, default=16,
                        help='[notifier] threads of each (default 16).')
    parser.add_argument('--storage', default='sqlite',
                        help='sqlite, postgresql or both, comma-separated '
                             '(default sqlite).')
    parser.add_argument('--postgresql-url',
                        default='postgresql://postgres@127.0.0.1:5432/'
                                'bridge_bench_deliver',
                        help='Database of the postgresql run; recreated.')
    parser.set_defaults(func=run)


# -- one measurement ---------------------------------------------------------

@dataclass
class Measure:
    storage: str
    subscribers: int
    kind: str
    offered: float
    delivered: int
    expected: int
    rate: float
    latencies: list[float]
    duplicates: int
    cpu: float = float('nan')
    """CPU seconds the notifier processes used during the measurement."""

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.delivered if self.delivered else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float('nan')
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _post(store: base.Storage, queue: str, seq: int, count: int) -> None:
    now = time.time()
    store.post_messages(procs.BENCH_PROJECT, queue, [
        models.NewMessage(body={'event_type': 'bench.deliver', 'seq': seq + i,
                              'posted': now}, ttl=3600)
        for i in range(count)])


def _wait(receiver: Receiver, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count() < expected and time.monotonic() < deadline:
        time.sleep(0.1)


def steady(store: base.Storage, receiver: Receiver, queue: str, subs: int,
           rate: float, duration: float) -> tuple[int, int, float]:
    """Post at ``rate`` deliveries/s; return (expected deliveries,
    messages posted, start time)."""
    per_tick = rate / subs * TICK
    owed, seq = 0.0, 0
    start = time.monotonic()
    wall_start = time.time()
    tick = 0
    while time.monotonic() - start < duration:
        owed += per_tick
        count = int(owed)
        if count:
            _post(store, queue, seq, count)
            seq += count
            owed -= count
        tick += 1
        time.sleep(max(0.0, start + tick * TICK - time.monotonic()))
    return seq * subs, seq, wall_start


def measure(store: base.Storage, receiver: Receiver, name: str, subs: int,
            args: argparse.Namespace, kind: str) -> Measure:
    queue = 'deliver-%s-%d-%s' % (kind, subs, uuid.uuid4().hex[:6])
    port = receiver.port
    for i in range(subs):
        store.create_subscription(
            procs.BENCH_PROJECT, queue, 'http://%s:%d/%s/%d' % (
                procs.HOST, port, queue, i),
            ttl=3600, options={}, secret=uuid.uuid4().hex, confirmed=True)
    # Warm-up: every subscriber gets one message (connections opened).
    receiver.start_counting()
    _post(store, queue, -1, 1)
    _wait(receiver, subs, 30)
    receiver.start_counting()
    if kind == 'steady':
        expected, _, started = steady(store, receiver, queue, subs,
                                      args.rate, args.duration)
        offered = args.rate
    else:
        started = time.time()
        count = max(1, args.burst // subs)
        for first in range(0, count, 500):
            _post(store, queue, first, min(500, count - first))
        expected, offered = count * subs, float('nan')
    _wait(receiver, expected, 30 + 2 * args.duration)
    got = receiver.collected()
    delivered = len(got['latencies'])
    elapsed = (got['last'] - started) if got['last'] else float('inf')
    return Measure(name, subs, kind, offered, delivered, expected,
                   delivered / elapsed, got['latencies'], got['duplicates'])


# -- set-up ------------------------------------------------------------------

def _conf(url: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge-bench', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('url', url, group='storage')
    return conf


def _config_file(workdir: str, name: str, url: str,
                 args: argparse.Namespace) -> str:
    path = os.path.join(workdir, '%s.conf' % name)
    with open(path, 'w') as f:
        f.write('[DEFAULT]\nlog_file = %s\n[storage]\nurl = %s\n'
                '[notifier]\nallowed_subscriber_hosts = %s\nthreads = %d\n'
                % (os.path.join(workdir, '%s.log' % name), url, procs.HOST,
                   args.threads))
    return path


def _notifiers(workdir: str, name: str, url: str,
               args: argparse.Namespace) -> list[procs.Server]:
    config = _config_file(workdir, name, url, args)
    binary = os.path.join(os.path.dirname(sys.executable),
                          'bridge-notifier')
    return [procs.Server('bridge-notifier-%d' % i,
                         [binary, '--config-file', config], 0,
                         os.path.join(workdir, '%s-%d.out' % (name, i)))
            for i in range(args.notifiers)]


def _cpu_seconds(servers: list[procs.Server]) -> float:
    """User + system CPU seconds of the servers' processes so far (Linux
    /proc; NaN elsewhere)."""
    total = 0.0
    for server in servers:
        if server.proc is None:
            continue
        try:
            with open('/proc/%d/stat' % server.proc.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            return float('nan')
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


_TICKS = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100


def run_storage(name: str, url: str, receiver: Receiver, workdir: str,
                args: argparse.Namespace, counts: list[int]) -> list[Measure]:
    store = bridge_storage.from_url(url, _conf(url))
    store.ensure_schema()
    servers = _notifiers(workdir, name, url, args)
    results = []
    try:
        for server in servers:
            server.start()
        for subs in counts:
            kinds = ['steady'] + (['burst'] if args.burst else [])
            for kind in kinds:
                cpu = _cpu_seconds(servers)
                m = measure(store, receiver, name, subs, args, kind)
                m.cpu = _cpu_seconds(servers) - cpu
                results.append(m)
                print('  %-10s %4d subscribers %-6s %s' % (
                    name, subs, kind, _row(m)), flush=True)
            for server in servers:
                if server.proc is None or server.proc.poll() is not None:
                    raise procs.BenchError('%s died; its log ends:\n%s' % (
                        server.name, server.log_tail()))
    finally:
        for server in servers:
            server.stop()
        store.close()
    return results


def _row(m: Measure) -> str:
    behind = '' if m.delivered >= m.expected else \
        ' (only %d of %d delivered)' % (m.delivered, m.expected)
    if m.kind == 'burst':
        return '%8.0f deliveries/s  %.2f CPU ms/delivery%s' % (
            m.rate, m.cpu_ms, behind)
    return ('%8.0f deliveries/s  p50 %6.1f ms  p99 %7.1f ms  max %7.1f ms  '
            '%.2f CPU ms/delivery%s' % (m.rate, m.pct(0.50), m.pct(0.99),
                                        m.pct(1.0), m.cpu_ms, behind))


def fresh_postgresql(url: str) -> str:
    """Recreate the bench database so every run starts empty."""
    import psycopg2  # type: ignore[import-untyped]
    parsed = sa_url.make_url(url)
    conn = psycopg2.connect(host=parsed.host, port=parsed.port or 5432,
                            user=parsed.username, password=parsed.password,
                            dbname='postgres', connect_timeout=10)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)'
                    % parsed.database)
        cur.execute('CREATE DATABASE "%s"' % parsed.database)
    conn.close()
    return url


def run(args: argparse.Namespace) -> int:
    counts = [int(c) for c in args.subscribers.split(',') if c.strip()]
    storages = [s.strip() for s in args.storage.split(',') if s.strip()]
    print('bridge-bench deliver: %d notifier(s) x %d threads, steady %.0f '
          'deliveries/s for %.0fs, burst %d; load average %s'
          % (args.notifiers, args.threads, args.rate, args.duration,
             args.burst, ' '.join('%.1f' % x for x in os.getloadavg())),
          flush=True)
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix='bridge-bench-') as workdir, \
            Receiver() as receiver:
        baseline = noop_deliverer.measure(
            receiver, args.notifiers, args.threads,
            max(args.burst, noop_deliverer.MIN_DELIVERIES))
        print('  %-26s %s' % ('no-op deliverer', _baseline_row(baseline)),
              flush=True)
        for name in storages:
            if name == 'sqlite':
                url = 'sqlite:///%s/deliver.sqlite' % workdir
            elif name == 'postgresql':
                url = fresh_postgresql(args.postgresql_url)
            else:
                raise procs.BenchError('unknown storage %r' % name)
            results += run_storage(name, url, receiver, workdir, args,
                                   counts)
    _table(results, baseline)
    return 0


def _baseline_row(b: noop_deliverer.Baseline) -> str:
    behind = '' if b.delivered == b.expected else \
        ' (%d of %d delivered)' % (b.delivered, b.expected)
    return '%8.0f deliveries/s  (%d x %d threads, %d deliveries, no '\
        'storage)%s' % (b.rate, b.processes, b.threads, b.expected, behind)


def _table(results: list[Measure], baseline: noop_deliverer.Baseline) -> None:
    print()
    print('no-op deliverer: %s' % _baseline_row(baseline).strip())
    print('%-10s %5s %9s %9s %8s %8s %8s %8s %8s %5s' % (
        'storage', 'subs', 'offered/s', 'steady/s', 'p50 ms', 'p99 ms',
        'max ms', 'burst/s', 'cpu ms', 'dups'))
    by_key: dict[tuple[str, int], dict[str, Measure]] = {}
    for m in results:
        by_key.setdefault((m.storage, m.subscribers), {})[m.kind] = m
    verdicts = []
    for (name, subs), kinds in by_key.items():
        s, b = kinds.get('steady'), kinds.get('burst')
        dups = sum(k.duplicates for k in kinds.values())
        print('%-10s %5d %9.0f %9.0f %8.1f %8.1f %8.1f %8s %8.2f %5d' % (
            name, subs, s.offered if s else 0, s.rate if s else 0,
            s.pct(0.5) if s else 0, s.pct(0.99) if s else 0,
            s.pct(1.0) if s else 0, '%.0f' % b.rate if b else '-',
            s.cpu_ms if s else 0, dups))
        if b is not None:
            verdicts.append(_ratio_line(b, baseline))
        if subs == 10 and s is not None:
            verdicts.append(_verdict(s))
    for line in verdicts:
        print(line)


def _ratio_line(b: Measure, baseline: noop_deliverer.Baseline) -> str:
    share = '%.0f%%' % (100 * b.rate / baseline.rate) if baseline.rate \
        else '-'
    return '%s at %d subscribers: burst %.0f/s = %s of the no-op deliverer ' \
        '(%.0f/s)' % (b.storage, b.subscribers, b.rate, share, baseline.rate)


def _verdict(s: Measure) -> str:
    ok = s.offered >= TARGET_RATE and s.delivered >= s.expected \
        and s.rate >= 0.97 * s.offered \
        and s.pct(0.99) <= TARGET_P99_MS
    return '%s at 10 subscribers: %s (target >= %.0f/s, p99 <= %.0f ms)' % (
        s.storage, 'met' if ok else 'NOT met', TARGET_RATE, TARGET_P99_MS)
