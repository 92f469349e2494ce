"""How bridge declares its pool queue on RabbitMQ (bridge.listeners.poolqueue):
durable whatever the services' exchanges are, an existing queue consumed as
it is, and the settings that still lose notifications named at start."""

from __future__ import annotations

import logging
import time
import uuid

import kombu
import pytest
from amqp import exceptions as amqp_exceptions

from bridge import emitter
from bridge.listeners import poolqueue, service
from tests.listeners.conftest import RABBIT_URL, make_conf

AMQP_URL = 'amqp://' + RABBIT_URL.split('://', 1)[1]


def declared_durable(queue: str) -> bool:
    """True when ``queue`` exists durable: a non-durable redeclaration of a
    durable queue is refused (406), and the other way round."""
    with kombu.Connection(AMQP_URL, connect_timeout=5) as conn:
        channel = conn.channel()
        channel.queue_declare(queue=queue, passive=True)
        try:
            channel.queue_declare(queue=queue, durable=False,
                                  auto_delete=False)
            return False
        except amqp_exceptions.PreconditionFailed:
            return True


def declare(kind: str, name: str, durable: bool) -> None:
    with kombu.Connection(AMQP_URL, connect_timeout=5) as conn:
        channel = conn.channel()
        if kind == 'exchange':
            channel.exchange_declare(exchange=name, type='topic',
                                     durable=durable, auto_delete=False)
        else:
            channel.queue_declare(queue=name, durable=durable,
                                  auto_delete=False)


def delete_exchange(name: str) -> None:
    with kombu.Connection(AMQP_URL, connect_timeout=5) as conn:
        conn.channel().exchange_delete(exchange=name)


def run_until_stored(conf, bus, sample, count=3, timeout=30,
                     services_durable=False):
    """Start bridge's listener, publish ``count`` notifications on the
    bus as a service does, return the counters once all are stored."""
    bridge = service.ListenerService(conf)
    bridge.start()
    try:
        with emitter.Emitter(bus['url'], durable=services_durable) as out:
            for _ in range(count):
                out.publish(dict(sample, topic=bus['topic'],
                                 exchange=conf.listener.exchanges[0],
                                 message_id=str(uuid.uuid4())))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counters = bridge.endpoint.counters.snapshot()
            if counters['stored'] >= count:
                return counters
            time.sleep(0.1)
        pytest.fail('stored %s of %d within %ss'
                    % (bridge.endpoint.counters.snapshot(), count, timeout))
    finally:
        bridge.stop()


@pytest.fixture
def owned_sample(samples):
    return next(s for s in samples if s['expected_project']
                and s['fixture'] == 'nova__compute.instance.create.end.json')


@pytest.fixture
def exchange(bus):
    name = 'bridge_test_x_%s' % bus['pool'].rsplit('_', 1)[1]
    yield name
    delete_exchange(name)


@pytest.mark.parametrize('services_durable', [False, True])
def test_pool_queue_is_durable_with_default_config_whatever_the_exchange(
        bus, sqlite_url, owned_sample, exchange, services_durable):
    declare('exchange', exchange, durable=services_durable)
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=[exchange], batch_timeout=0.1)
    counters = run_until_stored(conf, bus, owned_sample,
                                services_durable=services_durable)
    assert counters['stored'] == 3
    assert declared_durable(bus['pool'])


def test_durable_settings_do_not_fight_services_non_durable_exchanges(
        bus, sqlite_url, owned_sample, exchange):
    """With amqp_durable_queues = true, oslo.messaging alone would fail on
    the services' non-durable exchange and fall back to a non-durable
    queue; bridge binds its durable queue to the exchange as it is."""
    declare('exchange', exchange, durable=False)
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=[exchange], batch_timeout=0.1)
    poolqueue.rabbit_conf(conf)
    conf.set_override('amqp_durable_queues', True,
                      group='oslo_messaging_rabbit')
    run_until_stored(conf, bus, owned_sample)
    assert declared_durable(bus['pool'])
    # The exchange is still the services' own, non-durable one.
    declare('exchange', exchange, durable=False)


def test_missing_exchange_is_created_as_the_services_create_it(
        bus, sqlite_url, owned_sample, exchange):
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=[exchange], batch_timeout=0.1)
    run_until_stored(conf, bus, owned_sample)
    # oslo.messaging's default services declare it non-durable: accepted.
    declare('exchange', exchange, durable=False)


def test_existing_non_durable_pool_queue_is_consumed_with_an_error(
        bus, sqlite_url, owned_sample, exchange, caplog):
    """A pool queue left non-durable by an earlier bridge: RabbitMQ cannot
    change it, and deleting it would lose what it holds."""
    declare('exchange', exchange, durable=False)
    declare('queue', bus['pool'], durable=False)
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=[exchange], batch_timeout=0.1)
    with caplog.at_level(logging.ERROR, logger='bridge.listeners.poolqueue'):
        counters = run_until_stored(conf, bus, owned_sample)
    assert counters['stored'] == 3
    assert not declared_durable(bus['pool'])
    errors = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.ERROR]
    assert len(errors) == 1, 'one error per queue, not per binding'
    assert bus['pool'] in errors[0] and "received 'true'" in errors[0]
    assert 'lost at the next RabbitMQ restart' in errors[0]


def test_start_names_the_durability_in_one_line(caplog, sqlite_url):
    conf = make_conf(sqlite_url)
    with caplog.at_level(logging.INFO, logger='bridge.listeners.service'):
        service.log_durability(conf)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "pool queue 'bridge' is a durable classic queue" in lines[0]
    assert 'survive a RabbitMQ restart' in lines[0]


def test_quorum_deployment_gets_a_quorum_pool_queue(sqlite_url):
    conf = make_conf(sqlite_url)
    poolqueue.rabbit_conf(conf)
    conf.set_override('rabbit_quorum_queue', True,
                      group='oslo_messaging_rabbit')
    assert poolqueue.queue_type(conf) == 'quorum'
    assert 'quorum queue' in poolqueue.describe(conf)
    conf.set_override('pool_queue_type', 'classic', group='listener')
    assert poolqueue.queue_type(conf) == 'classic'


@pytest.mark.parametrize('listener, rabbit, setting', [
    ({'pool': ''}, {}, '[listener] pool'),
    ({'pool': ''}, {'amqp_durable_queues': True}, '[listener] pool'),
    ({}, {'rabbit_quorum_queue': True, 'rabbit_quorum_delivery_limit': 5},
     'rabbit_quorum_delivery_limit'),
])
def test_unsafe_settings_are_warned_about_at_start(
        caplog, sqlite_url, listener, rabbit, setting):
    conf = make_conf(sqlite_url, **listener)
    poolqueue.rabbit_conf(conf)
    for key, value in rabbit.items():
        conf.set_override(key, value, group='oslo_messaging_rabbit')
    with caplog.at_level(logging.INFO, logger='bridge.listeners.service'):
        service.log_durability(conf)
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert setting in warnings[0]


def test_default_settings_warn_about_nothing(sqlite_url):
    assert poolqueue.unsafe_settings(make_conf(sqlite_url)) == []


def test_other_buses_are_named_as_not_managed(sqlite_url):
    conf = make_conf(sqlite_url)
    conf.set_override('transport_url', 'kafka://127.0.0.1:9092/')
    assert 'not every bus is RabbitMQ' in poolqueue.describe(conf)
