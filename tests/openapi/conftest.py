"""Fixtures of the OpenAPI tests: bridge's options, and a live noauth
``bridge-api`` (shared with tests/functional)."""

from __future__ import annotations

import pathlib
from typing import Any, Iterator

import pytest
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.storage.base import Storage
from tests.functional.conftest import noauth_api  # noqa: F401  (a fixture)

from .support import load_spec


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """Bridge's options with their defaults."""
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge', default_config_files=[])
    return conf


@pytest.fixture
def storage(conf: cfg.ConfigOpts, tmp_path: pathlib.Path) -> Iterator[Storage]:
    store = bridge_storage.from_url(f'sqlite:///{tmp_path}/openapi.sqlite', conf)
    yield store
    store.close()


@pytest.fixture(scope='module')
def spec() -> dict[str, Any]:
    return load_spec()
