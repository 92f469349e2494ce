"""Control characters (NUL, newline, escape, DEL, C1) in any path segment
or query value get a 400 with Zaqar's error body, on every storage backend:
they never reach a driver (PostgreSQL refuses NUL with an exception that
used to become a 500) nor a log line."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from falcon import testing

from bridge.api import app as api_app
from bridge.storage import base, from_url
from tests.storage import conftest as storage_conftest

from .support import Api, assert_error

CONTROLS = ['%00', '%0A', '%0D', '%1B', '%7F', '%C2%85']


@pytest.fixture(scope='module', params=storage_conftest.BACKENDS)
def backend_storage(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[base.Storage]:
    backend = request.param
    url = storage_conftest.backend_url(
        backend, str(tmp_path_factory.mktemp(backend)))
    storage_conftest._create_sql_database(backend, url)
    storage = from_url(url, storage_conftest.make_conf())
    storage.ensure_schema()
    yield storage
    storage.close()


@pytest.fixture
def api(backend_storage: base.Storage) -> Api:
    app = api_app.create_app(storage_conftest.make_conf(), backend_storage)
    return Api(testing.TestClient(app), 'test-' + uuid.uuid4().hex)


def requests_with(ctl: str) -> list[tuple[str, str, str]]:
    """(method, path, query) for every identifier and query value."""
    q = '/v2/queues/q1'
    return [
        ('GET', '/v2/queues/q%s1' % ctl, ''),
        ('PUT', '/v2/queues/q%s1' % ctl, ''),
        ('GET', '/v2/queues', 'marker=a%sb' % ctl),
        ('GET', '/v2/queues', 'name=a%s' % ctl),
        ('GET', q + '/messages', 'marker=1%s' % ctl),
        ('GET', q + '/messages', 'ids=%s' % ctl),
        ('GET', q + '/messages/%sabc' % ctl, ''),
        ('DELETE', q + '/messages/abc%s' % ctl, ''),
        ('DELETE', q + '/messages/abc', 'claim_id=%sx' % ctl),
        ('DELETE', q + '/messages', 'ids=a,%sb' % ctl),
        ('GET', q + '/claims/%s' % ctl, ''),
        ('PATCH', q + '/claims/c%s' % ctl, ''),
        ('DELETE', q + '/claims/c%s' % ctl, ''),
        ('GET', q + '/subscriptions/s%s' % ctl, ''),
        ('DELETE', q + '/subscriptions/%ss' % ctl, ''),
        ('GET', q + '/subscriptions', 'marker=%s' % ctl),
        ('GET', q + '/messages', 'echo=true&a%sb=1' % ctl),
    ]


@pytest.mark.parametrize('ctl', CONTROLS)
def test_control_characters_in_paths_and_queries_are_400_on_every_backend(
        api: Api, ctl: str) -> None:
    api.post_messages('q1', 'keep')
    for method, path, query in requests_with(ctl):
        resp = api.request(method, path, query_string=query,
                           json={'ttl': 60} if method == 'PATCH' else None)
        assert resp.status_code == 400, (method, path, query, resp.text)
        assert_error(resp, 400)
        assert 'Control characters' in resp.json['description']
    listed = api.get('/v2/queues/q1/messages', params={'echo': 'true'})
    assert [m['body'] for m in listed.json['messages']] == ['keep']


def test_control_characters_in_the_project_header_are_400(api: Api) -> None:
    resp = api.get('/v2/queues', headers={'X-Project-Id': 'p\x1bq'})
    assert_error(resp, 400)
