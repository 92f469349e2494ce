"""Every event reaches its owner and only its owner, on a real RabbitMQ
vhost, with events published through oslo.messaging's notifier exactly as
Neutron publishes them (exchange ``neutron``, request contexts of the
acting user), and real ``bridge-listener`` processes storing them.

The actors: a tenant creates its resources; an admin (admin project,
role ``admin``) deletes them, in both payload forms Neutron has used (the
id alone, and the id with the resource's view); Nova's service user
(service project, role ``service``) creates and deletes a port for the
tenant; the admin deletes a network bridge never saw. The same story runs
with one listener, with two listener processes sharing the pool, and with
the listener restarted between the creates and the deletes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_context import context

from bridge import storage as bridge_storage
from bridge.listeners import service
from tests.listeners.conftest import RABBIT_URL, make_conf
from tests.storage.conftest import DEFAULT_URLS, _create_sql_database

PG_URL = os.environ.get(DEFAULT_URLS['postgresql'][0]) or \
    DEFAULT_URLS['postgresql'][1]
RESOURCES = ('network', 'subnet', 'port', 'router', 'floatingip',
             'security_group')
QUEUE = 'neutron-events'
DLQ_PROJECT, DLQ = 'bridge-operators', 'unroutable'


class Cloud:
    """One test's projects, resources and notifier."""

    def __init__(self, bus: dict) -> None:
        self.tenant = uuid.uuid4().hex
        self.admin = uuid.uuid4().hex
        self.service = uuid.uuid4().hex
        self.bus = bus
        # Two of each resource: one deleted by id alone, one with its view.
        self.ids = {(kind, form): str(uuid.uuid4()) for kind in RESOURCES
                    for form in ('id-only', 'with-view')}
        self.nova_port = str(uuid.uuid4())
        self.unseen = str(uuid.uuid4())
        conf = cfg.ConfigOpts()
        service.register_opts(conf)
        conf([], default_config_files=[], default_config_dirs=[])
        conf.set_override('control_exchange', 'neutron')
        self.transport = oslo_messaging.get_notification_transport(
            conf, url=RABBIT_URL)
        self.notifier = oslo_messaging.Notifier(
            self.transport, publisher_id='network.ctl-7.cloud.example.net',
            driver='messagingv2', topics=[bus['topic']])

    def close(self) -> None:
        self.transport.cleanup()

    def ctxt(self, who: str) -> context.RequestContext:
        project, roles = {
            'tenant': (self.tenant, ['member', 'reader']),
            'admin': (self.admin, ['admin', 'member']),
            'nova': (self.service, ['service']),
        }[who]
        return context.RequestContext(
            project_id=project, user_id=uuid.uuid4().hex, roles=roles,
            is_admin=who == 'admin', project_name=who,
            request_id='req-%s' % uuid.uuid4())

    def view(self, kind: str, resource_id: str) -> dict:
        return {'id': resource_id, 'name': '%s-of-tenant' % kind,
                'project_id': self.tenant, 'tenant_id': self.tenant,
                'status': 'ACTIVE', 'description': ''}

    def publish(self, who: str, event_type: str, payload: dict) -> None:
        self.notifier.info(self.ctxt(who), event_type, payload)

    def creates(self) -> int:
        for (kind, _), resource_id in sorted(self.ids.items()):
            self.publish('tenant', '%s.create.end' % kind,
                         {kind: self.view(kind, resource_id)})
        self.publish('nova', 'port.create.end',
                     {'port': self.view('port', self.nova_port)})
        return len(self.ids) + 1

    def deletes(self) -> int:
        for (kind, form), resource_id in sorted(self.ids.items()):
            payload = {'%s_id' % kind: resource_id}
            if form == 'with-view':
                payload[kind] = self.view(kind, resource_id)
            self.publish('admin', '%s.delete.end' % kind, payload)
        self.publish('nova', 'port.delete.end', {'port_id': self.nova_port})
        self.publish('admin', 'network.delete.end',
                     {'network_id': self.unseen})
        return len(self.ids) + 2

    def expected_for_tenant(self) -> set:
        events = set()
        for (kind, _), resource_id in self.ids.items():
            events |= {('%s.create.end' % kind, resource_id),
                       ('%s.delete.end' % kind, resource_id)}
        return events | {('port.create.end', self.nova_port),
                         ('port.delete.end', self.nova_port)}


