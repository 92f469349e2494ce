"""bridge-listener's Prometheus metrics, from a real bridge-listener with
two worker processes fed through the test RabbitMQ: what the workers
counted is merged on ``[listener] metrics_port``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from bridge import emitter
from bridge import storage as bridge_storage
from tests.listeners.conftest import FIXTURES, RABBIT_URL, make_conf
from tests.prometheus import metric

BIN = os.path.dirname(sys.executable)
COUNT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def sample(name: str) -> dict:
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def scrape(port: int) -> str:
    answer = requests.get('http://127.0.0.1:%d/metrics' % port, timeout=10)
    assert answer.status_code == 200
    return answer.text


def wait_for(predicate, proc, timeout=90, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, 'listener exited with %s' % proc.returncode
        if predicate():
            return
        time.sleep(0.3)
    pytest.fail('%s not reached within %ss' % (what, timeout))


@pytest.fixture
def listener(tmp_path, bus, sqlite_url):
    port = free_port()
    config = tmp_path / 'bridge.conf'
    config.write_text('\n'.join([
        '[DEFAULT]', 'transport_url = %s' % RABBIT_URL,
        '[storage]', 'url = %s' % sqlite_url,
        '[listener]', 'pool = %s' % bus['pool'], 'topics = %s' % bus['topic'],
        'exchanges = nova', 'workers = 2', 'batch_timeout = 0.1',
        'metrics_port = %d' % port, '']))
    log_path = tmp_path / 'listener.log'
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(
            [os.path.join(BIN, 'bridge-listener'), '--config-file',
             str(config)], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_for(lambda: log_path.read_bytes().count(b'Listening on') == 2,
                 proc, what='both workers listening')
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_listener_metrics_count_every_worker_by_service_family_outcome(
        listener, bus, sqlite_url):
    proc, port = listener
    owned = dict(sample('nova__compute.instance.create.end.json'),
                 topic=bus['topic'], exchange='nova')
    stray = dict(owned, event_type='nobody.owns.this', message_id=None,
                 publisher_id='nobody.host', payload={}, ctxt={})
    with emitter.Emitter(RABBIT_URL) as out:
        for copy in emitter.varied([owned], COUNT):
            out.publish(copy, timestamp=emitter.now_timestamp())
        out.publish(stray)
    store = bridge_storage.from_url(sqlite_url, make_conf(sqlite_url))

    def received() -> float:
        return metric(scrape(port), 'bridge_listener_received_total',
                      service='nova', family='nova-legacy') or 0.0
    try:
        wait_for(lambda: received() == COUNT, proc,
                 what='%d notifications counted' % COUNT)
        wait_for(lambda: (metric(scrape(port),
                                 'bridge_listener_notifications_total',
                                 outcome='dead_lettered') or 0) == 1,
                 proc, what='the stray dead-lettered')
        text = scrape(port)
        assert store.count_queues(owned['expected_project']) == 1
    finally:
        store.close()
    assert metric(text, 'bridge_listener_notifications_total',
                  service='nova', family='nova-legacy',
                  outcome='stored') == COUNT
    assert metric(text, 'bridge_listener_received_total', service='other',
                  family='default') == 1
    assert metric(text, 'bridge_listener_notifications_total',
                  service='other', family='default',
                  outcome='dead_lettered') == 1
    assert metric(text, 'bridge_listener_lag_seconds_count',
                  service='nova') == COUNT
    # Fresh timestamps: stored well within a minute of being sent.
    assert metric(text, 'bridge_listener_lag_seconds_bucket',
                  service='nova', le='60.0') == COUNT
