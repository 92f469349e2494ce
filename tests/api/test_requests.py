"""Checks every request passes: Client-ID, project (noauth), Accept,
content type, queue names; and how failures of storage become 503/500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from falcon import testing
from oslo_config import cfg

from bridge import storage as bridge_storage
from bridge.api import app as api_app
from bridge.storage.sql import SqlStorage

from .support import Api, assert_error


@pytest.mark.parametrize('client_id', [None, '', 'not-a-uuid', '1234',
                                       str(uuid.uuid4()) + 'x'])
def test_v2_requests_need_a_uuid_client_id(api: Api,
                                           client_id: str | None) -> None:
    headers = {'X-Project-Id': 'project-a'}
    if client_id is not None:
        headers['Client-ID'] = client_id
    for method, path in (('GET', '/v2/queues'), ('PUT', '/v2/queues/q1'),
                         ('GET', '/v2/queues/q1/messages')):
        resp = api.client.simulate_request(method, path, headers=headers)
        assert_error(resp, 400)
    assert api.head('/v2/queues/q1').status_code == 404


def test_dashed_and_undashed_client_ids_are_the_same_client(api: Api) -> None:
    client = uuid.uuid4()
    poster = api.as_client(client.hex)
    poster.post_messages('q1', 'mine')
    reader = api.as_client(str(client))
    assert reader.get('/v2/queues/q1/messages').json['messages'] == []


@pytest.mark.parametrize('project', [None, '', 'p' * 257])
def test_noauth_without_valid_project_header_is_400(
        api: Api, project: str | None) -> None:
    headers = {'Client-ID': str(uuid.uuid4())}
    if project is not None:
        headers['X-Project-Id'] = project
    resp = api.client.simulate_get('/v2/queues', headers=headers)
    assert_error(resp, 400)


def test_noauth_scopes_everything_to_the_project_header(api: Api) -> None:
    (mid,) = api.post_messages('shared-name', 'a')
    other = api.as_project('project-b')
    assert other.get('/v2/queues/shared-name/messages',
                     params={'echo': 'true'}).json['messages'] == []
    assert other.get('/v2/queues/shared-name/stats') \
        .json['messages']['total'] == 0
    assert api.get('/v2/queues/shared-name/messages/' + mid).status_code == 200


@pytest.mark.parametrize('accept, status', [
    ('application/json', 200), ('*/*', 200), ('application/*', 200),
    ('text/html, application/json;q=0.1', 200),
    ('text/html', 406), ('application/xml', 406)])
def test_client_must_accept_json(api: Api, accept: str, status: int) -> None:
    resp = api.get('/v2/queues', headers={'Accept': accept})
    assert resp.status_code == status
    if status == 406:
        assert_error(resp, 406)


def test_urlencoded_body_is_refused(api: Api) -> None:
    resp = api.post('/v2/queues/q1/messages', body='messages=x',
                    headers={'Content-Type':
                             'application/x-www-form-urlencoded'})
    assert_error(resp, 400)


@pytest.mark.parametrize('name', ['a%20b', 'x' * 65, '%C3%BCber', 'a%00',
                                  'a*b', '%E2%80%8B'])
def test_invalid_queue_names_are_400(api: Api, name: str) -> None:
    assert_error(api.put('/v2/queues/' + name), 400)
    assert_error(api.post('/v2/queues/%s/messages' % name,
                          json={'messages': [{'body': 1}]}), 400)
    assert api.get('/v2/queues').json['queues'] == []


def test_names_with_dots_dashes_underscores_up_to_64_chars_are_valid(
        api: Api) -> None:
    for name in ('a.b', 'A-b_9', 'x' * 64):
        assert api.put('/v2/queues/' + name).status_code == 201


def test_unreachable_storage_answers_503_with_retry_after(
        conf: cfg.ConfigOpts, tmp_path: Any) -> None:
    broken = bridge_storage.from_url(
        'sqlite:///%s' % (tmp_path / 'missing-dir' / 'db.sqlite'), conf)
    api = Api(testing.TestClient(api_app.create_app(conf, broken)))
    for resp in (api.get('/v2/queues'), api.get('/v2/ping'),
                 api.post('/v2/queues/q1/messages',
                          json={'messages': [{'body': 1}]})):
        assert_error(resp, 503)
        assert int(resp.headers['retry-after']) > 0


class _FaultyStorage(SqlStorage):
    def list_queues(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError('driver bug; password=hunter2 at db.internal')


def test_unexpected_error_is_500_without_internals(
        conf: cfg.ConfigOpts, tmp_path: Any) -> None:
    faulty = _FaultyStorage('sqlite:///%s' % (tmp_path / 'db.sqlite'),
                            conf.storage)
    faulty.ensure_schema()
    api = Api(testing.TestClient(api_app.create_app(conf, faulty)))
    resp = api.get('/v2/queues')
    assert_error(resp, 500)
    assert 'hunter2' not in resp.text and 'driver bug' not in resp.text
    assert api.put('/v2/queues/q1').status_code == 201
