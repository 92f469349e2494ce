"""The WSGI pipeline (bridge.api.pipeline) over real HTTP: request ids,
the access log and its log context, CORS, proxy headers, /healthcheck,
and /metrics in noauth mode. The application runs in a wsgiref server on
a loopback port; requests go through ``requests``."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid
import wsgiref.simple_server
from typing import Any, Iterator

import pytest
import requests
from oslo_config import cfg
from oslo_log import formatters
from oslo_log import log as oslo_log

from bridge import conf as bridge_conf
from bridge.api import app as api_app
from bridge.api import pipeline
from bridge.storage.base import Storage
from tests.prometheus import metric

HEADERS = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'project-a'}
REQUEST_ID = re.compile(r'^req-[0-9a-f-]{36}$')


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class Served:
    """make_wsgi_app(conf, storage) on a free loopback port."""

    def __init__(self, conf: cfg.ConfigOpts, storage: Storage) -> None:
        app = api_app.make_wsgi_app(conf, storage)
        self.server = wsgiref.simple_server.make_server(
            '127.0.0.1', 0, app, handler_class=_Quiet)
        self.url = 'http://127.0.0.1:%d' % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Captured(logging.Handler):
    """Log records of bridge, formatted as oslo.log formats them."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(formatters.ContextFormatter(project='bridge',
                                                      config=conf))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def conf(tmp_path: Any) -> cfg.ConfigOpts:
    """bridge's options, oslo.log's (for its formatter) and the
    pipeline's; [storage] url names the test storage (conftest.py)."""
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    oslo_log.register_options(conf)
    pipeline.register_opts(conf)
    conf([], project='bridge', default_config_files=[])
    conf.set_override('url', 'sqlite:///%s' % (tmp_path / 'api.sqlite'),
                      group='storage')
    return conf


@pytest.fixture
def serve(conf: cfg.ConfigOpts, storage: Storage) -> Iterator[Any]:
    served: list[Served] = []

    def start() -> Served:
        served.append(Served(conf, storage))
        return served[-1]
    yield start
    for s in served:
        s.stop()


