"""Transactions of the SQL driver: one per storage call, retried when a
concurrent writer got in the way, with every database error turned into
:class:`~bridge.storage.errors.Unavailable`."""

from __future__ import annotations

import os
import random
import time
import weakref
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from oslo_log import log
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from bridge.storage import errors
from bridge.storage.sql import connections
from bridge.storage.sql import engine as sql_engine
from bridge.storage.sql import executor
from bridge.storage.sql import writelock
from bridge.storage.sql.executor import Mode

LOG = log.getLogger(__name__)

T = TypeVar('T')

#: Attempts of a transaction that hit a deadlock or a concurrent insert.
ATTEMPTS = 5

# Errors that mean "another transaction got in the way; run again":
# deadlock, serialization failure, unique violation. (A lock wait that
# times out is not retried: it already took seconds.)
_PG_RETRY_CODES = frozenset({'40P01', '40001', '23505'})
_MYSQL_RETRY_CODES = frozenset({1213, 1062})
# PostgreSQL errors that mean the session lost (or unexpectedly has) the
# prepared statements the driver made on it, as when a pooling proxy hands
# the connection's statements to another server session: run again on a
# new connection.
_PG_LOST_STATE_CODES = frozenset({'26000', '42P05'})


class Retry(Exception):
    """Raised by driver code when what it read changed under it; the
    transaction is rolled back and run again."""


