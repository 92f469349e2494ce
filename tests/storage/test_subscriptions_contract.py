"""The subscription contract of bridge.storage.base (create, read, update,
delete, notifier leases and delivery outcomes), checked against every
backend (see conftest.py).

Leases are global (a notifier serves every project), and the test
databases are shared by all tests, so lease checks look only at the
test's own project: other tests' subscriptions may be leased alongside.
"""

from __future__ import annotations

import threading
import time

import pytest

from bridge.storage import errors, models
from .support import post, run_threads

#: Long enough to outlive any test; short enough that leftovers of a run
#: stop being leased soon.
SUB_TTL = 300
LEASE = 60.0
HOOK = 'https://receiver.example.com/hook'
QUEUES = ('q', 'q2', 'other', 'kept', 'later', 'empty')


@pytest.fixture(autouse=True)
def _clean_up(storage, project):
    """Delete the test's queues and so its subscriptions: leftovers with
    work would slow every later lease (leases scan all projects)."""
    yield
    for owner in (project, project + '-other'):
        for queue in QUEUES:
            storage.delete_queue(owner, queue)


def subscribe(storage, project, queue='q', subscriber=HOOK, *,
              confirmed=True, ttl=SUB_TTL, options=None):
    return storage.create_subscription(
        project, queue, subscriber, ttl=ttl, options=options or {},
        secret='s3cret', confirmed=confirmed)


def lease_ours(storage, owner, project, *, now=None, limit=1000):
    """This project's share of one lease call."""
    return [s for s in storage.lease_subscriptions(
        owner, lease_seconds=LEASE, limit=limit, now=now)
        if s.project == project]


def newest_marker(storage, project, queue):
    return storage.queue_stats(project, queue).newest.marker


# -- create, read, list, delete --------------------------------------------

def test_create_returns_the_subscription_and_get_reads_it_back(
        storage, project):
    before = time.time()
    sub = subscribe(storage, project, options={'event_types': ['a.*']})
    assert sub.project == project and sub.queue == 'q'
    assert sub.subscriber == HOOK and sub.ttl == SUB_TTL
    assert sub.options == {'event_types': ['a.*']}
    assert sub.secret == 's3cret' and sub.confirmed is True
    assert sub.cursor == 0 and sub.failures == 0
    assert sub.last_success is None and sub.last_error is None
    assert sub.confirmation_sent is False
    assert before - 1 <= sub.created <= time.time() + 1
    assert storage.get_subscription(project, 'q', sub.id) == sub


def test_get_of_an_unknown_subscription_is_not_found(storage, project):
    sub = subscribe(storage, project)
    with pytest.raises(errors.NotFound):
        storage.get_subscription(project, 'q', 'no-such-id')
    with pytest.raises(errors.NotFound):
        storage.get_subscription(project, 'other-queue', sub.id)


def test_list_is_ordered_by_id_and_paged_by_marker(storage, project):
    ids = [subscribe(storage, project, subscriber='%s/%d' % (HOOK, n)).id
           for n in range(5)]
    subscribe(storage, project, queue='other')
    first = storage.list_subscriptions(project, 'q', limit=2)
    rest = storage.list_subscriptions(project, 'q', marker=first[-1].id,
                                      limit=10)
    assert [s.id for s in first + rest] == sorted(ids)
    assert len(first) == 2
    assert storage.list_subscriptions(project, 'q',
                                      marker=sorted(ids)[-1]) == []
    assert storage.list_subscriptions(project, 'empty') == []


def test_the_same_subscriber_twice_on_a_queue_is_a_conflict(
        storage, project):
    subscribe(storage, project)
    with pytest.raises(errors.Conflict):
        subscribe(storage, project, ttl=60)
    # Other queues and other subscribers are independent.
    subscribe(storage, project, queue='q2')
    subscribe(storage, project, subscriber='mailto:ops@example.com')
    assert len(storage.list_subscriptions(project, 'q')) == 2


def test_concurrent_creates_of_one_subscriber_store_it_once(
        storage, project):
    outcomes = []

    def create(_):
        try:
            outcomes.append(subscribe(storage, project).id)
        except errors.Conflict:
            outcomes.append('conflict')

    run_threads(4, create)
    assert outcomes.count('conflict') == 3
    assert [s.id for s in storage.list_subscriptions(project, 'q')] == [
        o for o in outcomes if o != 'conflict']