def events_of(store, project: str, queue: str) -> list:
    page = store.list_messages(project, queue, limit=1000, echo=True,
                               include_claimed=True)
    return [m.body for m in page.messages]


def tenant_events(store, cloud: Cloud) -> list:
    return [(b['event_type'], b['resource_id'])
            for b in events_of(store, cloud.tenant, QUEUE)]


def letters_of(store, cloud: Cloud) -> list:
    return [b for b in events_of(store, DLQ_PROJECT, DLQ)
            if b['notification']['ctxt'].get('project_id')
            in (cloud.admin, cloud.service)]


def wait_for(what: str, predicate, procs=(), timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            assert proc.poll() is None, 'a listener exited: %s' % proc.args
        time.sleep(0.2)
    pytest.fail('timed out after %ss waiting for %s' % (timeout, what))


class Listeners:
    """bridge-listener processes on one configuration."""

    def __init__(self, tmp_path, bus: dict, cloud: Cloud) -> None:
        self.tmp_path = tmp_path
        self.config = tmp_path / 'bridge.conf'
        self.config.write_text('\n'.join([
            '[DEFAULT]', 'transport_url = %s' % RABBIT_URL,
            '[storage]', 'url = %s' % PG_URL,
            '[listener]', 'pool = %s' % bus['pool'],
            'topics = %s' % bus['topic'], 'exchanges = neutron',
            'batch_timeout = 0.1', 'max_queue_depth = 0',
            'dead_letter_project = %s' % DLQ_PROJECT,
            'dead_letter_queue = %s' % DLQ,
            '[translation]',
            'operator_projects = %s,%s' % (cloud.admin, cloud.service), '']))
        self.procs: list[subprocess.Popen] = []
        self.started = 0

    def start(self) -> subprocess.Popen:
        self.started += 1
        log_path = self.tmp_path / ('listener-%d.log' % self.started)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'bridge.cmd.listener', '--config-file',
             str(self.config)], stdout=open(log_path, 'wb'),
            stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_for('listener %d to listen' % self.started,
                 lambda: b'Listening on' in log_path.read_bytes(), [proc])
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            proc.kill()
            proc.wait(10)
        self.procs = []


@pytest.fixture
def story(tmp_path, bus):
    _create_sql_database('postgresql', PG_URL)
    store = bridge_storage.from_url(PG_URL, make_conf(PG_URL))
    store.ensure_schema()
    cloud = Cloud(bus)
    listeners = Listeners(tmp_path, bus, cloud)
    yield store, cloud, listeners
    listeners.stop_all()
    cloud.close()
    store.close()


def run_story(store, cloud: Cloud, listeners: Listeners, mode: str) -> None:
    procs = [listeners.start()]
    if mode == 'two listener processes':
        procs.append(listeners.start())
    created = cloud.creates()
    wait_for('the creates to be stored',
             lambda: len(tenant_events(store, cloud)) >= created,
             listeners.procs)
    if mode == 'restart between create and delete':
        listeners.stop(procs[0])
        time.sleep(0.5)
        deleted = cloud.deletes()  # queued in the pool while none listens
        listeners.start()
    else:
        deleted = cloud.deletes()
    wait_for('the deletes to be handled', lambda: len(
        tenant_events(store, cloud)) + len(letters_of(store, cloud))
        >= created + deleted, listeners.procs)
    time.sleep(0.5)  # anything misrouted would have arrived by now


@pytest.mark.parametrize('mode', ['one listener', 'two listener processes',
                                  'restart between create and delete'])
def test_every_event_reaches_its_owner_and_only_its_owner(story, mode):
    store, cloud, listeners = story
    run_story(store, cloud, listeners, mode)

    got = tenant_events(store, cloud)
    assert sorted(got) == sorted(cloud.expected_for_tenant())
    # admin deletes in both payload forms, and Nova's service user's port
    # create and delete, all reached the owner, once each
    assert len(got) == len(set(got))
    # nothing reached the acting projects
    for actor in (cloud.admin, cloud.service):
        assert store.list_queues(actor, limit=10) == []
    # the delete of a resource bridge never saw: owner unknown, no tenant
    (letter,) = letters_of(store, cloud)
    assert letter['reason'].startswith('owner unknown')
    assert letter['notification']['payload'] == {'network_id': cloud.unseen}
    assert cloud.unseen not in {r for _, r in got}
