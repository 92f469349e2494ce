"""SQLite WAL checkpoints run in a background thread of each process, not
inside the commit of a request (bridge/storage/sql/checkpointer.py)."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
import time

from bridge.storage.sql import SqlStorage
from bridge.storage.sql import checkpointer
from tests.storage.conftest import make_conf
from tests.storage.support import post


#: About 6 MB: well past SQLite's automatic checkpoint at 1000 pages.
BODIES = ['x' * 3000] * 2000


def _threads() -> set[threading.Thread]:
    """The checkpoint threads alive now (other tests' storages included)."""
    return {t for t in threading.enumerate()
            if t.name == 'bridge-sqlite-checkpoint'}


def _storage(path: pathlib.Path, interval: float) -> SqlStorage:
    conf = make_conf()
    conf.set_override('sqlite_checkpoint_interval', interval,
                      group='storage')
    storage = SqlStorage('sqlite:///%s' % path, conf.storage)
    storage.ensure_schema()
    return storage


def test_commits_leave_the_wal_to_the_background_checkpoint(
        tmp_path: pathlib.Path) -> None:
    db = tmp_path / 'bridge.sqlite'
    storage = _storage(db, 3600.0)  # the thread runs, but not in time
    try:
        before = os.path.getsize(db)
        post(storage, 'p', 'q', BODIES)
        # Without SQLite's own checkpoint in the commits, the rows are all
        # in the WAL and the database file has not grown.
        assert os.path.getsize(db) == before
        assert os.path.getsize(str(db) + '-wal') > 4 * 1024 * 1024
    finally:
        storage.close()


def test_the_background_thread_copies_the_wal_into_the_database(
        tmp_path: pathlib.Path) -> None:
    db = tmp_path / 'bridge.sqlite'
    others = _threads()
    storage = _storage(db, 0.05)
    try:
        assert len(_threads() - others) == 1
        before = os.path.getsize(db)
        post(storage, 'p', 'q', BODIES)
        deadline = time.monotonic() + 10
        while os.path.getsize(db) == before:
            assert time.monotonic() < deadline, 'no checkpoint in 10 s'
            time.sleep(0.05)
        assert storage.list_messages('p', 'q', limit=1, echo=True).messages
    finally:
        storage.close()
    assert _threads() - others == set()  # close() stopped it


def test_interval_0_leaves_checkpoints_to_sqlite(
        tmp_path: pathlib.Path) -> None:
    db = tmp_path / 'bridge.sqlite'
    others = _threads()
    storage = _storage(db, 0)
    try:
        assert _threads() - others == set()
        before = os.path.getsize(db)
        post(storage, 'p', 'q', BODIES)
        assert os.path.getsize(db) > before  # SQLite checkpointed in a commit
    finally:
        storage.close()


def test_checkpoint_reports_the_pages_it_copied(
        tmp_path: pathlib.Path) -> None:
    db = tmp_path / 'bridge.sqlite'
    storage = _storage(db, 3600.0)
    try:
        post(storage, 'p', 'q', range(100))
        with sqlite3.connect(db, isolation_level=None) as conn:
            busy, log, done = checkpointer.checkpoint(conn)
        assert busy == 0 and log > 0 and done == log
    finally:
        storage.close()