def test_delete_subscription_is_idempotent(storage, project):
    sub = subscribe(storage, project)
    storage.delete_subscription(project, 'q', sub.id)
    storage.delete_subscription(project, 'q', sub.id)
    with pytest.raises(errors.NotFound):
        storage.get_subscription(project, 'q', sub.id)
    assert storage.list_subscriptions(project, 'q') == []
    subscribe(storage, project)  # the subscriber is free again


def test_an_expired_subscription_is_gone_and_can_be_replaced(
        storage, project):
    sub = subscribe(storage, project, ttl=1)
    post(storage, project, 'q', ['m'])
    time.sleep(1.3)
    with pytest.raises(errors.NotFound):
        storage.get_subscription(project, 'q', sub.id)
    assert storage.list_subscriptions(project, 'q') == []
    assert lease_ours(storage, 'n1', project) == []
    with pytest.raises(errors.NotFound):
        storage.update_subscription(project, 'q', sub.id, ttl=60)
    again = subscribe(storage, project)
    assert again.id != sub.id
    assert [s.id for s in storage.list_subscriptions(project, 'q')] == [
        again.id]


def test_deleting_the_queue_deletes_its_subscriptions(storage, project):
    sub = subscribe(storage, project)
    kept = subscribe(storage, project, queue='kept')
    post(storage, project, 'q', ['m'])
    storage.delete_queue(project, 'q')
    with pytest.raises(errors.NotFound):
        storage.get_subscription(project, 'q', sub.id)
    assert storage.list_subscriptions(project, 'q') == []
    post(storage, project, 'q', ['after'])  # a new queue of the same name
    post(storage, project, 'kept', ['k'])
    assert [s.id for s in lease_ours(storage, 'n1', project)] == [kept.id]


def test_projects_see_nothing_of_each_others_subscriptions(
        storage, project):
    other = project + '-other'
    sub = subscribe(storage, project)
    with pytest.raises(errors.NotFound):
        storage.get_subscription(other, 'q', sub.id)
    with pytest.raises(errors.NotFound):
        storage.update_subscription(other, 'q', sub.id, ttl=60)
    assert storage.list_subscriptions(other, 'q') == []
    storage.delete_subscription(other, 'q', sub.id)
    assert storage.get_subscription(project, 'q', sub.id) == sub
    # The same subscriber may subscribe to the same queue name elsewhere,
    # and the other project's messages are not this subscription's work.
    subscribe(storage, other)
    post(storage, other, 'q', ['theirs'])
    assert lease_ours(storage, 'n1', project) == []


# -- update ----------------------------------------------------------------

def test_update_changes_only_the_given_fields_and_ttl_counts_from_now(
        storage, project):
    sub = subscribe(storage, project, options={'a': 1})
    time.sleep(0.05)
    updated = storage.update_subscription(project, 'q', sub.id,
                                          options={'b': 2})
    assert updated.options == {'b': 2}
    assert (updated.subscriber, updated.ttl, updated.created) == (
        sub.subscriber, sub.ttl, sub.created)
    renewed = storage.update_subscription(project, 'q', sub.id, ttl=600)
    assert renewed.ttl == 600 and renewed.created > sub.created
    assert renewed.expires >= time.time() + 590
    assert storage.get_subscription(project, 'q', sub.id) == renewed


def test_update_to_a_subscriber_already_subscribed_is_a_conflict(
        storage, project):
    subscribe(storage, project, subscriber=HOOK + '/1')
    second = subscribe(storage, project, subscriber=HOOK + '/2')
    with pytest.raises(errors.Conflict):
        storage.update_subscription(project, 'q', second.id,
                                    subscriber=HOOK + '/1')
    assert storage.get_subscription(project, 'q', second.id) == second
    with pytest.raises(errors.NotFound):
        storage.update_subscription(project, 'q', 'no-such-id', ttl=60)


def test_changing_the_subscriber_clears_confirmation(storage, project):
    sub = subscribe(storage, project, confirmed=True)
    moved = storage.update_subscription(project, 'q', sub.id,
                                        subscriber=HOOK + '/new')
    assert moved.subscriber == HOOK + '/new'
    assert moved.confirmed is False and moved.confirmation_sent is False
    assert storage.get_subscription(project, 'q', sub.id) == moved
    # The old address is free again; the same address changes nothing.
    subscribe(storage, project)
    same = storage.update_subscription(project, 'q', sub.id,
                                       subscriber=HOOK + '/new',
                                       confirmed=True)
    assert same.confirmed is True
    kept = storage.update_subscription(project, 'q', sub.id,
                                       subscriber=HOOK + '/new')
    assert kept.confirmed is True


