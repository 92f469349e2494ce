"""The SQLite writer queue: bridge's write transactions of one database
file take turns before they ask SQLite for its write lock.

SQLite lets one connection write at a time. A writer that finds the lock
taken runs SQLite's busy handler, which sleeps 1, 2, 5, 10... milliseconds
between attempts however soon the lock is released. A write transaction
(``BEGIN IMMEDIATE`` ... ``COMMIT``) holds the lock across Python code,
and in a threaded server that can take a millisecond: writers of several
processes then spend their time asleep while the lock sits free (measured:
about a third less throughput with two API workers). So bridge queues its
write transactions itself:

* threads of one process wait on a ``threading.Lock``, which hands over as
  soon as it is released;
* the one waiting thread of each process (gunicorn workers, listener,
  notifier) then takes an exclusive ``flock`` of ``<db>-writer.lock``
  beside the database, retrying every 50 microseconds at first, at most
  every 2 milliseconds. The kernel drops the lock of a process that dies.

Single statements in autocommit mode (the frequent post, claim and
delete, see :mod:`.sqlite_writes`) hold SQLite's lock only while SQLite
runs them, mere tens of microseconds, and skip this queue: taking it would
make them wait for their thread's turn at the interpreter lock while
holding it.

This is scheduling, not what keeps data consistent: SQLite's own locking
still applies, and its busy timeout still covers writers that do not use
this queue (the ``sqlite3`` shell, an older bridge). A writer waits at most
``timeout`` seconds (``[storage] sqlite_busy_timeout``) for its turn, then
fails with :class:`~bridge.storage.errors.Unavailable`, as it would on
SQLite's lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from bridge.storage import errors

#: Seconds between attempts at the file lock, doubling from the first to
#: the last: short, because transactions are.
_RETRY_FIRST = 0.00005
_RETRY_MAX = 0.002


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
