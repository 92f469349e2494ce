"""The endpoint and the ownership index: one lookup per batch, a write
only when a batch teaches the index something, deletes attributed from
the index (also within one batch), storage outages requeue."""

from __future__ import annotations

import time
import uuid

import oslo_messaging

from bridge.storage import errors
from tests.listeners.conftest import as_listener_message
from tests.listeners.test_endpoint import make_endpoint, stored

REQUEUE = oslo_messaging.NotificationResult.REQUEUE
ADMIN_CTXT = {'project_id': 'admin-project', 'roles': ['admin'],
              'is_admin': True, 'request_id': 'req-1'}


class Counting:
    """Real storage that counts the ownership calls."""

    def __init__(self, store):
        self.store = store
        self.lookups: list = []
        self.records: list = []

    def lookup_owners(self, keys, now=None):
        self.lookups.append(list(keys))
        return self.store.lookup_owners(keys, now)

    def record_owners(self, entries, now=None):
        self.records.append(list(entries))
        return self.store.record_owners(entries, now)

    def __getattr__(self, name):
        return getattr(self.store, name)


def network_event(event_type, network_id, payload_owner=None, ctxt=None):
    payload = {'network_id': network_id}
    if payload_owner:
        payload = {'network': {'id': network_id, 'name': 'n',
                               'project_id': payload_owner}}
    return as_listener_message({
        'ctxt': ctxt or {'project_id': payload_owner, 'roles': ['member']},
        'publisher_id': 'network.ctl-1', 'event_type': event_type,
        'payload': payload, 'message_id': str(uuid.uuid4()),
        'timestamp': '2026-12-06 09:00:00.000000'})


def neutron_events(store, project):
    return [(b['event_type'], b['resource_id'])
            for b in stored(store, project).get('neutron-events', [])]


def test_a_create_and_its_admin_delete_in_one_batch_reach_the_owner(
        store, rules):
    counting = Counting(store)
    ep = make_endpoint(counting, rules, ownership_grace=600)
    net = str(uuid.uuid4())
    assert ep.info([network_event('network.create.end', net, 'tenant-a'),
                    network_event('network.delete.end', net,
                                  ctxt=ADMIN_CTXT)]) is None
    assert neutron_events(store, 'tenant-a') == [
        ('network.create.end', net), ('network.delete.end', net)]
    assert stored(store, 'admin-project') == {}
    assert len(counting.lookups) == 1 and len(counting.records) == 1
    (entry,) = store.lookup_owners([('neutron:network', net)]).values()
    assert entry.project == 'tenant-a'
    assert time.time() + 500 < entry.expires < time.time() + 700


def test_an_id_only_delete_in_a_later_batch_finds_the_owner_in_storage(
        store, rules):
    net = str(uuid.uuid4())
    make_endpoint(store, rules).info([
        network_event('network.create.end', net, 'tenant-b')])
    fresh = make_endpoint(store, rules)  # e.g. another listener process
    assert fresh.info([network_event('network.delete.end', net,
                                     ctxt=ADMIN_CTXT)]) is None
    assert ('network.delete.end', net) in neutron_events(store, 'tenant-b')


def test_events_about_known_resources_cost_a_lookup_and_no_write(
        store, rules):
    counting = Counting(store)
    ep = make_endpoint(counting, rules)
    net = str(uuid.uuid4())
    ep.info([network_event('network.create.end', net, 'tenant-c')])
    assert len(counting.records) == 1
    ep.info([network_event('network.update.end', net, 'tenant-c')
             for _ in range(5)])
    assert len(counting.lookups) == 2 and len(counting.records) == 1


def test_an_unseen_delete_is_dead_lettered_owner_unknown(store, rules):
    ep = make_endpoint(store, rules)
    ep.info([network_event('network.delete.end', str(uuid.uuid4()),
                           ctxt=ADMIN_CTXT)])
    (letter,) = stored(store, 'operators')['unroutable']
    assert letter['reason'].startswith('owner unknown')


def test_storage_unavailable_for_the_index_requeues_the_batch(store, rules):
    class IndexDown(Counting):
        def lookup_owners(self, keys, now=None):
            raise errors.Unavailable('database is down')

    pauses = []
    ep = make_endpoint(IndexDown(store), rules, sleep=pauses.append)
    assert ep.info([network_event('network.create.end', str(uuid.uuid4()),
                                  'tenant-d')]) == REQUEUE
    assert pauses == [0.5] and stored(store, 'tenant-d') == {}


def test_a_failing_index_write_does_not_stop_the_batch(store, rules):
    class Refusing(Counting):
        def record_owners(self, entries, now=None):
            raise ValueError('resource id too long')

    ep = make_endpoint(Refusing(store), rules)
    net = str(uuid.uuid4())
    assert ep.info([network_event('network.create.end', net,
                                  'tenant-e')]) is None
    assert neutron_events(store, 'tenant-e') == [('network.create.end', net)]
    assert store.lookup_owners([('neutron:network', net)]) == {}