def test_confirming_moves_the_cursor_to_the_newest_marker(
        storage, project):
    post(storage, project, 'q', ['before'])
    sub = subscribe(storage, project, confirmed=False)
    post(storage, project, 'q', ['unconfirmed-1', 'unconfirmed-2'])
    assert sub.cursor < newest_marker(storage, project, 'q')
    confirmed = storage.update_subscription(project, 'q', sub.id,
                                            confirmed=True)
    assert confirmed.confirmed is True
    assert confirmed.cursor == newest_marker(storage, project, 'q')
    assert storage.get_subscription(project, 'q', sub.id) == confirmed
    assert lease_ours(storage, 'n1', project) == []
    post(storage, project, 'q', ['confirmed'])
    [leased] = lease_ours(storage, 'n1', project)
    page = storage.list_messages(project, 'q', marker=str(leased.cursor))
    assert [m.body for m in page.messages] == ['confirmed']


# -- leases ------------------------------------------------------------------

def test_the_cursor_starts_at_the_queues_newest_marker(storage, project):
    post(storage, project, 'q', ['old-1', 'old-2'])
    sub = subscribe(storage, project)
    assert sub.cursor == newest_marker(storage, project, 'q')
    assert lease_ours(storage, 'n1', project) == []  # nothing pending
    post(storage, project, 'q', ['new'])
    [leased] = lease_ours(storage, 'n1', project)
    assert leased.id == sub.id and leased.cursor == sub.cursor
    page = storage.list_messages(project, 'q', marker=str(leased.cursor))
    assert [m.body for m in page.messages] == ['new']


def test_a_subscription_to_a_missing_queue_gets_its_first_message(
        storage, project):
    sub = subscribe(storage, project, queue='later')
    assert sub.cursor == 0
    assert lease_ours(storage, 'n1', project) == []
    post(storage, project, 'later', ['first'])
    [leased] = lease_ours(storage, 'n1', project)
    page = storage.list_messages(project, 'later', marker=str(leased.cursor))
    assert [m.body for m in page.messages] == ['first']


def test_an_unconfirmed_subscription_is_leased_once_to_send_the_request(
        storage, project):
    sub = subscribe(storage, project, confirmed=False)
    [leased] = lease_ours(storage, 'n1', project)
    assert leased.id == sub.id and leased.confirmation_sent is False
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor, failures=0,
                                           confirmation_sent=True),
        release=True)
    assert storage.get_subscription(project, 'q',
                                    sub.id).confirmation_sent is True
    # Messages are not work until the subscription is confirmed.
    post(storage, project, 'q', ['m'])
    assert lease_ours(storage, 'n1', project) == []


def test_a_leased_subscription_is_not_leased_again_until_released(
        storage, project):
    subscribe(storage, project)
    post(storage, project, 'q', ['m'])
    [leased] = lease_ours(storage, 'n1', project)
    assert lease_ours(storage, 'n2', project) == []
    assert lease_ours(storage, 'n1', project) == []
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor, failures=1),
        release=True)
    assert [s.id for s in lease_ours(storage, 'n2', project)] == [leased.id]


def test_concurrent_leasers_each_get_distinct_subscriptions(
        storage, project, backend):
    count = 8 if backend == 'mongodb' else 20
    ids = {subscribe(storage, project, subscriber='%s/%d' % (HOOK, n)).id
           for n in range(count)}
    post(storage, project, 'q', ['m'])
    leased = []
    lock = threading.Lock()

    def lease(worker):
        owner = 'notifier-%d' % worker
        while True:
            got = storage.lease_subscriptions(owner, lease_seconds=LEASE,
                                              limit=2)
            if not got:
                return
            with lock:
                leased.extend((s.id, owner) for s in got
                              if s.project == project)

    run_threads(6, lease)
    ours = [sub_id for sub_id, _ in leased]
    assert sorted(ours) == sorted(ids)  # each exactly once


