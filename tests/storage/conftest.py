"""Backends for the storage contract suite.

Every test taking ``storage`` runs once per backend: an SQLite file,
PostgreSQL, MariaDB, a MongoDB-wire server, and ``pooled``: the pooling
facade over an SQLite default storage with two pools (another SQLite file
and PostgreSQL), so each queue of a test lands on one of them at random. URLs come from the
environment (defaults: the services of the development machine):

* ``BRIDGE_TEST_POSTGRESQL_URL``
* ``BRIDGE_TEST_MYSQL_URL``
* ``BRIDGE_TEST_MONGODB_URL`` (SecantusDB in tests; a real mongod works)

A backend that cannot be reached fails its tests with a message saying
which URL was tried; nothing is skipped. Tests are isolated by a fresh
random project id each, so databases are created once and never dropped.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import uuid
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge.storage import base, catalog, from_url, pooling

DEFAULT_URLS = {
    'postgresql': ('BRIDGE_TEST_POSTGRESQL_URL',
                   'postgresql://postgres@127.0.0.1:5432/bridge_test_storage'),
    'mariadb': ('BRIDGE_TEST_MYSQL_URL',
                'mysql+pymysql://root@127.0.0.1:3306/bridge_test_storage'
                '?charset=utf8mb4'),
    'mongodb': ('BRIDGE_TEST_MONGODB_URL',
                'mongodb://127.0.0.1:27018/bridge_test?directConnection=true'),
}

BACKENDS = ['sqlite', 'postgresql', 'mariadb', 'mongodb', 'pooled']
POOLED = 'pooled'

#: An [encryption] key for tests (id "test", 32 bytes).
TEST_KEY = 'test:' + base64.b64encode(b'bridge test key, never in prod!!').decode()

# A URL per backend whose server cannot be reached (port 1 is closed).
UNREACHABLE_URLS = {
    'postgresql': 'postgresql://postgres@127.0.0.1:1/bridge_test_nowhere',
    'mariadb': 'mysql+pymysql://root@127.0.0.1:1/bridge_test_nowhere',
    'mongodb': 'mongodb://127.0.0.1:1/bridge_test?directConnection=true',
}


@dataclasses.dataclass(frozen=True)
class Scale:
    """Data sizes of the heavier tests. The MongoDB-wire test server scans
    whole collections on findAndModify, so it gets smaller numbers."""

    claim_messages: int
    claim_threads: int
    pop_messages: int
    writers: int
    posts_per_writer: int


FULL = Scale(claim_messages=500, claim_threads=8, pop_messages=200,
             writers=4, posts_per_writer=50)
SMALL = Scale(claim_messages=200, claim_threads=8, pop_messages=100,
              writers=4, posts_per_writer=25)


def make_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override('mongodb_timeout', 5, group='storage')
    # Queues may ask for encryption at rest: the suite runs with a key.
    conf.set_override('keys', [TEST_KEY], group='encryption')
    return conf


def _create_sql_database(backend: str, url: str) -> None:
    """Create the test database if it is missing."""
    parsed = sa.engine.make_url(url)
    name = parsed.database
    if backend == 'postgresql':
        import psycopg2
        conn = psycopg2.connect(host=parsed.host, port=parsed.port or 5432,
                                user=parsed.username,
                                password=parsed.password, dbname='postgres',
                                connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                        (name,))
            if cur.fetchone() is None:
                try:
                    cur.execute('CREATE DATABASE "%s"' % name)
                except psycopg2.errors.DuplicateDatabase:
                    pass  # another test run created it meanwhile
        conn.close()
    elif backend == 'mariadb':
        import pymysql
        conn = pymysql.connect(host=parsed.host, port=parsed.port or 3306,
                               user=parsed.username,
                               password=parsed.password or '',
                               connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE IF NOT EXISTS `%s` '
                        'CHARACTER SET utf8mb4' % name)
        conn.close()


def backend_url(backend: str, tmp_dir: str) -> str:
    if backend in ('sqlite', POOLED):
        return 'sqlite:///' + os.path.join(tmp_dir, 'bridge.sqlite')
    variable, default = DEFAULT_URLS[backend]
    return os.environ.get(variable) or default


@pytest.fixture(scope='session', params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope='session')
def _session_storage(backend: str, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[base.Storage]:
    url = backend_url(backend, str(tmp_path_factory.mktemp(backend)))
    needs = 'postgresql' if backend == POOLED else backend
    hint = ('' if needs == 'sqlite' else
            ' Start the server or point %s at one.' % DEFAULT_URLS[needs][0])
    try:
        _create_sql_database(backend, url)
        storage = from_url(url, make_conf())
        storage.ensure_schema()
        storage.health()
        if backend == POOLED:
            storage = pooled(storage, tmp_path_factory.mktemp('pool'))
    except Exception as error:  # any failure here means "not reachable"
        pytest.fail('storage backend %s is not usable at %s: %s: %s.%s'
                    % (backend, url, type(error).__name__, error, hint),
                    pytrace=False)
    yield storage
    storage.close()


def pooled(default: base.Storage, tmp_dir: Any) -> base.Storage:
    """``default`` with two pools of equal weight: an SQLite file and
    PostgreSQL."""
    _create_sql_database('postgresql', backend_url('postgresql', ''))
    store = pooling.wrap(default, make_conf())
    store.registry.create_pool(catalog.Pool(
        'file', 'sqlite:///%s/pool.sqlite' % tmp_dir, weight=1))
    store.registry.create_pool(catalog.Pool(
        'pg', backend_url('postgresql', ''), weight=1))
    return store


@pytest.fixture
def storage(_session_storage: base.Storage) -> base.Storage:
    """The backend's storage, shared by the tests of one backend."""
    return _session_storage


@pytest.fixture
def project() -> str:
    """A project no other test uses."""
    return 'test-' + uuid.uuid4().hex


@pytest.fixture
def scale(backend: str) -> Scale:
    return SMALL if backend == 'mongodb' else FULL


@pytest.fixture
def unreachable_storage(backend: str, tmp_path) -> Iterator[base.Storage]:
    """A storage of the same kind whose server cannot be reached."""
    if backend in ('sqlite', POOLED):
        blocker = tmp_path / 'a-file'
        blocker.write_text('not a directory')
        url = 'sqlite:///' + str(blocker / 'bridge.sqlite')
    else:
        url = UNREACHABLE_URLS[backend]
    conf = make_conf()
    conf.set_override('mongodb_timeout', 1, group='storage')
    storage = from_url(url, conf)
    if backend == POOLED:
        storage = pooling.wrap(storage, conf)
    yield storage
    storage.close()
