"""The SQLite writer queue (bridge.storage.sql.writelock): one writer at a
time across threads and processes, with a bounded wait."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from bridge.storage import errors
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
