"""The batch endpoint: what is stored, where, and when a batch is acked.

These tests call the endpoint the way oslo.messaging does (one call per
priority with a list of message dicts) and look at a real SQLite store.
End-to-end tests over RabbitMQ are in test_rabbit.py.
"""

from __future__ import annotations

import collections
import json
import uuid

import oslo_messaging

from bridge.listeners import endpoint as endpoint_mod
from bridge.storage import errors
from tests.listeners.conftest import as_listener_message

REQUEUE = oslo_messaging.NotificationResult.REQUEUE
DLQ_PROJECT, DLQ_QUEUE = 'operators', 'unroutable'


def make_endpoint(store, rules, **kw):
    options = dict(default_ttl=3600, dead_letter_project=DLQ_PROJECT,
                   dead_letter_queue=DLQ_QUEUE, dead_letter_ttl=3600,
                   max_queue_depth=0, requeue_delay=0.5)
    options.update(kw)
    return endpoint_mod.BridgeEndpoint(store, rules, **options)


def deliver(ep, samples, ids=None):
    """Hand samples to the endpoint grouped by priority, as the dispatcher
    does; return the results."""
    by_priority = collections.defaultdict(list)
    for i, sample in enumerate(samples):
        mid = ids[i] if ids else None
        by_priority[sample['priority'].lower()].append(
            as_listener_message(sample, mid))
    return {p: getattr(ep, p)(msgs) for p, msgs in by_priority.items()}


def stored(store, project):
    """Every message body in every queue of the project: {queue: [body]}."""
    found = {}
    for name, _meta in store.list_queues(project, limit=100):
        bodies, marker = [], None
        while True:
            page = store.list_messages(project, name, marker=marker, limit=20,
                                       echo=True, include_claimed=True)
            if not page.messages:
                break
            bodies += [m.body for m in page.messages]
            marker = page.next_marker
        found[name] = bodies
    return found


def ids_in(store, project):
    return [b.get('id') for bodies in stored(store, project).values()
            for b in bodies]


def test_every_owned_sample_is_stored_in_its_owners_queue(store, rules, samples):
    ep = make_endpoint(store, rules)
    results = deliver(ep, samples)
    assert set(results.values()) == {None}, 'every batch must be acked'
    owned = [s for s in samples if s['expected_project']]
    for sample in owned:
        assert sample['message_id'] in ids_in(store, sample['expected_project']), \
            sample['fixture']


def test_operator_only_samples_never_reach_a_tenant(store, rules, samples):
    deliver(make_endpoint(store, rules), samples)
    tenants = {s['expected_project'] for s in samples if s['expected_project']}
    tenants |= {(s.get('ctxt') or {}).get('project_id') for s in samples} - {None}
    tenants |= {(s.get('ctxt') or {}).get('tenant') for s in samples} - {None}
    unowned = {s['message_id'] for s in samples if not s['expected_project']}
    assert unowned
    for project in tenants:
        assert not unowned & set(ids_in(store, project)), project


def test_samples_owned_by_another_project_are_not_given_to_the_actor(
        store, rules, samples):
    deliver(make_endpoint(store, rules), samples)
    for sample in samples:
        actor = (sample.get('ctxt') or {}).get('project_id')
        if sample['expected_project'] and actor and actor != sample['expected_project']:
            assert sample['message_id'] not in ids_in(store, actor), sample['fixture']


def test_unattributable_samples_go_to_the_operator_dead_letter_queue(
        store, rules, samples):
    ep = make_endpoint(store, rules)
    deliver(ep, samples)
    dead = stored(store, DLQ_PROJECT).get(DLQ_QUEUE, [])
    counts = ep.counters.snapshot()
    assert counts['dead_lettered'] == len(dead)
    unowned = [s for s in samples if not s['expected_project']]
    # every unowned sample is either dead-lettered or dropped by a rule
    assert counts['dead_lettered'] + counts['dropped'] >= len(unowned)
    for body in dead:
        assert body['reason']
        assert body['notification']['message_id']


