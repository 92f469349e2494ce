"""The SQL driver's connection pool: DBAPI connections reused most
recently used first, handed out at the cost of a semaphore.

SQLAlchemy's pool checks a connection out and in through several layers of
proxies, events and weak references, which costs more CPU than a short
bridge transaction on SQLite. The :class:`~.transactor.Transactor` needs
none of that: it always ends its transaction before it gives a connection
back, and it discards a connection that failed. Connections are opened
through the engine, so its ``connect`` events (PRAGMAs, autocommit) run as
usual, and then detached from the engine's own pool.
"""

from __future__ import annotations

import queue
import time
from typing import Any, Callable

import sqlalchemy as sa
from oslo_log import log

from bridge.storage import errors

LOG = log.getLogger(__name__)


class Connection:
    """A pooled DBAPI connection and what the driver knows about it."""

    __slots__ = ('dbapi', 'opened', 'prepared')

    def __init__(self, dbapi: Any) -> None:
        self.dbapi = dbapi
        self.opened = time.monotonic()
        #: Names of the server-side prepared statements it holds.
        self.prepared: set[str] = set()


class Pool:
    """At most ``size + overflow`` connections open at once, ``size`` of
    them kept while idle. A caller waits up to ``timeout`` seconds for one
    (then Unavailable). A connection older than ``recycle`` seconds (if
    set) is closed instead of reused."""

    def __init__(self, engine: sa.engine.Engine, size: int, overflow: int,
                 timeout: float, recycle: float | None = None,
                 setup: Callable[[Any], None] | None = None) -> None:
        """``setup(dbapi_connection)``, if given, runs on every new
        connection."""
        self._engine = engine
        self._setup = setup
        self._size = size
        self._limit = size + overflow
        self._timeout = timeout
        self._recycle = recycle
        self._reset()

    def _reset(self) -> None:
        self._idle: list[Connection] = []  # list.pop/append are atomic
        # One token per connection that may be open: a semaphore, but
        # implemented in C (threading.Semaphore is Python code).
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(self._limit):
            self._slots.put(None)

    def get(self) -> Connection:
        """A connection; give it back with :meth:`put` or
        :meth:`discard`."""
        try:
            self._slots.get(timeout=self._timeout)
        except queue.Empty:
            raise errors.Unavailable('storage: all %d database connections '
                                     'are busy' % self._limit) from None
        try:
            while True:
                try:
                    conn = self._idle.pop()
                except IndexError:
                    return Connection(self._open())
                if (self._recycle is None
                        or time.monotonic() - conn.opened < self._recycle):
                    return conn
                _close(conn)
        except BaseException:
            self._slots.put(None)
            raise

    def put(self, conn: Connection) -> None:
        """Take back a connection whose transaction has ended."""
        if len(self._idle) < self._size:
            self._idle.append(conn)
        else:
            _close(conn)
        self._slots.put(None)

    def discard(self, conn: Connection) -> None:
        """Close a connection that failed; its slot is free again."""
        _close(conn)
        self._slots.put(None)

    def close(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)

    def forget(self) -> None:
        """Drop every connection without closing it: in a forked child,
        the sockets belong to the parent."""
        self._reset()

    def _open(self) -> Any:
        proxied = self._engine.raw_connection()
        proxied.detach()
        if self._setup is not None:
            self._setup(proxied.dbapi_connection)
        return proxied.dbapi_connection


def _close(conn: Connection) -> None:
    try:
        conn.dbapi.close()
    except Exception as error:  # a broken connection may fail to close
        LOG.debug('storage: closing a connection failed: %s', error)
