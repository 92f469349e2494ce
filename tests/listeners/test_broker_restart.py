"""Nothing lost across a broker restart, with bridge's default configuration.

On a private RabbitMQ node (tests/listeners/rabbitnode.py, never the shared
one), for each way a deployment may declare its exchanges: bridge's
listener runs once (its pool queue now exists) and stops; services publish a
backlog through oslo.messaging's notifier, as they do; the node restarts
(``rabbitmqctl stop``, start); then bridge's listener runs again and every
notification of the backlog is stored exactly once.

A listener that runs through the restart reconnects, declares its pool
queue and bindings again and stores what the services publish afterwards.

A listener declared the way bridge did before (oslo.messaging's defaults)
shares the restart, and its backlog is gone: the restart is real, and the
test could fail.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
import uuid
from typing import Any, Iterator

import kombu
import oslo_messaging
import pytest
from amqp import exceptions as amqp_exceptions
from oslo_config import cfg

from bridge import storage as bridge_storage
from bridge.listeners import poolqueue, service
from tests.listeners.conftest import load_samples, make_conf
from tests.listeners.rabbitnode import RabbitNode

BACKLOG = 400
SAMPLE = 'nova__compute.instance.create.end.json'


@dataclasses.dataclass
class Scenario:
    """How the services and bridge are configured on one exchange."""

    name: str
    services: dict[str, Any]     # [oslo_messaging_rabbit] of the services
    bridge: dict[str, Any]       # [oslo_messaging_rabbit] of bridge
    listener: dict[str, Any] = dataclasses.field(default_factory=dict)
    queued_before: int = 0
    queued_after: int = 0
    stored: list[int] = dataclasses.field(default_factory=list)

    @property
    def exchange(self) -> str:
        return 'x_%s' % self.name

    @property
    def pool(self) -> str:
        return 'bridge_%s' % self.name

    @property
    def topic(self) -> str:
        # One topic per scenario: oslo.messaging's notifier also declares
        # a queue named after the routing key (``<topic>.info``), with its
        # own durability.
        return 'notifications_%s' % self.name


SCENARIOS = [
    # oslo.messaging's defaults everywhere: the services' exchanges are
    # non-durable, and so is everything they declare.
    Scenario('transient_exchanges', services={}, bridge={}),
    # Services declare durable exchanges; bridge keeps its defaults.
    Scenario('durable_exchanges', services={'amqp_durable_queues': True},
             bridge={}),
    # A deployment on quorum queues, bridge configured as its services.
    Scenario('quorum', services={'rabbit_quorum_queue': True},
             bridge={'rabbit_quorum_queue': True}),
    # A quorum pool queue bound to the services' non-durable exchanges.
    Scenario('quorum_pool_transient_exchanges', services={}, bridge={},
             listener={'pool_queue_type': 'quorum'}),
]


def messaging_conf(url: str, exchange: str, rabbit: dict[str, Any]
                   ) -> cfg.ConfigOpts:
    """A service's configuration: its control exchange and its
    [oslo_messaging_rabbit] settings."""
    conf = cfg.ConfigOpts()
    service.register_opts(conf)
    conf([], project='bridge-test', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('transport_url', url)
    conf.set_override('control_exchange', exchange)
    poolqueue.rabbit_conf(conf)
    for key, value in rabbit.items():
        conf.set_override(key, value, group='oslo_messaging_rabbit')
    return conf


def bridge_conf(node: RabbitNode, scenario: Scenario, storage_url: str
                ) -> cfg.ConfigOpts:
    conf = make_conf(storage_url, topics=[scenario.topic], pool=scenario.pool,
                     exchanges=[scenario.exchange], batch_timeout=0.2,
                     **scenario.listener)
    conf.set_override('transport_url', node.transport_url)
    poolqueue.rabbit_conf(conf)
    for key, value in scenario.bridge.items():
        conf.set_override(key, value, group='oslo_messaging_rabbit')
    return conf


class Service:
    """A service publishing notifications with oslo.messaging's notifier."""

    def __init__(self, node: RabbitNode, scenario: Scenario,
                 sample: dict) -> None:
        conf = messaging_conf(node.transport_url, scenario.exchange,
                              scenario.services)
        self.transport = oslo_messaging.get_notification_transport(conf)
        self.notifier = oslo_messaging.Notifier(
            self.transport, publisher_id=sample['publisher_id'],
            driver='messagingv2', topics=[scenario.topic])
        self.sample = sample

    def emit(self, seq: int) -> None:
        # The sequence number travels in a field tenants may see (the
        # name they chose), so it survives the allow-list.
        payload = dict(self.sample['payload'], display_name='seq-%d' % seq)
        self.notifier.info({}, self.sample['event_type'], payload)

    def close(self) -> None:
        self.transport.cleanup()


def queued(node: RabbitNode, queue: str, what: str = 'message_count'
           ) -> int | None:
    """Messages waiting in ``queue`` (or its ``consumer_count``), None when
    it does not exist."""
    with kombu.Connection(node.amqp_url, connect_timeout=5) as conn:
        channel = conn.channel()
        try:
            return getattr(channel.queue_declare(queue=queue, passive=True),
                           what)
        except amqp_exceptions.NotFound:
            return None


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.3)


def run_bridge(conf: cfg.ConfigOpts, stored: int, timeout: float) -> None:
    """Run bridge's listener until it has stored ``stored`` notifications
    or ``timeout`` seconds have passed."""
    bridge = service.ListenerService(conf)
    bridge.start()
    try:
        deadline = time.monotonic() + timeout
        while (bridge.endpoint.counters.snapshot()['stored'] < stored
               and time.monotonic() < deadline):
            time.sleep(0.2)
    finally:
        bridge.stop()


