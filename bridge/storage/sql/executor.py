"""A lean runner for SQLAlchemy Core statements.

The driver builds its statements once, at import time, with SQLAlchemy
Core, and runs them here on the pooled DBAPI connection: each statement is
compiled once per dialect to a positional SQL string, and a call costs a
parameter list and a cursor round trip. This skips SQLAlchemy's per-call
execution machinery (events, result processing, cache-key generation),
which costs more CPU than the database work of a short transaction; the
API's throughput target depends on that.

Only statements whose result columns need no type conversion run here
(strings, integers, floats): every column of :mod:`.schema` qualifies.
"""

from __future__ import annotations

import collections
import hashlib
import enum
import threading
from typing import Any, Iterator, Mapping, Sequence

import sqlalchemy as sa

from bridge.storage.sql import writelock

_POSTCOMPILE = '__[POSTCOMPILE_%s]'
#: Most rows one multi-row INSERT carries (PostgreSQL allows 65535
#: parameters per statement) ...
MAX_ROWS_PER_INSERT = 500
#: ... and about the most text (MariaDB's max_allowed_packet is 16 MiB).
MAX_INSERT_TEXT = 4 * 1024 * 1024


class Result:
    """Rows (named tuples) and the affected row count of one statement."""

    __slots__ = ('rows', 'rowcount')

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def all(self) -> list[Any]:
        return self.rows

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def one(self) -> Any:
        if len(self.rows) != 1:
            raise LookupError('expected one row, got %d' % len(self.rows))
        return self.rows[0]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]


_PREPARE: set[Any] = set()


def prepared(clause: Any) -> Any:
    """Mark a statement (a module constant) to run as a server-side
    prepared statement on PostgreSQL: parsed and planned once per
    connection instead of on every call, which is most of the server's
    work for the short statements of a post, claim or delete. Every
    parameter's type must follow from the statement (compare it with a
    column, or ``sa.cast`` it). Statements with an expanding ``IN`` list
    cannot be prepared. Returns ``clause``."""
    _PREPARE.add(clause)
    return clause


def _numbered(sql: str) -> tuple[str, int]:
    """``%s`` placeholders as ``$1``, ``$2``...; ``%%`` stays (it is
    unescaped when the EXECUTE carrying the values is sent)."""
    count = 0
    pieces = []
    for piece in sql.split('%%'):
        parts = piece.split('%s')
        for part in parts[1:]:
            count += 1
            parts[0] += '$%d' % count + part
        pieces.append(parts[0])
    return '%%'.join(pieces), count


