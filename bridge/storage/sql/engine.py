"""Engines of the SQL driver: one SQLAlchemy engine per storage, tuned per
backend. Statements run through :mod:`.executor` on DBAPI connections the
engine opens and :mod:`.connections` pools; SQLAlchemy also runs
``ensure_schema``.

Concurrency per backend
-----------------------
* PostgreSQL (psycopg2) and MariaDB (PyMySQL) run at READ COMMITTED: every
  statement reads the latest committed data, ``SELECT ... FOR UPDATE SKIP
  LOCKED`` hands rows to one transaction and lets the others pass them by,
  and InnoDB takes no gap locks that would make posters wait for claimers.
  PostgreSQL connections are in autocommit mode; :class:`.executor.Session`
  sends ``BEGIN``/``COMMIT`` itself when a call needs a transaction.
* SQLite (a file, WAL journal) allows one writer at a time. A write
  transaction starts with ``BEGIN IMMEDIATE``, which takes the write lock
  up front (waiting up to ``[storage] sqlite_busy_timeout``), so it never
  has to upgrade a read lock and fail half way; bridge's write
  transactions queue for it in :mod:`.writelock` first. Single statements
  run in autocommit mode. Bridge's own statements wait for the lock in
  :mod:`.writelock` rather than in SQLite's busy handler (the busy timeout
  set here serves SQLAlchemy's ``ensure_schema``). Readers read a
  snapshot without blocking the writer.
  ``synchronous=NORMAL``: a commit survives a crash of bridge, but the
  last commits may be lost if the machine loses power. WAL checkpoints
  run in a background thread, not in a request (:mod:`.checkpointer`).

Network calls are bounded: connecting waits at most CONNECT_TIMEOUT, a
PostgreSQL statement at most STATEMENT_TIMEOUT, a MariaDB socket read
twice that.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

#: Seconds to wait for a TCP connection or for a free pooled connection.
CONNECT_TIMEOUT = 10
#: Seconds one SQL statement may take.
STATEMENT_TIMEOUT = 30
#: Seconds a server connection is used before it is replaced.
RECYCLE_SECONDS = 3600


def _normalise_url(url: str) -> sa.engine.URL:
    """Pin the drivers bridge ships with (psycopg2, PyMySQL)."""
    parsed = sa.engine.make_url(url)
    driver = parsed.drivername
    if driver in ('postgres', 'postgresql'):
        parsed = parsed.set(drivername='postgresql+psycopg2')
    elif driver in ('mysql', 'mariadb'):
        parsed = parsed.set(drivername=driver + '+pymysql')
    return parsed


def make_engine(url: str, opts: Any) -> sa.engine.Engine:
    """Open a pooled engine for ``url``. ``opts`` is the [storage] group.
    Nothing connects until the first query."""
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {
        'pool_size': opts.sql_pool_size,
        'max_overflow': opts.sql_pool_size,
        'pool_timeout': CONNECT_TIMEOUT,
        # The Transactor always ends its transaction before it returns a
        # connection; a reset would cost MariaDB a round trip per call.
        'pool_reset_on_return': None,
    }
    if backend == 'sqlite':
        return _sqlite_engine(parsed, opts, kwargs)
    kwargs['pool_recycle'] = RECYCLE_SECONDS
    # Positional parameters: what the executor compiles statements to.
    kwargs['paramstyle'] = 'format'
    if backend == 'postgresql':
        kwargs['connect_args'] = {
            'connect_timeout': CONNECT_TIMEOUT,
            'application_name': 'bridge',
            'options': '-c statement_timeout=%d' % (STATEMENT_TIMEOUT * 1000),
            'keepalives': 1, 'keepalives_idle': 30,
        }
        engine = sa.create_engine(parsed, **kwargs)
        event.listen(engine, 'connect', _autocommit)
        return engine
    if backend in ('mysql', 'mariadb'):
        kwargs['isolation_level'] = 'READ COMMITTED'
        kwargs['connect_args'] = {
            'connect_timeout': CONNECT_TIMEOUT,
            'read_timeout': STATEMENT_TIMEOUT * 2,
            'write_timeout': STATEMENT_TIMEOUT,
            'init_command': 'SET SESSION innodb_lock_wait_timeout = %d'
                            % STATEMENT_TIMEOUT,
        }
        return sa.create_engine(parsed, **kwargs)
    raise ValueError('[storage] url: unsupported SQL backend %r' % backend)


def _autocommit(dbapi_conn: Any, record: Any) -> None:
    dbapi_conn.autocommit = True


def _sqlite_engine(parsed: sa.engine.URL, opts: Any,
                   kwargs: dict[str, Any]) -> sa.engine.Engine:
    if parsed.database in (None, '', ':memory:'):
        raise ValueError('[storage] url: SQLite needs a file '
                         '(sqlite:///PATH); an in-memory database cannot be '
                         'shared by threads')
    busy = opts.sqlite_busy_timeout
    kwargs['connect_args'] = {'timeout': busy, 'check_same_thread': False}
    engine = sa.create_engine(parsed, **kwargs)

    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # Transactions are begun explicitly, not by the sqlite3 module.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute('PRAGMA synchronous=NORMAL')
        cursor.execute('PRAGMA busy_timeout=%d' % (busy * 1000))
        if opts.sqlite_checkpoint_interval > 0:
            # A Checkpointer thread does it (see .checkpointer).
            cursor.execute('PRAGMA wal_autocheckpoint=0')
        cursor.close()

    @event.listens_for(engine, 'begin')
    def _on_begin(conn: sa.engine.Connection) -> None:
        # SQLAlchemy's own transactions (ensure_schema) begin here.
        conn.exec_driver_sql('BEGIN')

    return engine


def sqlite_path(engine: sa.engine.Engine) -> str | None:
    """The database file of an SQLite engine, else None."""
    if engine.dialect.name != 'sqlite':
        return None
    return engine.url.database
