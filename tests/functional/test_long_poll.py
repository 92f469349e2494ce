"""Long polling against real bridge-api processes: ``wait=N`` on GET
messages and POST claims answers as soon as a message is stored by another
process (another bridge-api over the same storage, or any process that
stores and publishes a wake-up, as bridge-listener does), and holds no
thread while it waits.

Two wake-up transports are exercised: the Unix datagram sockets of a shared
state directory (SQLite) and PostgreSQL's LISTEN/NOTIFY (two bridge-api
processes with different state directories: only the database links them).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
import requests

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge import wakeups
from bridge.storage import models

from .server import BridgeAPI

#: How soon after a post a waiting client must have its answer.
PROMPT = 0.25


#: Storage URLs (the same variables and defaults as tools/test.sh).
URLS = {
    'postgresql': ('BRIDGE_TEST_POSTGRESQL_URL',
                   'postgresql://postgres:postgres@127.0.0.1:5432/bridge_test'),
    'mariadb': ('BRIDGE_TEST_MYSQL_URL',
                'mysql+pymysql://root@127.0.0.1:3306/bridge_test'
                '?charset=utf8mb4'),
    'mongodb': ('BRIDGE_TEST_MONGODB_URL',
                'mongodb://127.0.0.1:27018/bridge_test?directConnection=true'),
}


def _url(backend: str) -> str:
    variable, default = URLS[backend]
    return os.environ.get(variable) or default


def _options(state: pathlib.Path, url: str) -> dict[str, dict[str, str]]:
    return {'DEFAULT': {'state_path': str(state), 'auth_strategy': 'noauth'},
            'storage': {'url': url}}


@pytest.fixture(scope='module',
                params=['sqlite', 'postgresql', 'mariadb', 'mongodb'])
def two_apis(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[BridgeAPI, BridgeAPI]]:
    """Two bridge-api processes over one storage. On PostgreSQL they have
    separate state directories (only the database links them); otherwise
    one, whose wake-up sockets link them."""
    base = tmp_path_factory.mktemp('lp')
    shared = base / 'state'
    servers = []
    for n in (1, 2):
        workdir = base / f'api{n}'
        workdir.mkdir()
        if request.param == 'sqlite':
            options = _options(shared, f'sqlite:///{shared}/bridge.sqlite')
        elif request.param == 'postgresql':
            options = _options(workdir, _url('postgresql'))
        else:
            options = _options(shared, _url(request.param))
        shared.mkdir(exist_ok=True)
        servers.append(BridgeAPI(workdir, options).start())
    yield servers[0], servers[1]
    for server in servers:
        server.stop()


def _headers(project: str) -> dict[str, str]:
    return {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}


def _post(api: BridgeAPI, project: str, queue: str, body: Any) -> float:
    resp = requests.post(f'{api.url}/v2/queues/{queue}/messages',
                         json={'messages': [{'body': body, 'ttl': 300}]},
                         headers=_headers(project), timeout=10)
    assert resp.status_code == 201, resp.text
    return time.monotonic()


class Waiter(threading.Thread):
    """One long-polling request in a thread; records when it returned."""

    def __init__(self, method: str, url: str, headers: dict[str, str],
                 json: Any = None) -> None:
        super().__init__(daemon=True)
        self.args = (method, url, headers, json)
        self.response: requests.Response | None = None
        self.returned_at = 0.0

    def run(self) -> None:
        method, url, headers, body = self.args
        self.response = requests.request(method, url, headers=headers,
                                         json=body, timeout=30)
        self.returned_at = time.monotonic()


def _parked(waiter: Waiter) -> None:
    waiter.start()
    time.sleep(0.5)  # time enough to find nothing and park
    assert waiter.is_alive(), 'answered before anything was posted'


def test_a_long_poll_answers_within_250ms_of_a_post_through_another_process(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    first, second = two_apis
    project, queue = 'lp-' + uuid.uuid4().hex[:8], 'jobs'
    waiter = Waiter('GET', f'{first.url}/v2/queues/{queue}/messages?wait=10',
                    _headers(project))
    _parked(waiter)
    posted = _post(second, project, queue, {'job': 1})
    waiter.join(15)
    assert waiter.response is not None
    assert waiter.response.status_code == 200, waiter.response.text
    assert [m['body'] for m in waiter.response.json()['messages']] == [
        {'job': 1}]
    assert waiter.returned_at - posted <= PROMPT


def test_a_claim_with_wait_answers_within_250ms_of_a_post_through_another_process(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    first, second = two_apis
    project, queue = 'lp-' + uuid.uuid4().hex[:8], 'work'
    waiter = Waiter('POST', f'{first.url}/v2/queues/{queue}/claims?wait=10',
                    _headers(project), json={'ttl': 60, 'grace': 60})
    _parked(waiter)
    posted = _post(second, project, queue, 'task')
    waiter.join(15)
    assert waiter.response is not None
    assert waiter.response.status_code == 201, waiter.response.text
    assert [m['body'] for m in waiter.response.json()['messages']] == ['task']
    assert waiter.returned_at - posted <= PROMPT
    # The claim is real: nothing is left to claim.
    resp = requests.post(f'{second.url}/v2/queues/{queue}/claims',
                         json={'ttl': 60}, headers=_headers(project),
                         timeout=10)
    assert resp.status_code == 204


def test_a_post_to_another_project_s_queue_of_the_same_name_does_not_answer(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    first, second = two_apis
    queue = 'shared-name'
    waiter = Waiter('GET', f'{first.url}/v2/queues/{queue}/messages?wait=2',
                    _headers('lp-mine-' + uuid.uuid4().hex[:6]))
    _parked(waiter)
    _post(second, 'lp-other-' + uuid.uuid4().hex[:6], queue, 'not yours')
    waiter.join(15)
    assert waiter.response is not None
    assert waiter.response.status_code == 200
    assert waiter.response.json()['messages'] == []


def test_a_long_poll_answers_at_once_when_there_are_messages(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    first, _ = two_apis
    project = 'lp-' + uuid.uuid4().hex[:8]
    _post(first, project, 'ready', 'here')
    started = time.monotonic()
    resp = requests.get(f'{first.url}/v2/queues/ready/messages?wait=20',
                        headers=_headers(project), timeout=30)
    assert resp.status_code == 200
    assert [m['body'] for m in resp.json()['messages']] == ['here']
    assert time.monotonic() - started < 5


def test_a_long_poll_with_nothing_gives_the_empty_answer_after_its_wait(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    first, _ = two_apis
    headers = _headers('lp-' + uuid.uuid4().hex[:8])
    started = time.monotonic()
    resp = requests.get(f'{first.url}/v2/queues/empty/messages?wait=1',
                        headers=headers, timeout=30)
    assert resp.status_code == 200
    assert resp.json() == {'messages': [], 'links': []}
    assert time.monotonic() - started >= 1.0
    resp = requests.post(f'{first.url}/v2/queues/empty/claims?wait=1',
                         json={}, headers=headers, timeout=30)
    assert resp.status_code == 204


def test_a_message_stored_by_another_process_that_publishes_wakes_a_waiter(
        two_apis: tuple[BridgeAPI, BridgeAPI]) -> None:
    """What bridge-listener does: store with the storage driver, then
    publish a wake-up with the configuration's publisher."""
    first, _ = two_apis
    conf = _conf_of(first)
    project, queue = 'lp-' + uuid.uuid4().hex[:8], 'events'
    waiter = Waiter('GET', f'{first.url}/v2/queues/{queue}/messages?wait=10',
                    _headers(project))
    _parked(waiter)
    store = bridge_storage.from_conf(conf)
    publisher = wakeups.publisher(conf)
    try:
        store.post_many([models.Post(project, queue, [models.NewMessage(
            body={'event': 'compute.instance.create.end'}, ttl=300)])])
        publisher.publish([(project, queue)])
        posted = time.monotonic()
    finally:
        store.close()
        publisher.close()
    waiter.join(15)
    assert waiter.response is not None
    assert [m['body'] for m in waiter.response.json()['messages']] == [
        {'event': 'compute.instance.create.end'}]
    assert waiter.returned_at - posted <= PROMPT


