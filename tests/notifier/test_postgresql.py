"""The notifier on PostgreSQL: delivery in order with a retry, two
notifiers sharing the work (row leases with FOR UPDATE SKIP LOCKED).

The server comes from ``BRIDGE_TEST_POSTGRESQL_URL`` (default: the local
one); the test uses its own database, ``bridge_test_notifier``, because a
notifier leases subscriptions of every project and must not pick up those
other tests leave behind."""

from __future__ import annotations

import os
import time

import psycopg2
import pytest
import sqlalchemy as sa

from bridge import storage as bridge_storage
from tests.notifier.conftest import make_conf, post, subscribe

DEFAULT_URL = 'postgresql://postgres@127.0.0.1:5432/bridge_test'
DATABASE = 'bridge_test_notifier'


def _connect(url: sa.engine.URL, dbname: str):
    return psycopg2.connect(host=url.host, port=url.port or 5432,
                            user=url.username, password=url.password,
                            dbname=dbname, connect_timeout=5)


@pytest.fixture
def pg_url() -> str:
    base = sa.engine.make_url(os.environ.get('BRIDGE_TEST_POSTGRESQL_URL')
                              or DEFAULT_URL)
    url = base.set(database=DATABASE)
    try:
        conn = _connect(url, 'postgres')
    except psycopg2.OperationalError as exc:
        pytest.fail('PostgreSQL at %s:%s is not reachable (%s); set '
                    'BRIDGE_TEST_POSTGRESQL_URL' % (url.host, url.port, exc))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                    (DATABASE,))
        if cur.fetchone() is None:
            try:
                cur.execute('CREATE DATABASE %s' % DATABASE)
            except psycopg2.errors.DuplicateDatabase:
                pass
    conn.close()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_store(pg_url):
    s = bridge_storage.from_url(pg_url, make_conf(pg_url))
    s.ensure_schema()
    # Leftovers of earlier runs would be leased (and delivered) too.
    conn = _connect(sa.engine.make_url(pg_url), DATABASE)
    with conn, conn.cursor() as cur:
        cur.execute('DELETE FROM subscriptions')
    conn.close()
    yield s
    s.close()


def test_two_notifiers_on_postgresql_deliver_everything_in_order_once(
        receiver, pg_store, pg_url, project, run_notifier):
    paths = ['/%d' % i for i in range(4)]
    for path in paths:
        subscribe(pg_store, project, 'q', receiver.url(path))
    receiver.fail('/0', 2, 503)
    conf = make_conf(pg_url, threads=2)
    other = bridge_storage.from_url(pg_url, conf)
    try:
        run_notifier(conf, pg_store)
        run_notifier(conf, other)
        for batch in range(4):
            post(pg_store, project, 'q', 5, start=5 * batch)
            time.sleep(0.05)
        for path in paths:
            got = receiver.wait_for(20, path)
            assert [r.json['body']['seq'] for r in got] == list(range(20))
        assert len(receiver.received()) == 4 * 20 + 2  # 2 retries, no dups
        assert max(receiver.max_in_flight[p] for p in paths) == 1
    finally:
        other.close()