@pytest.fixture
def access_log(conf: cfg.ConfigOpts) -> Iterator[Captured]:
    handler = Captured(conf)
    logger = logging.getLogger('bridge')
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def access_line(captured: Captured, text: str) -> str:
    """The one access-log line containing ``text``. The server writes it
    once the response is sent, maybe just after the client got it."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in captured.lines
                 if 'bridge.api.access' in line and text in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert len(lines) == 1, captured.lines
    return lines[0]


def test_every_answer_carries_its_own_openstack_request_id(serve: Any) -> None:
    api = serve()
    answers = [
        requests.put(api.url + '/v2/queues/q1', headers=HEADERS, timeout=10),
        requests.get(api.url + '/v2/queues/q1/stats', headers=HEADERS,
                     timeout=10),
        requests.get(api.url + '/v2/queues', timeout=10),  # 400: no headers
        requests.get(api.url + '/no/such/path', headers=HEADERS, timeout=10),
        requests.get(api.url + '/', timeout=10),
    ]
    assert [a.status_code for a in answers] == [201, 200, 400, 404, 300]
    ids = [a.headers['X-Openstack-Request-Id'] for a in answers]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_access_log_line_names_request_project_route_path_status_bytes(
        serve: Any, access_log: Captured) -> None:
    api = serve()
    requests.put(api.url + '/v2/queues/q1', headers=HEADERS, timeout=10)
    posted = requests.post(api.url + '/v2/queues/q1/messages?echo=true',
                           headers=HEADERS, timeout=10,
                           json={'messages': [{'body': {'n': 1}}]})
    assert posted.status_code == 201
    request_id = posted.headers['X-Openstack-Request-Id']
    line = access_line(access_log, request_id)
    fields = line.split('] ', 1)[1].split()
    assert fields[:7] == [request_id, 'project-a', 'POST',
                          '/v2/queues/{queue_name}/messages',
                          '/v2/queues/q1/messages?echo=true', '201',
                          '%dB' % len(posted.content)]
    assert re.match(r'^\d+\.\dms$', fields[7])
    # oslo.log's context carries the request id too ("[... req-...").
    assert re.search(r'\[[^]]*%s' % request_id, line)


def test_a_valid_inbound_request_id_becomes_the_global_request_id(
        serve: Any, access_log: Captured) -> None:
    api = serve()
    inbound = 'req-%s' % uuid.uuid4()
    answer = requests.get(api.url + '/v2/queues', timeout=10,
                          headers=dict(HEADERS, **{
                              'X-Openstack-Request-Id': inbound}))
    own = answer.headers['X-Openstack-Request-Id']
    assert own != inbound and REQUEST_ID.match(own)
    line = access_line(access_log, own)
    assert '[%s %s ' % (inbound, own) in line


def test_access_log_shows_no_project_before_one_is_established(
        serve: Any, access_log: Captured) -> None:
    api = serve()
    answer = requests.get(api.url + '/v2/queues', timeout=10,
                          headers={'X-Project-Id': 'unchecked'})
    assert answer.status_code == 400  # no Client-ID: the gate refuses
    line = access_line(access_log, answer.headers['X-Openstack-Request-Id'])
    assert ' - GET /v2/queues /v2/queues 400 ' in line


def test_access_log_escapes_control_characters_in_one_line(
        serve: Any, access_log: Captured) -> None:
    api = serve()
    with socket.create_connection(('127.0.0.1', api.server.server_port),
                                  timeout=10) as sock:
        sock.sendall(b'GET /v2/queues/a%0aforged%20INFO%1b[31m HTTP/1.0\r\n'
                     b'X-Project-Id: p\r\n\r\n')
        while sock.recv(65536):
            pass
    line = access_line(access_log, 'forged')
    assert '/v2/queues/a\\x0aforged\\x20INFO\\x1b[31m' in line
    assert '\n' not in line and '\x1b' not in line


class LoggingStorage:
    """The test storage, logging from inside ``health`` (GET /v2/ping)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def health(self) -> None:
        logging.getLogger('bridge.test').info('checked the storage')
        self._storage.health()


def test_log_lines_written_while_serving_carry_the_request_id(
        conf: cfg.ConfigOpts, storage: Storage,
        access_log: Captured) -> None:
    api = Served(conf, LoggingStorage(storage))  # type: ignore[arg-type]
    try:
        answer = requests.get(api.url + '/v2/ping', headers=HEADERS,
                              timeout=10)
    finally:
        api.stop()
    assert answer.status_code == 204
    line, = [line for line in access_log.lines
             if 'checked the storage' in line]
    assert answer.headers['X-Openstack-Request-Id'] in line


def test_cors_answers_preflights_of_configured_origins_only(
        conf: cfg.ConfigOpts, serve: Any) -> None:
    origin = 'https://horizon.example.com'
    conf.set_override('allowed_origin', [origin], group='cors')
    api = serve()

    def preflight(origin: str, headers: str = 'client-id,x-auth-token,'
                  'content-type,url-signature') -> requests.Response:
        return requests.options(
            api.url + '/v2/queues/q1/messages', timeout=10,
            headers={'Origin': origin,
                     'Access-Control-Request-Method': 'POST',
                     'Access-Control-Request-Headers': headers})
    allowed = preflight(origin)
    assert allowed.status_code == 200
    assert allowed.headers['Access-Control-Allow-Origin'] == origin
    assert 'POST' in allowed.headers['Access-Control-Allow-Methods']
    assert set(allowed.headers['Access-Control-Allow-Headers'].lower()
               .split(',')) >= {'client-id', 'x-auth-token', 'url-signature'}
    assert 'Access-Control-Allow-Origin' not in preflight(
        'https://evil.example.com').headers
    assert 'Access-Control-Allow-Origin' not in preflight(
        origin, headers='x-not-allowed').headers
    actual = requests.get(api.url + '/v2/queues', timeout=10,
                          headers=dict(HEADERS, Origin=origin))
    assert actual.status_code == 200
    assert actual.headers['Access-Control-Allow-Origin'] == origin
    assert 'X-Openstack-Request-Id' in \
        actual.headers['Access-Control-Expose-Headers']


