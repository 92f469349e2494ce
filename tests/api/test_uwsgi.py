"""The WSGI entry point (``bridge-wsgi-api``: ``bridge.api.wsgi``) keeps
working under uWSGI, the server OpenStack deployments run WSGI services
under: a real uwsgi process serving it over HTTP."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time
from typing import Iterator

import pytest
import requests

from tests.api.test_commands import BIN, HEADERS, free_port

SCRIPT = ('from bridge.api.wsgi import init_application\n'
          'application = init_application()\n')


@pytest.fixture
def uwsgi(tmp_path: pathlib.Path) -> Iterator[str]:
    conf = tmp_path / 'bridge.conf'
    conf.write_text('[storage]\nurl = sqlite:///%s\n'
                    % (tmp_path / 'bridge.sqlite'))
    synced = subprocess.run([str(BIN / 'bridge-manage'), '--config-file',
                             str(conf), 'db', 'sync'],
                            capture_output=True, text=True, timeout=60)
    assert synced.returncode == 0, synced.stderr
    script = tmp_path / 'bridge-wsgi-api'
    script.write_text(SCRIPT)
    port = free_port()
    log = tmp_path / 'uwsgi.log'
    with open(log, 'wb') as out:
        proc = subprocess.Popen(
            [str(BIN / 'uwsgi'), '--http-socket', '127.0.0.1:%d' % port,
             '--wsgi-file', str(script), '--master', '--processes', '2',
             '--threads', '2', '--need-app', '--die-on-term'],
            env=dict(os.environ, BRIDGE_CONFIG_FILE=str(conf)),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    url = 'http://127.0.0.1:%d' % port
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                requests.get(url + '/', timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


def test_wsgi_entry_point_serves_the_api_under_uwsgi(uwsgi: str) -> None:
    queue = uwsgi + '/v2/queues/q1'
    assert requests.get(uwsgi + '/', timeout=10).status_code == 300
    assert requests.put(queue, headers=HEADERS, timeout=10).status_code == 201
    posted = requests.post(queue + '/messages', headers=HEADERS, timeout=10,
                           json={'messages': [{'body': {'via': 'uwsgi'}}]})
    assert posted.status_code == 201, posted.text
    listed = requests.get(queue + '/messages', headers=HEADERS, timeout=10,
                          params={'echo': 'true'})
    assert [m['body'] for m in listed.json()['messages']] == [{'via': 'uwsgi'}]
    refused = requests.get(uwsgi + '/v2/queues/a%00b', headers=HEADERS,
                           timeout=10)
    assert refused.status_code == 400
