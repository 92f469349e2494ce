"""``bridge-bench ingest``: notifications/s from the bus into tenant queues.

For each target a fresh pool queue is declared (by starting and stopping a
listener in that pool), N notifications are published into it, and the
clock runs from the consumer's start until all N are handled. Three targets
share the broker, the notifications, the pool queue layout, the batch size
and the executor:

* ``kombu``: a bare kombu consumer acking each message (the bus's ceiling);
* ``noop``: an oslo.messaging batch notification listener whose endpoint
  does nothing (the framework's ceiling);
* ``bridge-<storage>``: bridge's own endpoint (translation + storage), on
  SQLite and on PostgreSQL, as bridge-listener runs it: in a store process
  beside the listener (:mod:`bridge.listeners.handoff`);
* ``bridge-<storage>-inprocess``: the same with ``[listener]
  store_in_subprocess = false``, for comparison.

Bridge's rate is printed as a ratio of the no-op listener's (target: 75%).
The machine's speed drifts (other work shares it), so ``--rounds`` rounds
each measure every target in turn on ``--count / rounds`` notifications;
ratios are taken within each round, and their median is the verdict, shown
with the per-round ratios and load averages.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from typing import Any, Callable

import kombu
import oslo_messaging
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import emitter
from bridge.listeners import service

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples')
TOPIC = 'notifications'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--count', type=int, default=20000,
                        help='notifications per target (default 20000)')
    parser.add_argument('--transport-url',
                        default='rabbit://guest:guest@127.0.0.1:5672/',
                        help='RabbitMQ to use (default: local, vhost /)')
    parser.add_argument('--postgresql-url',
                        default='postgresql://postgres@127.0.0.1:5432/bridge_bench',
                        help='database for the bridge-postgresql target')
    parser.add_argument('--batch-size', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=3,
                        help='rounds, each measuring every target in turn '
                             'on count/rounds notifications; ratios are '
                             'taken within a round, their median reported '
                             '(default 3)')
    parser.add_argument('--targets',
                        default='kombu,noop,bridge-sqlite,bridge-postgresql,'
                                'bridge-sqlite-inprocess',
                        help='comma separated targets: kombu, noop, '
                             'bridge-sqlite, bridge-postgresql, and either '
                             'bridge target with -inprocess')
    parser.set_defaults(func=run)


def load_samples() -> list[dict[str, Any]]:
    samples = []
    for path in sorted(glob.glob(os.path.join(SAMPLES, '*.json'))):
        with open(path) as f:
            sample = json.load(f)
        sample['exchange'] = os.path.basename(path).split('__', 1)[0]
        sample['topic'] = TOPIC
        samples.append(sample)
    return samples


def make_conf(args: argparse.Namespace, pool: str, storage_url: str,
              exchanges: list[str]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    service.register_opts(conf)
    conf([], project='bridge-bench', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('transport_url', args.transport_url)
    conf.set_override('url', storage_url, group='storage')
    for key, value in dict(pool=pool, topics=[TOPIC], exchanges=exchanges,
                           batch_size=args.batch_size, batch_timeout=0.2,
                           max_queue_depth=0).items():
        conf.set_override(key, value, group='listener')
    return conf


class NoopEndpoint:
    """Counts batches and does nothing else."""

    def __init__(self) -> None:
        self.handled = 0
        self.lock = threading.Lock()

    def _count(self, messages: list[dict]) -> None:
        with self.lock:
            self.handled += len(messages)

    audit = debug = info = warn = error = critical = _count


def declare_pool(conf: cfg.ConfigOpts) -> None:
    """Start and stop a listener so RabbitMQ has the pool queue, bound to
    every target, exactly as oslo.messaging declares it."""
    transport = oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_batch_notification_listener(
        transport, service.targets(conf), [NoopEndpoint()],
        executor='threading', allow_requeue=True, pool=conf.listener.pool,
        batch_size=conf.listener.batch_size, batch_timeout=0.2)
    listener.start()
    listener.stop()
    listener.wait()
    transport.cleanup()


def preload(conf: cfg.ConfigOpts, samples: list[dict], count: int) -> None:
    declare_pool(conf)
    with emitter.Emitter(conf.transport_url) as out:
        for sample in emitter.varied(samples, count):
            out.publish(sample)


def delete_pool(conf: cfg.ConfigOpts) -> None:
    with kombu.Connection(_amqp(conf.transport_url)) as conn:
        conn.channel().queue_delete(conf.listener.pool)


def _amqp(url: str) -> str:
    return 'amqp://' + url.split('://', 1)[1]


def wait_until(done: Callable[[], bool], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError('only part of %d notifications handled after '
                               '%ss' % (count, timeout))
        time.sleep(0.02)


def run_listener(conf: cfg.ConfigOpts, endpoint: Any,
                 handled: Callable[[], int], count: int) -> float:
    transport = oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_batch_notification_listener(
        transport, service.targets(conf), [endpoint], executor='threading',
        allow_requeue=True, pool=conf.listener.pool,
        batch_size=conf.listener.batch_size,
        batch_timeout=conf.listener.batch_timeout)
    start = time.monotonic()
    listener.start(override_pool_size=conf.listener.threads)
    try:
        wait_until(lambda: handled() >= count, count, 600)
        return time.monotonic() - start
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()


def run_kombu(conf: cfg.ConfigOpts, count: int) -> float:
    seen = 0

    def on_message(body: Any, message: Any) -> None:
        nonlocal seen
        json.loads(body['oslo.message'])
        message.ack()
        seen += 1

    with kombu.Connection(_amqp(conf.transport_url)) as conn:
        queue = kombu.Queue(conf.listener.pool, no_declare=True)
        start = time.monotonic()
        with conn.Consumer([queue], callbacks=[on_message],
                           prefetch_count=conf.listener.batch_size,
                           accept=['json']):
            while seen < count:
                conn.drain_events(timeout=30)
        return time.monotonic() - start


def run_bridge(conf: cfg.ConfigOpts, count: int) -> float:
    """bridge's endpoint as bridge-listener builds it: by default, a
    store process translates and stores (bridge.listeners.handoff)."""
    endpoint, close = service.service_endpoint(conf)

    def handled() -> int:
        c = endpoint.counters.snapshot()
        return c['stored'] + c['dead_lettered'] + c['dropped']

    try:
        return run_listener(conf, endpoint, handled, count)
    finally:
        close()


def measure(args: argparse.Namespace, target: str, samples: list[dict],
            workdir: str) -> float:
    pool = 'bridge_bench_%s' % uuid.uuid4().hex[:8]
    exchanges = sorted({s['exchange'] for s in samples})
    if target.startswith('bridge-postgresql'):
        url = fresh_postgresql(args.postgresql_url)
    else:
        url = 'sqlite:///%s/%s.sqlite' % (workdir, pool)
    conf = make_conf(args, pool, url, exchanges)
    if target.endswith('-inprocess'):
        conf.set_override('store_in_subprocess', False, group='listener')
    print('  %-27s preloading %d notifications ...' % (target, args.count),
          flush=True)
    preload(conf, samples, args.count)
    try:
        if target == 'kombu':
            seconds = run_kombu(conf, args.count)
        elif target == 'noop':
            endpoint = NoopEndpoint()
            seconds = run_listener(conf, endpoint, lambda: endpoint.handled,
                                   args.count)
        else:
            seconds = run_bridge(conf, args.count)
    finally:
        delete_pool(conf)
    return args.count / seconds


def fresh_postgresql(url: str) -> str:
    """Recreate the bench database so every run starts empty."""
    import psycopg2
    base, name = url.rsplit('/', 1)
    conn = psycopg2.connect(base + '/postgres')
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
        cur.execute('CREATE DATABASE %s' % name)
    conn.close()
    return url


def run(args: argparse.Namespace) -> int:
    samples = load_samples()
    targets = [t.strip() for t in args.targets.split(',') if t.strip()]
    rounds = max(1, args.rounds)
    per_round = argparse.Namespace(**vars(args))
    per_round.count = max(1, args.count // rounds)
    print('bridge-bench ingest: %d rounds of %d notifications per target, '
          'batch %d, %d sample kinds' % (rounds, per_round.count,
                                         args.batch_size, len(samples)))
    history: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix='bridge-bench-') as workdir:
        for number in range(1, rounds + 1):
            load = os.getloadavg()[0]
            print('round %d (load average %.2f)' % (number, load),
                  flush=True)
            rates: dict[str, float] = {}
            for target in targets:
                rates[target] = measure(per_round, target, samples, workdir)
                print('  %-27s %8.0f notifications/s' % (target,
                                                        rates[target]),
                      flush=True)
            history.append((load, rates))
    print()
    failed = report(targets, history)
    if failed:
        print('below target (75%% of the no-op listener): %s'
              % ', '.join(failed))
    return 0


def report(targets: list[str], history: list[tuple[float, dict[str, float]]]
           ) -> list[str]:
    """Print the table; return the bridge targets (as bridge-listener
    runs them by default) below 75% of noop."""
    print('%-27s %12s %10s %10s   %s' % ('target', 'notif/s', 'vs noop',
                                         'vs kombu', 'per round vs noop'))
    failed = []
    for target in targets:
        rate = _median([r[target] for _, r in history])
        vs_noop = _median([r[target] / r['noop'] for _, r in history
                           if 'noop' in r])
        vs_kombu = _median([r[target] / r['kombu'] for _, r in history
                            if 'kombu' in r])
        rounds = ', '.join('%.0f%% (load %.1f)' % (
            100 * r[target] / r['noop'], load)
            for load, r in history if 'noop' in r)
        print('%-27s %12.0f %10s %10s   %s' % (
            target, rate, _percent(vs_noop), _percent(vs_kombu),
            rounds if target.startswith('bridge-') else ''))
        if (target.startswith('bridge-') and vs_noop is not None
                and vs_noop < 0.75 and not target.endswith('-inprocess')):
            failed.append(target)
    return failed


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _percent(ratio: float | None) -> str:
    return '%.0f%%' % (100 * ratio) if ratio is not None else '-'
