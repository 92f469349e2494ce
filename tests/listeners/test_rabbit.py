"""End to end over a real RabbitMQ: notifications published as OpenStack
services publish them reach the owning tenant's queue, redacted, claimable
by that tenant only, while a pool-less consumer (Ceilometer's place) still
receives every one of them."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid

import oslo_messaging
import pytest

from bridge import emitter
from bridge.listeners import service
from tests.listeners.conftest import make_conf

SENSITIVE_KEYS = re.compile(
    r'^(host|node|binding:host_id|traceback|password|.*_password|'
    r'token|auth_token|secret|admin_pass|provider_location)$', re.I)


def sensitive_values(obj, found=None):
    """String values under keys that only operators may see (a server's
    hostname is the tenant's own name for it and stays)."""
    found = set() if found is None else found
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str) and SENSITIVE_KEYS.match(str(key)) \
                    and len(value) >= 8:
                found.add(value)
            sensitive_values(value, found)
    elif isinstance(obj, list):
        for value in obj:
            sensitive_values(value, found)
    return found


class Recorder:
    """A pool-less notification endpoint: Ceilometer's place on the bus."""

    def __init__(self):
        self.ids = set()
        self.lock = threading.Lock()

    def _record(self, ctxt, publisher_id, event_type, payload, metadata):
        with self.lock:
            self.ids.add(metadata['message_id'])

    info = error = warn = audit = critical = debug = _record


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail('timed out after %ss waiting for %s' % (timeout, what))


@pytest.fixture
def published(bus, sqlite_url, samples):
    """Start bridge's listener and a pool-less consumer, publish every
    sample with a fresh message id, wait until bridge has handled all."""
    exchanges = sorted({s['exchange'] for s in samples})
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=exchanges, batch_timeout=0.2,
                     dead_letter_project='operators')
    transport = oslo_messaging.get_notification_transport(conf)
    recorder = Recorder()
    ceilometer = oslo_messaging.get_notification_listener(
        transport,
        [oslo_messaging.Target(exchange=e, topic=bus['topic']) for e in exchanges],
        [recorder], executor='threading')
    ceilometer.start()
    bridge = service.ListenerService(conf)
    bridge.start()
    sent = []
    try:
        with emitter.Emitter(bus['url']) as out:
            for sample in samples:
                sample = dict(sample, topic=bus['topic'],
                              message_id=str(uuid.uuid4()))
                out.publish(sample)
                sent.append(sample)

        def handled():
            c = bridge.endpoint.counters.snapshot()
            return c['stored'] + c['dead_lettered'] + c['dropped'] >= len(sent)

        wait_for(handled, 60, 'bridge to handle %d notifications' % len(sent))
        wait_for(lambda: len(recorder.ids) >= len(sent), 30,
                 'the pool-less consumer')
        yield sent, bridge, recorder
    finally:
        bridge.stop()
        ceilometer.stop()
        ceilometer.wait()
        transport.cleanup()


def messages_of(store, project):
    out = []
    for name, _ in store.list_queues(project, limit=100):
        page = store.list_messages(project, name, limit=20, echo=True,
                                   include_claimed=True)
        marker = None
        while page.messages:
            out += [(name, m) for m in page.messages]
            marker = page.next_marker
            page = store.list_messages(project, name, marker=marker, limit=20,
                                       echo=True, include_claimed=True)
    return out


def test_each_notification_reaches_its_owner_redacted(published, store):
    sent, bridge, _ = published
    assert bridge.endpoint.counters.snapshot()['lost'] == 0
    checked = 0
    for sample in sent:
        owner = sample['expected_project']
        if not owner:
            continue
        mine = [m for _, m in messages_of(store, owner)
                if m.body.get('id') == sample['message_id']]
        assert len(mine) == 1, sample['fixture']
        text = json.dumps(mine[0].body)
        for secret in sensitive_values(sample['payload']):
            assert secret not in text, (sample['fixture'], secret)
            checked += 1
    assert checked >= 10, 'the samples should carry operator-only values'


def test_operator_only_notifications_reach_no_tenant(published, store):
    sent, _, _ = published
    tenants = {s['expected_project'] for s in sent if s['expected_project']}
    unowned = {s['message_id'] for s in sent if not s['expected_project']}
    for project in tenants:
        ids = {m.body.get('id') for _, m in messages_of(store, project)}
        assert not ids & unowned


def test_a_pool_less_consumer_still_gets_every_notification(published):
    sent, _, recorder = published
    assert {s['message_id'] for s in sent} <= recorder.ids


def test_stored_notifications_are_claimable_by_their_owner_only(
        published, store, sqlite_url):
    from falcon import testing

    from bridge.api import app as api_app
    sent, _, _ = published
    sample = next(s for s in sent if s['expected_project'])
    owner = sample['expected_project']
    queue = next(name for name, m in messages_of(store, owner)
                 if m.body.get('id') == sample['message_id'])
    client = testing.TestClient(api_app.create_app(make_conf(sqlite_url), store))

    def headers(project):
        return {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}

    other = client.simulate_post('/v2/queues/%s/claims' % queue,
                                 json={'ttl': 60, 'grace': 60},
                                 headers=headers('someone-else'))
    assert other.status_code == 204
    mine = client.simulate_post('/v2/queues/%s/claims?limit=20' % queue,
                                json={'ttl': 60, 'grace': 60},
                                headers=headers(owner))
    assert mine.status_code == 201
    claimed = mine.json['messages']
    assert sample['message_id'] in [m['body']['id'] for m in claimed]
