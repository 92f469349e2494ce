"""Behaviour of the SQL driver beyond the contract: URLs, SQLite set-up,
and surviving a database that drops its connections."""

from __future__ import annotations

import sqlite3

import pymysql
import psycopg2
import pytest
import sqlalchemy as sa

from bridge.storage import from_url
from bridge.storage.sql import SqlStorage

from .conftest import backend_url, make_conf
from .support import post, run_threads

SQL_BACKENDS = ['sqlite', 'postgresql', 'mariadb']


@pytest.mark.parametrize('url, driver', [
    ('postgres://u@h/db', 'postgresql+psycopg2'),
    ('postgresql://u@h/db', 'postgresql+psycopg2'),
    ('mysql://u@h/db', 'mysql+pymysql'),
    ('mariadb://u@h/db', 'mariadb+pymysql'),
    ('mysql+pymysql://u@h/db', 'mysql+pymysql'),
])
def test_urls_without_a_driver_use_the_drivers_bridge_ships(url, driver):
    storage = from_url(url, make_conf())
    assert isinstance(storage, SqlStorage)
    assert storage._tx.engine.url.drivername == driver
    storage.close()


@pytest.mark.parametrize('url', ['sqlite://', 'sqlite:///:memory:'])
def test_an_in_memory_sqlite_database_is_refused(url):
    with pytest.raises(ValueError, match='SQLite needs a file'):
        SqlStorage(url, make_conf().storage)


def test_ensure_schema_creates_the_sqlite_file_and_its_directory(tmp_path):
    path = tmp_path / 'state' / 'bridge' / 'bridge.sqlite'
    storage = SqlStorage('sqlite:///%s' % path, make_conf().storage)
    storage.ensure_schema()
    storage.ensure_schema()
    post(storage, 'p', 'q', ['a'])
    storage.close()
    conn = sqlite3.connect(path)
    assert conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
    assert conn.execute('SELECT count(*) FROM messages').fetchone()[0] == 1
    conn.close()


def _kill_sessions(backend: str, url: str) -> int:
    """Drop every server-side session of the test database (as a restart
    would); return how many were dropped."""
    parsed = sa.engine.make_url(url)
    if backend == 'postgresql':
        conn = psycopg2.connect(host=parsed.host, port=parsed.port or 5432,
                                user=parsed.username,
                                password=parsed.password, dbname='postgres',
                                connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('SELECT pg_terminate_backend(pid) FROM '
                        'pg_stat_activity WHERE datname = %s AND '
                        'pid <> pg_backend_pid()', (parsed.database,))
            killed = cur.rowcount
        conn.close()
        return killed
    conn = pymysql.connect(host=parsed.host, port=parsed.port or 3306,
                           user=parsed.username,
                           password=parsed.password or '', connect_timeout=5)
    with conn.cursor() as cur:
        cur.execute('SELECT id FROM information_schema.processlist '
                    'WHERE db = %s AND id <> CONNECTION_ID()',
                    (parsed.database,))
        ids = [row[0] for row in cur.fetchall()]
        for session_id in ids:
            cur.execute('KILL %d' % session_id)
    conn.close()
    return len(ids)


@pytest.mark.parametrize('backend', ['postgresql', 'mariadb'],
                         indirect=True)
def test_dropped_connections_are_replaced_without_failing_a_call(
        backend, storage, project, tmp_path):
    """After the server drops every pooled connection (a restart), the
    next calls reconnect instead of answering Unavailable."""
    url = backend_url(backend, str(tmp_path))
    own = SqlStorage(url, make_conf().storage)  # a pool of its own
    try:
        # Open four pooled connections, then have the server drop them.
        run_threads(4, lambda n: post(own, project, 'q', ['warm-up']))
        assert _kill_sessions(backend, url) >= 4
        for n in range(6):
            post(own, project, 'q', [n])
        page = own.list_messages(project, 'q', limit=20)
        assert [m.body for m in page.messages] == ['warm-up'] * 4 + list(
            range(6))
    finally:
        own.close()


@pytest.mark.parametrize('backend', ['postgresql', 'mariadb'])
def test_a_value_too_long_for_its_column_is_invalid_not_unavailable(
        backend, tmp_path):
    """Retrying cannot store it, so callers must not be told to retry (the
    listener dead-letters such an event instead of requeueing it forever)."""
    from bridge.storage import errors, models
    storage = from_url(backend_url(backend, str(tmp_path)), make_conf())
    storage.ensure_schema()
    try:
        with pytest.raises(errors.Invalid):
            storage.post_messages('p-invalid', 'q', [
                models.NewMessage(body={}, ttl=60, dedup_key='k' * 4096)])
        assert storage.list_messages('p-invalid', 'q', echo=True).messages == []
    finally:
        storage.close()
