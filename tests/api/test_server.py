"""bridge-api's HTTP server as clients and operators meet it: a real
``bridge-api`` process (granian) on a free port."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid
from typing import Iterator

import pytest
import requests

from bridge import storage as bridge_storage
from bridge.bench import slowclients
from tests.api.test_commands import BIN, HEADERS, Server, write_conf
from tests.storage.conftest import make_conf


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """bridge-api processes to kill if a test leaves them running."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(30)


def start(tmp_path: pathlib.Path, servers: list[Server],
          extra: str = '') -> Server:
    conf_file = write_conf(tmp_path / 'bridge.conf', (
        '[DEFAULT]\nstate_path = %s\n[api]\nworkers = 2\n%s'
        % (tmp_path / 'state', extra)))
    server = Server(['--config-file', str(conf_file)], tmp_path)
    servers.append(server)
    server.wait_ready()
    return server


def wait_for_line(server: Server, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log.read_text():
        assert server.proc.poll() is None, server.log.read_text()
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.01)


def raw_post_head(path: str, length: int) -> bytes:
    return ('POST %s HTTP/1.1\r\nHost: x\r\nClient-ID: %s\r\n'
            'X-Project-Id: %s\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\n\r\n'
            % (path, HEADERS['Client-ID'], HEADERS['X-Project-Id'],
               length)).encode()


def test_busy_port_ends_bridge_api_with_one_clear_line(
        tmp_path: pathlib.Path) -> None:
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(BIN / 'bridge-api'), '--bind-port', str(port),
             '--config-file', str(write_conf(
                 tmp_path / 'bridge.conf',
                 '[DEFAULT]\nstate_path = %s\n' % tmp_path))],
            capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'bridge-api: cannot listen: 127.0.0.1:%d is already in use' % port]
    assert 'serving on' not in done.stdout + done.stderr


def test_second_bridge_api_on_the_same_port_fails_instead_of_sharing_it(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    """granian binds with SO_REUSEPORT; without the check the second
    server would silently take half of the first one's connections."""
    first = start(tmp_path, servers)
    done = subprocess.run(
        [str(BIN / 'bridge-api'), '--bind-port', str(first.port),
         '--config-file', str(tmp_path / 'bridge.conf')],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert 'is already in use' in done.stderr
    assert 'Traceback' not in done.stdout + done.stderr


def test_says_serving_on_only_once_it_listens(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    conf_file = write_conf(tmp_path / 'bridge.conf', (
        '[DEFAULT]\nstate_path = %s\n' % (tmp_path / 'state')))
    server = Server(['--config-file', str(conf_file)], tmp_path)
    servers.append(server)
    wait_for_line(server, 'serving on http://127.0.0.1:%d' % server.port)
    # No retry: the first connection after the line must be accepted.
    assert requests.get(server.url + '/', timeout=30).status_code == 300


def test_sigterm_answers_the_request_in_flight_then_exits_0(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    server = start(tmp_path, servers)
    body = b'{"messages": [{"body": {"in": "flight"}}]}'
    with socket.create_connection(('127.0.0.1', server.port),
                                  timeout=30) as sock:
        sock.sendall(raw_post_head('/v2/queues/q1/messages', len(body)))
        sock.sendall(body[:10])
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        sock.sendall(body[10:])
        answer = sock.recv(65536)
    assert answer.startswith(b'HTTP/1.1 201'), answer
    assert server.proc.wait(30) == 0
    store = bridge_storage.from_url(
        'sqlite:///%s' % (tmp_path / 'state' / 'bridge.sqlite'), make_conf())
    try:
        page = store.list_messages('project-a', 'q1', limit=10, echo=True)
        assert [m.body for m in page.messages] == [{'in': 'flight'}]
    finally:
        store.close()


def test_connection_stays_usable_after_a_refused_body(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    server = start(tmp_path, servers,
                   '[limits]\nmax_request_body = 1024\n')
    session = requests.Session()
    session.headers.update(HEADERS)
    queue = server.url + '/v2/queues/q1'
    assert session.put(queue, timeout=10).status_code == 201
    big = b'{"messages": [{"body": "%s"}]}' % (b'x' * 70000)
    for _ in range(20):
        refused = session.post(queue + '/messages', data=big, timeout=10,
                               headers={'Content-Type': 'application/json'})
        assert refused.status_code == 413
        assert refused.json()['title'] == 'Request body too large'
        # The rest of the body was not read: the answer says so.
        assert refused.headers['Connection'] == 'close'
        assert session.get(queue + '/stats', timeout=10).status_code == 200


def test_chunked_body_over_the_cap_is_refused_and_the_connection_closed(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    server = start(tmp_path, servers,
                   '[limits]\nmax_request_body = 1024\n')

    def chunks():
        for _ in range(10):
            yield b'x' * 500

    refused = requests.post(server.url + '/v2/queues/q1/messages',
                            data=chunks(), headers=dict(HEADERS, **{
                                'Content-Type': 'application/json'}),
                            timeout=10)
    assert refused.status_code == 413
    assert refused.headers['Connection'] == 'close'


def test_slow_clients_do_not_stall_another_tenant(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    """12 clients trickling header lines and 12 trickling bodies hold no
    worker: another tenant's requests are all answered (under a thread per
    connection server they wait for the slow ones: none answered in 20 s).
    How fast they are answered is ``bridge-bench slow-clients``' job."""
    server = start(tmp_path, servers)
    result = slowclients.run_check(server.port, requests=20, interval=0.5,
                                   settle=1.5, timeout=5.0)
    assert result.answered() == 20, result.under_load


@pytest.mark.parametrize('path', ['/v2/queues/%00', '/v2/queues/a%0ab',
                                  '/v2/queues/q1/messages/%00x'])
def test_control_characters_reach_neither_storage_nor_log(
        tmp_path: pathlib.Path, servers: list[Server], path: str) -> None:
    server = start(tmp_path, servers)
    answer = requests.get(server.url + path, headers=HEADERS, timeout=10)
    assert 400 <= answer.status_code < 500
    assert answer.json()['title']
    for line in server.log.read_text().splitlines():
        assert '\x00' not in line


def test_every_request_gets_a_fresh_body_stream(
        tmp_path: pathlib.Path, servers: list[Server]) -> None:
    """Keep-alive: bodies of consecutive requests on one connection do not
    leak into each other."""
    server = start(tmp_path, servers)
    session = requests.Session()
    session.headers.update(HEADERS)
    queue = server.url + '/v2/queues/' + uuid.uuid4().hex
    for n in range(5):
        posted = session.post(queue + '/messages', timeout=10,
                              json={'messages': [{'body': n}]})
        assert posted.status_code == 201, posted.text
    listed = session.get(queue + '/messages', params={'echo': 'true'},
                         timeout=10).json()
    assert [m['body'] for m in listed['messages']] == [0, 1, 2, 3, 4]
