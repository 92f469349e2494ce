"""bridge-notifier's Prometheus metrics, from a real bridge-notifier
delivering to a real webhook receiver: attempts and outcomes, latency,
and the sampled backlog of the subscriptions that wait."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests

from tests.notifier.conftest import post, subscribe, wait_until
from tests.notifier.receiver import Answer
from tests.prometheus import metric

NOTIFIER = os.path.join(os.path.dirname(sys.executable), 'bridge-notifier')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(tmp_path, sqlite_url, port):
    path = tmp_path / 'notifier.conf'
    path.write_text(
        '[DEFAULT]\nlog_file = %s\n[storage]\nurl = %s\n'
        '[notifier]\nallowed_subscriber_hosts = 127.0.0.1\n'
        'poll_interval = 0.02\nconnect_timeout = 0.3\nread_timeout = 0.5\n'
        'min_retry_delay = 0.05\nmax_retry_delay = 0.2\nmax_retries = 1000\n'
        'metrics_port = %d\n[metrics]\nsample_interval = 0\n'
        % (tmp_path / 'notifier.log', sqlite_url, port))
    return str(path)


def test_notifier_metrics_count_outcomes_latency_and_backlogs(
        tmp_path, sqlite_url, store, project, receiver):
    port = free_port()
    receiver.plan('/gone', Answer(status=404))
    subscribe(store, project, 'ok', receiver.url('/ok'))
    subscribe(store, project, 'gone', receiver.url('/gone'))
    waiting = subscribe(store, project, 'waiting',
                        'http://127.0.0.1:%d/nobody' % free_port())
    post(store, project, 'ok', 3)
    post(store, project, 'gone', 1)
    post(store, project, 'waiting', 2)
    proc = subprocess.Popen([NOTIFIER, '--config-file',
                             write_config(tmp_path, sqlite_url, port)],
                            stdin=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d/metrics' % port

    def scrape() -> str | None:
        assert proc.poll() is None, 'bridge-notifier exited'
        try:
            return requests.get(url, timeout=5).text
        except requests.ConnectionError:
            return None

    def settled() -> str | None:
        text = scrape()
        if text and metric(text, 'bridge_notifier_deliveries_total',
                           kind='webhook', outcome='rejected') == 1 and \
                metric(text, 'bridge_notifier_deliveries_total',
                       kind='webhook', outcome='delivered') == 3:
            return text
        return None
    try:
        text = wait_until(settled, timeout=60, what='deliveries counted')
    finally:
        proc.terminate()
        proc.wait(30)
    assert len(receiver.accepted('/ok')) == 3
    assert metric(text, 'bridge_notifier_attempts_total', kind='webhook',
                  result='delivered') == 3
    assert metric(text, 'bridge_notifier_attempts_total', kind='webhook',
                  result='final') == 1
    assert metric(text, 'bridge_notifier_attempts_total', kind='webhook',
                  result='retry') >= 1
    assert metric(text, 'bridge_notifier_delivery_latency_seconds_count',
                  kind='webhook') == 3
    assert metric(text, 'bridge_notifier_send_duration_seconds_count',
                  kind='webhook') >= 5
    assert metric(text, 'bridge_subscription_backlog',
                  subscription=waiting.id, project=project,
                  queue='waiting') == 2
    assert metric(text, 'bridge_subscription_backlog', project=project,
                  queue='ok') is None
