"""Waiting for SQLite's write lock (bridge.storage.sql.writelock): write
transactions queue, one at a time across threads and processes; single
statements refused for the lock run again soon after it is free; every
wait is bounded."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest

from bridge.storage import errors
from bridge.storage.sql import writelock
from bridge.storage.sql.writelock import WriterLock


def _hold(path: str, held: multiprocessing.Event,
          release: multiprocessing.Event) -> None:
    lock = WriterLock(path, timeout=5)
    lock.acquire()
    held.set()
    release.wait(10)
    lock.release()


def test_a_writer_waits_for_another_process_then_gets_its_turn(tmp_path):
    path = str(tmp_path / 'bridge.sqlite')
    ctx = multiprocessing.get_context('fork')
    held, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(path, held, release))
    other.start()
    try:
        assert held.wait(10)
        lock = WriterLock(path, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(errors.Unavailable, match='timed out'):
            lock.acquire()
        assert time.monotonic() - started >= 0.2
        release.set()
        lock.timeout = 5
        lock.acquire()
        lock.release()
    finally:
        release.set()
        other.join(10)


def test_a_dead_process_does_not_keep_the_lock(tmp_path):
    path = str(tmp_path / 'bridge.sqlite')
    ctx = multiprocessing.get_context('fork')
    held, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(path, held, release))
    other.start()
    assert held.wait(10)
    other.kill()
    other.join(10)
    lock = WriterLock(path, timeout=5)
    lock.acquire()
    lock.release()


def test_threads_of_one_process_write_one_at_a_time(tmp_path):
    lock = WriterLock(str(tmp_path / 'bridge.sqlite'), timeout=10)
    inside = []
    overlaps = []

    def write() -> None:
        for _ in range(20):
            lock.acquire()
            try:
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.0005)
                inside.pop()
            finally:
                lock.release()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []


# -- single statements: run again while SQLite refuses them for a lock -------

def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None,
                           check_same_thread=False)
    conn.execute('PRAGMA journal_mode=WAL')
    writelock.without_busy_handler(conn)
    return conn


def _table(path: str) -> None:
    conn = _connect(path)
    conn.execute('CREATE TABLE IF NOT EXISTS t (n INTEGER)')
    conn.close()


def test_a_statement_refused_for_a_lock_runs_once_the_lock_is_free(tmp_path):
    path = str(tmp_path / 'bridge.sqlite')
    _table(path)
    holder, writer = _connect(path), _connect(path)
    holder.execute('BEGIN IMMEDIATE')
    with pytest.raises(sqlite3.OperationalError, match='locked'):
        writer.execute('INSERT INTO t VALUES (1)')  # no busy handler
    release = threading.Timer(0.1, lambda: holder.execute('COMMIT'))
    release.start()
    started = time.monotonic()
    writelock.execute(writer.cursor(), 'INSERT INTO t VALUES (?)', [2], 5)
    waited = time.monotonic() - started
    release.join()
    assert 0.05 <= waited < 1.0  # soon after the release, not seconds
    assert [r[0] for r in holder.execute('SELECT n FROM t')] == [2]


def test_a_statement_still_refused_after_the_timeout_fails_and_did_nothing(
        tmp_path):
    path = str(tmp_path / 'bridge.sqlite')
    _table(path)
    holder, writer = _connect(path), _connect(path)
    holder.execute('BEGIN IMMEDIATE')
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match='locked'):
        writelock.execute(writer.cursor(), 'INSERT INTO t VALUES (1)', [],
                          0.2)
    assert 0.2 <= time.monotonic() - started < 2.0
    holder.execute('COMMIT')
    assert writer.execute('SELECT count(*) FROM t').fetchone()[0] == 0


def test_other_database_errors_are_not_retried(tmp_path):
    path = str(tmp_path / 'bridge.sqlite')
    writer = _connect(path)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match='no such table'):
        writelock.execute(writer.cursor(), 'SELECT * FROM missing', [], 5)
    assert time.monotonic() - started < 0.5
