"""Wake-ups through PostgreSQL: ``NOTIFY`` on the channel
:data:`CHANNEL` of bridge's database, ``LISTEN`` on one connection per API
worker. PostgreSQL delivers a notice to every listening session of the
database, on any host, in the order they were sent.

The publisher keeps one autocommit connection (psycopg2) and sends one
``pg_notify`` per queue after the messages are committed. The listener's
connection is read with ``loop.add_reader``: no thread. When it breaks,
the listener wakes every waiter (so none misses what was posted meanwhile)
and reconnects, retrying every :data:`RECONNECT_DELAY` seconds.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterable

import psycopg2
import psycopg2.extensions
from oslo_log import log
from sqlalchemy.engine import make_url

from bridge.wakeups import base

LOG = log.getLogger(__name__)

CHANNEL = 'bridge_wakeup'
RECONNECT_DELAY = 1.0
CONNECT_TIMEOUT = 5


def _dsn(url: str) -> dict[str, Any]:
    """psycopg2 connection arguments from an SQLAlchemy URL."""
    parsed = make_url(url)
    args: dict[str, Any] = {k: v for k, v in (
        ('host', parsed.host), ('port', parsed.port),
        ('user', parsed.username), ('password', parsed.password),
        ('dbname', parsed.database)) if v is not None}
    args.update({k: v for k, v in parsed.query.items()
                 if isinstance(v, str)})
    args.setdefault('connect_timeout', CONNECT_TIMEOUT)
    return args


def _connect(url: str) -> Any:
    conn = psycopg2.connect(**_dsn(url))
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


class PostgresPublisher(base.Publisher):
    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Any = None
        self._lock = threading.Lock()

    def publish(self, keys: Iterable[base.Key]) -> None:
        payloads = [base.encode(k) for k in set(keys)]
        if not payloads:
            return
        with self._lock:
            for attempt in (1, 2):  # once more on a fresh connection
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = _connect(self._url)
                    with self._conn.cursor() as cur:
                        for payload in payloads:
                            cur.execute('SELECT pg_notify(%s, %s)',
                                        (CHANNEL, payload))
                    return
                except psycopg2.Error as exc:
                    self._drop()
                    if attempt == 2:
                        LOG.warning('Wake-up NOTIFY failed: %s', exc)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def close(self) -> None:
        with self._lock:
            self._drop()


class PostgresListener(base.Listener):
    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Any = None
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: base.WakeCallback | None = None
        self._stopped = False
        self._retry: asyncio.TimerHandle | None = None

    async def start(self, wake: base.WakeCallback) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = wake
        await self._connect()

    async def _connect(self) -> None:
        assert self._loop is not None
        try:
            conn = await self._loop.run_in_executor(None, _connect, self._url)
            with conn.cursor() as cur:
                cur.execute('LISTEN ' + CHANNEL)
        except psycopg2.Error as exc:
            LOG.warning('Wake-up LISTEN failed (retrying in %ss): %s',
                        RECONNECT_DELAY, str(exc).strip())
            self._schedule_reconnect()
            return
        if self._stopped:
            conn.close()
            return
        self._conn = conn
        self._fd = conn.fileno()
        self._loop.add_reader(self._fd, self._readable)
        if self._wake is not None:
            self._wake(None)  # anything may have been posted meanwhile

    def _schedule_reconnect(self) -> None:
        if self._stopped or self._loop is None:
            return
        self._retry = self._loop.call_later(
            RECONNECT_DELAY,
            lambda: asyncio.ensure_future(self._connect()))

    def _readable(self) -> None:
        conn = self._conn
        try:
            conn.poll()
        except psycopg2.Error as exc:
            LOG.warning('Wake-up connection lost: %s', str(exc).strip())
            self._close_conn()
            self._schedule_reconnect()
            return
        notices, conn.notifies[:] = list(conn.notifies), []
        for notice in notices:
            key = base.decode(notice.payload)
            if key is not None and self._wake is not None:
                self._wake(key)

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._loop is not None and self._fd >= 0:
            self._loop.remove_reader(self._fd)
        self._fd = -1
        try:
            conn.close()
        except psycopg2.Error:
            pass

    async def stop(self) -> None:
        self._stopped = True
        if self._retry is not None:
            self._retry.cancel()
        self._close_conn()
