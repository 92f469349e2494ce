"""A real ``bridge-api`` with two worker processes: request ids and the
access log in its log, and ``/metrics`` merging what every worker counted
(prometheus-client's multi-process mode), also after a worker died."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import time

import requests

from tests.api.test_commands import HEADERS, Server, run_server  # noqa: F401
from tests.prometheus import metric

ROUTE = '/v2/queues/{queue_name}/messages'
REQUESTS = 40


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = pathlib.Path('/proc/%s/stat' % entry).read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def posted(url: str) -> float | None:
    text = requests.get(url + '/metrics', timeout=10).text
    return metric(text, 'bridge_api_requests_total', route=ROUTE,
                  method='POST', status='201')


def test_metrics_merge_every_worker_and_survive_a_dead_worker(
        tmp_path: pathlib.Path, run_server: list[Server]) -> None:  # noqa: F811
    conf = tmp_path / 'bridge.conf'
    # SIGTERM reaches the process group at once: a worker respawned just
    # then may wait out graceful_timeout before granian ends it, so keep
    # that well inside stop()'s 30 s.
    conf.write_text('[DEFAULT]\nstate_path = %s\n[api]\nworkers = 2\n'
                    'graceful_timeout = 5\n' % (tmp_path / 'state'))
    server = Server(['--config-file', str(conf)], tmp_path)
    run_server.append(server)
    server.wait_ready()
    ids = set()
    for i in range(REQUESTS):
        answer = requests.post(server.url + '/v2/queues/q1/messages',
                               headers=HEADERS, timeout=10,
                               json={'messages': [{'body': i}]})
        assert answer.status_code == 201
        ids.add(answer.headers['X-Openstack-Request-Id'])
    assert len(ids) == REQUESTS
    # Whichever worker answers the scrape, it shows every worker's count.
    assert [posted(server.url) for _ in range(6)] == [REQUESTS] * 6
    workers = children(server.proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = children(server.proc.pid)
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.2)
    # The dead worker's counts stay in the totals, as counters must.
    assert [posted(server.url) for _ in range(4)] == [REQUESTS] * 4
    log = server.log.read_text()
    for request_id in list(ids)[:5]:
        line, = [line for line in log.splitlines() if request_id + ' ' in line
                 and 'bridge.api.access' in line]
        assert re.search(r' project-a POST %s /v2/queues/q1/messages 201 '
                         r'\d+B [\d.]+ms$' % re.escape(ROUTE), line), line
    assert server.stop() == 0