def _conf_of(api: BridgeAPI) -> Any:
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge', default_config_files=[str(api.config_file)])
    return conf


# -- many waiters -----------------------------------------------------------

async def _raw_long_polls(port: int, path: str, project: str, count: int,
                          ready: threading.Event) -> list[bytes]:
    """``count`` concurrent GETs on one event loop (a thread each would
    load this test process more than the server)."""
    async def one() -> bytes:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write((f'GET {path} HTTP/1.1\r\nHost: x\r\n'
                      f'Client-ID: {uuid.uuid4()}\r\n'
                      f'X-Project-Id: {project}\r\n'
                      'Connection: close\r\n\r\n').encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        return data

    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    await asyncio.sleep(0)
    ready.set()
    return await asyncio.gather(*tasks)


def test_400_waiters_all_get_the_message_while_other_requests_stay_fast(
        tmp_path: pathlib.Path) -> None:
    api = BridgeAPI(tmp_path, _options(
        tmp_path, f'sqlite:///{tmp_path}/bridge.sqlite')).start()
    try:
        project = 'lp-many'
        ready = threading.Event()
        results: list[list[bytes]] = []
        loop_thread = threading.Thread(target=lambda: results.append(
            asyncio.run(_raw_long_polls(
                api.port, '/v2/queues/broadcast/messages?wait=20',
                project, 400, ready))), daemon=True)
        loop_thread.start()
        ready.wait(10)
        latencies = _other_client(api, seconds=2.0)  # while they park
        with ThreadPoolExecutor(1) as pool:
            during = pool.submit(_other_client, api, 1.5)
            time.sleep(0.2)
            _post(api, project, 'broadcast', 'to all')
            latencies += during.result()
        loop_thread.join(30)
        assert results, 'the waiters did not finish'
        answers = results[0]
        assert len(answers) == 400
        assert all(a.startswith(b'HTTP/1.1 200') and b'"to all"' in a
                   for a in answers), answers[0][:300]
        p99 = statistics.quantiles(latencies, n=100)[98]
        assert p99 <= 0.150, 'p99 %.3f s over %d requests' % (
            p99, len(latencies))
    finally:
        api.stop()


def _other_client(api: BridgeAPI, seconds: float) -> list[float]:
    """Latencies of another client's requests (post, list) for a while."""
    session = requests.Session()
    headers = _headers('lp-other')
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        resp = session.get(f'{api.url}/v2/queues/busy/messages',
                           headers=headers, timeout=10)
        assert resp.status_code == 200
        latencies.append(time.monotonic() - started)
    return latencies