class _Compiled:
    """One statement compiled for one dialect."""

    def __init__(self, clause: Any, dialect: sa.engine.Dialect) -> None:
        compiled = clause.compile(dialect=dialect)
        if not dialect.positional:
            raise ValueError('the executor needs a positional paramstyle')
        self.sql: str = compiled.string
        processors = compiled._bind_processors
        self.order = [(name, processors.get(name),
                       compiled.binds[name].expanding)
                      for name in compiled.positiontup or ()]
        # Values of literals SQLAlchemy turned into parameters (LIMIT 1,
        # THEN 0...); parameters the caller must give have none here.
        self.defaults = {name: bind.effective_value
                         for name, bind in compiled.binds.items()
                         if not bind.required}
        self.placeholder = '?' if dialect.paramstyle == 'qmark' else '%s'
        self.expanding = any(expanding for _, _, expanding in self.order)
        #: PostgreSQL: the name it is prepared under, the PREPARE and the
        #: EXECUTE statements (see :func:`prepared`).
        self.name: str | None = None
        self.prepare_sql = self.execute_sql = ''
        if (dialect.name == 'postgresql' and clause in _PREPARE
                and not self.expanding):
            body, count = _numbered(self.sql)
            self.name = 'bridge_' + hashlib.sha1(
                self.sql.encode('utf-8')).hexdigest()[:24]
            # Sent without values: psycopg2 leaves the text as it is.
            self.prepare_sql = ('PREPARE %s AS %s'
                                % (self.name, body.replace('%%', '%')))
            self.execute_sql = 'EXECUTE %s(%s)' % (
                self.name, ', '.join(['%s'] * count))
        self._row_types: dict[tuple[str, ...], Any] = {}

    def bind(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        args: list[Any] = []
        sql = self.sql
        for name, processor, expanding in self.order:
            value = params[name] if name in params else self.defaults[name]
            if expanding:
                values = list(value)
                if not values:
                    raise ValueError('empty IN list for %s' % name)
                sql = sql.replace(_POSTCOMPILE % name, ', '.join(
                    [self.placeholder] * len(values)), 1)
                args.extend(values)
            else:
                args.append(processor(value) if processor else value)
        return sql, args

    def row_type(self, description: Sequence[Any]) -> Any:
        names = tuple(column[0] for column in description)
        row_type = self._row_types.get(names)
        if row_type is None:
            row_type = collections.namedtuple('Row', names,  # type: ignore
                                              rename=True)
            self._row_types[names] = row_type
        return row_type


class Compiler:
    """Per-engine cache of compiled statements. Statements are module
    constants (or a bounded set of variants), so the cache stays small."""

    def __init__(self, dialect: sa.engine.Dialect) -> None:
        self.dialect = dialect
        self._cache: dict[Any, _Compiled] = {}
        self._lock = threading.Lock()

    def get(self, clause: Any) -> _Compiled:
        compiled = self._cache.get(clause)
        if compiled is None:
            compiled = _Compiled(clause, self.dialect)
            with self._lock:
                if len(self._cache) > 1000:
                    self._cache.clear()  # a leak guard; never hit in use
                self._cache[clause] = compiled
        return compiled


class Mode(enum.Enum):
    """How much of a transaction a storage call needs."""

    WRITE = 'write'
    """Statements that must commit together, taking write locks."""
    AUTOCOMMIT = 'autocommit'
    """Statements that each stand alone (usually just one); on PostgreSQL
    and SQLite they run without BEGIN or COMMIT. Reads use this too: at
    READ COMMITTED a transaction would not give them one snapshot."""


class Session:
    """One storage call's statements on one DBAPI connection, with the
    transaction boundaries each backend needs at the least cost:

    * SQLite: ``BEGIN IMMEDIATE``, in process, after the writer lock.
    * PostgreSQL: the connection is in autocommit mode. A transaction's
      ``BEGIN`` travels with its first statement; statements whose result
      the driver does not need (:meth:`defer`, :meth:`insert_rows`) travel
      with the next one or with the ``COMMIT``. Statements marked with
      :func:`prepared` run as server-side prepared statements. (The
      frequent calls need one round trip: a post, a claim and a delete are
      single statements, see :mod:`.guarded`.)
    * MariaDB: InnoDB opens the transaction implicitly; ``COMMIT`` ends it.

    Its methods mirror the few of SQLAlchemy's Connection the driver uses.
    """

    def __init__(self, compiler: Compiler, dbapi_connection: Any,
                 mode: Mode, writer_lock: writelock.WriterLock | None = None,
                 prepared: set[str] | None = None) -> None:
        self.dialect = compiler.dialect
        self._compiler = compiler
        self._conn = dbapi_connection
        self._cursor = dbapi_connection.cursor()
        # Names of the statements prepared on this connection (PostgreSQL).
        self._prepared = set() if prepared is None else prepared
        backend = compiler.dialect.name
        self._explicit_end = backend == 'postgresql'
        self._open = False
        self._begin = ''
        self._batching = False
        self._later_sql: list[str] = []
        self._later_args: list[Any] = []
        # SQLite write transactions hold it from before BEGIN IMMEDIATE to
        # close(): they keep SQLite's lock across Python code, and queue
        # here rather than in SQLite's busy handler (see .writelock). A
        # statement in autocommit mode holds SQLite's lock only while
        # SQLite runs it, and does without.
        self._writer_lock = writer_lock
        self._writing = False
        # SQLite (the only backend with a writer lock): how long a
        # statement refused for a lock is run again (the connection has no
        # busy handler, see .writelock).
        self._lock_timeout = writer_lock.timeout if writer_lock else None
        if mode is Mode.AUTOCOMMIT:
            return
        if backend == 'postgresql':
            self._begin = 'BEGIN; '
            self._batching = True
        elif backend == 'sqlite':
            if writer_lock is not None:
                writer_lock.acquire()
                self._writing = True
            try:
                self._run('BEGIN IMMEDIATE', [])
            except BaseException:
                self.close()  # no session to close for the caller
                raise

    def _send(self, sql: str, args: list[Any]) -> None:
        if self._later_sql:
            self._later_sql.append(sql)
            sql = '; '.join(self._later_sql)
            args = self._later_args + args
            self._later_sql, self._later_args = [], []
        if self._begin:
            sql = self._begin + sql
            self._begin = ''
            self._open = True
        self._run(sql, args)

    def _run(self, sql: str, args: list[Any]) -> None:
        if self._lock_timeout is None:
            self._cursor.execute(sql, args)
        else:
            writelock.execute(self._cursor, sql, args, self._lock_timeout)

    def _send_later(self, sql: str, args: list[Any]) -> None:
        if self._batching:
            self._later_sql.append(sql)
            self._later_args.extend(args)
        else:
            self._send(sql, args)

    def execute(self, clause: Any,
                params: Mapping[str, Any] | None = None) -> Result:
        compiled = self._compiler.get(clause)
        sql, args = compiled.bind(params or {})
        if compiled.name is not None:
            sql = self._prepare(compiled)
        self._send(sql, args)
        cursor = self._cursor
        description = cursor.description
        if description is None:
            return Result([], cursor.rowcount)
        row_type = compiled.row_type(description)
        return Result([row_type._make(row) for row in cursor.fetchall()],
                      cursor.rowcount)

    def _prepare(self, compiled: _Compiled) -> str:
        """The EXECUTE of a prepared statement, preparing it on this
        connection first if needed. The PREPARE is a round trip of its
        own, so it is known to have happened (a prepared statement also
        outlives a rolled back transaction), once per connection."""
        if compiled.name not in self._prepared:
            self._cursor.execute(compiled.prepare_sql)
            self._prepared.add(compiled.name)  # type: ignore[arg-type]
        return compiled.execute_sql

    def defer(self, clause: Any, params: Mapping[str, Any]) -> None:
        """Execute a statement whose result is not needed, possibly only
        with the next statement or the commit (errors surface there)."""
        compiled = self._compiler.get(clause)
        sql, args = compiled.bind(params)
        if compiled.name is not None:
            sql = self._prepare(compiled)
        self._send_later(sql, args)

    def insert_rows(self, clause: Any,
                    rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a single-row INSERT for many rows as multi-row INSERTs
        (deferred like :meth:`defer`)."""
        compiled = self._compiler.get(clause)
        head, _, group = compiled.sql.rpartition(' VALUES ')
        args: list[Any] = []
        count = size = 0
        for row in rows:
            values = compiled.bind(row)[1]
            args.extend(values)
            count += 1
            size += sum(len(v) for v in values if isinstance(v, str))
            if count == MAX_ROWS_PER_INSERT or size >= MAX_INSERT_TEXT:
                self._send_later(
                    head + ' VALUES ' + ', '.join([group] * count), args)
                args, count, size = [], 0, 0
        if count:
            self._send_later(head + ' VALUES ' + ', '.join([group] * count),
                             args)

    def exec_driver_sql(self, sql: str) -> None:
        self._send(sql, [])

    def commit(self) -> None:
        if not self._explicit_end:
            self._conn.commit()
        elif self._open or self._later_sql:
            self._send('COMMIT', [])
            self._open = False

    def rollback(self) -> None:
        self._later_sql, self._later_args = [], []
        if not self._explicit_end:
            self._conn.rollback()
        elif self._open:
            self._open = False
            self._cursor.execute('ROLLBACK')

    def close(self) -> None:
        try:
            self._cursor.close()
        finally:
            if self._writing:
                self._writing = False
                assert self._writer_lock is not None
                self._writer_lock.release()
