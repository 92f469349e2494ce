"""Fixtures for listener tests: the notification samples, a configuration,
and a private pool/topic on the test RabbitMQ vhost for each test."""

from __future__ import annotations

import glob
import json
import os
import uuid

import kombu
import pytest
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge import translation
from bridge.listeners import service

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures',
                        'notifications')
RABBIT_URL = os.environ.get(
    'BRIDGE_TEST_RABBIT_URL', 'rabbit://guest:guest@127.0.0.1:5672/bridge_test')


def load_samples() -> list[dict]:
    """Every fixture, with its exchange taken from the file name
    (``<service>__<event_type>.json``)."""
    samples = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, '*.json'))):
        with open(path) as f:
            sample = json.load(f)
        sample['exchange'] = os.path.basename(path).split('__', 1)[0]
        sample['fixture'] = os.path.basename(path)
        samples.append(sample)
    assert len(samples) >= 40, 'notification fixtures missing in %s' % FIXTURES
    return samples


@pytest.fixture(scope='session')
def samples() -> list[dict]:
    return load_samples()


def as_listener_message(sample: dict, message_id: str | None = None) -> dict:
    """A sample as oslo.messaging hands it to a batch endpoint."""
    return {'ctxt': dict(sample.get('ctxt') or {}),
            'publisher_id': sample['publisher_id'],
            'event_type': sample['event_type'],
            'payload': sample['payload'],
            'metadata': {'message_id': message_id or sample['message_id'],
                         'timestamp': sample['timestamp']}}


def make_conf(storage_url: str, **listener: object) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    service.register_opts(conf)
    conf([], project='bridge-test', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('url', storage_url, group='storage')
    conf.set_override('transport_url', RABBIT_URL)
    for key, value in listener.items():
        conf.set_override(key, value, group='listener')
    return conf


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return 'sqlite:///%s' % (tmp_path / 'bridge.sqlite')


@pytest.fixture
def store(sqlite_url):
    s = bridge_storage.from_url(sqlite_url, make_conf(sqlite_url))
    s.ensure_schema()
    yield s
    s.close()


@pytest.fixture(scope='session')
def rules() -> translation.Rules:
    return translation.load_rules(translation.default_rules_path())


@pytest.fixture
def bus():
    """A private topic and pool name on the test vhost; the pool queue is
    deleted afterwards. Fails (never skips) when RabbitMQ is unreachable."""
    url = 'amqp://' + RABBIT_URL.split('://', 1)[1]
    conn = kombu.Connection(url, connect_timeout=5)
    try:
        conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        pytest.fail('RabbitMQ is not reachable at %s (%s); run '
                    'tools/services.sh' % (RABBIT_URL, exc))
    tag = uuid.uuid4().hex[:10]
    names = {'topic': 'notifications_%s' % tag, 'pool': 'bridge_test_%s' % tag,
             'url': RABBIT_URL}
    yield names
    channel = conn.channel()
    for queue in (names['pool'],) + tuple(
            '%s.%s' % (names['topic'], p) for p in ('info', 'error', 'warn')):
        try:
            channel.queue_delete(queue)
        except Exception:  # noqa: BLE001 - already gone
            channel = conn.channel()
    conn.release()
