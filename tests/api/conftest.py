"""Fixtures for the API tests: the real falcon application over a real
SQLite storage file, driven in-process by falcon's TestClient."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from falcon import testing
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.api import app as api_app
from bridge.storage.base import Storage

from tests.storage.conftest import TEST_KEY

from .support import Api


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """Fresh options, no configuration file; tests override limits with
    ``conf.set_override(name, value, group='limits')`` before ``api``."""
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge', default_config_files=[])
    # Queues may ask for encryption at rest: the tests run with a key.
    conf.set_override('keys', [TEST_KEY], group='encryption')
    return conf


@pytest.fixture
def storage(conf: cfg.ConfigOpts, tmp_path: Any) -> Iterator[Storage]:
    store = bridge_storage.from_url('sqlite:///%s' % (tmp_path / 'api.sqlite'),
                                    conf)
    store.ensure_schema()
    yield store
    store.close()


@pytest.fixture
def make_api(conf: cfg.ConfigOpts,
             storage: Storage) -> Callable[..., Api]:
    """Build the application now (after any option overrides)."""
    def make(project: str = 'project-a') -> Api:
        return Api(testing.TestClient(api_app.create_app(conf, storage)),
                   project)
    return make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
