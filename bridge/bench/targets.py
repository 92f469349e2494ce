"""The servers ``bridge-bench api`` measures, each built as a not yet
started :class:`~bridge.bench.procs.Server` on 127.0.0.1.

* bridge-api runs as it ships (granian, :mod:`bridge.api.server`) with the
  ``--workers``/``--threads`` given (default: its ``[api]`` defaults);
* the ceiling is the no-op falcon app on the fastest server measured here
  for a Python WSGI app, granian's native WSGI interface, at one and at two
  worker processes (:data:`CEILING_WORKERS`); the faster of the two in a
  round is that round's ceiling (with the load generator on the same two
  cores, one worker often wins);
* Zaqar 23 on Redis runs on its best configuration measured here: granian's
  WSGI interface with 4 workers (:data:`ZAQAR_WORKERS`).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from bridge.bench import zaqar_ref
from bridge.bench.procs import HOST, BenchError, Server

BRIDGE_SQLITE = 'bridge-sqlite'
BRIDGE_POSTGRESQL = 'bridge-postgresql'
NOOP_1 = 'noop-1w'
NOOP_2 = 'noop-2w'
ZAQAR = 'zaqar'
#: The no-op targets; a round's ceiling is the fastest of them.
CEILING_WORKERS = {NOOP_1: 1, NOOP_2: 2}
NOOP_TARGETS = tuple(CEILING_WORKERS)
ZAQAR_WORKERS = 4
ALL = (*NOOP_TARGETS, ZAQAR, BRIDGE_SQLITE, BRIDGE_POSTGRESQL)
BRIDGE_TARGETS = (BRIDGE_SQLITE, BRIDGE_POSTGRESQL)

DESCRIPTIONS = {
    NOOP_1: 'no-op falcon app, granian WSGI x1 (ceiling)',
    NOOP_2: 'no-op falcon app, granian WSGI x2 (ceiling)',
    ZAQAR: 'Zaqar 23, Redis, granian WSGI x%d' % ZAQAR_WORKERS,
    BRIDGE_SQLITE: 'bridge-api, SQLite default',
    BRIDGE_POSTGRESQL: 'bridge-api, PostgreSQL',
}


@dataclass
class Settings:
    """What the targets are run with."""

    run_dir: str
    #: bridge-api's [api] workers and threads.
    workers: int
    threads: int
    postgresql_url: str
    zaqar_venv: str
    redis_port: int = 6379
    redis_db: int = 13


def granian_wsgi_argv(granian: str, target: str, port: int, workers: int,
                      threads: int = 1) -> list[str]:
    """granian serving the WSGI callable ``target`` on 127.0.0.1:port."""
    return [granian, '--interface', 'wsgi', '--workers', str(workers),
            '--blocking-threads', str(threads), '--host', HOST,
            '--port', str(port), '--log-level', 'warning', '--no-ws', target]


def _script(name: str) -> str:
    """A console script of this environment (bridge-api, bridge-manage)."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    found = local if os.path.exists(local) else shutil.which(name)
    if not found:
        raise BenchError('%s is not installed in this environment '
                         '(pip install -e . in the bridge source tree)' % name)
    return found


def noop(settings: Settings, port: int, workers: int = 1) -> Server:
    granian = os.path.join(os.path.dirname(sys.executable), 'granian')
    argv = granian_wsgi_argv(granian, 'bridge.bench.noop_app:application',
                             port, workers)
    return Server('noop-%dw' % workers, argv, port,
                  os.path.join(settings.run_dir, 'noop-%dw.log' % workers),
                  cwd=settings.run_dir)


def zaqar(settings: Settings, port: int) -> Server:
    run_dir = os.path.join(settings.run_dir, 'zaqar')
    os.makedirs(run_dir, exist_ok=True)
    return zaqar_ref.server(settings.zaqar_venv, run_dir, port,
                            ZAQAR_WORKERS, redis_port=settings.redis_port,
                            redis_db=settings.redis_db)


def _bridge_conf(path: str, state_path: str, settings: Settings,
                 storage_url: str | None) -> None:
    lines = ['[DEFAULT]', 'state_path = %s' % state_path,
             'auth_strategy = noauth', '',
             '[api]', 'workers = %d' % settings.workers,
             'threads = %d' % settings.threads, '']
    if storage_url:
        lines += ['[storage]', 'url = %s' % storage_url, '']
    with open(path, 'w') as conf:
        conf.write('\n'.join(lines))


def _bridge(name: str, settings: Settings, port: int,
            storage_url: str | None) -> Server:
    run_dir = os.path.join(settings.run_dir, name)
    state_path = os.path.join(run_dir, 'state')
    os.makedirs(state_path, exist_ok=True)
    conf_path = os.path.join(run_dir, 'bridge.conf')
    _bridge_conf(conf_path, state_path, settings, storage_url)
    argv = [_script('bridge-api'), '--config-file', conf_path,
            '--bind-host', HOST, '--bind-port', str(port)]
    return Server(name, argv, port, os.path.join(run_dir, 'bridge-api.log'),
                  cwd=run_dir)


def bridge_sqlite(settings: Settings, port: int) -> Server:
    """bridge-api with no [storage] url: the embedded SQLite file under a
    fresh state_path."""
    return _bridge(BRIDGE_SQLITE, settings, port, None)


def bridge_postgresql(settings: Settings, port: int) -> Server:
    """bridge-api on ``settings.postgresql_url``; the database is created
    when it does not exist yet, and vacuumed."""
    ensure_postgresql_database(settings.postgresql_url)
    return _bridge(BRIDGE_POSTGRESQL, settings, port, settings.postgresql_url)


def ensure_postgresql_database(url: str) -> None:
    """Create the database named in ``url`` unless it exists, connecting
    to the server's ``postgres`` database to do so."""
    import psycopg2  # type: ignore[import-untyped]
    from psycopg2 import sql  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.database:
        raise BenchError('--postgresql-url must name a database: %s' % url)
    params = {'host': parsed.host or HOST, 'port': parsed.port or 5432,
              'user': parsed.username or 'postgres', 'dbname': 'postgres',
              'connect_timeout': 5}
    if parsed.password:
        params['password'] = parsed.password
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.Error as exc:
        raise BenchError('PostgreSQL at %s:%s does not accept connections: %s'
                         % (params['host'], params['port'], exc))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                        (parsed.database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL('CREATE DATABASE {}').format(
                    sql.Identifier(parsed.database)))
    finally:
        conn.close()
    # Every run leaves the rows of its posted and deleted messages behind
    # as dead tuples, which claims then scan past until a vacuum; CI
    # servers often run without autovacuum (this one does). Start each run
    # from a vacuumed database, as Zaqar's starts from a flushed Redis.
    params['dbname'] = parsed.database
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('VACUUM ANALYZE')
    finally:
        conn.close()


FACTORIES = {
    NOOP_1: lambda settings, port: noop(settings, port, 1),
    NOOP_2: lambda settings, port: noop(settings, port, 2),
    ZAQAR: zaqar,
    BRIDGE_SQLITE: bridge_sqlite,
    BRIDGE_POSTGRESQL: bridge_postgresql,
}
