"""Nothing lost, nothing doubled: the listener process is killed with
SIGKILL mid-stream, or its database disappears for a while, and afterwards
every notification is stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg2
import pytest

from bridge import emitter
from bridge import storage as bridge_storage
from tests.listeners.conftest import RABBIT_URL, make_conf

COUNT = int(os.environ.get('BRIDGE_TEST_CRASH_COUNT', '20000'))
PG_URL = os.environ.get('BRIDGE_TEST_POSTGRESQL_URL',
                        'postgresql://postgres@127.0.0.1:5432/bridge_test_storage')


def write_config(path, storage_url, bus, exchanges):
    path.write_text('\n'.join([
        '[DEFAULT]',
        'transport_url = %s' % RABBIT_URL,
        '[storage]',
        'url = %s' % storage_url,
        '[listener]',
        'pool = %s' % bus['pool'],
        'topics = %s' % bus['topic'],
        'exchanges = %s' % ','.join(exchanges),
        'max_queue_depth = 0',
        'requeue_delay = 0.5',
        'batch_timeout = 0.2',
        '',
    ]))
    return str(path)


def start_listener(config, log):
    return subprocess.Popen(
        [sys.executable, '-m', 'bridge.cmd.listener', '--config-file', config],
        stdout=log, stderr=subprocess.STDOUT)


def wait_until_listening(log_path, timeout=60):
    """The listener logs 'Listening on' once start() has declared its pool
    queue AND bound it to every exchange; publishing earlier would lose
    events to exchanges not bound yet (RabbitMQ drops unroutable
    messages)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, 'rb') as f:
            if b'Listening on' in f.read():
                return
        time.sleep(0.2)
    pytest.fail('the listener did not start listening within %ss' % timeout)


def stored_ids(store, owners):
    """Every stored notification id (with repeats) across the owners'
    queues."""
    ids = []
    for project in owners:
        for name, _ in store.list_queues(project, limit=100):
            marker = None
            while True:
                page = store.list_messages(project, name, marker=marker,
                                           limit=1000, echo=True,
                                           include_claimed=True)
                if not page.messages:
                    break
                ids += [m.body['id'] for m in page.messages]
                marker = page.next_marker
    return ids


def count_stored(store, owners):
    return sum(store.queue_stats(p, name).total
               for p in owners for name, _ in store.list_queues(p, limit=100))


def publish(bus, samples, count):
    owned = [dict(s, topic=bus['topic']) for s in samples if s['expected_project']]
    sent = []
    with emitter.Emitter(bus['url']) as out:
        for sample in emitter.varied(owned, count):
            sent.append(out.publish(sample))
    return sent


def wait_until_stored(store, owners, count, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if count_stored(store, owners) >= count:
                return
        except Exception:  # noqa: BLE001 - storage briefly unreachable
            pass
        assert proc.poll() is None, 'listener exited with %s' % proc.returncode
        time.sleep(0.5)
    pytest.fail('only %d of %d stored after %ss'
                % (count_stored(store, owners), count, timeout))


def assert_exactly_once(store, owners, sent):
    ids = stored_ids(store, owners)
    assert len(ids) == len(set(ids)), '%d duplicates' % (len(ids) - len(set(ids)))
    missing = set(sent) - set(ids)
    assert not missing, '%d notifications lost' % len(missing)


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
        tmp_path, bus, samples, sqlite_url):
    exchanges = sorted({s['exchange'] for s in samples})
    config = write_config(tmp_path / 'bridge.conf', sqlite_url, bus, exchanges)
    owners = {s['expected_project'] for s in samples if s['expected_project']}
    store = bridge_storage.from_url(sqlite_url, make_conf(sqlite_url))
    store.ensure_schema()
    log = open(tmp_path / 'listener.log', 'wb')
    proc = start_listener(config, log)
    try:
        wait_until_listening(tmp_path / 'listener.log')
        sent = publish(bus, samples, COUNT)
        wait_until_stored(store, owners, COUNT // 4, proc, 120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = count_stored(store, owners)
        assert killed_at < COUNT, 'the listener finished before it was killed'
        proc = start_listener(config, log)
        wait_until_stored(store, owners, COUNT, proc, 300)
        time.sleep(1)  # let a straggling redelivery show up if there is one
        assert_exactly_once(store, owners, sent)
    finally:
        proc.kill()
        proc.wait(10)
        store.close()


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database for one test, and a switch that takes it
    away from its clients (sessions terminated, new ones refused) as a
    database outage does, without touching the server other tests share."""
    name = 'bridge_test_outage_%s' % uuid.uuid4().hex[:8]
    base_url = PG_URL.rsplit('/', 1)[0]
    admin = psycopg2.connect(base_url + '/postgres')
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute('CREATE DATABASE %s' % name)

    def outage(down: bool) -> None:
        cur.execute('ALTER DATABASE %s WITH ALLOW_CONNECTIONS %s'
                    % (name, 'false' if down else 'true'))
        if down:
            cur.execute('SELECT pg_terminate_backend(pid) FROM '
                        'pg_stat_activity WHERE datname = %s', (name,))

    yield '%s/%s' % (base_url, name), outage
    outage(False)
    cur.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
    admin.close()


def test_database_outage_mid_stream_loses_and_duplicates_nothing(
        tmp_path, bus, samples, pg_database):
    url, outage = pg_database
    exchanges = sorted({s['exchange'] for s in samples})
    config = write_config(tmp_path / 'bridge.conf', url, bus, exchanges)
    owners = {s['expected_project'] for s in samples if s['expected_project']}
    store = bridge_storage.from_url(url, make_conf(url))
    store.ensure_schema()
    log_path = tmp_path / 'listener.log'
    proc = start_listener(config, open(log_path, 'wb'))
    try:
        wait_until_listening(log_path)
        sent = publish(bus, samples, COUNT)
        wait_until_stored(store, owners, COUNT // 4, proc, 120)
        outage(True)
        time.sleep(5)
        outage(False)
        with open(log_path, 'rb') as f:
            assert b'requeueing' in f.read(), \
                'the listener never noticed the outage'
        wait_until_stored(store, owners, COUNT, proc, 300)
        time.sleep(1)
        assert_exactly_once(store, owners, sent)
        assert proc.poll() is None, 'the listener died during the outage'
    finally:
        proc.kill()
        proc.wait(10)
        store.close()
