"""How bridge waits for an SQLite database's write lock.

SQLite lets one connection write at a time. Its own busy handler, which a
refused writer runs, sleeps 1, 2, 5, 10... milliseconds between attempts
however soon the lock is released, while bridge's statements hold the lock
for tens of microseconds: with several API worker processes most requests
slept a millisecond or more for a lock that sat free (measured: about one
such sleep per request at four workers). So bridge's connections run
without SQLite's busy handler (``busy_timeout = 0``) and wait here:

* A single statement in autocommit mode (the frequent post, claim and
  delete, see :mod:`.sqlite_writes`) that SQLite refuses for a lock
  (SQLITE_BUSY) did nothing, and :func:`execute` runs it again after
  20 microseconds, doubling up to 2 milliseconds between attempts. It
  holds SQLite's lock only while SQLite runs it, and needs no queue.
* A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) holds SQLite's
  lock across Python code, which can take a millisecond in a threaded
  server, so bridge's write transactions of one database file also queue
  (:class:`WriterLock`): threads of one process wait on a
  ``threading.Lock``, which hands over as soon as it is released; the one
  waiting thread of each process (API workers, listener, notifier)
  then takes an exclusive ``flock`` of ``<db>-writer.lock`` beside the
  database, retrying every 50 microseconds at first, at most every 2
  milliseconds. The kernel drops the lock of a process that dies. Its
  ``BEGIN IMMEDIATE`` still goes through :func:`execute`: single
  statements do not queue.

This is scheduling, not what keeps data consistent: SQLite's own locking
still applies, and other programs writing the file (the ``sqlite3``
shell) keep their own busy handler. A writer waits at most ``timeout``
seconds (``[storage] sqlite_busy_timeout``), then fails with
:class:`~bridge.storage.errors.Unavailable` (the write queue) or SQLite's
"database is locked" error (a statement), as it would on SQLite's lock.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any, Sequence

from bridge.storage import errors

#: Seconds between attempts at the file lock, doubling from the first to
#: the last: short, because transactions are.
_RETRY_FIRST = 0.00005
_RETRY_MAX = 0.002
#: Seconds before a statement refused for a lock runs again, doubling up
#: to ``_RETRY_MAX``.
_STATEMENT_RETRY_FIRST = 0.00002


def without_busy_handler(dbapi_connection: Any) -> None:
    """Turn SQLite's busy handler off on a connection whose statements
    run through :func:`execute`."""
    dbapi_connection.execute('PRAGMA busy_timeout = 0')


def _refused_for_lock(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, 'sqlite_errorcode', None)  # Python >= 3.11
    if code is not None:
        return code == sqlite3.SQLITE_BUSY
    return str(error).startswith('database is locked')


def execute(cursor: Any, sql: str, args: Sequence[Any],
            timeout: float) -> None:
    """``cursor.execute(sql, args)``, run again while SQLite refuses it
    for a lock (it then did nothing), for at most ``timeout`` seconds."""
    delay = _STATEMENT_RETRY_FIRST
    deadline = None
    while True:
        try:
            cursor.execute(sql, args)
            return
        except sqlite3.OperationalError as error:
            if not _refused_for_lock(error):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
            elif now >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX)


class WriterLock:
    """Exclusive right to write one SQLite database among the bridge
    threads and processes of this machine. Not reentrant."""

    def __init__(self, database: str, timeout: float) -> None:
        self.path = os.path.abspath(database) + '-writer.lock'
        self.timeout = timeout
        self._reset()

    def _reset(self) -> None:
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def after_fork(self) -> None:
        """Call in a forked child: it must open its own lock file (a flock
        belongs to the open file, which parent and child would share) and
        must not inherit a thread lock held at the fork."""
        self._reset()

    def acquire(self) -> None:
        """Wait for this writer's turn; Unavailable after ``timeout``."""
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise errors.Unavailable('storage: timed out waiting for the '
                                     'SQLite write lock')
        try:
            self._lock_file(deadline)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _lock_file(self, deadline: float) -> None:
        delay = _RETRY_FIRST
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT
                                   | os.O_CLOEXEC, 0o600)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise errors.Unavailable('storage: timed out waiting '
                                             'for the SQLite write lock')
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, _RETRY_MAX)
        except OSError as error:
            raise errors.Unavailable('storage: cannot lock %s (%s)'
                                     % (self.path, error)) from error
