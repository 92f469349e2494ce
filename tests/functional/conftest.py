"""Fixtures that run real processes: bridge-api servers and a token server."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from .fake_keystone import FakeKeystone
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


@pytest.fixture(scope='module')
def keystone() -> Iterator[FakeKeystone]:
    """A running Keystone-compatible token server with bridge's service user."""
    server = FakeKeystone().start()
    server.add_user('bridge', 'bridge-service-password', 'service-project-id',
                    project_name='service', roles=('admin', 'service'))
    yield server
    server.stop()


@pytest.fixture(scope='module')
def keystone_api(tmp_path_factory: pytest.TempPathFactory,
                 keystone: FakeKeystone) -> Iterator[BridgeAPI]:
    """A running ``bridge-api`` with ``auth_strategy = keystone``: requests
    pass keystonemiddleware's auth_token, which validates tokens against the
    ``keystone`` fixture."""
    workdir = tmp_path_factory.mktemp('bridge-keystone')
    options = sqlite_options(workdir)
    options['DEFAULT']['auth_strategy'] = 'keystone'
    options['keystone_authtoken'] = {
        'www_authenticate_uri': keystone.url + '/v3',
        'auth_url': keystone.url + '/v3',
        'auth_type': 'password',
        'username': 'bridge',
        'password': 'bridge-service-password',
        'project_name': 'service',
        'user_domain_id': 'default',
        'project_domain_id': 'default',
        'http_connect_timeout': '5',
        'http_request_max_retries': '0',
    }
    options['signed_url'] = {'secret_key': SIGNED_URL_KEY}
    server = BridgeAPI(workdir, options).start()
    yield server
    server.stop()
