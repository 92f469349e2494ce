"""Fixtures that run real processes: bridge-api servers, and users of the
real Keystone that tools/services.sh starts."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from .keystone import Keystone, User
from .server import BridgeAPI

#: [signed_url] secret_key of the keystone-mode bridge-api.
SIGNED_URL_KEY = 'functional-signing-key-' + '5' * 40


def sqlite_options(workdir: pathlib.Path) -> dict[str, dict[str, str]]:
    """Configuration of a bridge-api with its own SQLite file in workdir."""
    return {
        'DEFAULT': {'state_path': str(workdir), 'auth_strategy': 'noauth'},
        'storage': {'url': f'sqlite:///{workdir}/bridge.sqlite'},
    }


@pytest.fixture(scope='module')
def noauth_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeAPI]:
    """A running ``bridge-api`` with noauth and an SQLite file of its own."""
    workdir = tmp_path_factory.mktemp('bridge-noauth')
    server = BridgeAPI(workdir, sqlite_options(workdir)).start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def keystone() -> Iterator[Keystone]:
    """The real Keystone (tools/start-keystone.sh), as its admin; what the
    tests create in it is deleted at the end of the session."""
    server = Keystone.from_environment()
    yield server
    server.cleanup()


@pytest.fixture(scope='session')
def bridge_service_user(keystone: Keystone) -> User:
    """bridge's own service user: keystonemiddleware logs in with it to
    validate the callers' tokens (Keystone lets the ``service`` role do
    that)."""
    return keystone.create_user('bridge', roles=('service',),
                                project_name='service')


@pytest.fixture(scope='module')
def keystone_api(tmp_path_factory: pytest.TempPathFactory, keystone: Keystone,
                 bridge_service_user: User) -> Iterator[BridgeAPI]:
    """A running ``bridge-api`` with ``auth_strategy = keystone``: requests
    pass keystonemiddleware's auth_token, which validates every token with
    the real Keystone (its token cache is off, so a revoked token is refused
    at once). Its WebSocket API listens too (``ws_url``)."""
    workdir = tmp_path_factory.mktemp('bridge-keystone')
    options = sqlite_options(workdir)
    options['DEFAULT']['auth_strategy'] = 'keystone'
    options['keystone_authtoken'] = {
        'www_authenticate_uri': keystone.auth_url,
        'auth_url': keystone.auth_url,
        'auth_type': 'password',
        'username': bridge_service_user.name,
        'password': bridge_service_user.password,
        'project_name': bridge_service_user.project_name,
        'user_domain_id': 'default',
        'project_domain_id': 'default',
        'token_cache_time': '-1',
        'http_connect_timeout': '5',
        'http_request_max_retries': '0',
    }
    options['signed_url'] = {'secret_key': SIGNED_URL_KEY}
    server = BridgeAPI(workdir, options, websocket=True).start()
    yield server
    server.stop()
