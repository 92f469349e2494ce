"""``auth_strategy = keystone``: the identity comes only from what
keystonemiddleware validated, never from client headers.

These tests drive the application the way auth_token leaves a request
(``keystone.token_auth`` in the environment and ``X-Identity-Status``); the
end-to-end test with a real auth_token and a token endpoint is in
tests/functional/test_keystone_isolation.py.
"""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest
from falcon import testing
from keystonemiddleware import opts as keystone_opts
from oslo_config import cfg

from bridge.api import app as api_app
from bridge.storage.base import Storage

from .support import assert_error


@pytest.fixture
def client(conf: cfg.ConfigOpts, storage: Storage) -> testing.TestClient:
    conf.set_override('auth_strategy', 'keystone')
    return testing.TestClient(api_app.create_app(conf, storage))


def token(project: str | None, roles: tuple[str, ...] = ('member',)) -> Any:
    """What auth_token stores in ``keystone.token_auth`` for a user token."""
    user = types.SimpleNamespace(project_id=project, role_names=list(roles),
                                 user_id='user-1')
    return types.SimpleNamespace(has_user_token=True, user=user)


def call(client: testing.TestClient, method: str, path: str,
         token_auth: Any = None, status: str | None = 'Confirmed',
         headers: dict[str, str] | None = None, **kw: Any) -> Any:
    sent = {'Client-ID': str(uuid.uuid4())}
    if status is not None:
        sent['X-Identity-Status'] = status
    sent.update(headers or {})
    extras = {'keystone.token_auth': token_auth} if token_auth else {}
    return client.simulate_request(method, path, headers=sent, extras=extras,
                                   **kw)


def test_project_comes_from_the_token_not_from_x_project_id(
        client: testing.TestClient, storage: Storage) -> None:
    resp = call(client, 'PUT', '/v2/queues/q1', token('token-project'),
                headers={'X-Project-Id': 'forged-project'})
    assert resp.status_code == 201
    assert [q for q, _ in storage.list_queues('token-project')] == ['q1']
    assert storage.list_queues('forged-project') == []


def test_request_without_validated_token_is_401(
        client: testing.TestClient) -> None:
    assert_error(call(client, 'GET', '/v2/queues',
                      headers={'X-Project-Id': 'p'}), 401)
    assert_error(call(client, 'GET', '/v2/queues', token('p'),
                      status='Invalid'), 401)
    assert_error(call(client, 'GET', '/v2/queues', token('p'), status=None),
                 401)


def test_unscoped_token_is_403(client: testing.TestClient) -> None:
    assert_error(call(client, 'GET', '/v2/queues', token(None)), 403)


def test_health_needs_admin_role_from_the_token(
        client: testing.TestClient) -> None:
    assert_error(call(client, 'GET', '/v2/health', token('p'),
                      headers={'X-Roles': 'admin'}), 403)
    assert call(client, 'GET', '/v2/health',
                token('p', ('admin',))).status_code == 200


def test_version_list_stays_public(client: testing.TestClient) -> None:
    assert client.simulate_get('/').status_code == 300


def test_pipeline_puts_auth_token_in_front_of_everything_but_root(
        conf: cfg.ConfigOpts, storage: Storage) -> None:
    conf.set_override('auth_strategy', 'keystone')
    for group, opts in keystone_opts.list_auth_token_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('www_authenticate_uri', 'http://keystone.invalid/v3',
                      group='keystone_authtoken')
    pipeline = api_app.make_wsgi_app(conf, storage)
    client = testing.TestClient(pipeline)
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'p',
               'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin'}
    for path in ('/v2/queues', '/v2/health', '/v2/ping', '/v2'):
        resp = client.simulate_get(path, headers=headers)
        assert resp.status_code == 401, (path, resp.text)
        assert 'www-authenticate' in resp.headers
    assert client.simulate_get('/').status_code == 300
    assert storage.list_queues('p') == []


def test_noauth_pipeline_is_the_bare_application(
        conf: cfg.ConfigOpts, storage: Storage) -> None:
    pipeline = api_app.make_wsgi_app(conf, storage)
    resp = testing.TestClient(pipeline).simulate_get(
        '/v2/queues', headers={'Client-ID': str(uuid.uuid4()),
                               'X-Project-Id': 'p'})
    assert resp.status_code == 200