def test_a_redelivered_batch_is_stored_once(store, rules, samples):
    ep = make_endpoint(store, rules)
    owned = [s for s in samples if s['expected_project']][:10]
    deliver(ep, owned)
    before = {p: sorted(ids_in(store, p)) for p in {s['expected_project'] for s in owned}}
    deliver(ep, owned)
    after = {p: sorted(ids_in(store, p)) for p in before}
    assert after == before


def test_storage_unavailable_requeues_the_batch_after_a_pause(rules, samples):
    class DownStore:
        def lookup_owners(self, keys):
            raise errors.Unavailable('database is down')

        def post_many(self, posts):
            raise errors.Unavailable('database is down')

    pauses = []
    ep = make_endpoint(DownStore(), rules, requeue_delay=1.5,
                       sleep=pauses.append)
    owned = [s for s in samples if s['expected_project']][:3]
    results = deliver(ep, owned)
    assert set(results.values()) == {REQUEUE}
    assert pauses and all(p == 1.5 for p in pauses)
    assert ep.counters.snapshot()['requeued'] == 3
    assert ep.counters.snapshot()['stored'] == 0


def test_a_poison_event_is_dead_lettered_and_the_rest_is_stored(
        store, rules, samples):
    owned = [s for s in samples if s['expected_project']]
    poison_project = owned[0]['expected_project']

    class Picky:
        """Real storage that refuses any write to one project."""
        def post_many(self, posts):
            if any(p.project == poison_project for p in posts):
                raise ValueError('value too long for column')
            return store.post_many(posts)

        def __getattr__(self, name):
            return getattr(store, name)

    ep = make_endpoint(Picky(), rules)
    others = [s for s in owned if s['expected_project'] != poison_project][:5]
    results = deliver(ep, [owned[0]] + others)
    assert set(results.values()) == {None}
    for sample in others:
        assert sample['message_id'] in ids_in(store, sample['expected_project'])
    dead = stored(store, DLQ_PROJECT)[DLQ_QUEUE]
    assert owned[0]['message_id'] in [b['notification']['message']['id'] for b in dead]
    assert 'ValueError' in dead[0]['reason']


def test_queues_beyond_max_depth_evict_their_oldest_messages(store, rules, samples):
    sample = next(s for s in samples
                  if s['fixture'] == 'cinder__volume.create.end.json')
    ep = make_endpoint(store, rules, max_queue_depth=5)
    ids = [str(uuid.uuid4()) for _ in range(8)]
    for mid in ids:  # one batch each: eviction holds across batches
        deliver(ep, [sample], ids=[mid])
    queues = stored(store, sample['expected_project'])
    assert len(queues) == 1
    kept = [b['id'] for b in next(iter(queues.values()))]
    assert kept == ids[3:]
    assert ep.counters.snapshot()['evicted'] == 3


def test_stored_bodies_are_json_documents_with_the_notification_id(
        store, rules, samples):
    sample = next(s for s in samples if s['expected_project'])
    deliver(make_endpoint(store, rules), [sample])
    body = stored(store, sample['expected_project'])
    (bodies,) = body.values()
    assert bodies[0]['id'] == sample['message_id']
    assert bodies[0]['event_type'] == sample['event_type']
    json.dumps(bodies[0])


def test_events_for_an_encrypted_queue_without_keys_are_never_dead_lettered_in_clear(
        store, rules, samples):
    """A tenant queue that wants encryption, on a listener with no key: the
    store refuses, and the dead letter names the queue only."""
    sample = next(s for s in samples if s['expected_project'])
    project = sample['expected_project']
    deliver(make_endpoint(store, rules), [sample])  # learn its queue
    (queue,) = stored(store, project)
    store.set_queue_metadata(project, queue,
                             {'_enable_encrypt_messages': True})
    again = dict(sample, message_id=str(uuid.uuid4()))
    results = deliver(make_endpoint(store, rules), [again])
    assert set(results.values()) == {None}
    (letter,) = [b for b in stored(store, DLQ_PROJECT)[DLQ_QUEUE]
                 if b['notification'].get('queue') == queue]
    assert 'KeyUnavailable' in letter['reason']
    assert letter['notification'] == {'project_id': project, 'queue': queue}