def stored_seqs(storage_url: str, owner: str) -> list[int]:
    store = bridge_storage.from_url(storage_url, make_conf(storage_url))
    try:
        seqs = []
        for name, _ in store.list_queues(owner, limit=100):
            marker = None
            while True:
                page = store.list_messages(owner, name, marker=marker,
                                           limit=1000, echo=True,
                                           include_claimed=True)
                if not page.messages:
                    break
                seqs += [int(m.body['payload']['display_name'][len('seq-'):])
                         for m in page.messages]
                marker = page.next_marker
        return seqs
    finally:
        store.close()


def old_listener(node: RabbitNode, scenario: Scenario) -> Any:
    """A listener declared as bridge did before: oslo.messaging's own
    pool queue, with its defaults."""
    conf = messaging_conf(node.transport_url, scenario.exchange, {})
    transport = oslo_messaging.get_notification_transport(conf)

    class Nothing:
        def info(self, messages):
            raise RuntimeError('the control listener consumes nothing')

    listener = oslo_messaging.get_batch_notification_listener(
        transport, [oslo_messaging.Target(exchange=scenario.exchange,
                                          topic=scenario.topic)],
        [Nothing()], executor='threading', allow_requeue=True,
        pool=scenario.pool,
        batch_size=10, batch_timeout=0.2)
    return transport, listener


@pytest.fixture(scope='module')
def restarted(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """Backlogs published, the node restarted, bridge run again."""
    base: pathlib.Path = tmp_path_factory.mktemp('rabbit')
    node = RabbitNode(base / 'node', 'bridge-test-%s' % uuid.uuid4().hex[:8])
    sample = next(s for s in load_samples() if s['fixture'] == SAMPLE)
    owner = sample['expected_project']
    # A listener that keeps running through the restart: it reconnects,
    # declares its pool queue and bindings again, and goes on storing.
    through = Scenario('through_the_restart', services={}, bridge={})
    storage = {s.name: 'sqlite:///%s' % (base / ('%s.sqlite' % s.name))
               for s in [*SCENARIOS, through]}
    running = None
    try:
        node.start()
        # The services come first and declare their exchanges (with one
        # notification, which no pool queue receives yet).
        services = {s.name: Service(node, s, sample) for s in SCENARIOS}
        for s in SCENARIOS:
            services[s.name].emit(-1)
        # bridge runs once: its pool queue exists from now on.
        for s in SCENARIOS:
            run_bridge(bridge_conf(node, s, storage[s.name]), stored=0,
                       timeout=0)
        control = Scenario('control', services={}, bridge={})
        transport, listener = old_listener(node, control)
        listener.start()
        listener.stop()
        listener.wait()
        transport.cleanup()
        control_service = Service(node, control, sample)
        # bridge is down; the services publish a backlog.
        for s in SCENARIOS:
            for seq in range(BACKLOG):
                services[s.name].emit(seq)
            s.queued_before = queued(node, s.pool) or 0
        for seq in range(BACKLOG):
            control_service.emit(seq)
        control_before = queued(node, control.pool)
        for svc in [*services.values(), control_service]:
            svc.close()
        running = service.ListenerService(
            bridge_conf(node, through, storage[through.name]))
        running.start()

        node.restart()

        for s in SCENARIOS:
            s.queued_after = queued(node, s.pool) or 0
        control_after = queued(node, control.pool)
        for s in SCENARIOS:
            run_bridge(bridge_conf(node, s, storage[s.name]),
                       stored=BACKLOG, timeout=60)
            s.stored = stored_seqs(storage[s.name], owner)

        # oslo.messaging reconnects after at most rabbit_interval_max (30 s).
        wait_for(lambda: queued(node, through.pool, 'consumer_count'), 60,
                 'the running listener to consume its pool queue again')
        publisher = Service(node, through, sample)
        for seq in range(BACKLOG):
            publisher.emit(seq)
        publisher.close()
        wait_for(lambda: running.endpoint.counters.snapshot()['stored']
                 >= BACKLOG, 60, 'the running listener to store the events')
        running.stop()
        through.stored = stored_seqs(storage[through.name], owner)
        yield {'scenarios': {s.name: s for s in [*SCENARIOS, through]},
               'control': (control_before, control_after)}
    finally:
        if running is not None:
            running.stop()
        node.close()


@pytest.mark.parametrize('name', [s.name for s in SCENARIOS])
def test_backlog_waits_in_the_pool_queue_across_the_restart(restarted, name):
    s = restarted['scenarios'][name]
    assert s.queued_before == BACKLOG
    assert s.queued_after == BACKLOG


@pytest.mark.parametrize('name', [s.name for s in SCENARIOS]
                         + ['through_the_restart'])
def test_every_notification_of_the_backlog_is_stored_exactly_once(
        restarted, name):
    stored = restarted['scenarios'][name].stored
    lost = set(range(BACKLOG)) - set(stored)
    assert not lost, '%d of %d lost' % (len(lost), BACKLOG)
    assert len(stored) == len(set(stored)) == BACKLOG, \
        '%d duplicated' % (len(stored) - len(set(stored)))


def test_a_pool_queue_declared_with_oslo_defaults_loses_its_backlog(
        restarted):
    before, after = restarted['control']
    assert before == BACKLOG
    assert after is None