def test_cors_is_off_without_allowed_origin(serve: Any) -> None:
    api = serve()
    answer = requests.get(api.url + '/v2/queues', timeout=10,
                          headers=dict(HEADERS, Origin='https://x.example'))
    assert answer.status_code == 200
    assert 'Access-Control-Allow-Origin' not in answer.headers


@pytest.mark.parametrize('enabled', [True, False])
def test_proxy_headers_are_used_only_when_enabled(
        conf: cfg.ConfigOpts, serve: Any, access_log: Captured,
        enabled: bool) -> None:
    conf.set_override('enable_proxy_headers_parsing', enabled,
                      group='oslo_middleware')
    api = serve()
    answer = requests.get(api.url + '/v2/queues', timeout=10,
                          headers=dict(HEADERS,
                                       **{'X-Forwarded-Proto': 'https',
                                          'X-Forwarded-Prefix': '/messaging'}))
    assert answer.status_code == 200
    line = access_line(access_log, answer.headers['X-Openstack-Request-Id'])
    shown = '/messaging/v2/queues' if enabled else ' /v2/queues '
    assert shown in line


def test_healthcheck_is_public_and_follows_the_storage(
        conf: cfg.ConfigOpts, serve: Any) -> None:
    api = serve()
    healthy = requests.get(api.url + '/healthcheck', timeout=10)
    assert (healthy.status_code, healthy.text) == (200, 'storage answers')
    # The /v2 checks stay as they are.
    assert requests.get(api.url + '/v2/ping', headers=HEADERS,
                        timeout=10).status_code == 204
    assert requests.get(api.url + '/v2/health', timeout=10,
                        headers=dict(HEADERS, **{'X-Roles': 'admin'})
                        ).status_code == 200
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        dead_port = sock.getsockname()[1]
    conf.set_override('url', 'postgresql://u:p@127.0.0.1:%d/x' % dead_port,
                      group='storage')
    sick = requests.get(serve().url + '/healthcheck', timeout=30)
    assert (sick.status_code, sick.text) == (503, 'storage unavailable')


def test_metrics_are_open_in_noauth_and_count_requests_by_route(
        conf: cfg.ConfigOpts, serve: Any) -> None:
    conf.set_override('sample_interval', 0, group='metrics')
    api = serve()
    scrape = requests.get(api.url + '/metrics', timeout=10).text
    route = '/v2/queues/{queue_name}/messages'
    before = metric(scrape, 'bridge_api_requests_total', route=route,
                    method='POST', status='201') or 0.0
    for _ in range(3):
        requests.post(api.url + '/v2/queues/deep/messages', headers=HEADERS,
                      timeout=10, json={'messages': [{'body': 1}]})
    requests.get(api.url + '/v2/secret-probe-%s' % uuid.uuid4().hex,
                 headers=HEADERS, timeout=10)
    answer = requests.get(api.url + '/metrics', timeout=10)
    assert answer.status_code == 200
    assert answer.headers['Content-Type'].startswith('text/plain')
    text = answer.text
    assert metric(text, 'bridge_api_requests_total', route=route,
                  method='POST', status='201') == before + 3
    assert metric(text, 'bridge_api_request_duration_seconds_count',
                  route=route, method='POST') >= 3
    # Unmatched paths share one series: clients cannot add series.
    assert metric(text, 'bridge_api_requests_total', route='unmatched',
                  method='GET', status='404') >= 1
    assert 'secret-probe' not in text
    assert metric(text, 'bridge_queue_depth', project='project-a',
                  queue='deep') == 3
    assert metric(text, 'bridge_storage_sample_up') == 1
