"""``bridge-bench pooling``: what the pooling facade costs per storage call.

For each backend (SQLite, PostgreSQL) one queue is driven through the
API's hot mix, post one message / claim it / delete it, N times, by:

* ``bare``: the driver itself (the baseline);
* ``no pools``: the pooling facade while no pool is registered (how every
  service runs by default);
* ``on a pool``: the facade with a pool registered (same kind of
  database) and the queue placed on it (placement cached after the first
  call).

The variants alternate every few cycles (bare, facade, bare, ...) so
drift in the machine's load hits both alike; each facade rate is printed
as a ratio of the bare driver's rate measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Callable

from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.storage import base, catalog, models, pooling

POOL = 'bench-pool'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--count', type=int, default=1000,
                        help='post/claim/delete cycles per run '
                             '(default 1000)')
    parser.add_argument('--chunk', type=int, default=20,
                        help='cycles per turn when alternating (default 20)')
    parser.add_argument('--postgresql-url',
                        default='postgresql://postgres@127.0.0.1:5432/'
                                'bridge_bench',
                        help='database of the postgresql backend')
    parser.add_argument('--backends', default='sqlite,postgresql',
                        help='comma separated subset of backends')
    parser.set_defaults(func=run)


def _conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge-bench', default_config_files=[])
    return conf


def _cycles(store: base.Storage, project: str,
            count: int) -> tuple[float, float]:
    """Run ``count`` post/claim/delete cycles; return the seconds taken,
    on the clock and in this thread's CPU time."""
    message = [models.NewMessage(body={'n': 1}, ttl=300)]
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        store.post_messages(project, 'q', message)
        claim = store.create_claim(project, 'q', ttl=60, grace=60, limit=1)
        assert claim is not None
        store.delete_message(project, 'q', claim.messages[0].id, claim.id)
    return time.perf_counter() - start, time.thread_time() - cpu


def compare(bare: base.Storage, facade: base.Storage, count: int,
            chunk: int) -> tuple[float, float, float, float]:
    """Cycles/s of the bare driver and of the facade, and CPU
    microseconds per cycle of each, each on a queue of its own, in
    alternating chunks of ``chunk`` cycles (so a change in the machine's
    load hits both alike)."""
    projects = ['bench-' + uuid.uuid4().hex[:8] for _ in range(2)]
    stores = (bare, facade)
    for store, project in zip(stores, projects, strict=True):
        _cycles(store, project, 10)  # warm up: queue, statements
    spent, cpu = [0.0, 0.0], [0.0, 0.0]
    for _ in range(max(1, count // chunk)):
        for index in (0, 1):
            clock, used = _cycles(stores[index], projects[index], chunk)
            spent[index] += clock
            cpu[index] += used
    for store, project in zip(stores, projects, strict=True):
        store.delete_queue(project, 'q')
    done = max(1, count // chunk) * chunk
    return (done / spent[0], done / spent[1], cpu[0] / done * 1e6,
            cpu[1] / done * 1e6)


def _drop_leftovers(default: base.Storage) -> None:
    for name, _ in default.catalog().entries(catalog.POOLS):
        if name.startswith(POOL):
            for project, queue in default.catalog().placed_on(name,
                                                              limit=10000):
                default.catalog().unplace(project, queue)
            default.catalog().delete(catalog.POOLS, name)


def measure(url: str, pool_url: str, args: argparse.Namespace,
            report: Callable[[str], None]) -> None:
    conf = _conf()
    default = bridge_storage.from_url(url, conf)
    default.ensure_schema()
    _drop_leftovers(default)
    facade = pooling.wrap(default, conf)
    try:
        if facade.registry.pools():
            report('  (pools are registered in this catalog: "no pools" '
                   'not measured)')
        else:
            report(_line('no pools ', *compare(default, facade, args.count,
                                               args.chunk)))
        facade.registry.create_pool(catalog.Pool(POOL, pool_url,
                                                 weight=10 ** 9))
        pooled_driver = facade.registry.driver(POOL)
        report(_line('on a pool', *compare(pooled_driver, facade,
                                           args.count, args.chunk)))
    finally:
        _drop_leftovers(default)
        facade.close()


def _line(label: str, base_rate: float, rate: float, base_cpu: float,
          cpu: float) -> str:
    return ('  %s: %7.0f cycles/s vs bare %7.0f (ratio %.3f); CPU %5.0f us '
            'vs %5.0f us per cycle (ratio %.3f)'
            % (label, rate, base_rate, rate / base_rate, cpu, base_cpu,
               cpu / base_cpu))


def run(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.backends.split(',') if b.strip()]
    print('post/claim/delete cycles: %d per variant, alternating every %d'
          % (args.count, args.chunk))
    with tempfile.TemporaryDirectory(prefix='bridge-bench-') as tmp:
        for backend in backends:
            print(backend)
            if backend == 'sqlite':
                measure('sqlite:///' + os.path.join(tmp, 'default.sqlite'),
                        'sqlite:///' + os.path.join(tmp, 'pool.sqlite'),
                        args, print)
            elif backend == 'postgresql':
                measure(args.postgresql_url, args.postgresql_url, args,
                        print)
            else:
                print('  unknown backend %r' % backend)
                return 2
    return 0
