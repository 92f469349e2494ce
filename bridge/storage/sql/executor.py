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
import enum
import threading
from typing import Any, Iterator, Mapping, Sequence

import sqlalchemy as sa

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

    * SQLite: ``BEGIN IMMEDIATE``, in process.
    * PostgreSQL: the connection is in autocommit mode. A transaction's
      ``BEGIN`` travels with its first statement; statements whose result
      the driver does not need (:meth:`defer`, :meth:`insert_rows`) travel
      with the next one or with the ``COMMIT``. A post is two round trips
      ("BEGIN; bump counter", "insert; COMMIT"), a claim two, a delete
      with a claim id one.
    * MariaDB: InnoDB opens the transaction implicitly; ``COMMIT`` ends it.

    Its methods mirror the few of SQLAlchemy's Connection the driver uses.
    """

    def __init__(self, compiler: Compiler, dbapi_connection: Any,
                 mode: Mode) -> None:
        self.dialect = compiler.dialect
        self._compiler = compiler
        self._conn = dbapi_connection
        self._cursor = dbapi_connection.cursor()
        backend = compiler.dialect.name
        self._explicit_end = backend == 'postgresql'
        self._open = False
        self._begin = ''
        self._batching = False
        self._later_sql: list[str] = []
        self._later_args: list[Any] = []
        if mode is Mode.AUTOCOMMIT:
            return
        if backend == 'postgresql':
            self._begin = 'BEGIN; '
            self._batching = True
        elif backend == 'sqlite':
            self._cursor.execute('BEGIN IMMEDIATE')

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
        self._cursor.execute(sql, args)

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
        self._send(sql, args)
        cursor = self._cursor
        description = cursor.description
        if description is None:
            return Result([], cursor.rowcount)
        row_type = compiled.row_type(description)
        return Result([row_type._make(row) for row in cursor.fetchall()],
                      cursor.rowcount)

    def defer(self, clause: Any, params: Mapping[str, Any]) -> None:
        """Execute a statement whose result is not needed, possibly only
        with the next statement or the commit (errors surface there)."""
        self._send_later(*self._compiler.get(clause).bind(params))

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
        self._cursor.close()