class Transactor:
    """Runs storage calls as single transactions on one engine.

    ``work(session)`` runs inside a transaction on a pooled connection and
    the transaction commits when it returns. A storage error it raises
    (QueueNotFound...) rolls back and propagates. A deadlock, lock timeout,
    unique violation or :class:`Retry` reruns it (a few times). A dropped
    connection is discarded and, unless the commit was already sent, the
    call is rerun on another one, so a database restart costs no request.
    Every other database error becomes Unavailable.
    """

    def __init__(self, engine: sa.engine.Engine, opts: Any) -> None:
        """``opts``: the [storage] option group."""
        self.engine = engine
        self.compiler = executor.Compiler(engine.dialect)
        self._dbapi_error = engine.dialect.loaded_dbapi.Error
        self._integrity_error = engine.dialect.loaded_dbapi.IntegrityError
        self._data_error = engine.dialect.loaded_dbapi.DataError
        path = sql_engine.sqlite_path(engine)
        self._pool = connections.Pool(
            engine, size=opts.sql_pool_size, overflow=opts.sql_pool_size,
            timeout=sql_engine.CONNECT_TIMEOUT,
            recycle=None if path else sql_engine.RECYCLE_SECONDS,
            # SQLite: the executor waits for locks (see .writelock).
            setup=writelock.without_busy_handler if path else None)
        # Enough to get past every stale pooled connection after a restart.
        self._max_reconnects = 2 * opts.sql_pool_size + 1
        # SQLite: writers queue here rather than in SQLite's busy handler.
        self._writer_lock = (
            writelock.WriterLock(path, opts.sqlite_busy_timeout)
            if path else None)
        # A forked worker (bridge-api) must not share its parent's sockets.
        this = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_pool(this))
        event.listen(engine, 'engine_disposed',
                     lambda _engine: self._pool.close())

    def write(self, work: Callable[[executor.Session], T]) -> T:
        """Run ``work(session)`` in a write transaction and commit."""
        return self._run(work, Mode.WRITE)

    def autocommit(self, work: Callable[[executor.Session], T]) -> T:
        """Run ``work(session)``, whose statements each stand alone."""
        return self._run(work, Mode.AUTOCOMMIT)

    def _run(self, work: Callable[[executor.Session], T], mode: Mode) -> T:
        conflicts = reconnects = 0
        while True:
            try:
                conn = self._pool.get()
            except (sa_exc.SQLAlchemyError, self._dbapi_error) as error:
                raise _unavailable(error) from error
            healthy = True
            try:
                return self._attempt(conn, work, mode)
            except Retry:
                conflicts += 1
                if conflicts >= ATTEMPTS:
                    raise errors.Unavailable(
                        'storage: too many conflicting writers; try again')
                LOG.debug('transaction raced a concurrent writer; retrying')
            except _Disconnected as lost:
                healthy = False
                self._pool.discard(conn)
                reconnects += 1
                if lost.committing or reconnects > self._max_reconnects:
                    raise _unavailable(lost.error) from lost.error
                continue
            except self._dbapi_error as error:
                if isinstance(error, self._data_error):
                    raise errors.Invalid('storage refused the values (%s)'
                                         % type(error).__name__) from error
                conflicts += 1
                if conflicts >= ATTEMPTS or not self._retryable(error):
                    raise _unavailable(error) from error
                LOG.debug('transaction conflict (%s); retrying',
                          type(error).__name__)
            finally:
                if healthy:
                    self._pool.put(conn)
            time.sleep(random.uniform(0.001, 0.005) * conflicts)

    def _attempt(self, conn: connections.Connection,
                 work: Callable[[executor.Session], T], mode: Mode) -> T:
        dbapi_conn = conn.dbapi
        committing = False
        session = None
        try:
            session = executor.Session(self.compiler, dbapi_conn, mode,
                                       self._writer_lock, conn.prepared)
            result = work(session)
            committing = True
            session.commit()
            return result
        except BaseException as error:
            if getattr(error, 'pgcode', None) in _PG_LOST_STATE_CODES:
                # The statement failed, so the transaction did too.
                raise _Disconnected(error, False) from error
            if self._is_disconnect(error, dbapi_conn):
                raise _Disconnected(error, committing) from error
            try:
                if session is not None:
                    session.rollback()
            except self._dbapi_error as rollback_error:
                raise _Disconnected(rollback_error, True) from error
            raise
        finally:
            if session is not None:
                session.close()

    def _is_disconnect(self, error: BaseException, dbapi_conn: Any) -> bool:
        return (isinstance(error, self._dbapi_error)
                and self.engine.dialect.is_disconnect(error, dbapi_conn,
                                                      None))

    def _retryable(self, error: Exception) -> bool:
        if isinstance(error, self._integrity_error):
            return True
        code = getattr(error, 'pgcode', None)
        if code is not None:
            return code in _PG_RETRY_CODES
        args: tuple[Any, ...] = getattr(error, 'args', ())
        return bool(args) and args[0] in _MYSQL_RETRY_CODES

    def ensure_schema(self, metadata: sa.MetaData) -> None:
        """Create missing tables; tolerate another process doing the same."""
        path = sql_engine.sqlite_path(self.engine)
        if path:
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, mode=0o700, exist_ok=True)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                break
            except sa_exc.DBAPIError as error:
                # A concurrent create_all won the race: check again.
                if attempt == ATTEMPTS or error.connection_invalidated:
                    raise _unavailable(error) from error
            except sa_exc.SQLAlchemyError as error:
                raise _unavailable(error) from error
            time.sleep(random.uniform(0.01, 0.05))
        if path:
            from bridge.storage.sql import sqlite_writes  # (import cycle)
            self.write(sqlite_writes.create_objects)


def _forget_pool(ref: weakref.ref[Transactor]) -> None:
    transactor = ref()
    if transactor is not None:
        transactor._pool.forget()
        transactor.engine.dispose(close=False)
        if transactor._writer_lock is not None:
            transactor._writer_lock.after_fork()


class _Disconnected(Exception):
    """The connection broke; ``committing``: the outcome is unknown."""

    def __init__(self, error: BaseException, committing: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.committing = committing


def _unavailable(error: BaseException) -> errors.Unavailable:
    kind = type(error).__name__
    if kind not in ('OperationalError', 'InterfaceError', 'TimeoutError'):
        # Not a connection problem: most likely a bug; keep the details.
        LOG.error('storage: unexpected database error: %s', error)
    else:
        LOG.warning('storage: database unavailable: %s', error)
    return errors.Unavailable('storage backend unavailable (%s)'
                              % type(error).__name__)