def test_an_expired_lease_is_taken_over_and_its_owner_can_write_no_more(
        storage, project):
    sub = subscribe(storage, project)
    post(storage, project, 'q', ['m'])
    now = time.time()
    [mine] = lease_ours(storage, 'crashed', project, now=now)
    assert lease_ours(storage, 'n2', project, now=now) == []
    later = now + LEASE + 1
    [theirs] = lease_ours(storage, 'n2', project, now=later)
    assert theirs.id == sub.id
    refused = models.DeliveryOutcome(cursor=mine.cursor + 1, failures=0,
                                   success_at=now, error='late')
    assert storage.record_delivery(mine, 'crashed', refused) is False
    assert storage.record_delivery(mine, 'crashed', refused,
                                   release=True) is False
    assert storage.get_subscription(project, 'q', sub.id) == sub
    assert storage.record_delivery(
        theirs, 'n2', models.DeliveryOutcome(cursor=sub.cursor + 1,
                                           failures=0))
    assert storage.get_subscription(project, 'q',
                                    sub.id).cursor == sub.cursor + 1


def test_recording_without_release_keeps_the_lease(storage, project):
    subscribe(storage, project)
    post(storage, project, 'q', ['a', 'b'])
    [leased] = lease_ours(storage, 'n1', project)
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor + 1,
                                           failures=0))
    assert lease_ours(storage, 'n2', project) == []
    # Still held by n1, which may keep writing.
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor + 2,
                                           failures=0), release=True)
    assert lease_ours(storage, 'n2', project) == []  # caught up


def test_delivery_outcomes_are_stored(storage, project):
    sub = subscribe(storage, project)
    post(storage, project, 'q', ['a', 'b'])
    [leased] = lease_ours(storage, 'n1', project)
    now = time.time()
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(
            cursor=sub.cursor + 1, failures=0, success_at=now - 5,
            error='HTTP 503', error_at=now - 10), release=False)
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(
            cursor=sub.cursor + 1, failures=3, next_attempt=now + 30,
            error='timed out', error_at=now), release=True)
    got = storage.get_subscription(project, 'q', sub.id)
    assert got.cursor == sub.cursor + 1 and got.failures == 3
    assert got.next_attempt == pytest.approx(now + 30)
    assert got.last_success == pytest.approx(now - 5)  # None: unchanged
    assert got.last_error == 'timed out'
    assert got.last_error_at == pytest.approx(now)
    # Backing off: not leased before next_attempt, leased after it.
    assert lease_ours(storage, 'n2', project) == []
    assert [s.id for s in lease_ours(storage, 'n2', project,
                                     now=now + 31)] == [sub.id]


def test_the_cursor_never_moves_back(storage, project):
    sub = subscribe(storage, project)
    post(storage, project, 'q', ['a', 'b'])
    [leased] = lease_ours(storage, 'n1', project)
    storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=sub.cursor + 2,
                                           failures=0))
    storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=sub.cursor + 1,
                                           failures=0), release=True)
    assert storage.get_subscription(project, 'q',
                                    sub.id).cursor == sub.cursor + 2


def test_changing_the_subscriber_drops_the_lease(storage, project):
    sub = subscribe(storage, project)
    post(storage, project, 'q', ['m'])
    [leased] = lease_ours(storage, 'n1', project)
    storage.update_subscription(project, 'q', sub.id,
                                subscriber=HOOK + '/new')
    # The old holder's outcome is refused; the new address needs a
    # confirmation request, which another notifier may send at once.
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor + 1,
                                           failures=0)) is False
    [again] = lease_ours(storage, 'n2', project)
    assert again.subscriber == HOOK + '/new' and again.confirmed is False


def test_recording_for_a_deleted_subscription_is_refused(storage, project):
    sub = subscribe(storage, project)
    post(storage, project, 'q', ['m'])
    [leased] = lease_ours(storage, 'n1', project)
    storage.delete_subscription(project, 'q', sub.id)
    assert storage.record_delivery(
        leased, 'n1', models.DeliveryOutcome(cursor=leased.cursor + 1,
                                           failures=0)) is False


def test_unconfirming_pauses_delivery_without_a_confirmation_request(
        storage, project):
    sub = subscribe(storage, project, confirmed=True)
    post(storage, project, 'q', ['m'])
    paused = storage.update_subscription(project, 'q', sub.id,
                                         confirmed=False)
    assert paused.confirmed is False
    assert lease_ours(storage, 'n1', project) == []
    resumed = storage.update_subscription(project, 'q', sub.id,
                                          confirmed=True)
    assert resumed.cursor == newest_marker(storage, project, 'q')
